package analytics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/usage"
)

// The statistics of one technique read datasets_by_technique, and reuse
// reads citation_counts and usage_all_months: tables kept beside the ones they
// summarise. These tests change a dataset, its citations and its usage
// after the first figures, write rows again as a replay does, and check
// that the figures follow the current state, computed by hand.

func TestStatsOfATechniqueFollowTheCurrentVersion(t *testing.T) {
	s := openTestStore(t, Config{})
	// v1: x and y carry SAXS, z diffraction, w SAXS.
	mustInsert(t, s,
		statsRow("x", "ESRF", 1, false, 0.5, "2024-01-10", []string{"orcid"}, statSAXS),
		statsRow("y", "ESRF", 2, false, 0.5, "2024-01-10", nil, statSAXS),
		statsRow("z", "ILL", 3, false, 0.5, "2024-02-10", nil, statDiffr),
		statsRow("w", "ILL", 4, false, 0.9, "2024-02-10", []string{"doi"}, statSAXS),
	)
	holdings := func(technique string) ([]string, error) {
		t.Helper()
		r, err := s.Stats(testContext(t), StatHoldings, StatsQuery{Technique: technique})
		if err != nil {
			return nil, err
		}
		return statRows(r), nil
	}
	want := func(technique string, rows ...string) {
		t.Helper()
		got, err := holdings(technique)
		if err != nil {
			t.Fatalf("holdings of %s: %v", technique, err)
		}
		if strings.Join(got, "\n") != strings.Join(rows, "\n") {
			t.Fatalf("holdings of %s:\n%s\nwant:\n%s", technique, strings.Join(got, "\n"), strings.Join(rows, "\n"))
		}
	}
	want(statSAXS, "ESRF 2 2 2 2 0.5", "ILL 1 1 1 1 0.9")
	want(statDiffr, "ILL 1 1 1 1 0.5")
	// The techniques of every dataset count their sets (technique_sets).
	techniques := func(rows ...string) {
		t.Helper()
		r, err := s.Stats(testContext(t), StatTechniques, StatsQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := statRows(r); strings.Join(got, "\n") != strings.Join(rows, "\n") {
			t.Fatalf("techniques:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(rows, "\n"))
		}
	}
	techniques(statScattering+"  4 0 2", statSAXS+" label of PaNET01188 3 3 2", statDiffr+" label of PaNET01168 1 1 1")

	// x loses its technique, y is withdrawn, z moves from diffraction to
	// SAXS, and w is written again as it was (a replay).
	mustInsert(t, s,
		statsRow("x", "ESRF", 5, false, 0.5, "2024-01-10", nil),
		statsRow("y", "ESRF", 6, true, 0, "2024-01-10", nil),
		statsRow("z", "ILL", 7, false, 0.7, "2024-02-10", nil, statSAXS),
		statsRow("w", "ILL", 4, false, 0.9, "2024-02-10", []string{"doi"}, statSAXS),
	)
	want(statSAXS, "ILL 2 2 2 2 0.8")
	want(statScattering, "ILL 2 2 2 2 0.8")
	techniques(statScattering+"  2 0 1", statSAXS+" label of PaNET01188 2 2 1")
	if _, err := holdings(statDiffr); !errors.Is(err, ErrUnknownTechnique) {
		t.Fatalf("holdings of diffraction, carried by an old version only: err = %v, want ErrUnknownTechnique", err)
	}
	for _, tt := range []struct {
		stat string
		want []string
	}{
		{StatTimeline, []string{"2024-02-01 ILL 2 2"}},
		{StatQuality, []string{"ILL 0.7-0.8 0.7 0.8 1", "ILL 0.9-1 0.9 1 1"}},
		{StatGaps, []string{"ILL doi 1 0.5"}},
		{StatTechniques, []string{statScattering + "  2 0 1", statSAXS + " label of PaNET01188 2 2 1"}},
	} {
		r, err := s.Stats(testContext(t), tt.stat, StatsQuery{Technique: "PaNET01188"})
		if err != nil {
			t.Fatalf("%s of SAXS: %v", tt.stat, err)
		}
		if got := statRows(r); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s of SAXS:\n%s\nwant:\n%s", tt.stat, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

func TestReuseFollowsCitationsAndUsage(t *testing.T) {
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	mustInsert(t, s,
		statsRow("doi:10.5072/a", "ESRF", 1, false, 0.5, "2024-01-10", nil, statSAXS),
		statsRow("doi:10.5072/b", "ESRF", 2, false, 0.5, "2024-01-10", nil, statSAXS),
	)
	cite := func(key string, version uint64, deleted bool, ids ...string) CitationRow {
		rels := make([]string, len(ids))
		types := make([]string, len(ids))
		for i := range ids {
			rels[i], types[i] = "IsCitedBy", "DOI"
		}
		return CitationRow{Key: key, Facility: "ESRF", Deleted: deleted, Relations: rels, Identifiers: ids, Types: types, Version: version}
	}
	mustCite := func(rows ...CitationRow) {
		t.Helper()
		if err := s.InsertCitations(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	// Three usage events of a in January 2025, two sessions, counted by
	// the rollup.
	events := func(ids ...string) {
		t.Helper()
		var rows []usage.Event
		for i, id := range ids {
			rows = append(rows, usage.Event{ID: fmt.Sprintf("%032x", id), Dataset: "doi:10.5072/a", Time: time.Date(2025, 1, 10, 10, i*10, 0, 0, time.UTC),
				Kind: usage.Investigation, Session: "s" + id[:1], AccessMethod: usage.Regular, Client: usage.Human, Status: 200, Source: "test"})
		}
		if err := s.InsertUsage(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RollupUsage(ctx); err != nil {
			t.Fatal(err)
		}
	}
	reuse := func(want ...string) {
		t.Helper()
		r, err := s.Stats(testContext(t), StatReuse, StatsQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := statRows(r); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("reuse:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	mustCite(cite("doi:10.5072/a", 1, false, "p1"), cite("doi:10.5072/b", 2, false, "p1", "p2"))
	events("x1", "x2", "y1")
	reuse(
		"doi:10.5072/a 10.5072/a ESRF Dataset doi:10.5072/a 3 0 2 0 1 4",
		"doi:10.5072/b 10.5072/b ESRF Dataset doi:10.5072/b 0 0 0 0 2 2",
	)
	// Replayed: the same citations and events again, and a rollup with
	// nothing new.
	mustCite(cite("doi:10.5072/a", 1, false, "p1"), cite("doi:10.5072/b", 2, false, "p1", "p2"))
	events("x1", "x2", "y1")
	if _, err := s.RollupUsage(ctx); err != nil {
		t.Fatal(err)
	}
	reuse(
		"doi:10.5072/a 10.5072/a ESRF Dataset doi:10.5072/a 3 0 2 0 1 4",
		"doi:10.5072/b 10.5072/b ESRF Dataset doi:10.5072/b 0 0 0 0 2 2",
	)
	// b's new version drops a citation, a's citations are withdrawn with
	// their record, and a gets a new session.
	mustCite(cite("doi:10.5072/b", 3, false, "p2"), cite("doi:10.5072/a", 4, true))
	events("z1")
	reuse(
		"doi:10.5072/a 10.5072/a ESRF Dataset doi:10.5072/a 4 0 3 0 0 4",
		"doi:10.5072/b 10.5072/b ESRF Dataset doi:10.5072/b 0 0 0 0 1 1",
	)
}

// TestMigrationFourFillsItsTablesFromExistingRows writes a database as the
// schema of migration 3 had it, then migrates: the statistics read the new
// tables and give what they gave before.
func TestMigrationFourFillsItsTablesFromExistingRows(t *testing.T) {
	all := migrations
	migrations = all[:3]
	s := openTestStore(t, Config{})
	fillStats(t, s)
	migrations = all
	t.Cleanup(func() { migrations = all })
	var n uint64
	if err := s.conn.QueryRow(testContext(t), "SELECT count() FROM system.tables WHERE database = ? AND name = 'usage_totals'", s.Database()).Scan(&n); err != nil || n != 0 {
		t.Fatalf("usage_totals before migration 4: %d tables, err %v; want none", n, err)
	}
	if err := s.EnsureSchema(testContext(t)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		stat string
		q    StatsQuery
		want []string
	}{
		{StatReuse, StatsQuery{}, []string{
			"doi:10.1/a 10.1/a ESRF Dataset doi:10.1/a 6 2 4 1 1 7",
			"doi:10.1/b 10.1/b ESRF Dataset doi:10.1/b 0 0 0 0 2 2",
			"doi:10.1/c 10.1/c ILL Dataset doi:10.1/c 2 2 1 1 0 2",
		}},
		{StatHoldings, StatsQuery{Technique: "PaNET01127"}, []string{"ESRF 2 1 2 2 0.625", "ILL 1 1 1 1 1"}},
	} {
		r, err := s.Stats(testContext(t), tt.stat, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := statRows(r); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s after migration 4:\n%s\nwant:\n%s", tt.stat, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

// TestMigrationFiveFillsTechniqueSetsFromExistingRows writes a database as
// the schema of migration 4 had it, then migrates: the techniques
// statistic reads technique_sets and the column technique_set, which the
// rows written before have too, and gives what TestStats wants; a dataset
// written afterwards, in a set of its own, counts as well.
func TestMigrationFiveFillsTechniqueSetsFromExistingRows(t *testing.T) {
	all := migrations
	migrations = all[:4]
	s := openTestStore(t, Config{})
	fillStats(t, s)
	migrations = all
	t.Cleanup(func() { migrations = all })
	if err := s.EnsureSchema(testContext(t)); err != nil {
		t.Fatal(err)
	}
	techniques := func(rows ...string) {
		t.Helper()
		r, err := s.Stats(testContext(t), StatTechniques, StatsQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got := statRows(r); strings.Join(got, "\n") != strings.Join(rows, "\n") {
			t.Fatalf("techniques after migration 5:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(rows, "\n"))
		}
	}
	techniques(
		statScattering+"  3 0 2",
		statSAXS+" label of PaNET01188 2 2 2",
		statDiffr+" label of PaNET01168 1 1 1",
	)
	// e, without a technique so far, gets SAXS and diffraction: a set no
	// row had before.
	mustInsert(t, s, statsRow("doi:10.1/e", "ILL", 8, false, 0, "2025-01-10", nil, statSAXS, statDiffr))
	techniques(
		statScattering+"  4 0 2",
		statSAXS+" label of PaNET01188 3 3 2",
		statDiffr+" label of PaNET01168 2 2 2",
	)
}

func TestReuseRelationsOfMigrationFour(t *testing.T) {
	if len(ReuseRelations) != len(reuseRelationsV4) {
		t.Fatalf("ReuseRelations %v, migration 4 counts %v: a change of ReuseRelations is a new migration", ReuseRelations, reuseRelationsV4)
	}
	for i, r := range ReuseRelations {
		if strings.ToLower(r) != reuseRelationsV4[i] {
			t.Fatalf("ReuseRelations %v, migration 4 counts %v: a change of ReuseRelations is a new migration", ReuseRelations, reuseRelationsV4)
		}
	}
}

// TestReuseLooksPastItsCandidates cites more datasets than the reuse
// statistic takes as candidates, most of them not in the catalogue: the
// live ones, ranked after every candidate, are still found, as the exact
// SQL finds them.
func TestReuseLooksPastItsCandidates(t *testing.T) {
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	n := reuseCandidates(DefaultStatsLimit) + 100
	var cites []CitationRow
	for i := range n {
		cites = append(cites, CitationRow{Key: fmt.Sprintf("doi:10.1/k%05d", i), Facility: "ESRF", Relations: []string{"IsCitedBy"},
			Identifiers: []string{"p"}, Types: []string{"DOI"}, Version: 1})
	}
	if err := s.InsertCitations(ctx, cites); err != nil {
		t.Fatal(err)
	}
	// Every dataset is cited once: ties, ranked by key, so the last keys
	// come after every candidate.
	var live []DatasetRow
	for i := n - 3; i < n; i++ {
		live = append(live, row(fmt.Sprintf("doi:10.1/k%05d", i), "ESRF", 2, false))
	}
	mustInsert(t, s, live...)
	r, err := s.Stats(ctx, StatReuse, StatsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := n - 3; i < n; i++ {
		k := fmt.Sprintf("doi:10.1/k%05d", i)
		want = append(want, fmt.Sprintf("%s %s ESRF Dataset %s 0 0 0 0 1 1", k, strings.TrimPrefix(k, "doi:"), k))
	}
	if got := statRows(r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("reuse:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReuseCandidatesGiveTheExactRows compares the reuse statistic with its
// exact SQL (StatsSQL) on the fixture of TestStats.
func TestReuseCandidatesGiveTheExactRows(t *testing.T) {
	s := openTestStore(t, Config{})
	fillStats(t, s)
	for _, q := range []StatsQuery{
		{}, {Limit: 1}, {Limit: 2}, {Facility: "esrf"}, {Technique: "PaNET01188"},
		{Since: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)}, {Until: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), Limit: 1},
	} {
		got, err := s.Stats(testContext(t), StatReuse, q)
		if err != nil {
			t.Fatal(err)
		}
		sql, err := s.StatsSQL(StatReuse, q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.statsQuery(testContext(t), StatReuse, sql)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := strings.Join(statRows(got), "\n"), strings.Join(statRows(want), "\n"); g != w || len(want.Rows) == 0 {
			t.Errorf("reuse of %+v:\n%s\nexact SQL:\n%s", q, g, w)
		}
	}
}
