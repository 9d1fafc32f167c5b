package harvester_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/oaipmh"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestProtocolErrorsByMeaning checks that each OAI-PMH error code is
// handled by its meaning.
func TestProtocolErrorsByMeaning(t *testing.T) {
	verbIs := func(r *http.Request, verb string) bool { return r.URL.Query().Get("verb") == verb }
	tests := []struct {
		name      string
		strategy  string
		feed      func(*feeds.Feed)
		misbehave misbehaviour
		// status and sentinel of the run; lists is the number of list
		// requests the run makes.
		status    fairwayv1.HarvestStatus
		sentinel  error
		lists     int
		strategy2 string // the strategy of the complete run
	}{
		{
			name:   "cannotDisseminateFormat fails after trying ListIdentifiers",
			feed:   func(f *feeds.Feed) { f.Format = "marc21" },
			status: failed, sentinel: oaipmh.ErrCannotDisseminateFormat, lists: 2,
		},
		{
			name: "noSetHierarchy fails",
			feed: func(f *feeds.Feed) { f.Set = "esrf" },
			misbehave: func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
				send(w, oaiError(oaipmh.CodeNoSetHierarchy))
			},
			status: failed, sentinel: oaipmh.ErrNoSetHierarchy, lists: 1,
		},
		{
			name:     "badArgument fails when the strategy is records",
			strategy: harvester.StrategyRecords,
			misbehave: func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
				send(w, oaiError(oaipmh.CodeBadArgument))
			},
			status: failed, sentinel: oaipmh.ErrBadArgument, lists: 1,
		},
		{
			name: "badArgument on ListRecords falls back to ListIdentifiers and GetRecord",
			misbehave: func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
				if verbIs(r, "ListRecords") {
					send(w, oaiError(oaipmh.CodeBadArgument))
					return
				}
				send(w, render(r))
			},
			status: complete, lists: 1 + 6, strategy2: harvester.StrategyIdentifiers,
		},
		{
			name: "badVerb on ListRecords falls back to ListIdentifiers and GetRecord",
			misbehave: func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
				if verbIs(r, "ListRecords") {
					send(w, oaiError(oaipmh.CodeBadVerb))
					return
				}
				send(w, render(r))
			},
			status: complete, lists: 1 + 6, strategy2: harvester.StrategyIdentifiers,
		},
		{
			name:     "strategy identifiers never lists records",
			strategy: harvester.StrategyIdentifiers,
			misbehave: func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
				if verbIs(r, "ListRecords") {
					send(w, oaiError(oaipmh.CodeBadVerb))
					return
				}
				send(w, render(r))
			},
			status: complete, lists: 6, strategy2: harvester.StrategyIdentifiers,
		},
		{
			name: "badArgument on both verbs fails with both reasons",
			misbehave: func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
				send(w, oaiError(oaipmh.CodeBadArgument))
			},
			status: failed, sentinel: oaipmh.ErrBadArgument, lists: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.Strategy = tt.strategy
			hs := newHarness(t, 60, 10, cfg)
			hs.srv.setMisbehaviour(tt.misbehave)
			if tt.feed != nil {
				tt.feed(&hs.feed)
			}
			run, err := hs.h.Harvest(context.Background(), hs.feed, harvester.RunRequest{})
			if run == nil || run.Status != tt.status {
				t.Fatalf("run %v (err %v): want %v", run, err, tt.status)
			}
			if q := hs.srv.listQueries(); len(q) != tt.lists {
				t.Errorf("want %d list requests: %s", tt.lists, fmtQueries(q))
			}
			if tt.status == failed {
				if !errors.Is(err, tt.sentinel) || !strings.Contains(run.Error, tt.sentinel.Error()[len("oaipmh: "):]) {
					t.Errorf("err %v, reported %q: want %v", err, run.Error, tt.sentinel)
				}
				if cp := hs.checkpoint(t); cp.Current != nil || cp.Failures != 1 {
					t.Errorf("a protocol failure must start afresh: %+v", cp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hs.assertComplete(t)
			if cp := hs.checkpoint(t); cp.LastComplete.Strategy != tt.strategy2 {
				t.Errorf("strategy %q, want %q", cp.LastComplete.Strategy, tt.strategy2)
			}
		})
	}
}

