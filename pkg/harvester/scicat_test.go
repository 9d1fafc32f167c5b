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
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/scicat"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const scicatSecret = "scicat-harvest-token-never-logged"

// scicatDedupWindow is the streams' duplicate window in these tests: short,
// so that a test can wait it out and show that unchanged documents are
// dropped by the hash memory, not by message-id deduplication.
const scicatDedupWindow = 100 * time.Millisecond

// scicatBus starts an embedded JetStream whose streams have a short
// duplicate window, and returns a provisioned bus on it.
func scicatBus(t *testing.T) *bus.Bus {
	return testenv.BusWith(t, bus.Topology{DedupWindow: scicatDedupWindow})
}

// scicatEnv is a harvester on an embedded JetStream and a SciCat test
// server holding the seed's 19 published datasets and 11 published data,
// plus an unpublished dataset and extra published ones when asked.
type scicatEnv struct {
	bus  *bus.Bus
	h    *harvester.Harvester
	srv  *scicattest.Server
	logs *testenv.Buffer
}

// newSciCatEnv starts the environment; srvCfg.Datasets are served after the
// seed's.
func newSciCatEnv(t *testing.T, extra int, srvCfg scicattest.Config, cfg harvester.Config) *scicatEnv {
	t.Helper()
	srvCfg.Datasets = append(append(scicattest.Seed(t, scicat.Datasets),
		json.RawMessage(`{"pid":"PID.SAMPLE.PREFIX/private","datasetName":"not published","isPublished":false}`)),
		srvCfg.Datasets...)
	for i := range extra {
		srvCfg.Datasets = append(srvCfg.Datasets, json.RawMessage(fmt.Sprintf(
			`{"pid":"20.500.12345/extra-%04d","datasetName":"extra dataset %d","owner":"Ada Lovelace","isPublished":true,"creationTime":"2024-01-02T03:04:05.000Z"}`, i, i)))
	}
	srvCfg.PublishedData = scicattest.Seed(t, scicat.PublishedData)
	srv := scicattest.Start(srvCfg)
	t.Cleanup(srv.Close)
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := scicatBus(t)
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 2
	}
	if cfg.RetryInitialInterval == 0 {
		cfg.RetryInitialInterval, cfg.RetryMaxInterval = time.Millisecond, 5*time.Millisecond
	}
	h, err := harvester.New(cfg, b, log)
	if err != nil {
		t.Fatal(err)
	}
	return &scicatEnv{bus: b, h: h, srv: srv, logs: logs}
}

func (e *scicatEnv) feed(path string) feeds.Feed {
	return feeds.Feed{ID: "psi-scicat", Facility: "PSI", Kind: feeds.KindSciCat, URL: e.srv.URL + path, Enabled: true}
}

func (e *scicatEnv) harvest(t *testing.T, f feeds.Feed, req harvester.RunRequest) *fairwayv1.HarvestRun {
	t.Helper()
	run, err := e.h.Harvest(context.Background(), f, req)
	if err != nil {
		t.Fatalf("harvest: %v", err)
	}
	if run.Status != fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE {
		t.Fatalf("run %v", run)
	}
	return run
}

// scicatMessage is one message of a stream.
type scicatMessage struct {
	raw     *fairwayv1.RawRecord
	headers map[string]string
}

// scicatStream returns the messages of a stream of raw records, in order.
func scicatStream(t *testing.T, b *bus.Bus, s bus.Stream) []scicatMessage {
	t.Helper()
	var out []scicatMessage
	for _, m := range testenv.Messages(t, b, s) {
		var r fairwayv1.RawRecord
		if err := proto.Unmarshal(m.Data(), &r); err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for k := range m.Headers() {
			h[k] = m.Headers().Get(k)
		}
		out = append(out, scicatMessage{raw: &r, headers: h})
	}
	return out
}

