package harvester_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/urlguard"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

type env struct {
	bus    *bus.Bus
	h      *harvester.Harvester
	corpus samplefeed.Corpus
	url    string
	// requests counts the list requests the feed served.
	requests atomic.Int64
	// onRequest, when set, sees every request before the feed answers it.
	onRequest atomic.Pointer[func(n int64, r *http.Request) bool]
}

func newEnv(t *testing.T, records, pageSize int) *env {
	t.Helper()
	return newEnvWith(t, records, pageSize, harvester.Config{Transport: fetch.Transport{MaxRetries: 1}})
}

// newEnvWith is newEnv with a harvester configuration of the test's own.
func newEnvWith(t *testing.T, records, pageSize int, cfg harvester.Config) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	b := testenv.Bus(t)
	e := &env{bus: b, corpus: samplefeed.NewCorpus(3, records)}
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: e.corpus, PageSize: pageSize, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("verb") == "ListRecords" {
			n := e.requests.Add(1)
			if f := e.onRequest.Load(); f != nil && !(*f)(n, r) {
				http.Error(w, "refused by test", http.StatusServiceUnavailable)
				return
			}
		}
		srv.ServeHTTP(w, r)
	})
	url, stop, err := samplefeed.Start(ctx, "127.0.0.1:0", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	e.url = url
	e.h, err = harvester.New(cfg, b, log)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) feed() feeds.Feed {
	return feeds.Feed{ID: "sample", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: e.url, Format: "oai_datacite", Enabled: true}
}

