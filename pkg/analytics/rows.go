package analytics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// PaNETNamespace is the IRI prefix of PaNET techniques; RowFromEntry uses it
// for a technique that carries only its bare id.
const PaNETNamespace = "http://purl.org/pan-science/PaNET/"

// The range of times the Date and DateTime columns hold on every ClickHouse
// version; times outside it (and unknown times) are stored as 1970-01-01.
var (
	minStoredTime = time.Unix(0, 0).UTC()
	maxStoredTime = time.Date(2105, time.December, 31, 23, 59, 59, 0, time.UTC)
)

// DatasetRow is one version of one dataset in the datasets table.
type DatasetRow struct {
	// Key is the dataset's identity (see fairwayv1.Dataset.key).
	Key string
	// DOI without resolver prefix, lower case; empty when there is none.
	DOI      string
	Facility string
	FeedID   string
	Title    string
	// PublicationYear is 0 when unknown.
	PublicationYear uint16
	// Issued is stored as a date (UTC); unknown is the zero time.
	Issued       time.Time
	AccessRights string
	License      string
	// Techniques are PaNET IRIs, without duplicates.
	Techniques []string
	// TechniqueLabels are the labels of Techniques, index by index.
	TechniqueLabels []string
	// Creators is the number of creators.
	Creators uint16
	// ORCIDs is the number of creators with an ORCID iD.
	ORCIDs uint16
	// Quality is the FAIR quality score in [0,1].
	Quality float64
	// Deleted marks a tombstone: the dataset was withdrawn.
	Deleted     bool
	ContentHash string
	// Version orders the versions of a dataset: the catalogue stream's
	// sequence number of the entry. The highest version of a key wins.
	Version uint64
	// PublishedAt is when the publisher put this version in the catalogue.
	PublishedAt time.Time
	// TechniquesAll are Techniques and every broader technique the
	// enricher gave for them, without duplicates.
	TechniquesAll []string
	// QualityDimensions and QualityScores are the parts of Quality, index
	// by index; QualityGaps the rubric checks the dataset failed.
	QualityDimensions []string
	QualityScores     []float64
	QualityGaps       []string
	// Dates of the dataset; unknown is the zero time.
	Modified, Created, Available, CollectedStart, CollectedEnd time.Time
	// EntryVersion is the dataset's version as its source gives it.
	EntryVersion string
	// PaNETVersion is the PaNET release the enricher used, MetadataFormat
	// the format the record was harvested in.
	PaNETVersion, MetadataFormat string
	// RunID is the harvest run the dataset came from; HarvestedAt when the
	// harvester received it, EnrichedAt when the enricher tagged it.
	RunID                   string
	HarvestedAt, EnrichedAt time.Time
}

// RowFromEntry flattens a catalogue entry into the row of its version.
// A nil entry or missing parts give empty fields; InsertDatasets rejects a
// row without a key. Counts beyond the column range are capped, a quality
// score that is not a number is stored as 0, and techniques are
// deduplicated by IRI (a technique with only a bare id gets the PaNET IRI).
func RowFromEntry(e *fairwayv1.CatalogueEntry, version uint64) DatasetRow {
	enriched := e.GetDataset()
	d := enriched.GetDataset()
	row := DatasetRow{
		Key:             cmp.Or(e.GetKey(), d.GetKey()),
		DOI:             d.GetDoi(),
		Facility:        d.GetFacility(),
		FeedID:          d.GetFeedId(),
		Title:           d.GetTitle(),
		PublicationYear: clampUint16(int64(d.GetPublicationYear())),
		Issued:          timeOf(d.GetIssued()),
		AccessRights:    d.GetAccessRights(),
		License:         d.GetLicense(),
		Techniques:      []string{},
		TechniqueLabels: []string{},
		Creators:        clampUint16(int64(len(d.GetCreators()))),
		Quality:         enriched.GetQualityScore(),
		Deleted:         e.GetDeleted() || d.GetDeleted(),
		ContentHash:     cmp.Or(e.GetContentHash(), d.GetContentHash()),
		Version:         version,
		PublishedAt:     timeOf(e.GetPublishedAt()),
		Modified:        timeOf(d.GetModified()),
		Created:         timeOf(d.GetCreated()),
		Available:       timeOf(d.GetAvailable()),
		CollectedStart:  timeOf(d.GetCollectedStart()),
		CollectedEnd:    timeOf(d.GetCollectedEnd()),
		EntryVersion:    d.GetVersion(),
		PaNETVersion:    enriched.GetPanetVersion(),
		MetadataFormat:  d.GetMetadataFormat(),
		RunID:           d.GetProvenance().GetRunId(),
		HarvestedAt:     timeOf(d.GetProvenance().GetHarvestedAt()),
		EnrichedAt:      timeOf(enriched.GetEnrichedAt()),
	}
	for _, q := range enriched.GetQualityDimensions() {
		score := q.GetScore()
		if math.IsNaN(score) || math.IsInf(score, 0) {
			score = 0
		}
		row.QualityDimensions = append(row.QualityDimensions, q.GetName())
		row.QualityScores = append(row.QualityScores, score)
	}
	var gaps uniqueStrings
	for _, g := range enriched.GetQualityGaps() {
		if c := g.GetCheck(); c != "" && !gaps.seen(row.QualityGaps, c) {
			row.QualityGaps = append(row.QualityGaps, c)
		}
	}
	var orcids int64
	for _, p := range d.GetCreators() {
		if strings.TrimSpace(p.GetOrcid()) != "" {
			orcids++
		}
	}
	row.ORCIDs = clampUint16(orcids)
	if math.IsNaN(row.Quality) || math.IsInf(row.Quality, 0) {
		row.Quality = 0
	}
	var seen uniqueStrings
	for _, t := range enriched.GetTechniques() {
		iri := strings.TrimSpace(t.GetIri())
		if iri == "" && strings.TrimSpace(t.GetId()) != "" {
			iri = PaNETNamespace + strings.TrimSpace(t.GetId())
		}
		if iri == "" || seen.seen(row.Techniques, iri) {
			continue
		}
		row.Techniques = append(row.Techniques, iri)
		row.TechniqueLabels = append(row.TechniqueLabels, t.GetLabel())
	}
	var all uniqueStrings
	add := func(iri string) {
		if iri = strings.TrimSpace(iri); iri != "" && !all.seen(row.TechniquesAll, iri) {
			row.TechniquesAll = append(row.TechniquesAll, iri)
		}
	}
	for _, iri := range row.Techniques {
		add(iri)
	}
	for _, t := range enriched.GetTechniques() {
		for _, b := range t.GetBroader() {
			add(b)
		}
	}
	return row
}

