package readmodel

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bolt "go.etcd.io/bbolt"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Record is what the model holds of one dataset.
type Record struct {
	// Key of the dataset.
	Key string
	// Seq is the catalogue stream sequence of the entry.
	Seq uint64
	// Deleted marks a tombstone (kept: OAI-PMH deletions are persistent;
	// the changes feed lists them).
	Deleted bool
	// Facility in lower case.
	Facility string
	// Feed the dataset was harvested from.
	Feed string
	// DOI as the dataset gives it.
	DOI string
	// Datestamp is CatalogueEntry.PublishedAt (the stream's time of the
	// entry when it has none), UTC, truncated to the second.
	Datestamp time.Time
	// Techniques are the IRIs of the dataset's techniques and of their
	// broader techniques, sorted.
	Techniques []string
	// Entry is the whole entry (nil only when the query asked for keys
	// only).
	Entry *fairwayv1.CatalogueEntry
	// Score is the record's BM25 relevance to Query.Text in a query
	// ByRelevance, 0 in other orders.
	Score float64
	// quality is what the counts keep of the entry's quality.
	quality qualitySummary
}

// Deletion says which records a query wants by whether they are
// tombstones.
type Deletion int

// The deletion filters.
const (
	// LiveOnly leaves tombstones out.
	LiveOnly Deletion = iota
	// WithDeleted takes live records and tombstones.
	WithDeleted
	// DeletedOnly takes only tombstones.
	DeletedOnly
)

// Order is the order of a query's records.
type Order int

// The orders.
const (
	// ByKey orders by dataset key.
	ByKey Order = iota
	// BySeq orders by catalogue sequence (the changes feed).
	BySeq
	// ByDatestamp orders by datestamp, then key.
	ByDatestamp
	// ByRelevance orders by relevance to Query.Text (BM25, the most
	// relevant first), then key; without text every record scores alike.
	ByRelevance
	// ByNewest orders by datestamp, the newest first, then key (last
	// first).
	ByNewest
	// ByIssued orders by the dataset's own date (IssuedOf), the newest
	// first, then key (last first).
	ByIssued
)

// Query asks the model for records. Zero fields do not filter.
type Query struct {
	// Facility, case-insensitive.
	Facility string
	// Feed id.
	Feed string
	// Technique is a PaNET IRI or bare id (PaNET01188): datasets tagged with
	// it or with a narrower technique.
	Technique string
	// AnyTechnique, when set, keeps the datasets tagged with one of these
	// techniques (PaNET IRIs or bare ids) or with a narrower one, at most
	// MaxAnyTechniques; it narrows along with Technique.
	AnyTechnique []string
	// AccessRights as the dataset gives them (exactly).
	AccessRights string
	// Instrument name or PID, case-insensitive (exactly otherwise), cut
	// as the index cuts it (at 4 KiB).
	Instrument string
	// Licence: the SPDX id (CC-BY-4.0) of a licence the normaliser
	// recognised, else the licence as the dataset gives it (exactly).
	Licence string
	// MinQuality keeps the datasets whose FAIR quality score is at least
	// this, in [0, 1]; 0 does not filter.
	MinQuality float64
	// From and Until bound the datestamp, inclusive; zero is open.
	From, Until time.Time
	// IssuedFrom and IssuedUntil bound the dataset's own date (IssuedOf),
	// inclusive; zero is open.
	IssuedFrom, IssuedUntil time.Time
	// AfterSeq keeps only entries at catalogue positions > AfterSeq (the
	// changes feed).
	AfterSeq uint64
	// Deleted says whether tombstones are wanted.
	Deleted Deletion
	// Text holds words searched over title, description, keywords,
	// creators, instruments and samples (English analysis); every word
	// must match.
	Text string
	// TextTechniques are techniques named in Text: a dataset tagged with
	// one of them (or a narrower one) matches as well, when the rest of
	// Text's words match (a match so found ranks above one by words).
	TextTechniques []TextTechnique
	// Facets, when set, asks for the counts of the matching records per
	// facility, technique, instrument, access rights, licence and year
	// (Page.Facets), at most this many values of each, and per band of
	// quality score.
	Facets int
	// Order of the records.
	Order Order
	// Offset skips that many records (page-numbered paging), at most
	// MaxOffset; ignored when After is set.
	Offset int
	// After is a cursor from Page.Next: the page continues after the last
	// record of the page that gave it, stable under inserts and deletes. It
	// must come from a query of the same Order.
	After string
	// Limit is the page size. Default 100, at most MaxLimit.
	Limit int
	// KeysOnly leaves Record.Entry nil.
	KeysOnly bool
}

