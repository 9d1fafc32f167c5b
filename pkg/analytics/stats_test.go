package analytics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const (
	statSAXS       = PaNETBase + "PaNET01188"
	statDiffr      = PaNETBase + "PaNET01168"
	statScattering = PaNETBase + "PaNET01127"
)

// statsRow is row with the columns the statistics read.
func statsRow(key, facility string, version uint64, deleted bool, quality float64, issued string, gaps []string, techniques ...string) DatasetRow {
	r := row(key, facility, version, deleted, techniques...)
	r.Quality = quality
	r.QualityGaps = gaps
	r.Issued, _ = time.Parse(time.DateOnly, issued)
	if len(techniques) > 0 {
		// Every technique here is narrower than scattering.
		r.TechniquesAll = append(append([]string{}, techniques...), statScattering)
	}
	return r
}

// fillStats writes the fixture whose statistics the tests compute by hand:
//
//	a ESRF  v1 (superseded) quality 0.55 gaps license,orcid; v5 quality 0.95 gaps orcid; SAXS; 2024-03-01; open
//	b ESRF  v2 quality 0.3 gaps license; diffraction; 2024-04-15; restricted
//	c ILL   v3 quality 1.0; SAXS; 2024-03-20; open
//	d ILL   v4 diffraction, withdrawn by the tombstone v6
//	e ILL   v7 quality 0 gaps license,orcid,doi; no technique; 2025-01-10; open
func fillStats(t *testing.T, s *Store) {
	t.Helper()
	b := statsRow("doi:10.1/b", "ESRF", 2, false, 0.3, "2024-04-15", []string{"license"}, statDiffr)
	b.AccessRights = "restricted"
	mustInsert(t, s,
		statsRow("doi:10.1/a", "ESRF", 1, false, 0.55, "2024-03-01", []string{"license", "orcid"}, statSAXS),
		b,
		statsRow("doi:10.1/c", "ILL", 3, false, 1.0, "2024-03-20", nil, statSAXS),
		statsRow("doi:10.1/d", "ILL", 4, false, 0.8, "2024-03-05", nil, statDiffr),
	)
	mustInsert(t, s,
		statsRow("doi:10.1/a", "ESRF", 5, false, 0.95, "2024-03-01", []string{"orcid"}, statSAXS),
		statsRow("doi:10.1/d", "ILL", 6, true, 0, "2024-03-05", nil),
		statsRow("doi:10.1/e", "ILL", 7, false, 0, "2025-01-10", []string{"license", "orcid", "doi"}),
	)

	ctx := testContext(t)
	month := func(s string) time.Time { m, _ := time.Parse("2006-01", s); return m }
	monthly := [][]any{
		{month("2024-03"), "doi:10.1/a", "regular", "human", "ESRF", "10.1/a", "A", uint64(5), uint64(3), uint64(2), uint64(1)},
		{month("2024-04"), "doi:10.1/a", "machine", "machine", "ESRF", "10.1/a", "A", uint64(1), uint64(1), uint64(0), uint64(0)},
		// AI agents are counted apart: never reuse here.
		{month("2024-04"), "doi:10.1/a", "regular", "agent", "ESRF", "10.1/a", "A", uint64(100), uint64(100), uint64(0), uint64(0)},
		{month("2024-03"), "doi:10.1/c", "regular", "human", "ILL", "10.1/c", "C", uint64(2), uint64(1), uint64(2), uint64(1)},
		// d is withdrawn: its usage no longer counts.
		{month("2024-03"), "doi:10.1/d", "regular", "human", "ILL", "10.1/d", "D", uint64(50), uint64(9), uint64(9), uint64(9)},
	}
	if err := s.insert(ctx, "usage_monthly", "month, dataset, access_method, client, facility, doi, title, total_investigations, "+
		"unique_investigations, total_requests, unique_requests", monthly); err != nil {
		t.Fatal(err)
	}
	// As a rollup does once it has counted months (when the schema has
	// the totals: a test may stop it before).
	if len(migrations) >= 6 {
		if err := s.sumUsageTotals(ctx, "", "now()"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertCitations(ctx, []CitationRow{
		{Key: "doi:10.1/a", Facility: "ESRF", Relations: []string{"IsCitedBy"}, Identifiers: []string{"p1"}, Types: []string{"DOI"}, Version: 5},
		{Key: "doi:10.1/b", Facility: "ESRF", Relations: []string{"IsCitedBy", "iscitedby", "References", "IsCitedBy"},
			Identifiers: []string{"p1", "p2", "p3", "p1"}, Types: []string{"DOI", "DOI", "DOI", "DOI"}, Version: 2},
		{Key: "doi:10.1/d", Facility: "ILL", Relations: []string{"IsCitedBy"}, Identifiers: []string{"p9"}, Types: []string{"DOI"}, Version: 4},
	}); err != nil {
		t.Fatal(err)
	}

	at := func(h, m int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2025, 1, 2, h, m, 0, 0, time.UTC))
	}
	run := func(id, feed, facility string, status fairwayv1.HarvestStatus, start, end *timestamppb.Timestamp, records, retries int64, msg string) *fairwayv1.HarvestRun {
		return &fairwayv1.HarvestRun{RunId: id, FeedId: feed, Facility: facility, Status: status, StartedAt: start, FinishedAt: end,
			Records: records, Retries: retries, Error: msg}
	}
	const (
		ok      = fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE
		failed  = fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED
		running = fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING
	)
	runs := []*fairwayv1.HarvestRun{
		run("e1", "esrf-oai", "ESRF", ok, at(10, 0), at(10, 5), 100, 0, ""),
		run("e2", "esrf-oai", "ESRF", failed, at(11, 0), at(11, 1), 0, 3, "boom"),
		run("e3", "esrf-oai", "ESRF", ok, at(12, 0), at(12, 10), 20, 1, ""),
		run("e4", "esrf-oai", "ESRF", failed, at(13, 0), at(13, 2), 0, 5, "timeout"),
		run("e5", "esrf-oai", "ESRF", running, at(14, 0), nil, 7, 0, ""),
		// A feed that never succeeded.
		run("i1", "ill-oai", "ILL", failed, at(9, 0), at(9, 1), 0, 2, "403"),
	}
	// psi: one old failure, then ten complete runs: its error rate over
	// the RecentRuns last runs is 0.
	runs = append(runs, run("p0", "psi-oai", "PSI", failed, at(0, 0), at(0, 1), 0, 0, "old"))
	for i := 1; i <= RecentRuns; i++ {
		runs = append(runs, run(fmt.Sprintf("p%02d", i), "psi-oai", "PSI", ok, at(i, 0), at(i, 30), 1, 0, ""))
	}
	if err := s.InsertRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
}

