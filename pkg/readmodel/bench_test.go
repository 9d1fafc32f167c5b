package readmodel_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// benchEntries is the size of the benchmarks' catalogue.
const benchEntries = 20000

var facilities = []string{"ESRF", "ILL", "ESS", "EuXFEL", "PSI", "MAXIV", "SOLEIL", "ELETTRA", "HZDR", "DESY"}

// realistic returns a catalogue entry the size of a real one: a title, a
// paragraph of description, creators, keywords, two techniques with their
// ancestors and a few KiB of Turtle.
func realistic(i int) *fairwayv1.CatalogueEntry {
	e := entry(ds{
		key: fmt.Sprintf("10.5072/bench-%06d", i), doi: fmt.Sprintf("10.5072/BENCH-%06d", i),
		facility: facilities[i%len(facilities)], feed: "feed-" + facilities[i%len(facilities)],
		title:  fmt.Sprintf("Small-angle scattering of protein sample %d at beamline ID%02d", i, i%32),
		access: "open", at: day1.Add(time.Duration(i) * time.Second),
		techniques: []*fairwayv1.Technique{
			technique(fmt.Sprintf("PaNET%05d", 1000+i%50), "PaNET01012", "PaNET00001"),
			technique(fmt.Sprintf("PaNET%05d", 1100+i%30), "PaNET01100"),
		},
	})
	d := e.Dataset.Dataset
	d.Description = strings.Repeat("Measurements of the structure of proteins in solution, with temperature series and buffers. ", 8)
	for j := range 4 {
		d.Creators = append(d.Creators, &fairwayv1.Person{Name: fmt.Sprintf("Scientist %d-%d", i, j), Orcid: "0000-0002-1825-0097"})
		d.Subjects = append(d.Subjects, &fairwayv1.Subject{Value: fmt.Sprintf("keyword %d", (i+j)%200)})
	}
	d.Issued = timestamppb.New(day1)
	e.Turtle = strings.Repeat("<https://doi.org/"+d.Doi+"> <http://purl.org/dc/terms/title> \""+d.Title+"\" .\n", 30)
	return e
}

// benchModel returns a model caught up with a catalogue of n realistic
// entries.
func benchModel(b *testing.B, n int) *running {
	bs := testenv.Bus(b)
	entries := make([]*fairwayv1.CatalogueEntry, n)
	for i := range entries {
		entries[i] = realistic(i)
	}
	seq := publish(b, bs, entries...)
	m := start(b, bs, b.TempDir(), "bench")
	caughtUp(b, m.Model, seq)
	return m
}

// BenchmarkApply measures how fast a model is built from a catalogue
// stream of benchEntries entries (decode, index, store, commit, ack).
func BenchmarkApply(b *testing.B) {
	bs := testenv.Bus(b)
	entries := make([]*fairwayv1.CatalogueEntry, benchEntries)
	for i := range entries {
		entries[i] = realistic(i)
	}
	seq := publish(b, bs, entries...)
	for _, size := range []int{500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			var total, cpu time.Duration
			for b.Loop() {
				t0, c0 := time.Now(), cpuTime()
				m := startWith(b, bs, readmodel.Config{Dir: b.TempDir(), Replica: fmt.Sprintf("apply%d", time.Now().UnixNano()), BatchSize: size})
				caughtUp(b, m.Model, seq)
				total += time.Since(t0)
				cpu += cpuTime() - c0
				b.StopTimer()
				m.stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(benchEntries*b.N)/total.Seconds(), "entries/s")
			// The machine is shared: CPU time per entry says more than the
			// wall clock.
			b.ReportMetric(float64(cpu.Microseconds())/float64(benchEntries*b.N), "cpu-µs/entry")
		})
	}
}