// TestNoRecordsMatchIsAnEmptySuccess runs an incremental harvest that the
// repository answers with noRecordsMatch.
func TestNoRecordsMatchIsAnEmptySuccess(t *testing.T) {
	hs := newHarness(t, 30, 10, fastConfig())
	ctx := context.Background()
	if _, err := hs.h.Harvest(ctx, hs.feed, harvester.RunRequest{}); err != nil {
		t.Fatal(err)
	}
	first := hs.checkpoint(t).LastComplete
	hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		if r.URL.Query().Get("from") == "" {
			send(w, oaiError(oaipmh.CodeBadArgument)) // the test expects an incremental run
			return
		}
		send(w, bytes.Replace(oaiError(oaipmh.CodeNoRecordsMatch), []byte("2025-06-01T00:00:00Z"), []byte("2030-01-01T00:00:00Z"), 1))
	})
	run, err := hs.h.Harvest(ctx, hs.feed, harvester.RunRequest{})
	if err != nil || run.Status != complete || run.Records != 0 || run.Error != "" {
		t.Fatalf("run %v, err %v: want an empty complete run", run, err)
	}
	last := hs.checkpoint(t).LastComplete
	if last.RunID == first.RunID || !last.ResponseDate.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("last complete run %+v: want the empty run, with its responseDate", last)
	}
}

// TestRequestBoundsAtServerGranularity asks for a window with dates in any
// form and checks what the repository receives, at both granularities.
func TestRequestBoundsAtServerGranularity(t *testing.T) {
	tests := []struct {
		granularity     string
		from, until     string
		wantFrom, wantU string
	}{
		{oaipmh.GranularitySeconds, "2025-01-01", "2025-01-02", "2025-01-01T00:00:00Z", "2025-01-02T23:59:59Z"},
		{oaipmh.GranularitySeconds, "2025-01-01T10:00:00+02:00", "", "2025-01-01T08:00:00Z", ""},
		{oaipmh.GranularityDay, "2025-01-01T10:00:00Z", "2025-01-03 12:00", "2025-01-01", "2025-01-03"},
	}
	for _, tt := range tests {
		t.Run(tt.granularity+" "+tt.from, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, 30, 10, fastConfig())
			rewrite := func(b []byte) []byte {
				return bytes.Replace(b, []byte("<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"), []byte("<granularity>"+tt.granularity+"</granularity>"), 1)
			}
			hs.srv.identify.Store(&rewrite)
			hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
				q := r.URL.Query()
				if q.Get("from") != tt.wantFrom || q.Get("until") != tt.wantU {
					send(w, oaiError(oaipmh.CodeBadArgument))
					return
				}
				send(w, oaiError(oaipmh.CodeNoRecordsMatch))
			})
			run, err := hs.h.Harvest(context.Background(), hs.feed, harvester.RunRequest{From: tt.from, Until: tt.until})
			if err != nil || run.Status != complete || run.From != tt.wantFrom {
				t.Fatalf("run %v, err %v; requests %s", run, err, fmtQueries(hs.srv.listQueries()))
			}
			// A bounded run an operator asked for does not stand for the
			// feed's schedule: with no complete run before it, the next
			// scheduled run is still a full one.
			if cp := hs.checkpoint(t); cp.LastComplete != nil || cp.Current != nil {
				t.Errorf("a bounded run moved the schedule: %+v", cp.LastComplete)
			}
		})
	}
	t.Run("unreadable date", func(t *testing.T) {
		hs := newHarness(t, 10, 10, fastConfig())
		run, err := hs.h.Harvest(context.Background(), hs.feed, harvester.RunRequest{From: "last tuesday"})
		if !errors.Is(err, harvester.ErrInvalidRequest) || run.Status != failed || len(hs.srv.listQueries()) != 0 {
			t.Fatalf("run %v, err %v", run, err)
		}
	})
}