// Limits of a query.
const (
	// DefaultLimit is the page size of a query without Limit.
	DefaultLimit = 100
	// MaxLimit is the largest page.
	MaxLimit = 10000
	// MaxOffset is the deepest Offset: deeper pages cost memory in
	// proportion to their depth; page with After (cursors) instead.
	MaxOffset = 100000
	// maxText bounds Query.Text.
	maxText = 1000
	// MaxFacets bounds Query.Facets.
	MaxFacets = 1000
	// MaxTextTechniques bounds Query.TextTechniques.
	MaxTextTechniques = 8
	// MaxAnyTechniques bounds Query.AnyTechnique.
	MaxAnyTechniques = 256
)

// TextTechnique is a technique named in a query's text.
type TextTechnique struct {
	// IRI of the technique.
	IRI string
	// Words of the text that name it (those need not match the dataset's
	// text when the dataset is tagged with it).
	Words string
}

// The facets of Page.Facets.
const (
	FacetFacility   = "facility"
	FacetTechnique  = "technique"
	FacetInstrument = "instrument"
	FacetAccess     = "access_rights"
	FacetLicence    = "licence"
	// FacetYear counts per year (UTC) of the dataset's own date
	// (IssuedOf), the filter of Query.IssuedFrom and Query.IssuedUntil: the
	// values are years, the newest first, over the last facetYears years.
	FacetYear = "year"
	// FacetQuality counts per band of quality score (qualityBands), the
	// lowest first; a Count of it has the band's bounds.
	FacetQuality = "quality"
)

// facetYears is how many years FacetYear counts, back from next year.
const facetYears = 40

// band is a band of quality scores.
type band struct {
	name     string
	min, max float64
}

// qualityBands are the bands of FacetQuality: each takes in its lower
// bound and not its upper one, but the last takes in 1.
var qualityBands = []band{
	{"0.0-0.2", 0, 0.2}, {"0.2-0.4", 0.2, 0.4}, {"0.4-0.6", 0.4, 0.6}, {"0.6-0.8", 0.6, 0.8}, {"0.8-1.0", 0.8, 1},
}

// facetCodes begin the terms of each facet in the facet field
// (facetDocTerm).
var facetCodes = map[string]byte{
	FacetFacility: 'f', FacetTechnique: 't', FacetInstrument: 'i', FacetAccess: 'a', FacetLicence: 'l',
	FacetYear: 'y', FacetQuality: 'q',
}

// facetTerms are the facets whose values the facet field holds as
// facetTerm makes them.
var facetTerms = map[string]bool{FacetTechnique: true, FacetAccess: true}

// Page is one page of a query's records.
type Page struct {
	// Total is how many records match the query (ignoring Offset, After
	// and Limit).
	Total uint64
	// Records of the page, in the query's order.
	Records []Record
	// Next is the cursor of the next page, "" when this page is the last.
	Next string
	// Facets are the counts Query.Facets asked for, by facet name
	// (FacetFacility, …): the most frequent values first, then by value.
	Facets map[string][]Count
}

// Search returns one page of the records matching q.
func (m *Model) Search(ctx context.Context, q Query) (Page, error) {
	req, count, err := m.request(q)
	if err != nil {
		return Page{}, err
	}
	done, err := m.reading()
	if err != nil {
		return Page{}, err
	}
	defer done()
	// The request asks for one record more than the page holds: there is
	// a next page exactly when it comes.
	res, recs, err := m.find(ctx, req, req.Size-1, q.KeysOnly)
	if err != nil {
		return Page{}, err
	}
	page := Page{Total: res.Total, Records: recs, Facets: facets(res, q.Facets)}
	if len(res.Hits) == req.Size && req.Size > 1 {
		page.Next = encodeCursor(q, sortValues(res.Hits[req.Size-2]))
	}
	if count != nil {
		// The page was searched from its cursor on; the total is of the
		// whole query (a count: no sort, no hits).
		c, err := m.index.SearchInContext(ctx, count)
		if err != nil {
			return Page{}, fmt.Errorf("readmodel: count: %w", err)
		}
		page.Total = c.Total
		page.Facets = facets(c, q.Facets)
	}
	return page, nil
}

