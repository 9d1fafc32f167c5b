// Package search finds datasets in the catalogue's read model: full text
// over titles, descriptions, keywords, creators, instruments and samples
// ranked with BM25, filters and facets on facility, PaNET technique (a
// technique also finds its narrower techniques; names, synonyms, acronyms,
// IRIs and ids are accepted), instrument, dates, access rights, licence and
// quality score, sorted by relevance or date, paged with cursors.
//
// Searcher.Search is the one entry point: the HTTP API, the PaNOSC search
// API and the MCP tools all call it, so that every answer says the same
// things the same way: the query it ran, the filters it applied, the total,
// the facets and, when nothing matches, why.
package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/readmodel"
)

// Limits of a request.
const (
	// DefaultLimit is the page size of a request without Limit.
	DefaultLimit = 20
	// MaxLimit is the largest page.
	MaxLimit = 100
	// MaxQuery bounds Request.Query, in bytes.
	MaxQuery = 1000
	// MaxValue bounds a filter's value, in bytes.
	MaxValue = 512
	// DefaultFacetSize is how many values of each facet an answer counts.
	DefaultFacetSize = 20
	// maxDescription bounds the description a hit shows, in characters.
	maxDescription = 500
	// maxShown bounds the creators, keywords and samples a hit shows.
	maxShown = 10
)

// The sort orders of Request.Sort.
const (
	// SortRelevance ranks by BM25 relevance to the query, then by key; the
	// default with a query.
	SortRelevance = "relevance"
	// SortDate puts the newest datasets first, then by key; the default
	// without a query.
	SortDate = "date"
)

// ErrInvalid says a request cannot be run as it is (the error says why);
// an *UnknownTechniqueError is one too.
var ErrInvalid = errors.New("invalid search")

// ErrUnavailable says the search cannot answer now (the catalogue cannot
// be read): ask again later.
var ErrUnavailable = errors.New("search unavailable")

// Config configures a Searcher. Zero fields take their defaults.
type Config struct {
	// Techniques resolves technique names, synonyms and acronyms, and
	// recognises them in queries. Optional: without it (or before it has
	// an ontology) a technique must be given as a PaNET IRI or id.
	Techniques Techniques
	// FacetSize is how many values of each facet an answer counts.
	// Default DefaultFacetSize, at most readmodel.MaxFacets.
	FacetSize int
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.FacetSize < 0 || c.FacetSize > readmodel.MaxFacets {
		return fmt.Errorf("search: facet size %d (0 to %d)", c.FacetSize, readmodel.MaxFacets)
	}
	return nil
}

// Searcher answers searches over a read model. It is safe for concurrent
// use.
type Searcher struct {
	cfg   Config
	model *readmodel.Model
}

// New returns a Searcher over model.
func New(cfg Config, model *readmodel.Model) (*Searcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if model == nil {
		return nil, errors.New("search: no read model")
	}
	if cfg.FacetSize == 0 {
		cfg.FacetSize = DefaultFacetSize
	}
	return &Searcher{cfg: cfg, model: model}, nil
}

// Request is one search. Zero fields do not filter.
type Request struct {
	// Query holds words searched over titles, descriptions, keywords,
	// creators, instruments and samples: every word must match, unless
	// the query names a technique, which then also finds the datasets
	// tagged with it (or a narrower technique) whose text has the other
	// words. It is read as words, never as a query language.
	Query string `json:"q,omitempty"`
	// Technique is a PaNET technique (name, synonym, acronym, IRI or id):
	// the datasets tagged with it or a narrower technique.
	Technique string `json:"technique,omitempty"`
	// Facility acronym, case-insensitive.
	Facility string `json:"facility,omitempty"`
	// Instrument name or PID, case-insensitive.
	Instrument string `json:"instrument,omitempty"`
	// Access rights as the datasets give them (an EU access-right IRI, or
	// a word as the source gives it).
	Access string `json:"access,omitempty"`
	// Licence: an SPDX id (CC-BY-4.0), else the licence as given.
	Licence string `json:"licence,omitempty"`
	// From and Until bound the dataset's date, inclusive: when it was
	// issued (or its publication year, else when it was created or made
	// available, else its datestamp; readmodel.IssuedOf).
	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// MinQuality keeps the datasets of at least this FAIR quality score,
	// in [0, 1].
	MinQuality float64 `json:"min_quality,omitempty"`
	// Sort is SortRelevance or SortDate (the dataset's date, the newest
	// first); the default is SortRelevance with
	// a query, SortDate without.
	Sort string `json:"sort,omitempty"`
	// Limit is the page size: default DefaultLimit, at most MaxLimit.
	Limit int `json:"limit,omitempty"`
	// Cursor is Result.Next of the previous page, for the same request.
	Cursor string `json:"cursor,omitempty"`
}

