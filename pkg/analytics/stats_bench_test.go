package analytics

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkStats measures each statistic over a catalogue of 1,000,000
// live datasets (and 100,000 superseded versions and tombstones, which
// FINAL must merge away), 10,000,000 usage events counted once into
// usage_monthly as the writer does, 1,000,000 citation rows and 50,000
// harvest runs of 50 feeds, all generated inside ClickHouse (INSERT …
// SELECT FROM numbers()). The time the data took is logged.
//
// With FAIRWAY_BENCH_STATS_DB=name the data goes to that database and stays
// there after the benchmark: a later run with the same name and number of
// events measures it again without loading it (the migrations this build
// adds are applied to it first, as to any database), which is how to
// iterate on the SQL. Drop that database by hand when done.
func BenchmarkStats(b *testing.B) {
	events := benchUsageEvents(b)
	ctx := b.Context()
	s, loaded := openStatsBenchStore(b, events)
	if !loaded {
		loadStatsBench(b, s, events)
	}
	for _, bq := range []struct {
		name string
		q    StatsQuery
	}{
		{StatHoldings, StatsQuery{}},
		{StatTechniques, StatsQuery{}},
		{StatTimeline, StatsQuery{Limit: MaxStatsLimit}},
		{StatReuse, StatsQuery{Limit: 20}},
		{StatQuality, StatsQuery{}},
		{StatGaps, StatsQuery{Limit: 5}},
		{StatHarvests, StatsQuery{}},
		{StatHoldings + "-technique", StatsQuery{Technique: "PaNET01127"}},
		{StatTimeline + "-facility-since", StatsQuery{Facility: "F3", Since: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Limit: MaxStatsLimit}},
	} {
		name := bq.name
		stat := name
		if i := len(StatHoldings); len(name) > i && name[:i] == StatHoldings {
			stat = StatHoldings
		}
		if i := len(StatTimeline); len(name) > i && name[:i] == StatTimeline {
			stat = StatTimeline
		}
		b.Run(name, func(b *testing.B) {
			var rows int
			for b.Loop() {
				r, err := s.Stats(ctx, stat, bq.q)
				if err != nil {
					b.Fatal(err)
				}
				rows = len(r.Rows)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// statsBenchDBEnv names the database BenchmarkStats keeps its data in
// between runs; statsBenchMark is the table there that says the data is
// whole, and of how many events.
const (
	statsBenchDBEnv = "FAIRWAY_BENCH_STATS_DB"
	statsBenchMark  = "bench_stats_loaded"
)

// openStatsBenchStore opens the store of BenchmarkStats: a database of its
// own, dropped at the end, or the one FAIRWAY_BENCH_STATS_DB names, kept;
// loaded reports whether that one already holds the data of a run with as
// many events.
func openStatsBenchStore(b *testing.B, events int) (s *Store, loaded bool) {
	db := os.Getenv(statsBenchDBEnv)
	if db == "" {
		return openTestStore(b, Config{}), false
	}
	s, err := Open(b.Context(), Config{Addr: testAddr(), Database: db})
	if err != nil {
		b.Fatalf("open %s: %v", db, err)
	}
	b.Cleanup(func() { _ = s.Close() })
	var n uint64
	err = s.conn.QueryRow(b.Context(), fmt.Sprintf("SELECT any(events) FROM %s.%s", s.db, statsBenchMark)).Scan(&n)
	if err == nil && n == uint64(events) {
		b.Logf("reusing the data in %s", db)
		return s, true
	}
	// Missing, half loaded or of another size: start again.
	dropDatabase(b, db)
	if err := s.EnsureSchema(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s, false
}

// loadStatsBench generates the data of BenchmarkStats into s and, in a
// kept database, marks it whole.
func loadStatsBench(b *testing.B, s *Store, events int) {
	ctx := b.Context()
	start := time.Now()
	const datasets = 1_000_000
	tech := func(expr string) string {
		return fmt.Sprintf("concat('%sPaNET0', toString(1100 + (%s) %% 60))", PaNETBase, expr)
	}
	gen := []string{
		// 1,000,000 datasets of 10 facilities, issued over 10 years, one
		// or two techniques each, with a broader one and the root.
		fmt.Sprintf(`INSERT INTO %[1]s.datasets (key, doi, facility, feed_id, title, issued, access_rights, license,
  techniques, technique_labels, techniques_all, quality, quality_gaps, deleted, content_hash, version, published_at)
SELECT concat('doi:10.5072/bench.', toString(number)), concat('10.5072/bench.', toString(number)),
  concat('F', toString(number %% 10)), concat('f', toString(number %% 50), '-oai'), concat('Dataset ', toString(number)),
  toDate('2015-01-01') + intHash32(number) %% 3650, if(number %% 4 = 0, 'restricted', 'open'), 'CC-BY-4.0',
  if(number %% 3 = 0, [%[2]s, %[3]s], [%[2]s]), if(number %% 3 = 0, ['a', 'b'], ['a']),
  arrayConcat(if(number %% 3 = 0, [%[2]s, %[3]s], [%[2]s]), [%[4]s, '%[5]sPaNET00001']),
  (intHash32(number) %% 1001) / 1000, arrayFilter(g -> intHash32(number + length(g) * 7919) %% 3 = 0, ['license', 'orcid', 'doi', 'technique', 'abstract']),
  0, toString(number), number + 1, now()
FROM numbers(%[6]d)`, s.db, tech("number"), tech("number + 7"), tech("intDiv(number, 7)"), PaNETBase, datasets),
		// 100,000 of them have a newer version, half of them a tombstone.
		fmt.Sprintf(`INSERT INTO %[1]s.datasets (key, doi, facility, feed_id, title, issued, access_rights, techniques, techniques_all,
  technique_labels, quality, deleted, content_hash, version, published_at)
SELECT concat('doi:10.5072/bench.', toString(number * 10)), '', concat('F', toString(number * 10 %% 10)), 'f0-oai', '',
  toDate('2020-01-01'), 'open', [], [], [], 0.5, number %% 2, 'v2', %[2]d + number, now()
FROM numbers(100000)`, s.db, datasets+1),
		fmt.Sprintf(`INSERT INTO %[1]s.usage_events (id, dataset, time, kind, session, access_method, client, robot, status, country, source, facility, received)
SELECT lower(hex(MD5(toString(number)))), concat('doi:10.5072/bench.', toString(intHash32(intDiv(number, 2)) %% 100000)),
  toDateTime(1735689600 + intHash64(intDiv(number, 4)) %% 31536000 + (number %% 4) * 20, 'UTC'),
  if(number %% 3 = 0, 'request', 'investigation'), lower(hex(MD5(toString(intDiv(number, 4))))),
  if(intDiv(number, 4) %% 5 = 0, 'machine', 'regular'), if(intDiv(number, 4) %% 50 = 0, 'agent', 'human'),
  if(intDiv(number, 4) %% 20 = 1, 1, 0), if(number %% 100 = 7, 404, 200), 'FR', 'bench', 'F0', now()
FROM numbers(%[2]d)`, s.db, events),
		fmt.Sprintf(`INSERT INTO %s.dataset_citations (key, doi, facility, title, deleted, relations, identifiers, identifier_types, version, published_at)
SELECT concat('doi:10.5072/bench.', toString(number)), '', concat('F', toString(number %% 10)), '', 0,
  ['IsCitedBy', 'References'], [concat('10.1000/p', toString(number %% 1000)), 'x'], ['DOI', 'DOI'], 1, now()
FROM numbers(%d)`, s.db, datasets),
		fmt.Sprintf(`INSERT INTO %s.harvest_runs (run_id, feed_id, facility, status, started_at, finished_at, pages, records, deleted, rejected, error, retries)
SELECT toString(number), concat('f', toString(number %% 50), '-oai'), concat('F', toString(number %% 10)),
  if(intHash32(number) %% 10 = 0, 'failed', 'complete'), toDateTime(1700000000 + number * 600, 'UTC'),
  toDateTime(1700000000 + number * 600 + 300, 'UTC'), 10, 1000, 0, 0, '', intHash32(number) %% 3
FROM numbers(50000)`, s.db),
	}
	for _, q := range gen {
		if err := s.conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.RollupUsage(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d datasets, %d usage events (counted), citations and runs generated in %s", datasets, events, time.Since(start))
	if os.Getenv(statsBenchDBEnv) != "" {
		mark := fmt.Sprintf("CREATE TABLE %s.%s ENGINE = Log AS SELECT toUInt64(%d) AS events", s.db, statsBenchMark, events)
		if err := s.conn.Exec(ctx, mark); err != nil {
			b.Fatal(err)
		}
	}
}
