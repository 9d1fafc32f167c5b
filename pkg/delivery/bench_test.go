package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/delivery"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/urlguard"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// fillCatalogue stores n catalogue entries, made from the sample corpus
// under n distinct keys.
func fillCatalogue(b *testing.B, bs *bus.Bus, n int) {
	b.Helper()
	stage, err := publisher.New(publisher.Config{}, bs, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ds := corpus(b, 200)
	events := make([]bus.Event, 0, 1000)
	flush := func() {
		if err := bs.PublishBatch(context.Background(), "bench", events); err != nil {
			b.Fatal(err)
		}
		events = events[:0]
	}
	for i := range n {
		e := proto.Clone(ds[i%len(ds)]).(*fairwayv1.EnrichedDataset)
		e.Dataset.Key = fmt.Sprintf("%s/%d", e.Dataset.Key, i)
		e.Dataset.ContentHash += strconv.Itoa(i)
		entry, err := stage.Entry(e)
		if err != nil {
			b.Fatal(err)
		}
		p, err := proto.Marshal(entry)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, bus.Event{Stream: bus.Catalogue, Key: entry.Key, Hash: entry.ContentHash, Payload: p})
		if len(events) == cap(events) {
			flush()
		}
	}
	flush()
}

// startManager runs a delivery manager on bs until the benchmark ends.
func startManager(b *testing.B, bs *bus.Bus) {
	b.Helper()
	m, err := delivery.New(delivery.Config{Holder: "bench", Policy: urlguard.Policy{AllowPrivate: true}, Poll: 100 * time.Millisecond,
		RetryInitial: 100 * time.Millisecond, RetryMax: time.Second}, bs, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
}

func register(b *testing.B, bs *bus.Bus, hub *piveautest.Server, inFlight int) {
	b.Helper()
	registerDestination(b, bs, destinations.Destination{ID: "eosc", Kind: destinations.KindPiveau, URL: hub.URL, Catalogue: "panosc",
		APIKey: feeds.Secret("k"), InFlight: inFlight, Enabled: true})
}

func registerDestination(b *testing.B, bs *bus.Bus, d destinations.Destination) {
	b.Helper()
	reg := destinations.NewRegistry(bs.State(bus.BucketDestinations))
	if _, err := reg.Create(context.Background(), d); err != nil {
		b.Fatal(err)
	}
}

func waitHeld(b *testing.B, hub *piveautest.Server, n int, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for hub.Len("panosc") < n {
		if time.Now().After(deadline) {
			b.Fatalf("the hub holds %d of %d datasets after %v", hub.Len("panosc"), n, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkPushToHubAt20ms pushes b.N catalogue entries to a piveau hub
// answering every request in 20 ms, 32 datasets in flight (the default):
// datasets/s is the rate a destination's latency allows.
func BenchmarkPushToHubAt20ms(b *testing.B) {
	bs := testenv.Bus(b)
	fillCatalogue(b, bs, b.N)
	hub := piveautest.Start(piveautest.Config{APIKey: "k", Catalogues: []string{"panosc"}, Latency: 20 * time.Millisecond})
	b.Cleanup(hub.Close)
	startManager(b, bs)
	b.ResetTimer()
	start := time.Now()
	register(b, bs, hub, 0)
	waitHeld(b, hub, b.N, 10*time.Minute)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "datasets/s")
}

// BenchmarkPushToSciCatAt20ms is BenchmarkPushToHubAt20ms against a
// SciCat backend answering in 20 ms (one POST per new dataset).
func BenchmarkPushToSciCatAt20ms(b *testing.B) {
	bs := testenv.Bus(b)
	fillCatalogue(b, bs, b.N)
	srv := scicattest.Start(scicattest.Config{Users: map[string]string{"fairway": "pw"}, Latency: 20 * time.Millisecond})
	b.Cleanup(srv.Close)
	startManager(b, bs)
	b.ResetTimer()
	start := time.Now()
	registerDestination(b, bs, destinations.Destination{ID: "daphne", Kind: destinations.KindSciCat, URL: srv.URL,
		Username: "fairway", Password: feeds.Secret("pw"), Enabled: true})
	deadline := time.Now().Add(10 * time.Minute)
	for len(srv.Datasets()) < b.N {
		if time.Now().After(deadline) {
			b.Fatalf("SciCat holds %d of %d datasets", len(srv.Datasets()), b.N)
		}
		time.Sleep(200 * time.Millisecond) // Datasets copies every document
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "datasets/s")
}

// BenchmarkDestinationDown stores b.N catalogue entries (run it with
// -benchtime 100000x), registers a hub that is down, lets the delivery
// retry for 10 s, and reports the memory of the process meanwhile (the
// embedded NATS server included); then the hub comes back and the rate
// of catching up is reported.
func BenchmarkDestinationDown(b *testing.B) {
	bs := testenv.Bus(b)
	fillCatalogue(b, bs, b.N)
	hub := piveautest.Start(piveautest.Config{APIKey: "k", Catalogues: []string{"panosc"}, Latency: 20 * time.Millisecond})
	b.Cleanup(hub.Close)
	hub.Down()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	startManager(b, bs)
	b.ResetTimer()
	register(b, bs, hub, 0)
	var peakHeap uint64
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "MB-heap-before")
	b.ReportMetric(float64(peakHeap)/(1<<20), "MB-heap-down")
	b.ReportMetric(float64(ru.Maxrss)/1024, "MB-peak-rss")
	if err := hub.Up(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	waitHeld(b, hub, b.N, 30*time.Minute)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "catch-up-datasets/s")
	fmt.Fprintf(os.Stderr, "destination down: %d datasets waiting, heap %.0f MB before, %.0f MB at most while down, peak RSS %.0f MB\n",
		b.N, float64(before.HeapInuse)/(1<<20), float64(peakHeap)/(1<<20), float64(ru.Maxrss)/1024)
}
