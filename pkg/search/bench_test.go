package search_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/search"
)

// BenchmarkSearch measures a filtered text query (words, a technique named
// in them, a facility and a date range, sorted by relevance, with facets)
// over a catalogue of FAIRWAY_SEARCH_BENCH_DATASETS synthetic datasets
// (default 20000), and reports the index's build rate and size and the
// queries' p50 and p95 latencies.
//
//	FAIRWAY_SEARCH_BENCH_DATASETS=100000 go test ./pkg/search/ -run '^$' -bench BenchmarkSearch -benchtime 200x
func BenchmarkSearch(b *testing.B) {
	n := 20000
	if v := os.Getenv("FAIRWAY_SEARCH_BENCH_DATASETS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("FAIRWAY_SEARCH_BENCH_DATASETS=%q: want a positive number", v)
		}
	}
	m := searchtest.Ontology(b)
	bs := testenv.Bus(b)
	for i := 0; i < n; i += 10000 {
		searchtest.Publish(b, bs, searchtest.Entries(m.Ontology(), searchtest.Synthetic(min(10000, n-i), uint64(i+1))))
	}
	dir := b.TempDir()
	began := time.Now()
	model := searchtest.Open(b, bs, dir)
	searchtest.CaughtUp(b, bs, model)
	built := time.Since(began)
	size := dirSize(b, dir)
	segments, err := filepath.Glob(filepath.Join(dir, "index.bleve", "store", "*.zap"))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d datasets: built in %s (%.0f/s), model %.1f MiB (%s), %d segment files", n, built.Round(time.Millisecond), float64(n)/built.Seconds(),
		float64(size)/(1<<20), sizes(b, dir), len(segments))
	facilities := []string{"esrf", "ill", "psi", "desy", "soleil"}
	words := []string{"tomography bone", "diffraction battery", "protein scattering", "catalyst operando", "alloy imaging"}
	from, until := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("filtered", func(b *testing.B) {
		ctx := context.Background()
		var took []time.Duration
		var hits uint64
		for i := 0; b.Loop(); i++ {
			req := search.Request{Query: words[i%len(words)], Facility: facilities[(i/len(words))%len(facilities)], From: from, Until: until}
			t0 := time.Now()
			r, err := s.Search(ctx, req)
			took = append(took, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			hits += r.Total
		}
		slices.Sort(took)
		pct := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.95), "p95-ms")
		b.ReportMetric(float64(n)/built.Seconds(), "build-datasets/s")
		b.ReportMetric(float64(size)/(1<<20), "model-MiB")
		b.ReportMetric(float64(hits)/float64(len(took)), "matches/query")
	})
}

// dirSize returns the bytes of the files under dir.
func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// sizes says the size of each part of the model in dir.
func sizes(b *testing.B, dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var out string
	for _, e := range entries {
		out += fmt.Sprintf("%s %.1f MiB ", e.Name(), float64(dirSize(b, filepath.Join(dir, e.Name())))/(1<<20))
	}
	return out
}