// uniqueStrings tells whether a list built without duplicates holds a
// string already. A short list is searched (no allocation: the common
// case of a few techniques or gaps); past smallList strings a set takes
// over, so that a hostile list of thousands stays linear.
type uniqueStrings struct {
	set map[string]struct{}
}

// smallList is the longest list uniqueStrings searches.
const smallList = 16

// seen reports whether list holds s; when it does not, s is remembered as
// the string the caller appends to list next.
func (u *uniqueStrings) seen(list []string, s string) bool {
	if u.set == nil {
		if len(list) < smallList {
			return slices.Contains(list, s)
		}
		u.set = make(map[string]struct{}, 2*len(list))
		for _, v := range list {
			u.set[v] = struct{}{}
		}
	}
	if _, ok := u.set[s]; ok {
		return true
	}
	u.set[s] = struct{}{}
	return false
}

// validate reports why the row cannot be stored, wrapping ErrInvalidRow.
func (r DatasetRow) validate() error {
	switch {
	case strings.TrimSpace(r.Key) == "":
		return fmt.Errorf("%w: empty key", ErrInvalidRow)
	case len(r.Techniques) != len(r.TechniqueLabels):
		return fmt.Errorf("%w: key %q: %d techniques but %d technique labels",
			ErrInvalidRow, r.Key, len(r.Techniques), len(r.TechniqueLabels))
	case math.IsNaN(r.Quality) || math.IsInf(r.Quality, 0):
		return fmt.Errorf("%w: key %q: quality %v is not a number", ErrInvalidRow, r.Key, r.Quality)
	case len(r.QualityDimensions) != len(r.QualityScores):
		return fmt.Errorf("%w: key %q: %d quality dimensions but %d scores",
			ErrInvalidRow, r.Key, len(r.QualityDimensions), len(r.QualityScores))
	}
	return nil
}

// datasetColumns is the column list of every datasets insert, in the order
// of datasetColumnsOf.
const datasetColumns = "key, doi, facility, feed_id, title, publication_year, issued, access_rights, " +
	"license, techniques, technique_labels, creators, orcids, quality, deleted, content_hash, version, published_at, " +
	"techniques_all, quality_dimensions, quality_scores, quality_gaps, modified, created, available, " +
	"collected_start, collected_end, entry_version, panet_version, metadata_format, run_id, harvested_at, enriched_at"

// runColumns is the column list of every harvest_runs insert, in the order
// of runValues.
const runColumns = "run_id, feed_id, facility, status, started_at, finished_at, pages, records, deleted, rejected, error, " +
	"bytes, retries, list_size, requested_from, response_date"