// statRows renders a result's rows as "v1 v2 …" lines, for comparison.
func statRows(r *StatsResult) []string {
	out := make([]string, len(r.Rows))
	for i, row := range r.Rows {
		parts := make([]string, len(row))
		for j, v := range row {
			parts[j] = fmt.Sprint(v)
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}

func TestStats(t *testing.T) {
	s := openTestStore(t, Config{})
	fillStats(t, s)
	since := func(d string) time.Time { t, _ := time.Parse(time.DateOnly, d); return t }
	now := time.Date(2025, 1, 2, 15, 10, 0, 0, time.UTC)
	tests := []struct {
		name string
		stat string
		q    StatsQuery
		want []string
	}{
		{"holdings", StatHoldings, StatsQuery{}, []string{
			"ESRF 2 1 2 2 0.625",
			"ILL 2 2 2 1 0.5",
		}},
		{"holdings of a facility, any case", StatHoldings, StatsQuery{Facility: "ill"}, []string{"ILL 2 2 2 1 0.5"}},
		{"holdings of a broader technique include its narrower ones", StatHoldings, StatsQuery{Technique: "PaNET01127"}, []string{
			"ESRF 2 1 2 2 0.625",
			"ILL 1 1 1 1 1",
		}},
		{"holdings of a technique", StatHoldings, StatsQuery{Technique: statDiffr}, []string{"ESRF 1 0 1 1 0.3"}},
		{"holdings, limit", StatHoldings, StatsQuery{Limit: 1}, []string{"ESRF 2 1 2 2 0.625"}},
		{"techniques rolled up", StatTechniques, StatsQuery{}, []string{
			statScattering + "  3 0 2",
			statSAXS + " label of PaNET01188 2 2 2",
			statDiffr + " label of PaNET01168 1 1 1",
		}},
		{"techniques of ILL", StatTechniques, StatsQuery{Facility: "ILL"}, []string{
			// A tie is ordered by IRI.
			statScattering + "  1 0 1",
			statSAXS + " label of PaNET01188 1 1 1",
		}},
		{"timeline", StatTimeline, StatsQuery{}, []string{
			"2024-03-01 ESRF 1 1",
			"2024-03-01 ILL 1 1",
			"2024-04-01 ESRF 1 0",
			"2025-01-01 ILL 1 1",
		}},
		{"timeline since and until", StatTimeline, StatsQuery{Since: since("2024-03-10"), Until: since("2025-01-10")}, []string{
			"2024-03-01 ILL 1 1",
			"2024-04-01 ESRF 1 0",
		}},
		{"reuse", StatReuse, StatsQuery{}, []string{
			"doi:10.1/a 10.1/a ESRF Dataset doi:10.1/a 6 2 4 1 1 7",
			"doi:10.1/b 10.1/b ESRF Dataset doi:10.1/b 0 0 0 0 2 2",
			"doi:10.1/c 10.1/c ILL Dataset doi:10.1/c 2 2 1 1 0 2",
		}},
		{"reuse since April 2024", StatReuse, StatsQuery{Since: since("2024-04-01")}, []string{
			"doi:10.1/a 10.1/a ESRF Dataset doi:10.1/a 1 0 1 0 1 2",
			"doi:10.1/b 10.1/b ESRF Dataset doi:10.1/b 0 0 0 0 2 2",
		}},
		{"reuse of ILL", StatReuse, StatsQuery{Facility: "ILL"}, []string{
			"doi:10.1/c 10.1/c ILL Dataset doi:10.1/c 2 2 1 1 0 2",
		}},
		{"quality buckets", StatQuality, StatsQuery{}, []string{
			"ESRF 0.3-0.4 0.3 0.4 1",
			"ESRF 0.9-1 0.9 1 1",
			"ILL 0-0.1 0 0.1 1",
			"ILL 0.9-1 0.9 1 1",
		}},
		{"gaps", StatGaps, StatsQuery{}, []string{
			"ESRF license 1 0.5",
			"ESRF orcid 1 0.5",
			"ILL doi 1 0.5",
			"ILL license 1 0.5",
			"ILL orcid 1 0.5",
		}},
		{"gaps, two per facility", StatGaps, StatsQuery{Limit: 2, Facility: "ILL"}, []string{
			"ILL doi 1 0.5",
			"ILL license 1 0.5",
		}},
		{"harvests", StatHarvests, StatsQuery{Now: now}, []string{
			// Worst first: by error rate, then lag.
			"ill-oai ILL 1 1 1 2025-01-02T09:00:00Z failed  -1 0 2 403",
			"esrf-oai ESRF 4 2 0.5 2025-01-02T13:00:00Z failed 2025-01-02T12:10:00Z 10800 120 9 timeout",
			"psi-oai PSI 10 0 0 2025-01-02T10:00:00Z complete 2025-01-02T10:30:00Z 16800 10 0 ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.Stats(testContext(t), tt.stat, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Columns) != len(stats[tt.stat].columns) {
				t.Fatalf("columns = %v", r.Columns)
			}
			got := statRows(r)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestStatsRefusals(t *testing.T) {
	s := openTestStore(t, Config{})
	fillStats(t, s)
	tests := []struct {
		name string
		stat string
		q    StatsQuery
		want error
	}{
		{"unknown statistic", "popularity", StatsQuery{}, ErrUnknownStat},
		{"technique nobody carries", StatHoldings, StatsQuery{Technique: "PaNET09999"}, ErrUnknownTechnique},
		{"technique only a withdrawn dataset carried", StatHoldings, StatsQuery{Technique: "PaNET01168", Facility: "ILL"}, nil},
		{"not a technique", StatTechniques, StatsQuery{Technique: "SAXS'; DROP TABLE datasets"}, ErrBadQuery},
		{"technique of harvests", StatHarvests, StatsQuery{Technique: "PaNET01188"}, ErrBadQuery},
		{"limit too large", StatHoldings, StatsQuery{Limit: MaxStatsLimit + 1}, ErrBadQuery},
		{"until before since", StatTimeline, StatsQuery{Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, ErrBadQuery},
		{"before 1970", StatTimeline, StatsQuery{Since: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, ErrBadQuery},
		{"a quote in the facility is a facility", StatHoldings, StatsQuery{Facility: "E'SRF"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.Stats(testContext(t), tt.stat, tt.q)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if tt.q.Facility == "ILL" && len(r.Rows) != 0 {
					t.Fatalf("rows = %v, want none: d is withdrawn", r.Rows)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