// Result answers a Request.
type Result struct {
	// Query is the text searched, as it was read (trimmed).
	Query string `json:"query"`
	// Words are the terms the text was searched for (after English
	// analysis: stop words out, stems).
	Words []string `json:"words"`
	// QueryTechniques are the techniques the query names: the datasets
	// tagged with them match too.
	QueryTechniques []Technique `json:"query_techniques"`
	// Sort is the order of the hits.
	Sort string `json:"sort"`
	// Filters are the filters applied, resolved.
	Filters Filters `json:"filters"`
	// Total is how many datasets match.
	Total uint64 `json:"total"`
	// Facets count the matching datasets per value.
	Facets Facets `json:"facets"`
	// Hits of this page, in order.
	Hits []Hit `json:"hits"`
	// Next is the cursor of the next page, "" on the last.
	Next string `json:"next,omitempty"`
	// Reason says why nothing matches, when nothing does.
	Reason string `json:"reason,omitempty"`
}

// Technique is a PaNET technique as an answer names it.
type Technique struct {
	// IRI of the class.
	IRI string `json:"iri"`
	// ID is the bare id (PaNET01188).
	ID string `json:"id,omitempty"`
	// Label is its rdfs:label (empty when the node has no ontology).
	Label string `json:"label,omitempty"`
	// Narrower counts the narrower techniques a filter on it takes in.
	Narrower int `json:"narrower,omitempty"`
	// Matched is the text it was recognised from, in a query.
	Matched string `json:"matched,omitempty"`
}

// Filters are the filters a search applied.
type Filters struct {
	// Technique resolved, with how many narrower techniques it takes in.
	Technique *Technique `json:"technique,omitempty"`
	// Facility in lower case.
	Facility string `json:"facility,omitempty"`
	// Instrument, Access and Licence as matched.
	Instrument string `json:"instrument,omitempty"`
	Access     string `json:"access,omitempty"`
	Licence    string `json:"licence,omitempty"`
	// From and Until bound the dataset's date (UTC, inclusive).
	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// MinQuality is the least quality score.
	MinQuality float64 `json:"min_quality,omitempty"`
}

// empty reports whether f filters nothing.
func (f Filters) empty() bool { return f == Filters{} }

// Facets count the matching datasets per value of a field: the most
// frequent values first. A dataset counts for each of its techniques and
// each broader one.
type Facets struct {
	// Facility, Technique (IRIs), Instrument, Access and Licence values.
	Facility   []FacetValue `json:"facility"`
	Technique  []FacetValue `json:"technique"`
	Instrument []FacetValue `json:"instrument"`
	Access     []FacetValue `json:"access_rights"`
	Licence    []FacetValue `json:"licence"`
	// Year counts per year (UTC) of the dataset's date, the date From
	// and Until filter on: the newest first, over the last 40 years.
	Year []FacetValue `json:"year"`
	// Quality counts per band of quality score (0.0-0.2, 0.2-0.4, …,
	// 0.8-1.0; a band takes in its Min and not its Max, but the last
	// takes in 1), the lowest first; bands without a match are left out.
	Quality []FacetValue `json:"quality"`
}

