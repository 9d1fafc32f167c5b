package harvester_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// waitRecorder is a harvester.Observer that keeps the waits it is told.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitRecorder) HarvestPage(string, int64, int64, int64, int64) {}

func (w *waitRecorder) HarvestWait(_ string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, d)
}

func (w *waitRecorder) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waits)
}

// TestHarvestWaitsForAStoppedNormaliser harvests into a real embedded
// JetStream whose normaliser is not running: the harvest stops between two
// pages once the raw stream holds MaxBacklog records (within one page of
// it), stays stopped, and goes on when a slow normaliser drains the
// stream, which then receives every record once.
func TestHarvestWaitsForAStoppedNormaliser(t *testing.T) {
	const (
		records  = 1500
		pageSize = 50
		bound    = 300
	)
	b := testenv.Bus(t)
	log, logs := testenv.CaptureLog()
	corpus := samplefeed.NewCorpus(5, records)
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: pageSize, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := samplefeed.Start(context.Background(), "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	obs := &waitRecorder{}
	h, err := harvester.New(harvester.Config{MaxBacklog: bound, BacklogPoll: 20 * time.Millisecond, Observer: obs}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	feed := feeds.Feed{ID: "flow", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: url, Format: "oai_datacite", Enabled: true}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type result struct {
		run *fairwayv1.HarvestRun
		err error
	}
	done := make(chan result, 1)
	go func() {
		run, err := h.Harvest(ctx, feed, harvester.RunRequest{Full: true})
		done <- result{run, err}
	}()

	// The harvest stops: the raw stream stays put for a while, at the
	// bound or within one page over it.
	raw := b.StreamReader(bus.Raw)
	var held uint64
	stableSince := time.Now()
	for time.Since(stableSince) < 500*time.Millisecond {
		select {
		case r := <-done:
			t.Fatalf("the harvest did not wait: %v, %v", r.run, r.err)
		case <-ctx.Done():
			t.Fatal("the raw stream never stopped growing")
		case <-time.After(20 * time.Millisecond):
		}
		n, err := raw.Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != held {
			held, stableSince = n, time.Now()
		}
	}
	if held < bound || held >= bound+pageSize {
		t.Fatalf("the harvest stopped with %d records in the raw stream, want [%d, %d)", held, bound, bound+pageSize)
	}
	if backlog, err := b.Backlog(ctx); err != nil || backlog != held {
		t.Fatalf("backlog %d (%v), want the %d records waiting for the normaliser", backlog, err, held)
	}
	if !strings.Contains(logs.String(), "harvest waits for the pipeline to drain") {
		t.Errorf("no log line of the wait:\n%s", logs.String())
	}

	// A slow normaliser: the harvest goes on, never far ahead of it.
	var mu sync.Mutex
	seen := map[string]int{}
	stageCtx, stopStage := context.WithCancel(ctx)
	stageDone := make(chan error, 1)
	go func() {
		stageDone <- b.Run(stageCtx, bus.RunConfig{Stage: bus.StageNormaliser, Concurrency: 2}, func(_ context.Context, m *bus.Message) ([]bus.Event, error) {
			var r fairwayv1.RawRecord
			if err := proto.Unmarshal(m.Payload, &r); err != nil {
				return nil, bus.Permanent(err)
			}
			time.Sleep(time.Millisecond)
			mu.Lock()
			seen[r.SourceIdentifier]++
			mu.Unlock()
			return nil, nil
		})
	}()
	var most uint64
	var res result
wait:
	for {
		select {
		case res = <-done:
			break wait
		case <-ctx.Done():
			t.Fatal("the harvest did not resume")
		case <-time.After(10 * time.Millisecond):
		}
		if n, err := b.Backlog(ctx); err == nil {
			most = max(most, n)
		}
	}
	if res.err != nil || res.run.Status != fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE || res.run.Records != records {
		t.Fatalf("run = %v, %v", res.run, res.err)
	}
	if most >= bound+pageSize {
		t.Errorf("the backlog reached %d while the normaliser drained it, want under %d", most, bound+pageSize)
	}
	if obs.count() == 0 {
		t.Error("the observer was told of no wait")
	}
	// Every record reaches the normaliser, once.
	for {
		n, err := b.Backlog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d records still wait for the normaliser", n)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stopStage()
	if err := <-stageDone; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != records {
		t.Fatalf("the normaliser saw %d records, want %d", len(seen), records)
	}
	for i := range records {
		if c := seen[corpus.Identifier(i)]; c != 1 {
			t.Errorf("record %s seen %d times", corpus.Identifier(i), c)
		}
	}
	if cp := readCheckpoint(t, b, feed.ID); cp.LastComplete == nil || cp.Current != nil {
		t.Errorf("checkpoint after the run: %+v", cp)
	}
}

func TestMaxBacklogBoundsAHarvestWithoutStages(t *testing.T) {
	// Nothing consumes the raw stream: a bound under the feed's size holds
	// the harvest until its context ends (it resumes from its checkpoint
	// later), a negative one turns the flow control off.
	for _, tc := range []struct {
		name     string
		bound    int
		complete bool
	}{
		{"bound of 100", 100, false},
		{"no bound", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, 400, 50, harvester.Config{MaxBacklog: tc.bound, BacklogPoll: 10 * time.Millisecond})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			run, err := e.h.Harvest(ctx, e.feed(), harvester.RunRequest{})
			_, n := raw(t, e.bus)
			if tc.complete {
				if err != nil || run.Records != 400 || n != 400 {
					t.Fatalf("run = %v, %v; raw stream holds %d, want 400", run, err, n)
				}
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) || n < tc.bound || n >= tc.bound+50 {
				t.Fatalf("run = %v, %v; raw stream holds %d, want the run interrupted with [%d, %d)", run, err, n, tc.bound, tc.bound+50)
			}
			if cp := readCheckpoint(t, e.bus, "sample"); cp.Current == nil || cp.Current.Records != int64(n) {
				t.Fatalf("checkpoint %+v, want the interrupted run at %d records", cp.Current, n)
			}
		})
	}
}