// TestExpiredTokenIsNotResumed interrupts a run whose tokens carry an
// expiration date in the past: the resumed run restarts its window instead
// of sending a dead token.
func TestExpiredTokenIsNotResumed(t *testing.T) {
	hs := newHarness(t, 50, 10, fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		if n == 3 {
			cancel()
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		send(w, bytes.ReplaceAll(render(r), []byte("<resumptionToken "), []byte(`<resumptionToken expirationDate="2001-01-01T00:00:00Z" `)))
	})
	if _, err := hs.h.Harvest(ctx, hs.feed, harvester.RunRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	cp := hs.checkpoint(t)
	if cp.Current == nil || cp.Current.Token == "" || cp.Current.TokenExpires.Year() != 2001 {
		t.Fatalf("checkpoint %+v: want the token and its expiry", cp.Current)
	}
	run, err := hs.h.Harvest(context.Background(), hs.feed, harvester.RunRequest{})
	if err != nil || run.Status != complete {
		t.Fatalf("resumed run %v: %v", run, err)
	}
	q := hs.srv.listQueries()
	if len(q) != 3+5 || strings.Contains(q[3], "resumptionToken") {
		t.Errorf("want the resumed run to start from the first page: %s", fmtQueries(q))
	}
	if cp := hs.checkpoint(t); cp.LastComplete.Restarts != 1 {
		t.Errorf("restarts %d", cp.LastComplete.Restarts)
	}
	hs.assertComplete(t)
}

// TestFailedRunIsRetriedAfterBackoff runs the scheduler over a feed whose
// third page is broken once: the failed run keeps its checkpoint, and the
// scheduler resumes it after the failure backoff.
func TestFailedRunIsRetriedAfterBackoff(t *testing.T) {
	cfg := fastConfig()
	cfg.FailureBackoff = 300 * time.Millisecond
	hs := newHarness(t, 50, 10, cfg)
	hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		if n == 3 {
			send(w, []byte("not xml at all"))
			return
		}
		send(w, render(r))
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := hs.h.Registry().Put(ctx, hs.feed); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- hs.h.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := hs.bus.KV(bus.BucketCheckpoints).Get(ctx, hs.feed.ID)
		if err == nil && bytes.Contains(cp.Value(), []byte(`"last_complete"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the feed never completed: %s", fmtQueries(hs.srv.listQueries()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	times := hs.srv.listTimes()
	q := hs.srv.listQueries()
	if len(q) != 6 || q[3] != q[2] {
		t.Fatalf("want the failed page asked again, then the rest: %s", fmtQueries(q))
	}
	if gap := times[3].Sub(times[2]); gap < 300*time.Millisecond {
		t.Errorf("retried %v after the failure, want the backoff of 300ms", gap)
	}
	hs.assertComplete(t)
	runs, err := harvester.LastRuns(context.Background(), hs.bus, hs.feed.ID, 5)
	if err != nil || len(runs) != 1 || runs[0].Status != complete {
		t.Errorf("runs %v (%v): want one run, complete", runs, err)
	}
}

// TestSickleSamples harvests the sickle sample chain (ListRecords.xml → 2 →
// 3 → 4, the token names the next file): 8 records listed, 4 of them
// deleted; the deleted record of the last page has no identifier and is
// rejected.
func TestSickleSamples(t *testing.T) {
	dir := testenv.SharedData(t, "oai-samples", "sickle")
	var lists []string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		name := q.Get("resumptionToken")
		switch {
		case q.Get("verb") == "Identify":
			name = "Identify.xml"
		case name == "":
			name = "ListRecords.xml"
		}
		if q.Get("verb") == "ListRecords" {
			lists = append(lists, r.URL.RawQuery)
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		send(w, b)
	})
	u, stop, err := samplefeed.Start(context.Background(), "127.0.0.1:0", handler)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	b := testenv.Bus(t)
	h, err := harvester.New(fastConfig(), b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := feeds.Feed{ID: "sickle", Facility: "TEST", Kind: feeds.KindOAIPMH, URL: u, Format: "oai_dc", Enabled: true}
	run, err := h.Harvest(context.Background(), f, harvester.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != complete || run.Pages != 4 || run.Records+run.Rejected != 8 || run.Rejected != 1 || run.Deleted != 3 || run.Error != "" {
		t.Fatalf("run %v: want 4 pages, 8 records (one rejected), 3 deletions written", run)
	}
	if !run.ResponseDate.AsTime().Equal(time.Date(2013, 2, 27, 9, 10, 56, 0, time.UTC)) {
		t.Errorf("responseDate %v", run.ResponseDate.AsTime())
	}
	cp := readCheckpoint(t, b, "sickle")
	if cp.LastComplete.Listed != 8 || cp.LastComplete.ListSize != 8 || cp.LastComplete.Granularity != oaipmh.GranularityDay {
		t.Errorf("last complete run %+v", cp.LastComplete)
	}
	recs, n := raw(t, b)
	if len(recs) != 2 || n != 2 {
		t.Fatalf("raw stream holds %d messages for %d records, want the 2 identifiers once each", n, len(recs))
	}
	if r := recs["oai:test.example.com:1585310"]; r == nil || !r.Deleted {
		t.Errorf("1585310: %v, want a deletion", r)
	}
	if r := recs["oai:test.example.com:1585322"]; r == nil || r.Deleted || !bytes.Contains(r.Payload, []byte("<dc:title>Sample Title</dc:title>")) {
		t.Errorf("1585322: %v", r)
	}
	dl := deadLetters(t, b)
	if len(dl) != 1 || !strings.Contains(dl[0], "without an identifier") || !strings.Contains(dl[0], "ListRecords4.xml") {
		t.Errorf("dead letters %q", dl)
	}
	// The next run is incremental, at the repository's day granularity.
	if _, err := h.Harvest(context.Background(), f, harvester.RunRequest{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := url.ParseQuery(lists[4]); got.Get("from") != "2013-02-27" {
		t.Errorf("second run asked %q, want from=2013-02-27 (responseDate minus an hour, by day)", lists[4])
	}
}

// TestDeadLetterOfUnkeyedRecord checks the stub a record without identifier
// nor metadata leaves in the dead letters.
func TestDeadLetterOfUnkeyedRecord(t *testing.T) {
	hs := newHarness(t, 10, 10, fastConfig())
	hs.srv.setMisbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		send(w, bytes.Replace(render(r), []byte("<ListRecords>\n"),
			[]byte("<ListRecords>\n<record><header><datestamp>2025-02-03</datestamp><setSpec>orphans</setSpec></header></record>\n"), 1))
	})
	if _, err := hs.h.Harvest(context.Background(), hs.feed, harvester.RunRequest{}); err != nil {
		t.Fatal(err)
	}
	m, err := hs.bus.LastEntry(context.Background(), bus.DeadLetters, harvester.Origin)
	if err != nil {
		t.Fatal(err)
	}
	var stub fairwayv1.RawRecord
	if err := proto.Unmarshal(m.Data, &stub); err != nil {
		t.Fatal(err)
	}
	if stub.FeedId != "misfit" || stub.Datestamp != "2025-02-03" || len(stub.SetSpecs) != 1 || stub.SetSpecs[0] != "orphans" ||
		stub.Provenance.GetRequestUrl() == "" || m.Header.Get(bus.HeaderReason) == "" {
		t.Errorf("dead letter %v", &stub)
	}
}

// TestIdentifiersStrategyRecords harvests with ListIdentifiers and
// GetRecord from a repository that keeps no deletions, where one record
// vanished between the listing and its GetRecord, one is too large and one
// answers 503 once.
func TestIdentifiersStrategyRecords(t *testing.T) {
	cfg := fastConfig()
	cfg.Strategy = harvester.StrategyIdentifiers
	cfg.MaxRecordBytes = 16 << 10
	hs := newHarness(t, 60, 10, cfg)
	hs.declareDeletedRecord("no")
	vanished, big, flaky := hs.corpus.Identifier(3), hs.corpus.Identifier(5), hs.corpus.Identifier(7)
	var flakes atomic.Int64
	get := misbehaviour(func(n int64, w http.ResponseWriter, r *http.Request, render func(*http.Request) []byte) {
		switch r.URL.Query().Get("identifier") {
		case vanished:
			send(w, oaiError(oaipmh.CodeIDDoesNotExist))
		case big:
			pad := "<!--" + strings.Repeat("x", 20<<10) + "-->"
			send(w, bytes.Replace(render(r), []byte("</oai_datacite>"), []byte(pad+"</oai_datacite>"), 1))
		case flaky:
			if flakes.Add(1) == 1 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			send(w, render(r))
		default:
			send(w, render(r))
		}
	})
	hs.srv.getRecord.Store(&get)
	run := hs.harvest(t, harvester.RunRequest{})
	if run.Records != 58 || run.Rejected != 2 || run.Deleted != 3 {
		t.Fatalf("run %v: want 58 records written, 2 rejected", run)
	}
	if got := hs.srv.gets.Load(); got != 57+1 {
		t.Errorf("%d GetRecord requests, want one per live record and a retry", got)
	}
	recs, n := raw(t, hs.bus)
	if n != 58 || recs[vanished] != nil || recs[big] != nil || recs[flaky] == nil {
		t.Errorf("raw stream holds %d messages", n)
	}
	for _, i := range []int{0, 16, 59} {
		want := hs.corpus.Record(i)
		if r := recs[want.Identifier]; r == nil || r.Deleted != want.Deleted || (!want.Deleted && !strings.Contains(string(r.Payload), want.DOI)) {
			t.Errorf("record %d: %v", i, r)
		}
	}
	if dl := deadLetters(t, hs.bus); len(dl) != 1 || !strings.Contains(dl[0], big) {
		t.Errorf("dead letters %q", dl)
	}
	// The comparison of full runs counts the large record as present and
	// the vanished one as gone.
	ids, _ := hs.storedIDs(t)
	has := map[string]bool{}
	for _, id := range ids {
		has[id] = true
	}
	if len(ids) != 56 || !has[big] || has[vanished] {
		t.Errorf("remembered %d identifiers (big %v, vanished %v), want 56 with the large one", len(ids), has[big], has[vanished])
	}
}

// TestConfigValidate checks that every check of Config.Validate fires, on
// the values given and after the defaults are filled in (they replace only
// zero values), and that New refuses what Validate refuses.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  harvester.Config
		want string // a part of the error; "" for a valid config
	}{
		{"zero values are the defaults", harvester.Config{}, ""},
		{"identifiers strategy", harvester.Config{Strategy: harvester.StrategyIdentifiers}, ""},
		{"guard off", harvester.Config{MaxDeleteShare: 1}, ""},
		{"caps", harvester.Config{MaxPages: 10, MaxBytes: 1 << 20, MaxDuration: time.Minute, MaxEmptyPages: 3}, ""},
		{"no retries", harvester.Config{Transport: fetch.Transport{MaxRetries: -1}}, ""},
		{"unknown strategy", harvester.Config{Strategy: "sometimes"}, "strategy"},
		{"share over one", harvester.Config{MaxDeleteShare: 1.5}, "MaxDeleteShare"},
		{"negative share", harvester.Config{MaxDeleteShare: -0.1}, "MaxDeleteShare"},
		{"negative rate limit", harvester.Config{Transport: fetch.Transport{RateLimit: -time.Second}}, "RateLimit"},
		{"negative page timeout", harvester.Config{Transport: fetch.Transport{PageTimeout: -time.Second}}, "PageTimeout"},
		{"negative backoff", harvester.Config{Transport: fetch.Transport{RetryInitialInterval: -1}}, "RetryInitialInterval"},
		{"negative backoff cap", harvester.Config{Transport: fetch.Transport{RetryMaxInterval: -1}}, "RetryMaxInterval"},
		{"negative Retry-After cap", harvester.Config{Transport: fetch.Transport{RetryAfterCap: -1}}, "RetryAfterCap"},
		{"negative page bytes", harvester.Config{Transport: fetch.Transport{MaxPageBytes: -1}}, "MaxPageBytes"},
		{"negative poll interval", harvester.Config{PollInterval: -time.Second}, "PollInterval"},
		{"negative overlap", harvester.Config{Overlap: -time.Second}, "Overlap"},
		{"negative record bytes", harvester.Config{MaxRecordBytes: -1}, "MaxRecordBytes"},
		{"negative identifier bytes", harvester.Config{MaxIdentifierBytes: -1}, "MaxIdentifierBytes"},
		{"negative token cap", harvester.Config{MaxTokenBytes: -1}, "MaxTokenBytes"},
		{"negative parallel", harvester.Config{Parallel: -1}, "Parallel"},
		{"negative GetRecord parallel", harvester.Config{GetRecordParallel: -1}, "GetRecordParallel"},
		{"negative restarts", harvester.Config{MaxRestarts: -1}, "MaxRestarts"},
		{"negative full interval", harvester.Config{FullEvery: -time.Hour}, "FullEvery"},
		{"negative failure backoff", harvester.Config{FailureBackoff: -time.Second}, "FailureBackoff"},
		{"negative failure backoff cap", harvester.Config{MaxFailureBackoff: -time.Second}, "MaxFailureBackoff"},
		{"negative page cap", harvester.Config{MaxPages: -1}, "MaxPages"},
		{"negative byte cap", harvester.Config{MaxBytes: -1}, "MaxBytes"},
		{"negative duration cap", harvester.Config{MaxDuration: -time.Second}, "MaxDuration"},
		{"negative empty pages", harvester.Config{MaxEmptyPages: -1}, "MaxEmptyPages"},
		{"negative feed check interval", harvester.Config{FeedCheckInterval: -time.Second}, "FeedCheckInterval"},
	}
	check := func(t *testing.T, what string, err error, want string) {
		t.Helper()
		if (err != nil) != (want != "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s = %v, want an error naming %q", what, err, want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, "Validate()", tt.cfg.Validate(), tt.want)
			withDefaults := tt.cfg
			withDefaults.SetDefaults()
			check(t, "Validate() after SetDefaults()", withDefaults.Validate(), tt.want)
			if tt.want != "" {
				// New refuses the configuration before it uses the bus.
				_, err := harvester.New(tt.cfg, nil, slog.New(slog.DiscardHandler))
				check(t, "New()", err, tt.want)
			}
		})
	}
}
