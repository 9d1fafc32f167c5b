package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// harvested is when the test's records were harvested.
var harvested = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testDataset(i int, facility string) *fairwayv1.Dataset {
	key := fmt.Sprintf("doi:10.5072/w.%d", i)
	return &fairwayv1.Dataset{
		Key: key, Doi: key[4:], Facility: facility, FeedId: "feed-" + facility, Title: "Dataset " + key,
		Issued:       timestamppb.New(time.Date(2025, time.Month(1+i%3), 10, 0, 0, 0, 0, time.UTC)),
		AccessRights: "open", ContentHash: fmt.Sprintf("c%d", i),
		Provenance: &fairwayv1.Provenance{RunId: "run-" + facility, HarvestedAt: timestamppb.New(harvested)},
	}
}

// publishStages publishes n datasets through the normalised, enriched and
// catalogue streams, as the stages would.
func publishStages(t *testing.T, b *bus.Bus, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		d := testDataset(i, []string{"ESRF", "ILL"}[i%2])
		e := &fairwayv1.EnrichedDataset{Dataset: d, QualityScore: 0.5, Techniques: []*fairwayv1.Technique{{
			Iri: PaNETNamespace + "PaNET01188", Label: "saxs", Broader: []string{PaNETNamespace + "PaNET01127"},
		}}}
		c := &fairwayv1.CatalogueEntry{Key: d.Key, Dataset: e, ContentHash: d.ContentHash, PublishedAt: timestamppb.Now()}
		for _, ev := range []struct {
			origin string
			s      bus.Stream
			m      proto.Message
		}{{"normaliser", bus.Normalised, d}, {"enricher", bus.Enriched, e}, {"publisher", bus.Catalogue, c}} {
			if err := b.Publish(ctx, ev.origin, bus.Event{Stream: ev.s, Key: d.Key, Hash: d.ContentHash, Payload: mustMarshal(t, ev.m)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// publishOps publishes harvest runs, delivery reports and dead letters.
func publishOps(t *testing.T, b *bus.Bus) {
	t.Helper()
	ctx := context.Background()
	for i, status := range []fairwayv1.HarvestStatus{fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING, fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE} {
		r := &fairwayv1.HarvestRun{RunId: "run-ESRF", FeedId: "feed-ESRF", Facility: "ESRF", Status: status,
			StartedAt: timestamppb.New(harvested), FinishedAt: timestamppb.New(harvested.Add(time.Duration(i) * time.Minute)),
			Records: 10, Bytes: 12345, Retries: 2, ListSize: 10}
		if err := b.Publish(ctx, "harvester", bus.Event{Stream: bus.Ops, Key: "feed-ESRF", Hash: r.RunId + status.String(), Payload: mustMarshal(t, r)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, outcome := range []string{"failed", "pushed", "pushed"} {
		ev := &fairwayv1.DeliveryEvent{Destination: "eosc", Key: fmt.Sprintf("doi:10.5072/w.%d", i/2), Facility: "ESRF",
			Outcome: outcome, Attempts: int32(1 + i%2), At: timestamppb.Now(), CatalogueSeq: uint64(1 + i/2)}
		if err := b.Publish(ctx, "push:eosc", bus.DeliveryOutcomeEvent("eosc", ev.CatalogueSeq, outcome, int(ev.Attempts), mustMarshal(t, ev))); err != nil {
			t.Fatal(err)
		}
	}
	raw := &fairwayv1.RawRecord{FeedId: "feed-ILL", Facility: "ILL", SourceIdentifier: "oai:ill:1", Payload: []byte("<broken")}
	dl := bus.DeadLetterEvent("normaliser", bus.Digest("oai:ill:1"), mustMarshal(t, raw), "unreadable XML",
		map[string]string{bus.HeaderAttempts: "3", bus.HeaderDatasetKey: "src:ILL:oai:ill:1"})
	if err := b.Publish(ctx, "normaliser", dl); err != nil {
		t.Fatal(err)
	}
	// A dead letter whose payload is nothing a stage reads.
	junk := bus.DeadLetterEvent("enricher", bus.Digest("junk"), []byte{0xff, 0x01, 0x02}, "not a dataset", nil)
	if err := b.Publish(ctx, "enricher", junk); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *Store, query string) uint64 {
	t.Helper()
	var n uint64
	if err := s.conn.QueryRow(testContext(t), fmt.Sprintf(query, s.db)).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitCount waits until query (with %[1]s for the database) gives want.
func waitCount(t *testing.T, s *Store, query string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n uint64
		err := s.conn.QueryRow(context.Background(), fmt.Sprintf(query, s.db)).Scan(&n)
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d (%v), want %d", query, n, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// expected are the rows the test's messages give, counted once each.
var expected = []struct {
	query string
	want  uint64
}{
	{"SELECT count() FROM %[1]s.datasets FINAL", 10},
	{"SELECT count() FROM %[1]s.pipeline_events FINAL", 30},
	{"SELECT count() FROM %[1]s.pipeline_events FINAL WHERE stage = 'enricher' AND facility = 'ILL' AND latency_ms > 0", 5},
	{"SELECT count() FROM %[1]s.harvest_runs FINAL WHERE status = 'complete' AND bytes = 12345 AND retries = 2 AND list_size = 10", 1},
	{"SELECT count() FROM %[1]s.deliveries FINAL", 3},
	{"SELECT count() FROM %[1]s.deliveries FINAL WHERE outcome = 'pushed'", 2},
	{"SELECT count() FROM %[1]s.dead_letters FINAL", 2},
	{"SELECT count() FROM %[1]s.dead_letters FINAL WHERE stage = 'normaliser' AND facility = 'ILL' AND feed_id = 'feed-ILL' AND attempts = 3 AND key = 'src:ILL:oai:ill:1'", 1},
	{"SELECT count() FROM %[1]s.datasets FINAL WHERE has(techniques_all, '" + PaNETNamespace + "PaNET01127')", 10},
}

func runSink(t *testing.T, b *bus.Bus, cfg Config) (stop func()) {
	t.Helper()
	cfg.FlushInterval = 100 * time.Millisecond
	sink, err := NewSink(SinkConfig{Store: cfg, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second,
		AggregateInterval: 200 * time.Millisecond}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sink.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sink: %v", err)
		}
	}
}

// TestWriterFillsEveryTableAndCountsAReplayOnce runs the writer over the
// pipeline's streams; then its consumers are reset to the start of every
// stream (a replay), and every count stays the same.
func TestWriterFillsEveryTableAndCountsAReplayOnce(t *testing.T) {
	b := testenv.Bus(t)
	store := openTestStore(t, Config{})
	publishStages(t, b, 10)
	publishOps(t, b)
	stop := runSink(t, b, Config{Addr: testAddr(), Database: store.Database()})
	for _, e := range expected {
		waitCount(t, store, e.query, e.want)
	}
	// The aggregates count the current state: 10 datasets, whatever the
	// versions.
	waitCount(t, store, "SELECT sum(datasets) FROM %[1]s.datasets_by_month WHERE technique = '' AND "+latestAggregates("%[1]s"), 10)
	stop()

	// Replay: every writer consumer starts again from the first message.
	ctx := testContext(t)
	for _, c := range Consumers() {
		s, _ := bus.InputOf(c.Stage)
		if err := b.DeleteConsumer(ctx, s, string(c.Stage)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	// A changed version of one dataset comes after the replay.
	d := testDataset(0, "ESRF")
	d.Title, d.ContentHash = "Changed", "changed"
	c := &fairwayv1.CatalogueEntry{Key: d.Key, Dataset: &fairwayv1.EnrichedDataset{Dataset: d}, ContentHash: "changed"}
	if err := b.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: d.Key, Hash: "changed", Payload: mustMarshal(t, c)}); err != nil {
		t.Fatal(err)
	}
	stop = runSink(t, b, Config{Addr: testAddr(), Database: store.Database()})
	defer stop()
	waitCount(t, store, "SELECT count() FROM %[1]s.datasets FINAL WHERE title = 'Changed'", 1)
	waitConsumed(t, b)
	for _, e := range expected {
		want := e.want
		if e.query == expected[1].query {
			want++ // the changed version's own event
		}
		if e.query == expected[len(expected)-1].query {
			want-- // the changed version has no techniques
		}
		waitCount(t, store, e.query, want)
	}
	waitCount(t, store, "SELECT count() FROM (SELECT seq FROM %[1]s.dead_letters GROUP BY seq)", 2)
}

// waitConsumed waits until every writer consumer has acknowledged every
// message of its stream.
func waitConsumed(t *testing.T, b *bus.Bus) {
	t.Helper()
	for _, c := range Consumers() {
		s, _ := bus.InputOf(c.Stage)
		cons, err := b.JetStream().Consumer(context.Background(), string(s), string(c.Stage))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			info, err := cons.Info(context.Background())
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 && (info.Delivered.Stream > 0 || streamEmpty(t, b, s)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("consumer %s: %+v (%v), want everything acknowledged", c.Stage, info, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// streamEmpty reports whether stream s holds no message (its consumer has
// nothing to deliver).
func streamEmpty(t *testing.T, b *bus.Bus, s bus.Stream) bool {
	t.Helper()
	st, err := b.StreamState(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return st.Msgs == 0
}
