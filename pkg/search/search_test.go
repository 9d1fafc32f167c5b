package search_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// searcher returns a Searcher over the test catalogue, with the reference
// PaNET release.
func searcher(t *testing.T) (*search.Searcher, *panet.Matcher) {
	t.Helper()
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

func hitKeys(r search.Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.Key
	}
	return out
}

func TestSearch(t *testing.T) {
	s, _ := searcher(t)
	ctx := context.Background()
	cases := []struct {
		name string
		req  search.Request
		// want are the keys in order; nil with sorted: any order.
		want   []string
		sorted bool
		check  func(t *testing.T, r search.Result)
	}{
		{name: "everything, newest first", req: search.Request{}, want: []string{"psi-1", "esrf-2", "desy-1", "esrf-1", "ill-1"},
			check: func(t *testing.T, r search.Result) {
				if r.Sort != search.SortDate || r.Total != 5 {
					t.Errorf("sort %s total %d", r.Sort, r.Total)
				}
				if !slices.ContainsFunc(r.Facets.Facility, func(f search.FacetValue) bool { return f.Value == "esrf" && f.Count == 2 }) {
					t.Errorf("facility facet %+v", r.Facets.Facility)
				}
				if !slices.ContainsFunc(r.Facets.Licence, func(f search.FacetValue) bool { return f.Value == "CC0-1.0" && f.Count == 1 }) {
					t.Errorf("licence facet %+v", r.Facets.Licence)
				}
			}},
		{name: "tomography: text or tagged with a narrower technique", req: search.Request{Query: "tomography"},
			want: []string{"esrf-1", "esrf-2", "psi-1"}, sorted: true,
			check: func(t *testing.T, r search.Result) {
				if len(r.QueryTechniques) != 1 || r.QueryTechniques[0].ID != "PaNET01129" || r.QueryTechniques[0].Narrower < 10 {
					t.Errorf("query techniques %+v", r.QueryTechniques)
				}
				if r.Sort != search.SortRelevance {
					t.Errorf("sort %s", r.Sort)
				}
				for i := 1; i < len(r.Hits); i++ {
					if r.Hits[i].Score > r.Hits[i-1].Score {
						t.Errorf("hits not by score: %v", hitKeys(r))
					}
				}
				if r.Hits[0].Score <= 0 {
					t.Errorf("no score: %+v", r.Hits[0])
				}
			}},
		{name: "technique filter by name finds narrower", req: search.Request{Technique: "tomography"}, want: []string{"esrf-1", "esrf-2"}, sorted: true,
			check: func(t *testing.T, r search.Result) {
				f := r.Filters.Technique
				if f == nil || f.IRI != panet.Namespace+"PaNET01129" || f.Label != "tomography" || f.Narrower < 10 {
					t.Errorf("filter %+v", f)
				}
			}},
		{name: "technique by acronym", req: search.Request{Technique: "SAXS"}, want: []string{"desy-1"}},
		{name: "technique by id", req: search.Request{Technique: "PaNET01208"}, want: []string{"esrf-1"}},
		{name: "technique by IRI", req: search.Request{Technique: panet.Namespace + "PaNET01188"}, want: []string{"desy-1"}},
		{name: "acronym in the text", req: search.Request{Query: "SAXS lysozyme"}, want: []string{"desy-1"}},
		{name: "technique words and other words", req: search.Request{Query: "tomography molars"}, want: []string{"esrf-1"}},
		{name: "sample", req: search.Request{Query: "naledi"}, want: []string{"esrf-1"}},
		{name: "creator", req: search.Request{Query: "Svergun"}, want: []string{"desy-1"}},
		{name: "instrument as text", req: search.Request{Query: "TOMCAT"}, want: []string{"psi-1"}},
		{name: "keyword stem", req: search.Request{Query: "protein"}, want: []string{"desy-1"}},
		{name: "facility", req: search.Request{Facility: "esrf"}, want: []string{"esrf-2", "esrf-1"}},
		{name: "instrument filter", req: search.Request{Instrument: "id19", Query: "bone"}, want: []string{"esrf-2"}},
		{name: "licence", req: search.Request{Licence: "CC0-1.0"}, want: []string{"psi-1"}},
		{name: "access", req: search.Request{Access: searchtest.Restricted}, want: []string{"esrf-2"}},
		{name: "quality", req: search.Request{MinQuality: 0.8}, want: []string{"desy-1", "esrf-1"}},
		{name: "dates", req: search.Request{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)},
			want: []string{"desy-1", "esrf-1"}},
		{name: "text sorted by date", req: search.Request{Query: "tomography", Sort: search.SortDate}, want: []string{"psi-1", "esrf-2", "esrf-1"}},
		{name: "no match says why", req: search.Request{Query: "unobtainium"}, want: []string{},
			check: func(t *testing.T, r search.Result) {
				if r.Total != 0 || !strings.Contains(r.Reason, "unobtainium") {
					t.Errorf("total %d reason %q", r.Total, r.Reason)
				}
			}},
		{name: "no match with filters says the text alone matches", req: search.Request{Query: "tomography", Facility: "ILL"}, want: []string{},
			check: func(t *testing.T, r search.Result) {
				if !strings.Contains(r.Reason, "3 datasets match") {
					t.Errorf("reason %q", r.Reason)
				}
			}},
		{name: "filters that match nothing together", req: search.Request{Facility: "esrf", Licence: "CC0-1.0"}, want: []string{},
			check: func(t *testing.T, r search.Result) {
				if r.Reason != "each filter matches datasets, but no dataset matches them all" {
					t.Errorf("reason %q", r.Reason)
				}
			}},
		{name: "a filter that matches nothing is named", req: search.Request{Facility: "esrf", Licence: "nope"}, want: []string{},
			check: func(t *testing.T, r search.Result) {
				if !strings.HasPrefix(r.Reason, `no dataset has licence "nope"`) {
					t.Errorf("reason %q", r.Reason)
				}
			}},
		{name: "query syntax is words", req: search.Request{Query: `+bone: -"mice"^ ~ * ? ( ) [ ] { } \ && || !`}, want: []string{"esrf-2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := s.Search(ctx, c.req)
			if err != nil {
				t.Fatal(err)
			}
			got := hitKeys(r)
			want := c.want
			if c.sorted {
				got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("hits %v, want %v (reason %q)", hitKeys(r), c.want, r.Reason)
			}
			if r.Total != uint64(len(c.want)) {
				t.Errorf("total %d, want %d", r.Total, len(c.want))
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestSearchInvalid(t *testing.T) {
	s, _ := searcher(t)
	cases := []struct {
		name string
		req  search.Request
		near string
	}{
		{name: "unknown technique with near matches", req: search.Request{Technique: "tomografy"}, near: "PaNET01129"},
		{name: "unknown id", req: search.Request{Technique: "PaNET99999"}},
		{name: "huge query", req: search.Request{Query: strings.Repeat("bone ", 1000)}},
		{name: "negative limit", req: search.Request{Limit: -1}},
		{name: "limit too large", req: search.Request{Limit: search.MaxLimit + 1}},
		{name: "bad sort", req: search.Request{Sort: "random"}},
		{name: "quality above 1", req: search.Request{MinQuality: 2}},
		{name: "until before from", req: search.Request{From: time.Now(), Until: time.Now().Add(-time.Hour)}},
		{name: "cursor of nothing", req: search.Request{Cursor: "garbage!"}},
		{name: "too many words", req: search.Request{Query: manyWords(40)}},
		{name: "huge filter", req: search.Request{Facility: strings.Repeat("x", search.MaxValue+1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Search(context.Background(), c.req)
			if !errors.Is(err, search.ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			if c.near != "" {
				var u *search.UnknownTechniqueError
				if !errors.As(err, &u) || !slices.ContainsFunc(u.Near, func(n search.Technique) bool { return n.ID == c.near }) {
					t.Errorf("err %v: near %+v, want %s", err, u, c.near)
				}
			}
		})
	}
}

// TestSearchPages pages through every order with cursors: each dataset
// once, in order.
func TestSearchPages(t *testing.T) {
	m := searchtest.Ontology(t)
	ds := searchtest.Synthetic(300, 7)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), ds))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []search.Request{
		{Query: "tomography bone"}, {Query: "sample", Sort: search.SortRelevance}, {Sort: search.SortDate}, {Query: "data", Facility: "esrf"},
	} {
		t.Run(req.Query+"/"+req.Sort, func(t *testing.T) {
			req.Limit = 7
			whole := req
			whole.Limit = search.MaxLimit
			first, err := s.Search(context.Background(), whole)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			var order []string
			var total uint64
			for page := 0; ; page++ {
				r, err := s.Search(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				total = r.Total
				for _, h := range r.Hits {
					if seen[h.Key] {
						t.Fatalf("page %d repeats %s", page, h.Key)
					}
					seen[h.Key] = true
					order = append(order, h.Key)
				}
				if r.Next == "" {
					break
				}
				req.Cursor = r.Next
			}
			if uint64(len(order)) != total || total == 0 {
				t.Fatalf("paged %d, total %d", len(order), total)
			}
			if n := min(len(first.Hits), len(order)); !slices.Equal(hitKeys(first)[:n], order[:n]) {
				t.Errorf("pages differ from one page:\n%v\n%v", hitKeys(first)[:n], order[:n])
			}
		})
	}
}

// manyWords returns n distinct words.
func manyWords(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" word")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
	}
	return b.String()
}

// TestSearchWithoutOntology takes ids and IRIs, and refuses names with
// the reason.
func TestSearchWithoutOntology(t *testing.T) {
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{}, model)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Search(context.Background(), search.Request{Technique: "PaNET01129"})
	if err != nil || r.Total != 2 {
		t.Fatalf("by id: total %d, err %v", r.Total, err)
	}
	_, err = s.Search(context.Background(), search.Request{Technique: "tomography"})
	var u *search.UnknownTechniqueError
	if !errors.As(err, &u) || !strings.Contains(u.Reason, "no PaNET ontology") {
		t.Errorf("by name: %v", err)
	}
	// Text still searches words.
	if r, err := s.Search(context.Background(), search.Request{Query: "tomography"}); err != nil || r.Total != 1 {
		t.Errorf("text: total %d, err %v", r.Total, err)
	}
}

// TestSearchNamesTwoTechniques searches for a dataset tagged with two
// techniques whose text names neither: a query naming both finds it, as a
// query naming either does, and one naming a technique it lacks does not.
func TestSearchNamesTwoTechniques(t *testing.T) {
	m := searchtest.Ontology(t)
	ds := []searchtest.Dataset{
		{Key: "both", Facility: "DESY", Title: "Beamtime 4711", Techniques: []string{"PaNET01188", "PaNET01208"}, Quality: 0.5,
			At: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Key: "saxs-only", Facility: "DESY", Title: "Beamtime 4712", Techniques: []string{"PaNET01188"}, Quality: 0.5,
			At: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), ds))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"SAXS", []string{"both", "saxs-only"}},
		{"tomography", []string{"both"}},
		{"SAXS tomography", []string{"both"}},
		{"SAXS tomography 4711", []string{"both"}},
		{"SAXS tomography 4712", nil},
	} {
		r, err := s.Search(context.Background(), search.Request{Query: tc.q})
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		got := hitKeys(r)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && tc.want == nil) {
			t.Errorf("%q: %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestSearchInstrument filters on an instrument by its name (however
// long) or its PID, and counts the instrument facet on names only.
func TestSearchInstrument(t *testing.T) {
	m := searchtest.Ontology(t)
	long := "Beamline " + strings.Repeat("Ä", 3000) // over what the index keeps of a name
	ds := []searchtest.Dataset{
		{Key: "long", Facility: "DESY", Title: "Beamtime 1", Instrument: long, Quality: 0.5},
		{Key: "p12", Facility: "DESY", Title: "Beamtime 2", Instrument: "P12", Quality: 0.5},
	}
	entries := searchtest.Entries(m.Ontology(), ds)
	entries[1].GetDataset().GetDataset().InstrumentPid = "https://hdl.handle.net/21.11157/p12"
	model := searchtest.Model(t, entries)
	ctx := context.Background()
	for _, tc := range []struct {
		name, instrument string
		want             []string
	}{
		{"long name", long, []string{"long"}},
		{"long name, upper case", strings.ToUpper(long), []string{"long"}},
		{"name", "p12", []string{"p12"}},
		{"pid", "https://hdl.handle.net/21.11157/P12", []string{"p12"}},
		{"other", "P13", nil},
	} {
		page, err := model.Search(ctx, readmodel.Query{Instrument: tc.instrument, Limit: 10, KeysOnly: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, r := range page.Records {
			got = append(got, r.Key)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Search(ctx, search.Request{})
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, v := range r.Facets.Instrument {
		values = append(values, v.Value)
	}
	if len(values) != 2 || !slices.Contains(values, "p12") {
		t.Errorf("instrument facet %q, want the two names", values)
	}
}

// TestSearchFacetsYearQuality counts the matches per year of their
// datestamp (newest first) and per band of quality score.
func TestSearchFacetsYearQuality(t *testing.T) {
	m := searchtest.Ontology(t)
	at := func(y int) time.Time { return time.Date(y, 7, 1, 0, 0, 0, 0, time.UTC) }
	ds := []searchtest.Dataset{
		{Key: "a", Facility: "DESY", Title: "Bone 1", Quality: 0.1, At: at(2023)},
		{Key: "b", Facility: "DESY", Title: "Bone 2", Quality: 0.2, At: at(2024)},
		{Key: "c", Facility: "DESY", Title: "Bone 3", Quality: 0.55, At: at(2024)},
		{Key: "d", Facility: "ESRF", Title: "Bone 4", Quality: 1, At: time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC)},
		{Key: "e", Facility: "ESRF", Title: "Tooth 5", Quality: 0.8, At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), ds))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	band := func(lo, hi float64, n uint64) search.FacetValue {
		return search.FacetValue{Value: fmt.Sprintf("%.1f-%.1f", lo, hi), Count: n, Min: &lo, Max: &hi}
	}
	for _, tc := range []struct {
		name    string
		req     search.Request
		years   []search.FacetValue
		quality []search.FacetValue
	}{
		{"all", search.Request{},
			[]search.FacetValue{{Value: "2025", Count: 1}, {Value: "2024", Count: 3}, {Value: "2023", Count: 1}},
			[]search.FacetValue{band(0, 0.2, 1), band(0.2, 0.4, 1), band(0.4, 0.6, 1), band(0.8, 1, 2)}},
		{"bone", search.Request{Query: "bone"},
			[]search.FacetValue{{Value: "2024", Count: 3}, {Value: "2023", Count: 1}},
			[]search.FacetValue{band(0, 0.2, 1), band(0.2, 0.4, 1), band(0.4, 0.6, 1), band(0.8, 1, 1)}},
		{"from 2024-06", search.Request{From: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), Facility: "esrf"},
			[]search.FacetValue{{Value: "2025", Count: 1}, {Value: "2024", Count: 1}},
			[]search.FacetValue{band(0.8, 1, 2)}},
	} {
		r, err := s.Search(context.Background(), tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(r.Facets.Year, tc.years) {
			t.Errorf("%s: years %s, want %s", tc.name, facetString(r.Facets.Year), facetString(tc.years))
		}
		if !reflect.DeepEqual(r.Facets.Quality, tc.quality) {
			t.Errorf("%s: quality %s, want %s", tc.name, facetString(r.Facets.Quality), facetString(tc.quality))
		}
	}
}

func facetString(vs []search.FacetValue) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%s:%d", v.Value, v.Count)
		if v.Min != nil && v.Max != nil {
			fmt.Fprintf(&b, "[%g,%g]", *v.Min, *v.Max)
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// TestDatesAreTheDatasets checks that the date filter, the date order and
// the year facet take the dataset's own date (issued, else its publication
// year), not its time in the catalogue.
func TestDatesAreTheDatasets(t *testing.T) {
	m := searchtest.Ontology(t)
	catalogued := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), []searchtest.Dataset{
		{Key: "old", Facility: "ESRF", Title: "Bone tomography", At: catalogued, Issued: time.Date(2015, 4, 2, 0, 0, 0, 0, time.UTC)},
		{Key: "year", Facility: "ESRF", Title: "Bone tomography again", At: catalogued.Add(time.Hour), PublicationYear: 2019},
		{Key: "undated", Facility: "ESRF", Title: "Bone tomography undated", At: time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC)},
		// A date decades ahead of the harvest cannot put a dataset at the
		// top of every listing: its creation date counts instead.
		{Key: "ahead", Facility: "ILL", Title: "Bone tomography ahead", At: catalogued, Issued: time.Date(2105, 1, 1, 0, 0, 0, 0, time.UTC),
			Created: time.Date(2012, 7, 1, 0, 0, 0, 0, time.UTC)},
	}))
	s, err := search.New(search.Config{}, model)
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name  string
		req   search.Request
		want  []string
		years string
	}{
		{"newest first by the dataset's date", search.Request{}, []string{"undated", "year", "old", "ahead"}, "2021:1 2019:1 2015:1 2012:1 "},
		{"a date far ahead is passed over", search.Request{From: day(2100, 1, 1)}, []string{}, ""},
		{"issued in 2015", search.Request{From: day(2015, 1, 1), Until: day(2015, 12, 31)}, []string{"old"}, "2015:1 "},
		{"publication year 2019", search.Request{From: day(2019, 1, 1), Until: day(2019, 12, 31)}, []string{"year"}, "2019:1 "},
		{"nothing was issued in the catalogue's year", search.Request{From: day(2026, 1, 1)}, []string{}, ""},
		{"undated falls back to the datestamp", search.Request{From: day(2021, 1, 1), Until: day(2021, 12, 31)}, []string{"undated"}, "2021:1 "},
	} {
		r, err := s.Search(context.Background(), tc.req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := hitKeys(r); !slices.Equal(got, tc.want) {
			t.Errorf("%s: hits %v, want %v", tc.name, got, tc.want)
		}
		if got := facetString(r.Facets.Year); got != tc.years {
			t.Errorf("%s: years %q, want %q", tc.name, got, tc.years)
		}
		for _, h := range r.Hits {
			if h.Key == "old" && !h.Issued.Equal(day(2015, 4, 2)) {
				t.Errorf("%s: issued %s", tc.name, h.Issued)
			}
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		end  bool
		want time.Time
		err  bool
	}{
		{"", false, time.Time{}, false},
		{"2026-05-01", false, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-05-01", true, time.Date(2026, 5, 1, 23, 59, 59, 0, time.UTC), false},
		{"2026-05-01T12:00:00+02:00", true, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), false},
		{"2026-05", false, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), false},
		{"2026-02", true, time.Date(2026, 2, 28, 23, 59, 59, 0, time.UTC), false},
		{"2026", true, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{"2026-13", false, time.Time{}, true},
		{"1 May 2026", false, time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := search.ParseDate(tc.in, tc.end)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("ParseDate(%q, %v) = %v, %v; want %v (error %v)", tc.in, tc.end, got, err, tc.want, tc.err)
		}
	}
}
