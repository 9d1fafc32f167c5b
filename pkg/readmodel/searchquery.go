package readmodel

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// techniqueBoost weighs a dataset tagged with a technique the text names
// above one whose text only has its words.
const techniqueBoost = 2

// wordsQuery returns the query that every word matches in one of the text
// fields at least (each field weighed by textBoost), nil without words.
func wordsQuery(words []string) query.Query {
	if len(words) == 0 {
		return nil
	}
	must := make([]query.Query, 0, len(words))
	for _, word := range words {
		either := make([]query.Query, len(textFields))
		for i, f := range textFields {
			t := bleve.NewTermQuery(word)
			t.SetField(f)
			if b, ok := textBoost[f]; ok {
				t.SetBoost(b)
			}
			either[i] = t
		}
		must = append(must, bleve.NewDisjunctionQuery(either...))
	}
	if len(must) == 1 {
		return must[0]
	}
	return bleve.NewConjunctionQuery(must...)
}

// matchQuery returns the query of q: its filters and its text. Ranked by
// relevance, the text is what is scored and drives the search, the
// filters only keep or leave its matches (they score nothing); in the other
// orders, nothing is scored and every clause narrows the others.
func (m *Model) matchQuery(q Query, words []string) (query.Query, error) {
	text, err := m.textQuery(q, words)
	if err != nil {
		return nil, err
	}
	filters := filter(q)
	switch {
	case text == nil:
		return filters, nil
	case q.Order == ByRelevance:
		b := bleve.NewBooleanQuery()
		b.AddMust(text)
		b.AddFilter(filters)
		return b, nil
	}
	return bleve.NewConjunctionQuery(filters, text), nil
}

// textQuery returns the query of q's text, nil without one: for each of
// q.TextTechniques, the datasets whose text has the words naming it or that
// are tagged with it (or a narrower technique), and every other word in the
// text fields; so a query naming two techniques finds the datasets tagged
// with both, whatever their text.
func (m *Model) textQuery(q Query, words []string) (query.Query, error) {
	var must []query.Query
	rest := slices.Clone(words)
	for _, tt := range q.TextTechniques {
		iri := strings.TrimSpace(tt.IRI)
		if iri == "" || len(iri) > maxKey {
			continue
		}
		named, err := m.words(tt.Words)
		if err != nil {
			return nil, err
		}
		rest = slices.DeleteFunc(rest, func(w string) bool { return slices.Contains(named, w) })
		t := bleve.NewTermQuery(iri)
		t.SetField(fieldTechnique)
		t.SetBoost(techniqueBoost)
		if w := wordsQuery(named); w != nil {
			must = append(must, bleve.NewDisjunctionQuery(w, t))
		} else {
			must = append(must, t)
		}
	}
	if w := wordsQuery(rest); w != nil {
		must = append(must, w)
	}
	switch len(must) {
	case 0:
		return nil, nil
	case 1:
		return must[0], nil
	}
	return bleve.NewConjunctionQuery(must...), nil
}

// addFacets asks req for the counts of every facet, at most n values each
// (none when n is 0).
func addFacets(req *bleve.SearchRequest, n int) {
	if n <= 0 {
		return
	}
	for name, field := range facetFields {
		req.AddFacet(name, bleve.NewFacetRequest(field, n))
	}
	years := bleve.NewFacetRequest(fieldIssued, min(n, facetYears))
	next := time.Now().UTC().Year() + 1
	for y := next; y > next-facetYears; y-- {
		years.AddDateTimeRange(strconv.Itoa(y), time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	req.AddFacet(FacetYear, years)
	quality := bleve.NewFacetRequest(fieldQuality, len(qualityBands))
	for i, b := range qualityBands {
		lo, hi := b.min, &b.max
		if i == len(qualityBands)-1 {
			hi = nil // takes in 1
		}
		quality.AddNumericRange(b.name, &lo, hi)
	}
	req.AddFacet(FacetQuality, quality)
}

// facets returns the counts of res's facets, nil when it has none.
func facets(res *bleve.SearchResult) map[string][]Count {
	if len(res.Facets) == 0 {
		return nil
	}
	out := make(map[string][]Count, len(res.Facets))
	for name, f := range res.Facets {
		counts := []Count{}
		if f.Terms != nil {
			for _, t := range f.Terms.Terms() {
				counts = append(counts, Count{Value: t.Term, Count: uint64(max(t.Count, 0))})
			}
		}
		for _, r := range f.DateRanges {
			counts = append(counts, Count{Value: r.Name, Count: uint64(max(r.Count, 0))})
		}
		for _, r := range f.NumericRanges {
			c := Count{Value: r.Name, Count: uint64(max(r.Count, 0))}
			for _, b := range qualityBands {
				if b.name == r.Name {
					c.Min, c.Max = &b.min, &b.max
				}
			}
			counts = append(counts, c)
		}
		switch name {
		case FacetYear:
			// Years are of four digits: the newest first.
			slices.SortFunc(counts, func(a, b Count) int { return strings.Compare(b.Value, a.Value) })
		case FacetQuality:
			slices.SortFunc(counts, func(a, b Count) int { return strings.Compare(a.Value, b.Value) })
		default:
			slices.SortFunc(counts, func(a, b Count) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
			})
		}
		out[name] = counts
	}
	return out
}

// sortValues returns the sort values of a hit as a cursor keeps them: a
// score as its exact decimal (bleve gives "_score" for it).
func sortValues(h *search.DocumentMatch) []string {
	out := slices.Clone(h.Sort)
	for i, v := range out {
		if v == "_score" {
			out[i] = strconv.FormatFloat(h.Score, 'g', -1, 64)
		}
	}
	return out
}

// Words returns the terms the text fields' analyser makes of text, as
// Query.Text searches them (stop words out, stems), nil for none.
func (m *Model) Words(text string) ([]string, error) {
	if len(text) > maxText {
		return nil, fmt.Errorf("%w: text of %d bytes (at most %d)", ErrBadQuery, len(text), maxText)
	}
	done, err := m.reading()
	if err != nil {
		return nil, err
	}
	defer done()
	return m.words(text)
}