// cpuTime returns the CPU time the process used so far (the embedded NATS
// server included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSearchPage1000 measures a page of 1,000 records with their
// entries out of benchEntries.
func BenchmarkSearchPage1000(b *testing.B) {
	m := benchModel(b, benchEntries)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    readmodel.Query
	}{
		{"by key", readmodel.Query{Limit: 1000}},
		{"deep offset", readmodel.Query{Limit: 1000, Offset: 15000}},
		{"facility by datestamp", readmodel.Query{Limit: 1000, Facility: "esrf", Order: readmodel.ByDatestamp}},
		{"technique by seq", readmodel.Query{Limit: 1000, Technique: "PaNET01012", Order: readmodel.BySeq}},
		{"keys only", readmodel.Query{Limit: 1000, KeysOnly: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := m.Search(ctx, tc.q)
				if err != nil || len(page.Records) != 1000 {
					b.Fatalf("%d records, %v", len(page.Records), err)
				}
			}
		})
	}
	b.Run("cursor page", func(b *testing.B) {
		first, err := m.Search(ctx, readmodel.Query{Limit: 1000, Offset: 0})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			page, err := m.Search(ctx, readmodel.Query{Limit: 1000, After: first.Next})
			if err != nil || len(page.Records) != 1000 {
				b.Fatalf("%d records, %v", len(page.Records), err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := m.Get(ctx, fmt.Sprintf("10.5072/bench-%06d", i%benchEntries)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("facets", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Techniques(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLagUnderLoad publishes benchEntries entries as fast as the
// publisher's batch path allows while the model runs, samples the model's
// lag, and reports the largest lag seen and how long the model took to
// catch up after the last entry was stored.
func BenchmarkLagUnderLoad(b *testing.B) {
	entries := make([]*fairwayv1.CatalogueEntry, benchEntries)
	for i := range entries {
		entries[i] = realistic(i)
	}
	var maxLag, catchUp, publishFor float64
	for b.Loop() {
		b.StopTimer()
		bs := testenv.Bus(b)
		m := start(b, bs, b.TempDir(), "lag")
		ctx, cancel := context.WithCancel(context.Background())
		var peak atomic.Uint64
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for ctx.Err() == nil {
				if l, err := m.Lag(ctx); err == nil && l > peak.Load() {
					peak.Store(l)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		b.StartTimer()
		t0 := time.Now()
		var seq uint64
		for i := 0; i < len(entries); i += 500 {
			seq = publish(b, bs, entries[i:min(i+500, len(entries))]...)
		}
		stored := time.Now()
		caughtUp(b, m.Model, seq)
		done := time.Now()
		b.StopTimer()
		cancel()
		<-sampled
		maxLag = max(maxLag, float64(peak.Load()))
		catchUp = max(catchUp, done.Sub(stored).Seconds()*1000)
		publishFor = max(publishFor, stored.Sub(t0).Seconds()*1000)
		m.stop()
		b.StartTimer()
	}
	b.ReportMetric(maxLag, "max-lag-entries")
	b.ReportMetric(catchUp, "catch-up-ms")
	b.ReportMetric(publishFor, "publish-ms")
}

// BenchmarkSearchWhileApplying measures pages of 100 read while the model
// catches up with benchEntries entries: a read waits for the batch being
// applied (readers never see half a batch), so the slowest read is about
// one batch's apply time.
func BenchmarkSearchWhileApplying(b *testing.B) {
	entries := make([]*fairwayv1.CatalogueEntry, benchEntries)
	for i := range entries {
		entries[i] = realistic(i)
	}
	for _, size := range []int{100, 500} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			var worst, sum time.Duration
			reads := 0
			for b.Loop() {
				b.StopTimer()
				bs := testenv.Bus(b)
				seq := publish(b, bs, entries...)
				b.StartTimer()
				m := startWith(b, bs, readmodel.Config{Dir: b.TempDir(), Replica: "reads", BatchSize: size})
				for m.Position() < seq {
					t0 := time.Now()
					if _, err := m.Search(context.Background(), readmodel.Query{Limit: 100, Facility: "esrf"}); err != nil {
						b.Fatal(err)
					}
					d := time.Since(t0)
					worst, sum, reads = max(worst, d), sum+d, reads+1
					time.Sleep(10 * time.Millisecond)
				}
				b.StopTimer()
				m.stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-read-ms")
			b.ReportMetric(float64(sum.Microseconds())/1000/float64(max(reads, 1)), "mean-read-ms")
		})
	}
}

// BenchmarkApplyTrickle measures what the model costs while it follows a
// catalogue that fills at the pipeline's pace (batches of 20 entries every
// 10 ms, about 2,000 entries a second) rather than one stored beforehand:
// each fetch then finds a few entries, and the index makes many small
// segments that it merges later. It reports the CPU time of the process
// per entry (the embedded server's and the publisher's included) and how
// long the model took to catch up after the last entry was stored, without
// and with the model's Linger.
func BenchmarkApplyTrickle(b *testing.B) {
	entries := make([]*fairwayv1.CatalogueEntry, benchEntries)
	for i := range entries {
		entries[i] = realistic(i)
	}
	for _, linger := range []time.Duration{-1, 0} {
		name := "linger=default"
		if linger < 0 {
			name = "linger=none"
		}
		b.Run(name, func(b *testing.B) {
			var cpu time.Duration
			var catchUp float64
			for b.Loop() {
				b.StopTimer()
				bs := testenv.Bus(b)
				m := startWith(b, bs, readmodel.Config{Dir: b.TempDir(), Replica: "trickle", Linger: linger})
				b.StartTimer()
				c0 := cpuTime()
				tick := time.NewTicker(10 * time.Millisecond)
				var seq uint64
				for i := 0; i < len(entries); i += 20 {
					<-tick.C
					seq = publish(b, bs, entries[i:min(i+20, len(entries))]...)
				}
				tick.Stop()
				stored := time.Now()
				caughtUp(b, m.Model, seq)
				catchUp = max(catchUp, time.Since(stored).Seconds()*1000)
				cpu += cpuTime() - c0
				b.StopTimer()
				m.stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(benchEntries*b.N), "cpu-µs/entry")
			b.ReportMetric(catchUp, "catch-up-ms")
		})
	}
}