// Consistency of reads: a batch is applied to the index, then to the
// records, each recording the batch's position atomically with it, and a
// read takes no lock that would wait for a batch. It reads the index's
// position before and after its search and the records' position in the
// transaction it reads them in: when the three agree, the search saw the
// index at that position and the records are at the same one. When they do
// not (a batch landed during the search, or the records are still
// committing one), it waits for the model to reach the index's position
// and asks again.
const (
	// findAttempts bounds how often a read asks again.
	findAttempts = 4
	// staleWait bounds one wait for a batch.
	staleWait = 2 * time.Second
)

// find runs req and reads the records of its first limit hits from the
// records at the same position as the index.
func (m *Model) find(ctx context.Context, req *bleve.SearchRequest, limit int, keysOnly bool) (*bleve.SearchResult, []Record, error) {
	for attempt := 1; ; attempt++ {
		before, err := m.indexPosition()
		if err != nil {
			return nil, nil, err
		}
		res, err := m.index.SearchInContext(ctx, req)
		if err != nil {
			return nil, nil, fmt.Errorf("readmodel: search: %w", err)
		}
		after, err := m.indexPosition()
		if err != nil {
			return nil, nil, err
		}
		hits := res.Hits
		if len(hits) > limit {
			hits = hits[:limit]
		}
		recs, at, err := m.records(hits, keysOnly)
		if err != nil || (before == after && at == after) {
			return res, recs, err
		}
		if attempt == findAttempts {
			// Never a short page that looks whole: the caller answers
			// that the catalogue cannot be read now.
			m.log.Warn("index and records at different positions after several tries", "index", after, "records", at)
			return nil, nil, fmt.Errorf("%w: the index is at %d and the records at %d", ErrBehind, after, at)
		}
		wctx, cancel := context.WithTimeout(ctx, staleWait)
		_ = m.WaitFor(wctx, after)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
}

// indexPosition returns the position the index's current snapshot holds.
func (m *Model) indexPosition() (uint64, error) {
	v, err := m.index.GetInternal(metaPosition)
	if err != nil {
		return 0, fmt.Errorf("readmodel: index position: %w", err)
	}
	return readU64(v), nil
}

// Each calls fn with every record matching q, in q's order (Offset, After
// and Limit are ignored; Limit sets the batch size), until fn returns an
// error, which Each returns as it is. It reads in pages continued by
// cursor, so its memory is bounded by one page whatever the catalogue
// holds, and writes meanwhile neither repeat nor skip a record that stays
// in place.
func (m *Model) Each(ctx context.Context, q Query, fn func(Record) error) error {
	q.Offset, q.After = 0, ""
	if q.Limit == 0 {
		q.Limit = 1000
	}
	for {
		page, err := m.Search(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}

// Get returns the record of key (a tombstone with Deleted), or ErrNotFound.
func (m *Model) Get(ctx context.Context, key string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	done, err := m.reading()
	if err != nil {
		return Record{}, err
	}
	defer done()
	var r Record
	err = m.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRecords).Get([]byte(key))
		if v == nil {
			return fmt.Errorf("%w: %.200s", ErrNotFound, key)
		}
		var err error
		r, err = decodeRecord(key, v, true)
		return err
	})
	return r, err
}

// ByDOI returns the record of the dataset with this DOI (case-insensitive;
// a live one before a tombstone), or ErrNotFound.
func (m *Model) ByDOI(ctx context.Context, doi string) (Record, error) {
	doi = strings.ToLower(strings.TrimSpace(doi))
	if doi == "" || len(doi) > maxKey {
		return Record{}, fmt.Errorf("%w: DOI %.200q", ErrNotFound, doi)
	}
	tq := bleve.NewTermQuery(doi)
	tq.SetField(fieldDOI)
	req := bleve.NewSearchRequestOptions(tq, 10, 0, false)
	req.Score = "none"
	req.SortBy([]string{"-" + fieldSeq})
	done, err := m.reading()
	if err != nil {
		return Record{}, err
	}
	defer done()
	_, recs, err := m.find(ctx, req, req.Size, false)
	if err != nil {
		return Record{}, err
	}
	if len(recs) == 0 {
		return Record{}, fmt.Errorf("%w: DOI %.200s", ErrNotFound, doi)
	}
	for _, r := range recs {
		if !r.Deleted {
			return r, nil
		}
	}
	return recs[0], nil
}

