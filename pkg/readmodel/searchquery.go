package readmodel

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
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

// matchQuery returns the query of q: its filters and its text, each
// clause narrowing the others (the index advances them all by the rarest).
// Ranked by relevance, only the text is scored: the filters are searched
// unscored (unscoredQuery), so that they score nothing and the index joins
// their terms into one set of documents, and so is the text with them.
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
		// The whole query unscored is sets of documents the index joins
		// (an OR of each word's terms, ANDs) before anything is read,
		// into the few matches: they drive the scored text, which is
		// read only at them.
		return bleve.NewConjunctionQuery(text, unscoredQuery{bleve.NewConjunctionQuery(filters, text)}), nil
	}
	return bleve.NewConjunctionQuery(filters, text), nil
}

// unscoredQuery searches its query unscored whatever the search's scoring:
// its matches score 0, and add nothing to the score of a conjunction of it.
type unscoredQuery struct{ query.Query }

// Searcher returns the searcher of the query, unscored.
func (u unscoredQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, o search.SearcherOptions) (search.Searcher, error) {
	o.Score, o.Explain, o.IncludeTermVectors = "none", false, false
	return u.Query.Searcher(ctx, i, m, o)
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
// (none when n is 0), in one request over the facet field: every value of
// every facet among the matches, told apart by their codes (facetdoc.go)
// when facets reads them. One request reads each match's facet values
// once; a request per facet (with a prefix filter each) would pass every
// value of a match to all seven.
func addFacets(req *bleve.SearchRequest, n int) {
	if n <= 0 {
		return
	}
	req.AddFacet(fieldFacet, bleve.NewFacetRequest(fieldFacet, math.MaxInt32))
}

// facetNames are the facets by their codes.
var facetNames = func() map[byte]string {
	out := make(map[byte]string, len(facetCodes))
	for name, code := range facetCodes {
		out[code] = name
	}
	return out
}()

// facets returns the counts of res's facets, at most n values each, nil
// when it has none: the facet field's counts, split by code.
func facets(res *bleve.SearchResult, n int) map[string][]Count {
	f := res.Facets[fieldFacet]
	if f == nil {
		return nil
	}
	out := make(map[string][]Count, len(facetCodes))
	for name := range facetCodes {
		out[name] = []Count{}
	}
	if f.Terms != nil {
		for _, t := range f.Terms.Terms() {
			if t.Term == "" {
				continue
			}
			name, ok := facetNames[t.Term[0]]
			if !ok {
				continue
			}
			out[name] = append(out[name], Count{Value: facetDocValue(name, t.Term), Count: uint64(max(t.Count, 0))})
		}
	}
	byCount := func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
	}
	for name, counts := range out {
		switch name {
		case FacetYear:
			// The years of the last facetYears, the most frequent
			// min(n, facetYears) of them; years are of four digits
			// there: the newest first.
			next := time.Now().UTC().Year() + 1
			counts = slices.DeleteFunc(counts, func(c Count) bool {
				y, err := strconv.Atoi(c.Value)
				return err != nil || y > next || y <= next-facetYears || c.Count == 0
			})
			slices.SortFunc(counts, byCount)
			counts = counts[:min(len(counts), n, facetYears)]
			slices.SortFunc(counts, func(a, b Count) int { return strings.Compare(b.Value, a.Value) })
		case FacetQuality:
			for i := range counts {
				for _, b := range qualityBands {
					if b.name == counts[i].Value {
						counts[i].Min, counts[i].Max = &b.min, &b.max
					}
				}
			}
			slices.SortFunc(counts, func(a, b Count) int { return strings.Compare(a.Value, b.Value) })
		default:
			slices.SortFunc(counts, byCount)
			counts = counts[:min(len(counts), n)]
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