// raw returns the raw records in the stream, by source identifier, and the
// number of messages.
func raw(t *testing.T, b *bus.Bus) (map[string]*fairwayv1.RawRecord, int) {
	t.Helper()
	msgs := testenv.Messages(t, b, bus.Raw)
	out := map[string]*fairwayv1.RawRecord{}
	for _, m := range msgs {
		var r fairwayv1.RawRecord
		if err := proto.Unmarshal(m.Data(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.SourceIdentifier] = &r
	}
	return out, len(msgs)
}

func TestFullHarvestWritesEveryRecordOnce(t *testing.T) {
	e := newEnv(t, 230, 50)
	run, err := e.h.Harvest(context.Background(), e.feed(), harvester.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE || run.Records != 230 || run.Pages != 5 {
		t.Fatalf("run = %v", run)
	}
	if want := int64(e.corpus.DeletedCount()); run.Deleted != want {
		t.Errorf("deleted %d, want %d", run.Deleted, want)
	}
	recs, n := raw(t, e.bus)
	if n != 230 || len(recs) != 230 {
		t.Fatalf("raw stream holds %d messages for %d records", n, len(recs))
	}
	for i := range 230 {
		want := e.corpus.Record(i)
		r, ok := recs[want.Identifier]
		if !ok {
			t.Fatalf("record %s missing", want.Identifier)
		}
		if r.Deleted != want.Deleted || r.FeedId != "sample" || r.Facility != "ESRF" || r.MetadataFormat != "oai_datacite" {
			t.Errorf("record %s: %v", want.Identifier, r)
		}
		if !want.Deleted && !strings.Contains(string(r.Payload), want.DOI) {
			t.Errorf("record %s: payload lacks its DOI", want.Identifier)
		}
		if r.Provenance.GetRunId() != run.RunId || r.Provenance.GetRequestUrl() == "" || r.Provenance.GetPage() < 1 {
			t.Errorf("record %s: provenance %v", want.Identifier, r.Provenance)
		}
	}
}

func TestIncrementalRunAsksFromLastResponseDate(t *testing.T) {
	e := newEnv(t, 60, 50)
	ctx := context.Background()
	if _, err := e.h.Harvest(ctx, e.feed(), harvester.RunRequest{}); err != nil {
		t.Fatal(err)
	}
	var from atomic.Value
	f := func(_ int64, r *http.Request) bool {
		if v := r.URL.Query().Get("from"); v != "" {
			from.Store(v)
		}
		return true
	}
	e.onRequest.Store(&f)
	run, err := e.h.Harvest(ctx, e.feed(), harvester.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := from.Load().(string)
	if got == "" || run.From != got {
		t.Fatalf("second run asked from=%q (run says %q); want the last responseDate minus the overlap", got, run.From)
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", got)
	if err != nil || time.Since(ts) < 50*time.Minute || time.Since(ts) > 70*time.Minute {
		t.Errorf("from %q is not about an hour before now", got)
	}
	// The re-harvested overlap is dropped by message-id dedup.
	if _, n := raw(t, e.bus); n != 60 {
		t.Errorf("raw stream holds %d messages after two runs of 60 records", n)
	}
}

func TestInterruptedRunResumesFromCheckpoint(t *testing.T) {
	e := newEnv(t, 200, 40)
	ctx, cancel := context.WithCancel(context.Background())
	// Stop the harvester when it asks for the third page.
	f := func(n int64, _ *http.Request) bool {
		if n == 3 {
			cancel()
			return false
		}
		return true
	}
	e.onRequest.Store(&f)
	if _, err := e.h.Harvest(ctx, e.feed(), harvester.RunRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, n := raw(t, e.bus); n != 80 {
		t.Fatalf("after two pages the raw stream holds %d", n)
	}
	e.onRequest.Store(nil)
	before := e.requests.Load()
	run, err := e.h.Harvest(context.Background(), e.feed(), harvester.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if served := e.requests.Load() - before; served != 3 {
		t.Errorf("resumed run fetched %d pages, want the 3 left", served)
	}
	if run.Status != fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE {
		t.Fatalf("resumed run: %v", run)
	}
	if recs, n := raw(t, e.bus); n != 200 || len(recs) != 200 {
		t.Fatalf("raw stream holds %d messages for %d records, want 200 once each", n, len(recs))
	}
}

func TestFailedRunIsReported(t *testing.T) {
	e := newEnv(t, 100, 40)
	f := func(n int64, _ *http.Request) bool { return n < 2 }
	e.onRequest.Store(&f)
	run, err := e.h.Harvest(context.Background(), e.feed(), harvester.RunRequest{})
	if err == nil || run == nil || run.Status != fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED || run.Error == "" {
		t.Fatalf("run %v, err %v: want a failed run with its reason", run, err)
	}
	ctx := context.Background()
	m, err := e.bus.LastEntry(ctx, bus.Ops, "run.sample")
	if err != nil {
		t.Fatal(err)
	}
	var reported fairwayv1.HarvestRun
	if err := proto.Unmarshal(m.Data, &reported); err != nil {
		t.Fatal(err)
	}
	if reported.Status != fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED || reported.Records != 40 {
		t.Errorf("ops report %v", &reported)
	}
}

func TestUnsupportedKind(t *testing.T) {
	e := newEnv(t, 1, 1)
	f := e.feed()
	f.Kind = "gopher" // neither oai-pmh nor scicat
	if _, err := e.h.Harvest(context.Background(), f, harvester.RunRequest{}); !errors.Is(err, harvester.ErrUnsupportedKind) {
		t.Fatalf("err = %v", err)
	}
}

// TestRequestRunsADisabledFeedOnce asks for a harvest of a feed that is not
// scheduled: the running harvester takes the request, runs it once, and the
// run shows in the feed's last runs.
func TestRequestRunsADisabledFeedOnce(t *testing.T) {
	e := newEnv(t, 30, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := e.feed()
	f.Enabled = false
	if _, err := e.h.Registry().Put(ctx, f); err != nil {
		t.Fatal(err)
	}
	h, err := harvester.New(harvester.Config{PollInterval: 50 * time.Millisecond}, e.bus, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	if e.requests.Load() != 0 {
		t.Fatal("a disabled feed was harvested without a request")
	}
	if err := harvester.Request(ctx, e.bus, "sample", harvester.RunRequest{Full: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, err := harvester.LastRuns(ctx, e.bus, "sample", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].Status == fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE {
			if runs[0].Records != 30 {
				t.Errorf("run %v", runs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs %v", runs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := e.requests.Load(); n != 3 {
		t.Errorf("feed served %d list requests, want the 3 pages of one run", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestGuardedClientRefusesPrivateFeeds harvests through the address policy's
// client: a feed on loopback is refused unless private addresses are allowed.
func TestGuardedClientRefusesPrivateFeeds(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow=%v", allow), func(t *testing.T) {
			e := newEnv(t, 10, 10)
			h, err := harvester.New(harvester.Config{Transport: fetch.Transport{MaxRetries: 1}, HTTPClient: urlguard.Policy{AllowPrivate: allow}.HTTPClient(nil)}, e.bus, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			run, err := h.Harvest(context.Background(), e.feed(), harvester.RunRequest{})
			if allow {
				if err != nil || run.Records != 10 {
					t.Fatalf("run %v, err %v", run, err)
				}
				return
			}
			if !errors.Is(err, urlguard.ErrForbiddenAddress) || e.requests.Load() != 0 {
				t.Fatalf("err = %v after %d requests; want ErrForbiddenAddress before any request", err, e.requests.Load())
			}
		})
	}
}

// TestAddressRefusalFailsTheRunAtOnce harvests a refused address with
// retries configured: the run fails on the first refusal, with its reason,
// and nothing is retried.
func TestAddressRefusalFailsTheRunAtOnce(t *testing.T) {
	e := newEnv(t, 10, 10)
	log, logs := testenv.CaptureLog()
	cfg := harvester.Config{Transport: fetch.Transport{MaxRetries: 5, RetryInitialInterval: time.Millisecond, RetryMaxInterval: time.Millisecond},
		HTTPClient: urlguard.Policy{}.HTTPClient(nil)}
	h, err := harvester.New(cfg, e.bus, log)
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.Harvest(context.Background(), e.feed(), harvester.RunRequest{})
	if !errors.Is(err, urlguard.ErrForbiddenAddress) || errors.Is(err, fetch.ErrGaveUp) {
		t.Fatalf("err = %v; want the refusal, not a give-up after retries", err)
	}
	if run.Status != fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED || !strings.Contains(run.Error, "loopback address") {
		t.Errorf("run %v: want a failed run naming the refusal", run)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Errorf("the refusal was retried:\n%s", logs)
	}
}

// TestRunReportCountsBytesRetriesAndListSize checks the run report's
// figures: the bytes received, the retried requests and the announced size.
func TestRunReportCountsBytesRetriesAndListSize(t *testing.T) {
	e := newEnv(t, 50, 20)
	f := func(n int64, _ *http.Request) bool { return n != 2 } // the second page fails once
	e.onRequest.Store(&f)
	run, err := e.h.Harvest(context.Background(), e.feed(), harvester.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Retries != 1 || run.ListSize != 50 || run.Bytes < 50*1000 || run.Records != 50 {
		t.Fatalf("run report %v: want 1 retry, list size 50, at least 50 KB", run)
	}
}

// TestOneRunPerFeedAcrossReplicas runs a feed on one harvester while a
// second one (another replica on the same bus) tries: it is refused until
// the first run ends.
func TestOneRunPerFeedAcrossReplicas(t *testing.T) {
	e := newEnv(t, 40, 10)
	other, err := harvester.New(harvester.Config{Transport: fetch.Transport{MaxRetries: 1}}, e.bus, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	inside := make(chan struct{})
	release := make(chan struct{})
	f := func(n int64, _ *http.Request) bool {
		if n == 2 {
			close(inside)
			<-release
		}
		return true
	}
	e.onRequest.Store(&f)
	done := make(chan error, 1)
	go func() {
		_, err := e.h.Harvest(context.Background(), e.feed(), harvester.RunRequest{})
		done <- err
	}()
	<-inside
	if _, err := other.Harvest(context.Background(), e.feed(), harvester.RunRequest{Full: true}); !errors.Is(err, harvester.ErrBusy) {
		t.Errorf("second replica: %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if run, err := other.Harvest(context.Background(), e.feed(), harvester.RunRequest{Full: true}); err != nil || run.Records != 40 {
		t.Fatalf("after the first run: %v, %v", run, err)
	}
}

// TestWindowRunKeepsTheSchedule harvests a window an operator asked for
// after a complete run: the next incremental run still starts from the
// complete run, not from the window's.
func TestWindowRunKeepsTheSchedule(t *testing.T) {
	e := newEnv(t, 30, 10)
	ctx := context.Background()
	first, err := e.h.Harvest(ctx, e.feed(), harvester.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.Harvest(ctx, e.feed(), harvester.RunRequest{From: "2025-01-01", Until: "2025-01-02"}); err != nil {
		t.Fatal(err)
	}
	entry, err := e.bus.KV(bus.BucketCheckpoints).Get(ctx, "sample")
	if err != nil {
		t.Fatal(err)
	}
	var cp harvester.Checkpoint
	if err := json.Unmarshal(entry.Value(), &cp); err != nil {
		t.Fatal(err)
	}
	if cp.LastComplete == nil || cp.LastComplete.RunID != first.RunId {
		t.Fatalf("last complete run %+v, want the scheduled run %s", cp.LastComplete, first.RunId)
	}
}

// TestChangedSourceStartsAfresh changes a feed's format after a complete
// run: the next run lists everything again instead of asking from the old
// source's date.
func TestChangedSourceStartsAfresh(t *testing.T) {
	e := newEnv(t, 30, 10)
	ctx := context.Background()
	if _, err := e.h.Harvest(ctx, e.feed(), harvester.RunRequest{}); err != nil {
		t.Fatal(err)
	}
	var from atomic.Value
	f := func(_ int64, r *http.Request) bool {
		from.Store(r.URL.Query().Get("from"))
		return true
	}
	e.onRequest.Store(&f)
	changed := e.feed()
	changed.Format = "oai_dc"
	run, err := e.h.Harvest(ctx, changed, harvester.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := from.Load().(string); got != "" || run.From != "" || run.Records != 30 {
		t.Fatalf("run after the change asked from=%q and listed %d records; want a full run", got, run.Records)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRegistryLogsWithTheHarvestersLogger checks that the feed registry the
// harvester reads logs the entries it skips with the harvester's logger.
func TestRegistryLogsWithTheHarvestersLogger(t *testing.T) {
	b := testenv.Bus(t)
	var out syncBuffer
	h, err := harvester.New(harvester.Config{}, b, slog.New(slog.NewTextHandler(&out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.KV(bus.BucketFeeds).Put(ctx, "NOT_A_FEED_ID", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Registry().List(ctx); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "NOT_A_FEED_ID") {
		t.Errorf("the harvester's log does not report the skipped entry: %q", got)
	}
}