// Count is how many live datasets have one value of a field.
type Count struct {
	// Value counted (a facility, a technique IRI).
	Value string
	// Count of live datasets.
	Count uint64
	// Min and Max bound a band of FacetQuality (nil otherwise).
	Min, Max *float64
}

// Facilities returns how many live datasets each facility has, sorted by
// facility.
func (m *Model) Facilities(ctx context.Context) ([]Count, error) {
	return m.counts(ctx, countFacility)
}

// Techniques returns how many live datasets each technique IRI has (a
// dataset counts for its techniques and every broader one), sorted by IRI.
func (m *Model) Techniques(ctx context.Context) ([]Count, error) {
	return m.counts(ctx, countTechnique)
}

// counts reads the live counts kept with the records (each batch adjusts
// them in its transaction), so that a facet costs one scan of its values,
// not of the datasets.
func (m *Model) counts(ctx context.Context, kind byte) ([]Count, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	done, err := m.reading()
	if err != nil {
		return nil, err
	}
	defer done()
	var out []Count
	err = m.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCounts).Cursor()
		prefix := []byte{kind}
		for k, v := c.Seek(prefix); k != nil && k[0] == kind; k, v = c.Next() {
			out = append(out, Count{Value: string(k[1:]), Count: readU64(v)})
		}
		return nil
	})
	return out, err
}

// Earliest returns the smallest datestamp the model holds, tombstones
// included (zero when it holds nothing).
func (m *Model) Earliest(ctx context.Context) (time.Time, error) {
	page, err := m.Search(ctx, Query{Deleted: WithDeleted, Order: ByDatestamp, Limit: 1, KeysOnly: true})
	if err != nil || len(page.Records) == 0 {
		return time.Time{}, err
	}
	return page.Records[0].Datestamp, nil
}

// liveQuery matches the records that are not tombstones.
func liveQuery() query.Query {
	q := bleve.NewBoolFieldQuery(false)
	q.SetField(fieldDeleted)
	return q
}

// sortFields returns the sort of an order: always ending in the key, so
// that every record has a place of its own and cursors are exact.
func sortFields(o Order) ([]string, error) {
	switch o {
	case ByKey:
		return []string{"_id"}, nil
	case BySeq:
		// Sequences are unique: no tie to break, and no document id to
		// read per match.
		return []string{fieldSeq}, nil
	case ByDatestamp:
		return []string{fieldDatestamp, "_id"}, nil
	case ByRelevance:
		return []string{"-_score", "_id"}, nil
	case ByNewest:
		return []string{"-" + fieldDatestamp, "-_id"}, nil
	case ByIssued:
		return []string{"-" + fieldIssued, "-_id"}, nil
	}
	return nil, fmt.Errorf("%w: order %d", ErrBadQuery, o)
}