// TestSciCatHarvest harvests the seed's published datasets over each API
// version, anonymously and with a token, and checks every raw record.
func TestSciCatHarvest(t *testing.T) {
	seed := scicattest.Seed(t, scicat.Datasets)
	tests := []struct {
		name     string
		path     string // appended to the server URL
		token    string
		wantPath string
	}{
		{name: "v3", path: "/api/v3", wantPath: "/api/v3/Datasets"},
		{name: "v4 anonymous", path: "/api/v4", wantPath: "/api/v4/datasets/public"},
		{name: "v4 with token", path: "/api/v4", token: scicatSecret, wantPath: "/api/v4/datasets"},
		{name: "detected", path: "", wantPath: "/api/v4/datasets/public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSciCatEnv(t, 0, scicattest.Config{Token: tt.token}, harvester.Config{})
			f := e.feed(tt.path)
			f.Token = feeds.Secret(tt.token)
			run := e.harvest(t, f, harvester.RunRequest{})
			if run.Records != 19 || run.Pages != 1 || run.Deleted != 0 || run.Rejected != 0 {
				t.Errorf("run %v: want 19 records on 1 page", run)
			}
			msgs := scicatStream(t, e.bus, bus.Raw)
			if len(msgs) != 19 {
				t.Fatalf("raw stream holds %d messages, want the 19 published datasets", len(msgs))
			}
			for i, m := range msgs {
				r := m.raw
				pid, _ := scicat.DocumentID(scicat.Datasets, seed[i])
				if r.SourceIdentifier != pid || !bytes.Equal(r.Payload, seed[i]) {
					t.Errorf("record %d: %s, payload not as served", i, r.SourceIdentifier)
				}
				if r.FeedId != f.ID || r.Facility != "PSI" || r.SourceKind != feeds.KindSciCat || r.MetadataFormat != "scicat" || r.Deleted {
					t.Errorf("record %s: %v", pid, r)
				}
				p := r.Provenance
				if p.GetRunId() != run.RunId || p.GetPage() != 1 || !strings.Contains(p.GetRequestUrl(), tt.wantPath+"?filter=") || p.GetHarvestedAt() == nil {
					t.Errorf("record %s: provenance %v", pid, p)
				}
				if m.headers[bus.HeaderKey] != f.ID+":"+pid || m.headers[bus.HeaderCorrelation] != run.RunId {
					t.Errorf("record %s: headers %v", pid, m.headers)
				}
			}
			if strings.Contains(e.logs.String(), scicatSecret) {
				t.Error("the token is in the logs")
			}
		})
	}
}

// TestSciCatRawRecordsNormalise runs the normaliser's mapping on what the
// harvester wrote, for a datasets feed and a published data feed.
func TestSciCatRawRecordsNormalise(t *testing.T) {
	e := newSciCatEnv(t, 0, scicattest.Config{}, harvester.Config{})
	datasets := e.feed("/api/v3")
	pubs := e.feed("/api/v4")
	pubs.ID, pubs.Format = "psi-published", "publisheddata"
	e.harvest(t, datasets, harvester.RunRequest{})
	e.harvest(t, pubs, harvester.RunRequest{})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := map[string]string{} // key → title
	var dois int
	for _, m := range scicatStream(t, e.bus, bus.Raw) {
		d, err := normaliser.Normalise(m.raw, now)
		if err != nil {
			t.Fatalf("%s: %v", m.raw.SourceIdentifier, err)
		}
		if d.Title == "" || d.Facility != "PSI" || d.SourceIdentifier != m.raw.SourceIdentifier || d.ContentHash == "" {
			t.Errorf("%s: %v", m.raw.SourceIdentifier, d)
		}
		switch m.raw.FeedId {
		case datasets.ID:
			if want := "src:psi:" + m.raw.SourceIdentifier; d.Key != want || d.Doi != "" {
				t.Errorf("dataset key %q doi %q, want %q", d.Key, d.Doi, want)
			}
		case pubs.ID:
			dois++
			if !strings.HasPrefix(d.Doi, "10.9999/") || d.Key != "doi:"+d.Doi || d.Doi != m.raw.SourceIdentifier {
				t.Errorf("published data %s: key %q doi %q", m.raw.SourceIdentifier, d.Key, d.Doi)
			}
		}
		keys[d.Key] = d.Title
	}
	if len(keys) != 19+11 || dois != 11 {
		t.Errorf("%d datasets (%d DOIs), want 19 + 11", len(keys), dois)
	}
	if got := keys["src:psi:PID.SAMPLE.PREFIX/desy_ds1"]; got != "cheetah" {
		t.Errorf("desy_ds1 title %q", got)
	}
}

