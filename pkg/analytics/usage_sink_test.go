package analytics

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/usage"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// runSink runs the analytics writer on store's database until the returned
// stop is called.
func runUsageSink(t *testing.T, b *bus.Bus, store *Store) (stop func()) {
	t.Helper()
	return runUsageSinkAs(t, b, store, "")
}

// runUsageSinkAs is runUsageSink with the writer named holder in the
// rollup's lease (empty: the default).
func runUsageSinkAs(t *testing.T, b *bus.Bus, store *Store, holder string) (stop func()) {
	t.Helper()
	return runSinkWith(t, b, SinkConfig{
		Store:      Config{Addr: testAddr(), Database: store.Database(), FlushInterval: 100 * time.Millisecond},
		RetryDelay: 200 * time.Millisecond, UsageRollup: 200 * time.Millisecond, Holder: holder,
	}, slog.New(slog.DiscardHandler))
}

// runSinkWith runs the analytics writer configured by cfg until the
// returned stop is called.
func runSinkWith(t *testing.T, b *bus.Bus, cfg SinkConfig, log *slog.Logger) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sink, err := NewSink(cfg, b, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sink.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func storedUsage(t *testing.T, s *Store) (rows, final uint64) {
	t.Helper()
	ctx := testContext(t)
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".usage_events").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".usage_events FINAL").Scan(&final); err != nil {
		t.Fatal(err)
	}
	return rows, final
}

// waitConsumed waits until the stage's consumer acknowledged every message
// of its stream.
func waitStageConsumed(t *testing.T, b *bus.Bus, stage bus.Stage) {
	t.Helper()
	ctx := testContext(t)
	stream, _ := bus.InputOf(stage)
	str, err := b.JetStream().Stream(ctx, string(stream))
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := b.JetStream().Consumer(ctx, string(stream), string(stage))
	if err != nil {
		t.Fatal(err)
	}
	waitAcked(t, cons, info.State.LastSeq)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSinkUsageCountedOnceAfterRedeliveryAndReplay sends the crafted log
// over the usage stream, once more under other message ids (a facility
// resending, past the stream's dedup), and replays the writer's consumer
// from the start: every count stays what the log gives once, and a message
// that is no usage event is dead-lettered without holding the rest back.
func TestSinkUsageCountedOnceAfterRedeliveryAndReplay(t *testing.T) {
	b := testenv.Bus(t)
	store := openTestStore(t, Config{})
	ctx := testContext(t)
	events := craftedLog()
	if err := usage.BusPublisher(b)(ctx, events); err != nil {
		t.Fatal(err)
	}
	// The same events again, from another origin: JetStream keeps them.
	again := make([]bus.Event, 0, len(events))
	for _, e := range events {
		ev, err := usage.BusEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, ev)
	}
	if err := b.PublishBatch(ctx, "facility-stream", again); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "facility-stream", bus.Event{Stream: bus.Usage, Key: "junk", Hash: "junk", Payload: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	// A catalogue entry with related identifiers: reuse.
	entry := &fairwayv1.CatalogueEntry{Key: "doi:10.5072/a", ContentHash: "h", Dataset: &fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{
		Key: "doi:10.5072/a", Doi: "10.5072/a", Title: "Dataset A", Facility: "ESRF",
		Related: []*fairwayv1.RelatedIdentifier{{Identifier: "10.1000/paper", Type: "DOI", Relation: "IsCitedBy"}},
	}}}
	payload, err := proto.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: entry.Key, Hash: "h", Payload: payload}); err != nil {
		t.Fatal(err)
	}

	stop := runUsageSink(t, b, store)
	distinct := uint64(len(events) - 1) // the log holds one redelivery, which JetStream drops (same message id)
	waitStageConsumed(t, b, bus.StageAnalyticsUsage)
	waitFor(t, "reuse", func() bool { r, _ := store.Reuses(ctx, "", 10); return len(r) == 1 })
	waitFor(t, "usage counted", func() bool {
		c, _ := store.UsageCounts(ctx, UsageQuery{Begin: at(4, 1, 0, 0, 0), End: at(6, 1, 0, 0, 0)})
		return len(c) == 5
	})
	stop()
	waitStageConsumed(t, b, bus.StageAnalytics)
	if _, err := store.RollupUsage(ctx); err != nil { // once the citations are in: the titles
		t.Fatal(err)
	}
	want, err := store.UsageCounts(ctx, UsageQuery{Begin: at(4, 1, 0, 0, 0), End: at(6, 1, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, final := storedUsage(t, store); final != distinct {
		t.Errorf("%d distinct events, want %d", final, distinct)
	}
	dead := testenv.Messages(t, b, bus.DeadLetters)
	if len(dead) != 1 {
		t.Errorf("%d dead letters, want the one that is no event", len(dead))
	}

	// Replay: the writer's consumer starts again from the first message.
	if err := b.JetStream().DeleteConsumer(ctx, string(bus.Usage), string(bus.StageAnalyticsUsage)); err != nil {
		t.Fatal(err)
	}
	if err := b.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	stop = runUsageSink(t, b, store)
	waitStageConsumed(t, b, bus.StageAnalyticsUsage)
	stop()
	if _, err := store.RollupUsage(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := store.UsageCounts(ctx, UsageQuery{Begin: at(4, 1, 0, 0, 0), End: at(6, 1, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) != 5 {
		t.Fatalf("after the replay %d rows, before %d, want 5", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("after the replay %+v, before %+v", got[i], want[i])
		}
	}
	// The catalogue's title reaches the report.
	if got[0].Dataset != "doi:10.5072/a" || got[0].Title != "Dataset A" || got[0].Facility != "ESRF" {
		t.Errorf("first row %+v", got[0])
	}
}
