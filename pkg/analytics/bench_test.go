package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/dcat"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// benchEntries returns n catalogue messages as the writer reads them: a
// dataset with two techniques and their broader terms, quality parts and
// dates.
func benchEntries(b testing.TB, n int) []bus.StoredMessage {
	b.Helper()
	facilities := []string{"ESRF", "ILL", "PSI", "DESY", "MAXIV"}
	msgs := make([]bus.StoredMessage, n)
	for i := range msgs {
		key := fmt.Sprintf("doi:10.5072/bench.%d", i)
		d := &fairwayv1.Dataset{
			Key: key, Doi: key[4:], Facility: facilities[i%len(facilities)], FeedId: "feed", Title: "Benchmark dataset " + key,
			Issued: timestamppb.New(time.Date(2020+i%6, time.Month(1+i%12), 1, 0, 0, 0, 0, time.UTC)), AccessRights: "open",
			License: "https://creativecommons.org/licenses/by/4.0/", ContentHash: key, Version: "1",
			Creators:   []*fairwayv1.Person{{Name: "A", Orcid: "0000-0002-1825-0097"}, {Name: "B"}},
			Provenance: &fairwayv1.Provenance{RunId: "run", HarvestedAt: timestamppb.New(harvested)},
		}
		e := &fairwayv1.EnrichedDataset{Dataset: d, QualityScore: 0.7, PanetVersion: "bench",
			Techniques: []*fairwayv1.Technique{
				{Iri: PaNETNamespace + "PaNET01188", Label: "saxs", Broader: []string{PaNETNamespace + "PaNET01127", PaNETNamespace + "PaNET00001"}},
				{Iri: PaNETNamespace + "PaNET01168", Label: "xrd", Broader: []string{PaNETNamespace + "PaNET00001"}},
			},
			QualityDimensions: []*fairwayv1.QualityDimension{{Name: "findability", Score: 1}, {Name: "reusability", Score: 0.5}},
			QualityGaps:       []*fairwayv1.QualityGap{{Check: "orcid"}},
		}
		// Each entry carries its DCAT-AP Turtle, as the publisher's do.
		turtle, err := dcat.DatasetTurtle(e, dcat.Options{})
		if err != nil {
			b.Fatal(err)
		}
		c := &fairwayv1.CatalogueEntry{Key: key, Dataset: e, Turtle: turtle, ContentHash: key, PublishedAt: timestamppb.Now()}
		msgs[i] = bus.StoredMessage{Subject: bus.Subject(bus.Catalogue, key), Sequence: uint64(i + 1), Data: mustMarshal(b, c), Time: time.Now()}
	}
	return msgs
}

// BenchmarkWriterCatalogue measures the writer's insert rate from the
// catalogue stream: each batch of entries is decoded and written as dataset
// rows and pipeline-event rows (two rows per entry), as the writer's
// catalogue consumer does, against the real ClickHouse. rows/s counts both.
func BenchmarkWriterCatalogue(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			store := openBenchStore(b, Config{BatchSize: size})
			msgs := benchEntries(b, size)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if err := writeCatalogue(ctx, store, msgs); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(2*size*b.N)/el, "rows/s")
			b.ReportMetric(float64(size*b.N)/el, "entries/s")
		})
	}
}

// openBenchStore opens a store on a database of its own on the test
// server, dropped at the end.
func openBenchStore(b *testing.B, cfg Config) *Store {
	b.Helper()
	cfg.Addr = testAddr()
	cfg.Database = fmt.Sprintf("fairway_bench_%d", time.Now().UnixNano())
	s, err := Open(context.Background(), cfg)
	if err != nil {
		b.Fatalf("ClickHouse at %s: %v", cfg.Addr, err)
	}
	b.Cleanup(func() {
		_ = s.DropDatabase(context.Background())
		_ = s.Close()
	})
	return s
}

