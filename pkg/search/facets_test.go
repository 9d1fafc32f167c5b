package search_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// TestSearchFacetsExact checks, over a synthetic catalogue, that a filtered
// text query's total is the number of hits its pages give (continued by
// cursor, every hit once, by relevance), and that each facet is the counts
// of those hits' values, the most frequent first (then by value), cut at
// the facet size.
func TestSearchFacetsExact(t *testing.T) {
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Synthetic(3000, 1)))
	ctx := context.Background()
	from, until := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query, facility string
		size            int
	}{
		{"tomography bone", "esrf", 1000}, {"diffraction battery", "", 1000}, {"protein scattering", "psi", 2},
		{"alloy", "", 3},
	} {
		name := fmt.Sprintf("%s/%s/%d", tc.query, tc.facility, tc.size)
		s, err := search.New(search.Config{Techniques: search.NewTerms(m), FacetSize: tc.size}, model)
		if err != nil {
			t.Fatal(err)
		}
		req := search.Request{Query: tc.query, Facility: tc.facility, From: from, Until: until, Limit: search.MaxLimit}
		first, err := s.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]map[string]uint64{}
		add := func(facet, v string) {
			if counts[facet] == nil {
				counts[facet] = map[string]uint64{}
			}
			counts[facet][v]++
		}
		seen := map[string]bool{}
		last := math.Inf(1)
		for r := first; ; {
			for _, h := range r.Hits {
				if seen[h.Key] || h.Score > last {
					t.Fatalf("%s: %s again or out of order (score %v after %v)", name, h.Key, h.Score, last)
				}
				seen[h.Key], last = true, h.Score
				rec, err := model.Get(ctx, h.Key)
				if err != nil {
					t.Fatal(err)
				}
				ds := rec.Entry.GetDataset().GetDataset()
				add(readmodel.FacetFacility, rec.Facility)
				for _, iri := range rec.Techniques {
					add(readmodel.FacetTechnique, iri)
				}
				add(readmodel.FacetInstrument, strings.ToLower(strings.TrimSpace(ds.GetInstrument())))
				add(readmodel.FacetAccess, ds.GetAccessRights())
				add(readmodel.FacetLicence, readmodel.LicenceOf(ds))
				add(readmodel.FacetYear, strconv.Itoa(readmodel.IssuedOf(ds, rec.Datestamp).Year()))
				q := rec.Entry.GetDataset().GetQualityScore()
				for i, b := range [][2]float64{{0, 0.2}, {0.2, 0.4}, {0.4, 0.6}, {0.6, 0.8}, {0.8, 1}} {
					if q >= b[0] && (q < b[1] || i == 4) {
						add(readmodel.FacetQuality, fmt.Sprintf("%.1f-%.1f", b[0], b[1]))
					}
				}
			}
			if r.Next == "" {
				break
			}
			req.Cursor = r.Next
			if r, err = s.Search(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		if first.Total != uint64(len(seen)) || first.Total < 3 {
			t.Fatalf("%s: total %d, pages gave %d hits", name, first.Total, len(seen))
		}
		for facet, got := range map[string][]search.FacetValue{
			readmodel.FacetFacility: first.Facets.Facility, readmodel.FacetTechnique: first.Facets.Technique,
			readmodel.FacetInstrument: first.Facets.Instrument, readmodel.FacetAccess: first.Facets.Access,
			readmodel.FacetLicence: first.Facets.Licence, readmodel.FacetYear: first.Facets.Year,
			readmodel.FacetQuality: first.Facets.Quality,
		} {
			var all []search.FacetValue
			for v, n := range counts[facet] {
				all = append(all, search.FacetValue{Value: v, Count: n})
			}
			// The most frequent first, then by value; the years and
			// bands, once cut, by value.
			slices.SortFunc(all, func(a, b search.FacetValue) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
			})
			if facet != readmodel.FacetQuality {
				all = all[:min(len(all), tc.size)]
			}
			switch facet {
			case readmodel.FacetYear:
				slices.SortFunc(all, func(a, b search.FacetValue) int { return strings.Compare(b.Value, a.Value) })
			case readmodel.FacetQuality:
				slices.SortFunc(all, func(a, b search.FacetValue) int { return strings.Compare(a.Value, b.Value) })
			}
			var want, values []string
			for _, v := range all {
				want = append(want, fmt.Sprintf("%s:%d", v.Value, v.Count))
			}
			for _, v := range got {
				values = append(values, fmt.Sprintf("%s:%d", v.Value, v.Count))
			}
			if !slices.Equal(values, want) {
				t.Errorf("%s: facet %s\n got %q\nwant %q", name, facet, values, want)
			}
		}
	}
}

// TestIssuedRange checks that the issued-date filter keeps exactly the
// datasets whose own date is within the range, inclusive, for ranges
// within a year, over two, and over several with whole and partial years
// at their ends (those ask for whole years by term).
func TestIssuedRange(t *testing.T) {
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Synthetic(3000, 1)))
	ctx := context.Background()
	var issued []time.Time
	err := model.Each(ctx, readmodel.Query{}, func(r readmodel.Record) error {
		issued = append(issued, readmodel.IssuedOf(r.Entry.GetDataset().GetDataset(), r.Datestamp))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	for _, r := range [][2]time.Time{
		{day(2017, 1, 1), day(2023, 12, 31)}, {day(2016, 3, 7), day(2022, 5, 1).Add(-time.Second)},
		{day(2018, 1, 1), day(2021, 1, 1)}, {day(2019, 6, 1), day(2020, 6, 1)}, {day(2020, 2, 1), day(2020, 3, 1)},
		{issued[0], issued[1]}, {issued[7], issued[7]},
	} {
		from, until := r[0], r[1]
		if until.Before(from) {
			from, until = until, from
		}
		var want uint64
		for _, at := range issued {
			if !at.Before(from) && !at.After(until) {
				want++
			}
		}
		page, err := model.Search(ctx, readmodel.Query{IssuedFrom: from, IssuedUntil: until, Limit: 1, KeysOnly: true})
		if err != nil || page.Total != want || want == 0 {
			t.Errorf("%s to %s: %d datasets, %v; want %d (of %d)", from, until, page.Total, err, want, len(issued))
		}
	}
}