// FacetValue is one value of a facet.
type FacetValue struct {
	// Value as the filter of the facet takes it.
	Value string `json:"value"`
	// Label names a technique's IRI.
	Label string `json:"label,omitempty"`
	// Count of matching datasets with the value.
	Count uint64 `json:"count"`
	// Min and Max bound a band of quality score.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Hit is one matching dataset, with what a client shows of it. Its texts
// come from harvested metadata, as the facility wrote them.
type Hit struct {
	// Key of the dataset (GET /datasets/{key}) and its DOI, when it has one.
	Key string `json:"key"`
	DOI string `json:"doi,omitempty"`
	// Title, and the description cut at 500 characters.
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Facility in lower case, and the instrument as the dataset names it.
	Facility   string `json:"facility"`
	Instrument string `json:"instrument,omitempty"`
	// Techniques the dataset is tagged with (not their broader ones).
	Techniques []Technique `json:"techniques"`
	// Access rights and licence (SPDX id, else as given).
	Access  string `json:"access_rights,omitempty"`
	Licence string `json:"licence,omitempty"`
	// Quality is the FAIR quality score in [0, 1].
	Quality float64 `json:"quality_score"`
	// Issued is the dataset's date, the one From, Until, SortDate and the
	// year facet use (readmodel.IssuedOf).
	Issued time.Time `json:"issued"`
	// Datestamp of the dataset in the catalogue.
	Datestamp time.Time `json:"datestamp"`
	// Score is the BM25 relevance (sort by relevance only).
	Score float64 `json:"score,omitempty"`
	// LandingPage of the dataset at its facility.
	LandingPage string `json:"landing_page,omitempty"`
	// Creators, Keywords and Samples: the first ten of each.
	Creators []string `json:"creators,omitempty"`
	Keywords []string `json:"keywords,omitempty"`
	Samples  []string `json:"samples,omitempty"`
}

// Search runs req.
func (s *Searcher) Search(ctx context.Context, req Request) (Result, error) {
	q, res, err := s.query(req)
	if err != nil {
		return Result{}, err
	}
	page, err := s.model.Search(ctx, q)
	if err != nil {
		return Result{}, s.modelError(err)
	}
	res.Total = page.Total
	res.Next = page.Next
	res.Facets = s.facets(page.Facets)
	res.Hits = make([]Hit, 0, len(page.Records))
	for _, r := range page.Records {
		res.Hits = append(res.Hits, hit(r, q.Order == readmodel.ByRelevance))
	}
	if res.Total == 0 {
		res.Reason = s.reason(ctx, q, res)
	}
	return res, nil
}

// query returns the read model's query of req and the result's echo of it.
func (s *Searcher) query(req Request) (readmodel.Query, Result, error) {
	var q readmodel.Query
	var res Result
	text := strings.TrimSpace(req.Query)
	switch {
	case len(text) > MaxQuery:
		return q, res, fmt.Errorf("%w: query of %d bytes (at most %d)", ErrInvalid, len(text), MaxQuery)
	case !utf8.ValidString(text):
		return q, res, fmt.Errorf("%w: query is not UTF-8", ErrInvalid)
	case req.Limit < 0 || req.Limit > MaxLimit:
		return q, res, fmt.Errorf("%w: limit %d (1 to %d)", ErrInvalid, req.Limit, MaxLimit)
	case math.IsNaN(req.MinQuality) || req.MinQuality < 0 || req.MinQuality > 1:
		return q, res, fmt.Errorf("%w: min_quality %v (0 to 1)", ErrInvalid, req.MinQuality)
	case !req.From.IsZero() && !req.Until.IsZero() && req.Until.Before(req.From):
		return q, res, fmt.Errorf("%w: until %s is before from %s", ErrInvalid, req.Until.Format(time.RFC3339), req.From.Format(time.RFC3339))
	}
	for name, v := range map[string]string{"technique": req.Technique, "facility": req.Facility, "instrument": req.Instrument,
		"access": req.Access, "licence": req.Licence} {
		if len(v) > MaxValue || !utf8.ValidString(v) {
			return q, res, fmt.Errorf("%w: %s: want UTF-8 of at most %d bytes", ErrInvalid, name, MaxValue)
		}
	}
	res.Query, res.QueryTechniques, res.Words = text, []Technique{}, []string{}
	q.Text = text
	switch req.Sort {
	case SortRelevance:
		q.Order = readmodel.ByRelevance
	case SortDate:
		q.Order = readmodel.ByIssued
	case "":
		q.Order, req.Sort = readmodel.ByIssued, SortDate
		if text != "" {
			q.Order, req.Sort = readmodel.ByRelevance, SortRelevance
		}
	default:
		return q, res, fmt.Errorf("%w: sort %.40q: want %s or %s", ErrInvalid, req.Sort, SortRelevance, SortDate)
	}
	res.Sort = req.Sort
	terms := s.terms()
	if t := strings.TrimSpace(req.Technique); t != "" {
		tech, err := resolve(terms, t)
		if err != nil {
			return q, res, err
		}
		q.Technique = tech.IRI
		res.Filters.Technique = &tech
	}
	if text != "" && terms != nil {
		for _, t := range named(terms, text) {
			q.TextTechniques = append(q.TextTechniques, readmodel.TextTechnique{IRI: t.IRI, Words: t.Matched})
			res.QueryTechniques = append(res.QueryTechniques, t)
		}
	}
	q.Facility = strings.ToLower(strings.TrimSpace(req.Facility))
	q.Instrument = strings.TrimSpace(req.Instrument)
	q.AccessRights = strings.TrimSpace(req.Access)
	q.Licence = strings.TrimSpace(req.Licence)
	q.IssuedFrom, q.IssuedUntil = req.From.UTC(), req.Until.UTC()
	if req.From.IsZero() {
		q.IssuedFrom = time.Time{}
	}
	if req.Until.IsZero() {
		q.IssuedUntil = time.Time{}
	}
	q.MinQuality = req.MinQuality
	q.Limit = req.Limit
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	q.After = req.Cursor
	q.Facets = s.cfg.FacetSize
	f := &res.Filters
	f.Facility, f.Instrument, f.Access, f.Licence = q.Facility, q.Instrument, q.AccessRights, q.Licence
	f.From, f.Until, f.MinQuality = q.IssuedFrom, q.IssuedUntil, q.MinQuality
	words, err := s.model.Words(text)
	if err != nil {
		return q, res, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if words != nil {
		res.Words = words
	}
	return q, res, nil
}

// modelError returns err of the read model as the search's error.
func (s *Searcher) modelError(err error) error {
	switch {
	case errors.Is(err, readmodel.ErrBadQuery):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, readmodel.ErrBehind), errors.Is(err, readmodel.ErrClosed):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// reason says why nothing matches q.
func (s *Searcher) reason(ctx context.Context, q readmodel.Query, res Result) string {
	switch {
	case q.Text == "" && res.Filters.empty():
		return "the catalogue holds no dataset yet"
	case q.Text != "" && len(res.Words) == 0 && len(q.TextTechniques) == 0:
		return fmt.Sprintf("the query %q has only stop words, and no dataset matches the filters", q.Text)
	case q.Text == "":
		return s.filtersReason(ctx, q)
	case res.Filters.empty():
		return fmt.Sprintf("no dataset has every word of %q in its text%s", q.Text, techniquesSaid(res.QueryTechniques))
	}
	// Both: does the text alone match?
	alone := readmodel.Query{Text: q.Text, TextTechniques: q.TextTechniques, Limit: 1, KeysOnly: true}
	if page, err := s.model.Search(ctx, alone); err == nil && page.Total > 0 {
		return fmt.Sprintf("%d datasets match %q, none of them with the filters", page.Total, q.Text)
	}
	return fmt.Sprintf("no dataset has every word of %q in its text%s, even without the filters", q.Text, techniquesSaid(res.QueryTechniques))
}

// filtersReason says which of q's filters matches no dataset on its own,
// else that they match none together.
func (s *Searcher) filtersReason(ctx context.Context, q readmodel.Query) string {
	one := []struct {
		name, value string
		set         bool
		q           readmodel.Query
	}{
		{"technique", q.Technique, q.Technique != "", readmodel.Query{Technique: q.Technique}},
		{"facility", q.Facility, q.Facility != "", readmodel.Query{Facility: q.Facility}},
		{"instrument", q.Instrument, q.Instrument != "", readmodel.Query{Instrument: q.Instrument}},
		{"access", q.AccessRights, q.AccessRights != "", readmodel.Query{AccessRights: q.AccessRights}},
		{"licence", q.Licence, q.Licence != "", readmodel.Query{Licence: q.Licence}},
		{"dates", "", !q.IssuedFrom.IsZero() || !q.IssuedUntil.IsZero(), readmodel.Query{IssuedFrom: q.IssuedFrom, IssuedUntil: q.IssuedUntil}},
		{"min_quality", "", q.MinQuality > 0, readmodel.Query{MinQuality: q.MinQuality}},
	}
	for _, f := range one {
		if !f.set {
			continue
		}
		f.q.Limit, f.q.KeysOnly = 1, true
		page, err := s.model.Search(ctx, f.q)
		if err != nil || page.Total > 0 {
			continue
		}
		if f.value != "" {
			return fmt.Sprintf("no dataset has %s %q (the facets of a search without it list the values there are)", f.name, f.value)
		}
		return fmt.Sprintf("no dataset is within the %s asked for", f.name)
	}
	return "each filter matches datasets, but no dataset matches them all"
}

func techniquesSaid(ts []Technique) string {
	if len(ts) == 0 {
		return ""
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Label
	}
	return " or is tagged with " + strings.Join(names, ", ")
}

// hit returns what an answer shows of r.
func hit(r readmodel.Record, scored bool) Hit {
	e := r.Entry.GetDataset()
	ds := e.GetDataset()
	h := Hit{
		Key: r.Key, DOI: r.DOI, Title: ds.GetTitle(), Description: cut(ds.GetDescription(), maxDescription),
		Facility: r.Facility, Instrument: ds.GetInstrument(), Access: ds.GetAccessRights(), Licence: readmodel.LicenceOf(ds),
		Quality: e.GetQualityScore(), Datestamp: r.Datestamp, Issued: readmodel.IssuedOf(ds, r.Datestamp), LandingPage: ds.GetLandingPage(), Techniques: []Technique{},
	}
	if math.IsNaN(h.Quality) {
		h.Quality = 0
	}
	h.Quality = min(max(h.Quality, 0), 1) // as the index holds it
	if scored {
		h.Score = r.Score
	}
	for _, t := range e.GetTechniques() {
		h.Techniques = append(h.Techniques, Technique{IRI: t.GetIri(), ID: t.GetId(), Label: t.GetLabel()})
	}
	for _, p := range ds.GetCreators() {
		name := p.GetName()
		if name == "" {
			name = strings.TrimSpace(p.GetGivenName() + " " + p.GetFamilyName())
		}
		if name != "" && len(h.Creators) < maxShown {
			h.Creators = append(h.Creators, name)
		}
	}
	for _, k := range ds.GetSubjects() {
		if k.GetValue() != "" && len(h.Keywords) < maxShown {
			h.Keywords = append(h.Keywords, k.GetValue())
		}
	}
	for _, sm := range ds.GetSamples() {
		if sm.GetName() != "" && len(h.Samples) < maxShown {
			h.Samples = append(h.Samples, sm.GetName())
		}
	}
	return h
}

// cut returns s cut to at most n characters, with an ellipsis when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

// facets returns the read model's counts as an answer's facets, technique
// IRIs with their labels.
func (s *Searcher) facets(counts map[string][]readmodel.Count) Facets {
	conv := func(name string) []FacetValue {
		out := []FacetValue{}
		for _, c := range counts[name] {
			out = append(out, FacetValue{Value: c.Value, Count: c.Count, Min: c.Min, Max: c.Max})
		}
		return out
	}
	f := Facets{
		Facility: conv(readmodel.FacetFacility), Technique: conv(readmodel.FacetTechnique),
		Instrument: conv(readmodel.FacetInstrument), Access: conv(readmodel.FacetAccess), Licence: conv(readmodel.FacetLicence),
		Year: conv(readmodel.FacetYear), Quality: conv(readmodel.FacetQuality),
	}
	if t := s.terms(); t != nil {
		for i, v := range f.Technique {
			if c, ok := t.m.Ontology().Class(v.Value); ok {
				f.Technique[i].Label = c.Label
			}
		}
	}
	return f
}

// ParseDate reads a date bound of a search as every front end takes it:
// RFC 3339, a day (2026-05-01), a month (2026-05) or a year (2026), in
// UTC; "" is the zero time (no bound). A day, month or year is its first
// second, or with end its last (dates count to the second), so that a
// range takes both ends in whole.
func ParseDate(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, f := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{time.DateOnly, func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	} {
		if t, err := time.Parse(f.layout, s); err == nil {
			if end {
				t = f.next(t).Add(-time.Second)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%.40q: want a day (2026-05-01), a month (2026-05), a year (2026) or RFC 3339", s)
}