// BenchmarkInsertPipelineEvents measures the insert rate of pipeline
// events (the writer's busiest table: three rows per dataset version) in
// batches of 10,000, against the real ClickHouse.
func BenchmarkInsertPipelineEvents(b *testing.B) {
	const size = 10000
	store := openBenchStore(b, Config{BatchSize: size})
	rows := make([]PipelineEventRow, size)
	for i := range rows {
		rows[i] = PipelineEventRow{Stage: "enricher", Seq: uint64(i + 1), Outcome: OutcomeEmitted, Key: fmt.Sprintf("doi:10.5072/bench.%d", i),
			Facility: "ESRF", FeedID: "feed", RunID: "run", HarvestedAt: harvested, At: harvested.Add(time.Second), Latency: time.Second}
	}
	ctx := context.Background()
	start := time.Now()
	for b.Loop() {
		if err := store.InsertPipelineEvents(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size*b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkInsertDatasets measures the insert rate of dataset rows (the
// widest table) in batches of 10,000, rows built beforehand, against the
// real ClickHouse.
func BenchmarkInsertDatasets(b *testing.B) {
	const size = 10000
	store := openBenchStore(b, Config{BatchSize: size})
	rows := make([]DatasetRow, size)
	for i, m := range benchEntries(b, size) {
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &e); err != nil {
			b.Fatal(err)
		}
		rows[i] = RowFromEntry(&e, m.Sequence)
	}
	ctx := context.Background()
	start := time.Now()
	for b.Loop() {
		if err := store.InsertDatasets(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size*b.N)/time.Since(start).Seconds(), "rows/s")
}

// writerInputs are the messages a BenchmarkWriter iteration puts into the
// normalised, enriched and catalogue streams: n records, one message each.
func writerInputs(b *testing.B, entries []bus.StoredMessage) []bus.Event {
	b.Helper()
	events := make([]bus.Event, 0, 3*len(entries))
	for _, m := range entries {
		var c fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &c); err != nil {
			b.Fatal(err)
		}
		key, hash := c.GetKey(), c.GetContentHash()
		events = append(events,
			bus.Event{Stream: bus.Normalised, Key: key, Hash: hash, Payload: mustMarshal(b, c.GetDataset().GetDataset())},
			bus.Event{Stream: bus.Enriched, Key: key, Hash: hash, Payload: mustMarshal(b, c.GetDataset())},
			bus.Event{Stream: bus.Catalogue, Key: key, Hash: hash, Payload: m.Data})
	}
	return events
}

// writerRows are the rows the writer stores from n records in the
// normalised, enriched and catalogue streams, by table: one dataset row
// and one citations row per catalogue entry, and one pipeline event per
// message of the three streams.
func writerRows(n int) map[string]uint64 {
	return map[string]uint64{"datasets": uint64(n), "dataset_citations": uint64(n), "pipeline_events": uint64(3 * n)}
}

// checkWriterRows fails b unless the store holds exactly want rows per
// table once versions are merged (nothing lost, nothing counted twice);
// it returns the rows held and the rows inserted more than once (a batch
// written again), which count() sees until ClickHouse merges them.
func checkWriterRows(b *testing.B, store *Store, want map[string]uint64) (held, again uint64) {
	b.Helper()
	ctx := context.Background()
	for table, n := range want {
		final, err := store.Count(ctx, table+" FINAL", "")
		if err != nil {
			b.Fatal(err)
		}
		all, err := store.Count(ctx, table, "")
		if err != nil {
			b.Fatal(err)
		}
		if final != n {
			b.Fatalf("%s holds %d rows, want %d", table, final, n)
		}
		held += final
		again += all - final
	}
	return held, again
}

// processCPU returns the CPU time this process has used (the writer and
// the embedded NATS server both run in it; ClickHouse does not).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchWriterRecords is how many records BenchmarkWriter and
// BenchmarkWriterBatches write: FAIRWAY_BENCH_WRITER_RECORDS, default
// 20,000. With more, the last batch's wait to fill (the store's
// FlushInterval, 1 s) weighs less: the writer's rate while it catches up.
func benchWriterRecords(b *testing.B) int { return benchSize(b, "FAIRWAY_BENCH_WRITER_RECORDS", 20000) }

// BenchmarkWriter measures the whole writer as it runs, with its default
// configuration: 20,000 records (benchWriterRecords) wait in the normalised, enriched and
// catalogue streams of an embedded JetStream, and the timer runs from the
// writer's start until each of its four consumers of those streams has
// acknowledged every message (its ack floor at the stream's last sequence,
// none pending). The streams are filled before the timer starts. rows/s
// is the rows the writer stored over that time — five a record, 100,000
// from 20,000: 20,000 in datasets, 20,000 in dataset_citations, 60,000 in
// pipeline_events —
// checked afterwards to be there exactly once each (FINAL). cpu-µs/row
// is the CPU time of this process (the writer and the embedded server,
// not ClickHouse) per row, less noisy than the rate on a shared machine.
func BenchmarkWriter(b *testing.B) {
	n := benchWriterRecords(b)
	events := writerInputs(b, benchEntries(b, n))
	want := writerRows(n)
	// The writer's consumers of the three streams.
	consumers := map[bus.Stage]bus.Stream{
		bus.StageAnalytics:           bus.Catalogue,
		bus.StageAnalyticsNormalised: bus.Normalised, bus.StageAnalyticsEnriched: bus.Enriched,
	}
	var (
		total, cpu  time.Duration
		rows, again uint64
	)
	for b.Loop() {
		b.StopTimer()
		bs := testenv.Bus(b)
		if err := bs.PublishBatch(context.Background(), "bench", events); err != nil {
			b.Fatal(err)
		}
		js := bs.JetStream()
		type target struct {
			cons jetstream.Consumer
			last uint64
		}
		var targets []target
		for stage, stream := range consumers {
			st, err := js.Stream(context.Background(), string(stream))
			if err != nil {
				b.Fatal(err)
			}
			info, err := st.Info(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			c, err := js.Consumer(context.Background(), string(stream), string(stage))
			if err != nil {
				b.Fatal(err)
			}
			targets = append(targets, target{c, info.State.LastSeq})
		}
		store := openBenchStore(b, Config{})
		sink, err := NewSink(SinkConfig{Store: Config{Addr: store.cfg.Addr, Database: store.Database()},
			RetryDelay: 100 * time.Millisecond}, bs, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		runtime.GC()
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU(b)
		go func() { done <- sink.Run(ctx) }()
		for _, t := range targets {
			for {
				// A loaded server may answer later than the client's
				// default API timeout of 5 s.
				ictx, icancel := context.WithTimeout(context.Background(), time.Minute)
				info, err := t.cons.Info(ictx)
				icancel()
				if err != nil {
					b.Fatal(err)
				}
				if info.AckFloor.Stream >= t.last && info.NumAckPending == 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		el, used := time.Since(start), processCPU(b)-cpu0
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		held, twice := checkWriterRows(b, store, want)
		total, cpu, rows, again = total+el, cpu+used, rows+held, again+twice
		b.StartTimer()
	}
	// Every iteration's rows over every iteration's time: a slow one
	// counts.
	b.ReportMetric(float64(rows)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(rows), "cpu-µs/row")
	b.ReportMetric(float64(again)/float64(b.N), "rows-again/op")
}

// BenchmarkWriterBatches is BenchmarkWriter without the bus: the same
// 20,000 records' messages, already in memory, go through the same four
// consumers' Write functions, side by side, in batches of the default
// size, into ClickHouse. It is the writer's own rate; the difference from
// BenchmarkWriter is the cost of receiving the messages from the embedded
// server and acknowledging them.
func BenchmarkWriterBatches(b *testing.B) {
	n := benchWriterRecords(b)
	entries := benchEntries(b, n)
	inputs := map[bus.Stream][]bus.StoredMessage{}
	for i, ev := range writerInputs(b, entries) {
		m := bus.StoredMessage{Subject: bus.Subject(ev.Stream, ev.Key), Sequence: uint64(i/3 + 1), Data: ev.Payload,
			Header: nats.Header{bus.HeaderKey: []string{ev.Key}}, Time: time.Now()}
		inputs[ev.Stream] = append(inputs[ev.Stream], m)
	}
	byStage := map[bus.Stage]bus.Stream{
		bus.StageAnalytics:           bus.Catalogue,
		bus.StageAnalyticsNormalised: bus.Normalised, bus.StageAnalyticsEnriched: bus.Enriched,
	}
	want := writerRows(n)
	var (
		total, cpu time.Duration
		rows       uint64
	)
	for b.Loop() {
		b.StopTimer()
		store := openBenchStore(b, Config{})
		size := store.cfg.BatchSize
		runtime.GC()
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU(b)
		var wg sync.WaitGroup
		errs := make(chan error, len(byStage))
		for _, c := range Consumers() {
			stream, ok := byStage[c.Stage]
			if !ok {
				continue
			}
			wg.Go(func() {
				msgs := inputs[stream]
				for i := 0; i < len(msgs); i += size {
					if err := c.Write(context.Background(), store, msgs[i:min(i+size, len(msgs))]); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		el, used := time.Since(start), processCPU(b)-cpu0
		b.StopTimer()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		held, _ := checkWriterRows(b, store, want)
		total, cpu, rows = total+el, cpu+used, rows+held
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(rows), "cpu-µs/row")
}
