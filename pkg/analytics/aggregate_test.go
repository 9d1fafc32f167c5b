package analytics

import (
	"testing"
	"time"
)

// TestAggregatesCountTheCurrentState writes several versions of datasets,
// a withdrawal and a re-written version: the monthly counts count each live
// dataset once, under each of its techniques and their broader terms, and a
// second snapshot replaces the first.
func TestAggregatesCountTheCurrentState(t *testing.T) {
	s := openTestStore(t, Config{})
	const saxs, scattering, xrd = PaNETNamespace + "PaNET01188", PaNETNamespace + "PaNET01127", PaNETNamespace + "PaNET01168"
	with := func(r DatasetRow, month time.Month, all ...string) DatasetRow {
		r.Issued = time.Date(2025, month, 15, 0, 0, 0, 0, time.UTC)
		r.TechniquesAll = all
		return r
	}
	mustInsert(t, s,
		with(row("doi:a", "ESRF", 1, false, saxs), 1, saxs, scattering),
		with(row("doi:a", "ESRF", 2, false, saxs), 1, saxs, scattering), // a new version of a
		with(row("doi:a", "ESRF", 2, false, saxs), 1, saxs, scattering), // written twice
		with(row("doi:b", "ESRF", 3, false, xrd), 2, xrd),
		with(row("doi:c", "ESRF", 4, false, saxs), 2, saxs, scattering),
		with(row("doi:c", "ESRF", 5, true), 2), // c withdrawn
		with(row("doi:d", "ILL", 6, false), 1),
	)
	first, err := s.RefreshAggregates(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.RefreshAggregates(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if !second.After(first) {
		t.Fatalf("second snapshot %v not after %v", second, first)
	}
	got, err := s.MonthlyCounts(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	jan, feb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	want := []MonthlyCount{
		{"ESRF", "", jan, 1, 1},
		{"ESRF", "", feb, 1, 1},
		{"ESRF", scattering, jan, 1, 1},
		{"ESRF", xrd, feb, 1, 1},
		{"ESRF", saxs, jan, 1, 1},
		{"ILL", "", jan, 1, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("monthly counts %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		if g.Facility != want[i].Facility || g.Technique != want[i].Technique || !g.Month.Equal(want[i].Month) ||
			g.Datasets != want[i].Datasets || g.Open != want[i].Open {
			t.Errorf("row %d = %+v, want %+v", i, g, want[i])
		}
	}
	waitMutations(t, s)
	if n := count(t, s, "SELECT uniqExact(snapshot) FROM %[1]s.datasets_by_month"); n != 1 {
		t.Errorf("%d snapshots kept, want the latest only", n)
	}
}