// TestSciCatChangesAndDeletions runs a feed again and again: an unchanged
// catalogue writes nothing new, a changed dataset writes one raw record, a
// removed one a deletion, and a run that would delete too much is held.
func TestSciCatChangesAndDeletions(t *testing.T) {
	e := newSciCatEnv(t, 0, scicattest.Config{}, harvester.Config{})
	f := e.feed("")
	first := e.harvest(t, f, harvester.RunRequest{})
	if n := len(scicatStream(t, e.bus, bus.Raw)); n != 19 || first.Records != 19 {
		t.Fatalf("first run: %d raw messages, run %v", n, first)
	}

	// Nothing changed: nothing new, however long after (past the
	// message-id dedup window, the hash memory drops them).
	time.Sleep(4 * scicatDedupWindow)
	second := e.harvest(t, f, harvester.RunRequest{})
	if n := len(scicatStream(t, e.bus, bus.Raw)); n != 19 || second.Records != 19 || second.Deleted != 0 {
		t.Fatalf("second run: %d raw messages, run %v", n, second)
	}

	// One dataset changed (its dates say nothing: the content hash does).
	const changed = "PID.SAMPLE.PREFIX/psi_ds1"
	doc := e.srv.Document(scicat.Datasets, changed)
	edited := bytes.Replace(doc, []byte(`"datasetName":"`), []byte(`"datasetName":"Revised: `), 1)
	if bytes.Equal(doc, edited) {
		t.Fatal("cannot edit the dataset")
	}
	if err := e.srv.Put(scicat.Datasets, edited); err != nil {
		t.Fatal(err)
	}
	e.harvest(t, f, harvester.RunRequest{})
	msgs := scicatStream(t, e.bus, bus.Raw)
	if len(msgs) != 20 {
		t.Fatalf("after one change the raw stream holds %d messages, want 20", len(msgs))
	}
	if last := msgs[19].raw; last.SourceIdentifier != changed || !bytes.Equal(last.Payload, edited) {
		t.Errorf("the new raw record is %s", last.SourceIdentifier)
	}

	// One dataset removed (1 of 19, under the 10% guard): one deletion.
	const removed = "PID.SAMPLE.PREFIX/ukri_ds6"
	if !e.srv.Remove(scicat.Datasets, removed) {
		t.Fatal("cannot remove the dataset")
	}
	run := e.harvest(t, f, harvester.RunRequest{})
	msgs = scicatStream(t, e.bus, bus.Raw)
	if run.Deleted != 1 || len(msgs) != 21 || !msgs[20].raw.Deleted || msgs[20].raw.SourceIdentifier != removed {
		t.Fatalf("run %v; %d raw messages", run, len(msgs))
	}

	// Three more removed (3 of 18, over 10%): held and reported.
	for _, pid := range []string{"PID.SAMPLE.PREFIX/ukri_ds5", "PID.SAMPLE.PREFIX/ukri_ds4", "PID.SAMPLE.PREFIX/ukri_ds3"} {
		e.srv.Remove(scicat.Datasets, pid)
	}
	held := e.harvest(t, f, harvester.RunRequest{})
	if held.Deleted != 0 || !strings.Contains(held.Error, "deletions held") || len(scicatStream(t, e.bus, bus.Raw)) != 21 {
		t.Fatalf("run %v: want the deletions held and reported", held)
	}
	confirmed := e.harvest(t, f, harvester.RunRequest{ConfirmDeletions: true})
	if confirmed.Deleted != 3 || len(scicatStream(t, e.bus, bus.Raw)) != 24 {
		t.Fatalf("confirmed run %v", confirmed)
	}
}

