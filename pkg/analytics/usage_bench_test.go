package analytics

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// benchUsageEvents is how many usage events BenchmarkUsageDSR generates:
// FAIRWAY_BENCH_USAGE_EVENTS, default 10,000,000.
func benchUsageEvents(b *testing.B) int {
	return benchSize(b, "FAIRWAY_BENCH_USAGE_EVENTS", 10_000_000)
}

// benchSize is the positive number in the environment variable name, or
// def when it is unset.
func benchSize(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}

// BenchmarkUsageDSR measures the query behind the DSR of a whole year
// (every dataset, every month, both access methods) over a year of usage
// events and a catalogue of 1,000,000 datasets, generated inside
// ClickHouse (INSERT … SELECT from numbers()): 100,000 datasets used,
// sessions of four events 20 s apart (double clicks), a third of them
// requests, a fifth machine access, 2% agents, 5% robots and 1% failed
// answers. The year is counted once (RollupUsage, as the writer does)
// before the timer starts; the time it took is reported as rollup-s.
func BenchmarkUsageDSR(b *testing.B) {
	n := benchUsageEvents(b)
	s := openTestStore(b, Config{})
	ctx := b.Context()
	gen := fmt.Sprintf(`INSERT INTO %[1]s.usage_events (id, dataset, time, kind, session, access_method, client, robot, status, country, source, facility, received)
SELECT lower(hex(MD5(toString(number)))), concat('doi:10.5072/bench.', toString(intHash32(intDiv(number, 2)) %% 100000)),
  toDateTime(1735689600 + intHash64(intDiv(number, 4)) %% 31536000 + (number %% 4) * 20, 'UTC'),
  if(number %% 3 = 0, 'request', 'investigation'), lower(hex(MD5(toString(intDiv(number, 4))))),
  if(intDiv(number, 4) %% 5 = 0, 'machine', 'regular'), if(intDiv(number, 4) %% 50 = 0, 'agent', 'human'),
  if(intDiv(number, 4) %% 20 = 1, 1, 0), if(number %% 100 = 7, 404, 200), 'FR', 'bench', 'ESRF', now()
FROM numbers(%[2]d)`, s.db, n)
	if err := s.conn.Exec(ctx, gen); err != nil {
		b.Fatal(err)
	}
	cat := fmt.Sprintf(`INSERT INTO %s.dataset_citations (key, doi, facility, title, deleted, relations, identifiers, identifier_types, version, published_at)
SELECT concat('doi:10.5072/bench.', toString(number)), concat('10.5072/bench.', toString(number)), 'ESRF',
  concat('Dataset ', toString(number)), 0, ['IsCitedBy'], [concat('10.1000/p', toString(number %% 1000))], ['DOI'], 1, now()
FROM numbers(1000000)`, s.db)
	if err := s.conn.Exec(ctx, cat); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	months, err := s.RollupUsage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rollup := time.Since(start)
	b.Logf("%d events, %d months counted in %s", n, len(months), rollup)
	for _, bq := range []struct {
		name string
		q    UsageQuery
	}{
		{"year", UsageQuery{Begin: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}},
		{"month", UsageQuery{Begin: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)}},
		{"dataset-year", UsageQuery{Begin: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC),
			Datasets: []string{"doi:10.5072/bench.42"}}},
	} {
		b.Run(bq.name+"/clickhouse", func(b *testing.B) {
			// The query alone, in ClickHouse: read and sorted there,
			// counted, no row sent.
			sql, err := s.usageCountsSQL(bq.q)
			if err != nil {
				b.Fatal(err)
			}
			var rows uint64
			for b.Loop() {
				if err := s.conn.QueryRow(ctx, "SELECT count() FROM ("+sql+")").Scan(&rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows), "rows")
		})
		b.Run(bq.name, func(b *testing.B) {
			var rows int
			for b.Loop() {
				counts, err := s.UsageCounts(ctx, bq.q)
				if err != nil {
					b.Fatal(err)
				}
				rows = len(counts)
			}
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(rollup.Seconds(), "rollup-s")
		})
	}
}