// runValues validates a harvest run and returns its values in the order of
// runColumns.
func runValues(r *fairwayv1.HarvestRun) ([]any, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil harvest run", ErrInvalidRow)
	}
	if strings.TrimSpace(r.GetRunId()) == "" {
		return nil, fmt.Errorf("%w: harvest run of feed %q without run id", ErrInvalidRow, r.GetFeedId())
	}
	counts := []struct {
		name string
		v    int64
	}{{"pages", r.GetPages()}, {"records", r.GetRecords()}, {"deleted", r.GetDeleted()}, {"rejected", r.GetRejected()},
		{"bytes", r.GetBytes()}, {"retries", r.GetRetries()}, {"list size", r.GetListSize()}}
	for _, c := range counts {
		if c.v < 0 {
			return nil, fmt.Errorf("%w: harvest run %q: negative %s %d", ErrInvalidRow, r.GetRunId(), c.name, c.v)
		}
	}
	return []any{
		r.GetRunId(), r.GetFeedId(), r.GetFacility(), RunStatus(r.GetStatus()),
		storedTime(timeOf(r.GetStartedAt())), storedTime(timeOf(r.GetFinishedAt())),
		uint64(r.GetPages()), uint64(r.GetRecords()), uint64(r.GetDeleted()), uint64(r.GetRejected()),
		r.GetError(),
		uint64(r.GetBytes()), uint64(r.GetRetries()), uint64(r.GetListSize()), r.GetFrom(),
		storedTime(timeOf(r.GetResponseDate())),
	}, nil
}

// RunStatus is how a harvest status is stored in harvest_runs.status:
// "running", "complete", "failed" or "unspecified" (and the number of a
// status this version does not know).
func RunStatus(s fairwayv1.HarvestStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "HARVEST_STATUS_"))
}

// timeOf converts a protobuf timestamp; nil or invalid gives the zero time.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil || ts.CheckValid() != nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// storedTime returns t in UTC, or the Unix epoch when t is unknown or
// outside what a DateTime column holds.
func storedTime(t time.Time) time.Time {
	if t.IsZero() || t.Before(minStoredTime) || t.After(maxStoredTime) {
		return minStoredTime
	}
	return t.UTC()
}

// storedDate returns midnight UTC of t's UTC calendar day, or the Unix epoch
// when t is unknown or outside what a Date column holds.
func storedDate(t time.Time) time.Time {
	t = storedTime(t)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func clampUint16(v int64) uint16 {
	switch {
	case v < 0:
		return 0
	case v > math.MaxUint16:
		return math.MaxUint16
	}
	return uint16(v)
}

func boolToUint8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilFloats(s []float64) []float64 {
	if s == nil {
		return []float64{}
	}
	return s
}

// datasetColumnsOf returns the rows' values column by column, in the order
// of datasetColumns, as the typed slices the driver appends at once.
func datasetColumnsOf(rows []DatasetRow) []any {
	n := len(rows)
	var (
		key, doi, facility, feed, title, access, license = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		year, creators, orcids                           = make([]uint16, n), make([]uint16, n), make([]uint16, n)
		issued, published                                = make([]time.Time, n), make([]time.Time, n)
		techniques, labels, all, dims, gaps              = make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
		scores                                           = make([][]float64, n)
		quality                                          = make([]float64, n)
		deleted                                          = make([]uint8, n)
		hash, entryVersion, panet, format, run           = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		version                                          = make([]uint64, n)
		modified, created, available, cstart, cend       = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		harvestedAt, enrichedAt                          = make([]time.Time, n), make([]time.Time, n)
	)
	for i, r := range rows {
		key[i], doi[i], facility[i], feed[i], title[i] = r.Key, r.DOI, r.Facility, r.FeedID, r.Title
		year[i], issued[i], access[i], license[i] = r.PublicationYear, storedDate(r.Issued), r.AccessRights, r.License
		techniques[i], labels[i] = nonNil(r.Techniques), nonNil(r.TechniqueLabels)
		creators[i], orcids[i], quality[i], deleted[i] = r.Creators, r.ORCIDs, r.Quality, boolToUint8(r.Deleted)
		hash[i], version[i], published[i] = r.ContentHash, r.Version, storedTime(r.PublishedAt)
		all[i], dims[i], scores[i], gaps[i] = nonNil(r.TechniquesAll), nonNil(r.QualityDimensions), nonNilFloats(r.QualityScores), nonNil(r.QualityGaps)
		modified[i], created[i], available[i] = storedTime(r.Modified), storedTime(r.Created), storedTime(r.Available)
		cstart[i], cend[i] = storedTime(r.CollectedStart), storedTime(r.CollectedEnd)
		entryVersion[i], panet[i], format[i], run[i] = r.EntryVersion, r.PaNETVersion, r.MetadataFormat, r.RunID
		harvestedAt[i], enrichedAt[i] = storedTime(r.HarvestedAt), storedTime(r.EnrichedAt)
	}
	return []any{
		key, doi, facility, feed, title, year, issued, access, license, techniques, labels,
		creators, orcids, quality, deleted, hash, version, published,
		all, dims, scores, gaps, modified, created, available, cstart, cend,
		entryVersion, panet, format, run, harvestedAt, enrichedAt,
	}
}