// TestSciCatTokenAndFailures checks a catalogue that wants a token: without
// it the run fails (and is not resumed), with it the run completes, and the
// token shows nowhere: not in the logs, the run reports, the raw records.
func TestSciCatTokenAndFailures(t *testing.T) {
	e := newSciCatEnv(t, 0, scicattest.Config{Token: scicatSecret}, harvester.Config{})
	f := e.feed("")
	run, err := e.h.Harvest(context.Background(), f, harvester.RunRequest{})
	if !errors.Is(err, fetch.ErrUnauthorized) || run.GetStatus() != fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED {
		t.Fatalf("anonymous run: %v, %v", run, err)
	}
	if n := len(e.srv.Requests()); n != 1 {
		t.Errorf("a refused token was tried %d times", n)
	}
	f.Token = feeds.Secret(scicatSecret)
	e.srv.Fail(scicattest.Fault{Status: http.StatusBadGateway}, scicattest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "0"})
	run = e.harvest(t, f, harvester.RunRequest{})
	if run.Records != 19 {
		t.Errorf("run %v", run)
	}
	reports, err := harvester.LastRuns(context.Background(), e.bus, f.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	all.WriteString(e.logs.String())
	for _, r := range reports {
		fmt.Fprintf(&all, "%v\n", r)
	}
	for _, m := range scicatStream(t, e.bus, bus.Raw) {
		fmt.Fprintf(&all, "%v %v\n", m.raw.Provenance, m.headers)
	}
	if !strings.Contains(all.String(), "retrying") || len(reports) != 2 {
		t.Fatalf("%d run reports; logs:\n%s", len(reports), e.logs.String())
	}
	if strings.Contains(all.String(), scicatSecret) {
		t.Fatalf("the token leaked:\n%s", all.String())
	}
}

// TestSciCatRetryAfterIsHonoured serves a 503 and a 429, each with
// Retry-After: 1, where the backoff alone would wait milliseconds.
func TestSciCatRetryAfterIsHonoured(t *testing.T) {
	e := newSciCatEnv(t, 0, scicattest.Config{}, harvester.Config{Transport: fetch.Transport{MaxRetries: 3}})
	e.srv.Fail(scicattest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "1"},
		scicattest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	run := e.harvest(t, e.feed("/api/v3"), harvester.RunRequest{})
	reqs := e.srv.Requests()
	if run.Records != 19 || len(reqs) != 3 || reqs[0].Status != 503 || reqs[1].Status != 429 {
		t.Fatalf("run %v, requests %+v", run, reqs)
	}
	for i := 1; i < 3; i++ {
		if gap := reqs[i].At.Sub(reqs[i-1].At); gap < 900*time.Millisecond {
			t.Errorf("retry %d came %v after Retry-After: 1", i, gap)
		}
	}
}

