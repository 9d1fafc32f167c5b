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
		c := &fairwayv1.CatalogueEntry{Key: key, Dataset: e, ContentHash: key, PublishedAt: timestamppb.Now()}
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

// BenchmarkWriter measures the whole writer: 20,000 records wait in the
// normalised, enriched and catalogue streams of an embedded JetStream, and
// the timer runs from the writer's start until ClickHouse holds their
// 20,000 dataset rows and 60,000 pipeline-event rows. Its consumers fetch,
// decode and insert in parallel, one per stream, in batches of the
// default size (10,000), each consumer fetching its next batch while the
// current one is inserted.
func BenchmarkWriter(b *testing.B) {
	const n = 20000
	msgs := benchEntries(b, n)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		bs := testenv.Bus(b)
		events := make([]bus.Event, 0, 3*n)
		for _, m := range msgs {
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
		if err := bs.PublishBatch(context.Background(), "bench", events); err != nil {
			b.Fatal(err)
		}
		store := openBenchStore(b, Config{})
		sink, err := NewSink(SinkConfig{Store: Config{Addr: store.cfg.Addr, Database: store.Database(), FlushInterval: 100 * time.Millisecond},
			RetryDelay: 100 * time.Millisecond}, bs, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- sink.Run(ctx) }()
		for {
			d, _ := store.Count(context.Background(), "datasets", "")
			e, _ := store.Count(context.Background(), "pipeline_events", "")
			if d >= n && e >= 3*n {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		el := time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		total += el
		b.StartTimer()
	}
	// Every iteration's rows over every iteration's time: a slow one
	// counts.
	b.ReportMetric(float64(4*n*b.N)/total.Seconds(), "rows/s")
}