// request builds the bleve request of q, for one record more than the
// page (to know whether a next page exists). A page after a cursor by
// sequence or datestamp is searched only from the cursor's value on (the
// index then visits the documents from there, not every match); count is
// then the request that counts the whole query, else nil.
func (m *Model) request(q Query) (req, count *bleve.SearchRequest, err error) {
	switch {
	case q.Limit < 0 || q.Limit > MaxLimit:
		return nil, nil, fmt.Errorf("%w: limit %d (1 to %d)", ErrBadQuery, q.Limit, MaxLimit)
	case q.Offset < 0 || q.Offset > MaxOffset:
		return nil, nil, fmt.Errorf("%w: offset %d (0 to %d; page deeper with cursors)", ErrBadQuery, q.Offset, MaxOffset)
	case len(q.Text) > maxText:
		return nil, nil, fmt.Errorf("%w: text of %d bytes (at most %d)", ErrBadQuery, len(q.Text), maxText)
	case len(q.Facility) > maxKey || len(q.Feed) > maxKey || len(q.Technique) > maxKey || len(q.AccessRights) > maxKey ||
		len(q.Instrument) > maxDescription || len(q.Licence) > maxKey:
		return nil, nil, fmt.Errorf("%w: filter value over %d bytes", ErrBadQuery, maxKey)
	case !(q.MinQuality >= 0 && q.MinQuality <= 1):
		return nil, nil, fmt.Errorf("%w: minimum quality %v (0 to 1)", ErrBadQuery, q.MinQuality)
	case q.Facets < 0 || q.Facets > MaxFacets:
		return nil, nil, fmt.Errorf("%w: facets %d (0 to %d)", ErrBadQuery, q.Facets, MaxFacets)
	case len(q.TextTechniques) > MaxTextTechniques:
		return nil, nil, fmt.Errorf("%w: %d techniques in the text (at most %d)", ErrBadQuery, len(q.TextTechniques), MaxTextTechniques)
	case len(q.AnyTechnique) > MaxAnyTechniques:
		return nil, nil, fmt.Errorf("%w: %d techniques to take any of (at most %d)", ErrBadQuery, len(q.AnyTechnique), MaxAnyTechniques)
	case q.Deleted < LiveOnly || q.Deleted > DeletedOnly:
		return nil, nil, fmt.Errorf("%w: deletion filter %d", ErrBadQuery, q.Deleted)
	case !q.From.IsZero() && !q.Until.IsZero() && q.Until.Before(q.From):
		return nil, nil, fmt.Errorf("%w: until %s before from %s", ErrBadQuery, q.Until, q.From)
	case !q.IssuedFrom.IsZero() && !q.IssuedUntil.IsZero() && q.IssuedUntil.Before(q.IssuedFrom):
		return nil, nil, fmt.Errorf("%w: issued until %s before issued from %s", ErrBadQuery, q.IssuedUntil, q.IssuedFrom)
	}
	for _, t := range q.AnyTechnique {
		if len(t) > maxKey {
			return nil, nil, fmt.Errorf("%w: technique of %d bytes (at most %d)", ErrBadQuery, len(t), maxKey)
		}
	}
	fields, err := sortFields(q.Order)
	if err != nil {
		return nil, nil, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	var after []string
	if q.After != "" {
		if after, err = decodeCursor(q, len(fields)); err != nil {
			return nil, nil, err
		}
	}
	words, err := m.words(q.Text)
	if err != nil {
		return nil, nil, err
	}
	all, err := m.matchQuery(q, words)
	if err != nil {
		return nil, nil, err
	}
	match := all
	if r := cursorRange(q.Order, after); r != nil {
		match = bleve.NewConjunctionQuery(all, r)
		count = bleve.NewSearchRequestOptions(all, 0, 0, false)
		count.Score = "none"
		addFacets(count, q.Facets)
	}
	req = bleve.NewSearchRequestOptions(match, limit+1, q.Offset, false)
	req.Score = "none"
	if q.Order == ByRelevance {
		req.Score = ""
	}
	req.SortBy(fields)
	if count == nil {
		addFacets(req, q.Facets)
	}
	if after != nil {
		req.From = 0
		req.SetSearchAfter(after)
	}
	return req, count, nil
}

// cursorRange returns the range a page after a cursor lies in, by the
// cursor's first sort value (inclusive: the search-after values leave out
// the records up to the cursor itself), for pages by sequence and by
// datestamp; nil for other orders or a value it cannot read.
func cursorRange(o Order, after []string) query.Query {
	if len(after) == 0 {
		return nil
	}
	v, err := numeric.PrefixCoded(after[0]).Int64()
	if err != nil {
		return nil
	}
	yes := true
	switch o {
	case BySeq:
		min := numeric.Int64ToFloat64(v)
		r := bleve.NewNumericRangeInclusiveQuery(&min, nil, &yes, nil)
		r.SetField(fieldSeq)
		return r
	case ByDatestamp:
		r := bleve.NewDateRangeInclusiveQuery(time.Unix(0, v).UTC(), time.Time{}, &yes, nil)
		r.SetField(fieldDatestamp)
		return r
	}
	return nil
}

// filter returns the query of q's filters (its text is textQuery's).
func filter(q Query) query.Query {
	var must []query.Query
	term := func(field, value string) {
		t := bleve.NewTermQuery(value)
		t.SetField(field)
		must = append(must, t)
	}
	switch q.Deleted {
	case LiveOnly:
		must = append(must, liveQuery())
	case DeletedOnly:
		d := bleve.NewBoolFieldQuery(true)
		d.SetField(fieldDeleted)
		must = append(must, d)
	}
	if f := strings.ToLower(strings.TrimSpace(q.Facility)); f != "" {
		term(fieldFacility, f)
	}
	if q.Feed != "" {
		term(fieldFeed, q.Feed)
	}
	if q.AccessRights != "" {
		term(fieldAccess, q.AccessRights)
	}
	if i := instrumentTerm(q.Instrument); i != "" {
		term(fieldInstrument, i)
	}
	if q.Licence != "" {
		term(fieldLicence, q.Licence)
	}
	if q.MinQuality > 0 {
		min, yes := q.MinQuality, true
		r := bleve.NewNumericRangeInclusiveQuery(&min, nil, &yes, nil)
		r.SetField(fieldQuality)
		must = append(must, r)
	}
	if t := techniqueTerm(q.Technique); t != nil {
		must = append(must, t)
	}
	if len(q.AnyTechnique) > 0 {
		var anyOf []query.Query
		for _, s := range q.AnyTechnique {
			if t := techniqueTerm(s); t != nil {
				anyOf = append(anyOf, t)
			}
		}
		if len(anyOf) == 0 {
			// Only blank values: nothing is tagged with none of them.
			anyOf = append(anyOf, bleve.NewMatchNoneQuery())
		}
		must = append(must, bleve.NewDisjunctionQuery(anyOf...))
	}
	if r := dateRange(fieldDatestamp, q.From, q.Until); r != nil {
		must = append(must, r)
	}
	if r := dateRange(fieldIssued, q.IssuedFrom, q.IssuedUntil); r != nil {
		must = append(must, r)
	}
	if q.AfterSeq > 0 {
		min, no := float64(q.AfterSeq), false
		r := bleve.NewNumericRangeInclusiveQuery(&min, nil, &no, nil)
		r.SetField(fieldSeq)
		must = append(must, r)
	}
	if len(must) == 0 {
		return bleve.NewMatchAllQuery()
	}
	return bleve.NewConjunctionQuery(must...)
}

// dateRange returns the query of the dates of field from and until,
// inclusive (a zero bound is open), nil when both are zero.
func dateRange(field string, from, until time.Time) query.Query {
	from, until = clamp(from), clamp(until)
	if from.IsZero() && until.IsZero() {
		return nil
	}
	yes := true
	var r *query.DateRangeQuery
	switch {
	case until.IsZero():
		r = bleve.NewDateRangeInclusiveQuery(from.UTC(), time.Time{}, &yes, nil)
	case from.IsZero():
		r = bleve.NewDateRangeInclusiveQuery(time.Time{}, until.UTC(), nil, &yes)
	default:
		r = bleve.NewDateRangeInclusiveQuery(from.UTC(), until.UTC(), &yes, &yes)
	}
	r.SetField(field)
	return r
}

// techniqueTerm returns the query of the datasets tagged with technique t
// (a PaNET IRI or bare id) or a narrower one, nil for a blank t.
func techniqueTerm(t string) query.Query {
	t = strings.TrimSpace(t)
	if t == "" {
		return nil
	}
	field := fieldTechnique
	if id := normalID(t); id != "" {
		field, t = fieldTechniqueID, id
	}
	q := bleve.NewTermQuery(t)
	q.SetField(field)
	return q
}

// maxWords bounds the words of Query.Text.
const maxWords = 32

// words returns the distinct terms the text fields' analyser makes of
// text: every one must match (in any of the text fields). Text of stop
// words only makes none, and does not filter.
func (m *Model) words(text string) ([]string, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	a := m.index.Mapping().AnalyzerNamed(textAnalyzer)
	if a == nil {
		return nil, fmt.Errorf("readmodel: no analyser %s", textAnalyzer)
	}
	var out []string
	for _, tok := range a.Analyze([]byte(text)) {
		if w := string(tok.Term); !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	if len(out) > maxWords {
		return nil, fmt.Errorf("%w: %d words (at most %d)", ErrBadQuery, len(out), maxWords)
	}
	return out, nil
}

// clamp returns t inside the datetimes the index holds (zero stays zero:
// no bound).
func clamp(t time.Time) time.Time {
	switch {
	case t.IsZero():
		return t
	case !t.After(minTime):
		return minTime.Add(time.Second)
	case !t.Before(maxTime):
		return maxTime.Add(-time.Second)
	}
	return t
}

// records reads the records of hits, and the records' position, in one
// transaction. A hit without a record (there is none when the positions
// agree) is left out.
func (m *Model) records(hits search.DocumentMatchCollection, keysOnly bool) (out []Record, at uint64, err error) {
	out = make([]Record, 0, len(hits))
	err = m.db.View(func(tx *bolt.Tx) error {
		at = readU64(tx.Bucket(bucketMeta).Get(metaPosition))
		b := tx.Bucket(bucketRecords)
		for _, h := range hits {
			v := b.Get([]byte(h.ID))
			if v == nil {
				continue
			}
			r, err := decodeRecord(h.ID, v, !keysOnly)
			if err != nil {
				return err
			}
			if !math.IsNaN(h.Score) {
				r.Score = h.Score
			}
			out = append(out, r)
		}
		return nil
	})
	return out, at, err
}

// cursorVersion begins every cursor.
const cursorVersion = 2

// maxCursor bounds a cursor's length.
const maxCursor = 3 * maxKey

// cursorHead is the length of a cursor's head: its version, its order and
// the fingerprint of its query.
const cursorHead = 2 + 8

// encodeCursor returns the cursor of q that continues after a record with
// these sort values (of q's order).
func encodeCursor(q Query, values []string) string {
	b := []byte{cursorVersion, byte(q.Order)}
	b = binary.BigEndian.AppendUint64(b, fingerprint(q))
	for _, v := range values {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// fingerprint hashes what q selects (its text and filters, not its page),
// so that a cursor is taken only by the query that made it: the same
// values continue another query at a place that means nothing there.
func fingerprint(q Query) uint64 {
	h := fnv.New64a()
	field := func(s string) {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	for _, s := range []string{strings.ToLower(q.Facility), q.Feed, q.Technique, q.AccessRights,
		strings.ToLower(q.Instrument), q.Licence, q.Text} {
		field(s)
	}
	for _, t := range q.TextTechniques {
		field(t.IRI)
		field(t.Words)
	}
	var n [8 * 6]byte
	binary.BigEndian.PutUint64(n[0:], math.Float64bits(q.MinQuality))
	binary.BigEndian.PutUint64(n[8:], uint64(q.From.UnixNano()))
	binary.BigEndian.PutUint64(n[16:], uint64(q.Until.UnixNano()))
	binary.BigEndian.PutUint64(n[24:], q.AfterSeq)
	binary.BigEndian.PutUint64(n[32:], uint64(q.Deleted))
	binary.BigEndian.PutUint64(n[40:], uint64(len(q.TextTechniques)))
	h.Write(n[:])
	// After the rest, and only when set: the cursors of the queries
	// without it keep their fingerprints.
	if len(q.AnyTechnique) > 0 {
		field("any-technique")
		for _, t := range q.AnyTechnique {
			field(t)
		}
	}
	if !q.IssuedFrom.IsZero() || !q.IssuedUntil.IsZero() {
		field("issued")
		var n [16]byte
		binary.BigEndian.PutUint64(n[0:], uint64(q.IssuedFrom.UnixNano()))
		binary.BigEndian.PutUint64(n[8:], uint64(q.IssuedUntil.UnixNano()))
		h.Write(n[:])
	}
	return h.Sum64()
}

// errCursor says a cursor was not made by this model for this query.
var errCursor = errors.New("cursor not made for this query")

func decodeCursor(q Query, n int) ([]string, error) {
	s := q.After
	if len(s) > maxCursor {
		return nil, fmt.Errorf("%w: %w (%d bytes)", ErrBadQuery, errCursor, len(s))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < cursorHead || b[0] != cursorVersion || b[1] != byte(q.Order) ||
		binary.BigEndian.Uint64(b[2:cursorHead]) != fingerprint(q) {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, errCursor)
	}
	d := decoder{b: b[cursorHead:]}
	values := make([]string, n)
	for i := range values {
		values[i] = d.string()
	}
	if d.err || len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, errCursor)
	}
	return values, nil
}