// TestSciCatInterruptedRunResumes stops a run of three pages when it asks
// for the third: the next run resumes one page before the checkpoint,
// writes every dataset once, and the comparison of complete runs knows every
// dataset the interrupted run saw.
func TestSciCatInterruptedRunResumes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 19 + 230 published datasets: pages of 100, 100 and 49. Request 1 is
	// the version probe; request 4 asks for the third page.
	onRequest := func(n int, _ *http.Request) {
		if n == 4 {
			cancel()
		}
	}
	e := newSciCatEnv(t, 230, scicattest.Config{OnRequest: onRequest}, harvester.Config{})
	f := e.feed("")
	if _, err := e.h.Harvest(ctx, f, harvester.RunRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if n := len(scicatStream(t, e.bus, bus.Raw)); n != 200 {
		t.Fatalf("after two pages the raw stream holds %d", n)
	}
	before := len(e.srv.Requests())
	run := e.harvest(t, f, harvester.RunRequest{})
	var skips []string
	for _, r := range e.srv.Requests()[before:] {
		skips = append(skips, r.Filter[strings.Index(r.Filter, `"limits"`):])
	}
	want := []string{`"limits":{"skip":0,"limit":1}}`, `"limits":{"skip":100,"limit":100}}`, `"limits":{"skip":200,"limit":100}}`}
	if fmt.Sprint(skips) != fmt.Sprint(want) {
		t.Errorf("resumed run asked for %v, want %v", skips, want)
	}
	msgs := scicatStream(t, e.bus, bus.Raw)
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[m.raw.SourceIdentifier] = true
	}
	if len(msgs) != 249 || len(ids) != 249 || run.Pages != 4 {
		t.Fatalf("%d raw messages for %d datasets, run %v", len(msgs), len(ids), run)
	}
	// The resumed run compared with nothing (it is the first complete one)
	// but kept every identifier it saw, those of the pages listed before
	// the interruption included: a dataset of the first page that goes away
	// is found deleted.
	const gone = "PID.SAMPLE.PREFIX/desy_ds2"
	if !e.srv.Remove(scicat.Datasets, gone) {
		t.Fatal("cannot remove the dataset")
	}
	again := e.harvest(t, f, harvester.RunRequest{})
	msgs = scicatStream(t, e.bus, bus.Raw)
	if last := msgs[len(msgs)-1].raw; again.Deleted != 1 || !last.Deleted || last.SourceIdentifier != gone {
		t.Errorf("next run %v; last raw record %s deleted %v", again, last.SourceIdentifier, last.Deleted)
	}
}

// TestSciCatRejectedDocuments serves a document without identifier and
// documents over the record size limit: they are dead-lettered with the
// reason and counted, and the others are written.
func TestSciCatRejectedDocuments(t *testing.T) {
	doc := json.RawMessage(`{"datasetName":"no identifier","isPublished":true}`)
	e := newSciCatEnv(t, 0, scicattest.Config{Datasets: []json.RawMessage{doc}}, harvester.Config{MaxRecordBytes: 3000})
	var large int
	for _, d := range scicattest.Seed(t, scicat.Datasets) {
		if len(d) > 3000 {
			large++
		}
	}
	if large == 0 || large == 19 {
		t.Fatalf("%d of the seed's datasets exceed 3000 bytes: pick another limit", large)
	}
	f := e.feed("")
	run := e.harvest(t, f, harvester.RunRequest{})
	if run.Rejected != int64(large+1) || run.Records != int64(19-large) {
		t.Errorf("run %v: want %d rejected", run, large+1)
	}
	if n := len(scicatStream(t, e.bus, bus.Raw)); n != 19-large {
		t.Errorf("raw stream holds %d", n)
	}
	dead := scicatStream(t, e.bus, bus.DeadLetters)
	if len(dead) != large+1 {
		t.Fatalf("%d dead letters", len(dead))
	}
	var keyless int
	for _, m := range dead {
		reason := m.headers[bus.HeaderReason]
		switch {
		case strings.Contains(reason, "cannot be keyed"):
			keyless++
			if !bytes.Equal(m.raw.Payload, doc) {
				t.Errorf("dead letter without the document: %s", m.raw.Payload)
			}
		case strings.Contains(reason, "over the limit of 3000"):
			if m.raw.SourceIdentifier == "" || len(m.raw.Payload) != 0 {
				t.Errorf("oversized dead letter %s with %d bytes", m.raw.SourceIdentifier, len(m.raw.Payload))
			}
		default:
			t.Errorf("reason %q", reason)
		}
	}
	if keyless != 1 {
		t.Errorf("%d dead letters for the document without identifier", keyless)
	}
	// The oversized datasets exist at the source: a later run deletes none.
	if again := e.harvest(t, f, harvester.RunRequest{}); again.Deleted != 0 {
		t.Errorf("next run deleted %d", again.Deleted)
	}
}
