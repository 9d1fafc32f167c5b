package readmodel

import (
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	bdoc "github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// document is what the index holds of one record: nothing is stored in the
// index (the records are in the bbolt file), the mapped fields are only
// indexed (Description and Creators only within Text), those the model
// sorts by keep doc values, and the facets count Facet alone.
type document struct {
	Key          string    `json:"key"`
	Facility     string    `json:"facility"`
	Feed         string    `json:"feed"`
	DOI          string    `json:"doi"`
	Technique    []string  `json:"technique"`    // IRIs, broader included
	TechniqueID  []string  `json:"technique_id"` // their bare ids
	Datestamp    time.Time `json:"datestamp"`
	Issued       time.Time `json:"issued"` // IssuedOf
	Seq          float64   `json:"seq"`
	Deleted      bool      `json:"deleted"`
	AccessRights string    `json:"access_rights"`
	Title        string    `json:"title"`
	Description  string    `json:"description"`
	Keywords     []string  `json:"keywords"`
	Creators     []string  `json:"creators"`
	// What search filters, counts and reads besides (see searchdoc.go).
	Instrument []string `json:"instrument"` // name and PID, lower case
	Licence    string   `json:"licence"`    // SPDX id, else as given
	Quality    float64  `json:"quality"`    // in [0, 1]
	// Facet holds every value the facets count, each as facetDocTerm
	// makes it (facetdoc.go): the only doc values the facets read. It is
	// not mapped: indexDocument adds it.
	Facet []string `json:"-"`
	// Text is every text Query.Text searches: title, description,
	// keywords, creators, instrument and samples (Description and
	// Creators are indexed only in it, title and keywords also on their
	// own, to weigh more).
	Text []string `json:"text"`
}

// Field names of the index.
const (
	fieldFacility    = "facility"
	fieldFeed        = "feed"
	fieldDOI         = "doi"
	fieldTechnique   = "technique"
	fieldTechniqueID = "technique_id"
	fieldDatestamp   = "datestamp"
	fieldIssued      = "issued"
	fieldSeq         = "seq"
	fieldDeleted     = "deleted"
	fieldAccess      = "access_rights"
	fieldInstrument  = "instrument"
	fieldLicence     = "licence"
	fieldQuality     = "quality"
	fieldFacet       = "facet"
	fieldText        = "text"
	textAnalyzer     = en.AnalyzerName
)

// scoringModel ranks text matches with BM25 (bleve_index_api's
// BM25Scoring; the default would be TF-IDF).
const scoringModel = "bm25"

// textFields are the fields Query.Text searches: a word must be in the
// first, which holds every text; found in the others too, it weighs more.
// One field of every text costs one term per word where a field per text
// would cost a disjunction of six.
var textFields = []string{fieldText, "title", "keywords"}

// textBoost is the weight of a word found in a field: a word of the title
// says more than one of the description.
var textBoost = map[string]float64{fieldText: 1, "title": 2, "keywords": 1}

// indexMapping returns the mapping of the index (all but document.Facet,
// which indexDocument adds): keywords for the identifiers, a datetime, numbers and a boolean for the
// filters and orders, English text for the title, the keywords and one
// field of every text (document.Text), scored with BM25; description and
// creators are not indexed on their own. Title and keywords are indexed
// twice, in their own fields and in the text field, so that a match there
// weighs more (textBoost); a word of the query is three term queries.
func indexMapping() mapping.IndexMapping {
	kw := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = false, false, false, docValues
		return f
	}
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = textAnalyzer
		f.Store, f.IncludeTermVectors, f.IncludeInAll, f.DocValues = false, false, false, false
		return f
	}
	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt("key", kw(false))
	dm.AddFieldMappingsAt(fieldFacility, kw(false))
	dm.AddFieldMappingsAt(fieldFeed, kw(false))
	dm.AddFieldMappingsAt(fieldDOI, kw(false))
	dm.AddFieldMappingsAt(fieldTechnique, kw(false))
	dm.AddFieldMappingsAt(fieldTechniqueID, kw(false))
	dm.AddFieldMappingsAt(fieldAccess, kw(false))
	dm.AddFieldMappingsAt(fieldInstrument, kw(false))
	dm.AddFieldMappingsAt(fieldLicence, kw(false))
	qs := bleve.NewNumericFieldMapping()
	qs.Store, qs.IncludeInAll, qs.DocValues = false, false, false
	dm.AddFieldMappingsAt(fieldQuality, qs)
	ts := bleve.NewDateTimeFieldMapping()
	ts.Store, ts.IncludeInAll, ts.DocValues = false, false, true
	dm.AddFieldMappingsAt(fieldDatestamp, ts)
	issued := bleve.NewDateTimeFieldMapping()
	issued.Store, issued.IncludeInAll, issued.DocValues = false, false, true
	dm.AddFieldMappingsAt(fieldIssued, issued)
	seq := bleve.NewNumericFieldMapping()
	seq.Store, seq.IncludeInAll, seq.DocValues = false, false, true
	dm.AddFieldMappingsAt(fieldSeq, seq)
	del := bleve.NewBooleanFieldMapping()
	del.Store, del.IncludeInAll, del.DocValues = false, false, false
	dm.AddFieldMappingsAt(fieldDeleted, del)
	for _, name := range textFields {
		dm.AddFieldMappingsAt(name, text())
	}
	im := bleve.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultAnalyzer = keyword.Name
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	im.DefaultField = "title"
	im.ScoringModel = scoringModel
	return im
}

// facetOptions are the options of the facet field: indexed, with doc
// values kept per document and uncompressed (as bleve keeps a geopoint's),
// so that reading one match's values reads them alone: a chunk of 1024
// documents, compressed, is decompressed whole for each match in it that
// a search counts, and a search of thousands of matches spread over the
// catalogue decompresses nearly all of them.
const facetOptions = index.IndexField | index.DocValues | index.SkipDVChunking | index.SkipDVCompression

// indexDocument adds to batch the document of key: its mapped fields, and
// its facet values (document.Facet, one keyword term each) with
// facetOptions, which a mapping cannot set.
func indexDocument(idx bleve.Index, batch *bleve.Batch, key string, d document) error {
	doc := bdoc.NewDocument(key)
	if err := idx.Mapping().MapDocument(doc, d); err != nil {
		return err
	}
	for _, v := range d.Facet {
		doc.AddField(bdoc.NewTextFieldWithIndexingOptions(fieldFacet, nil, []byte(v), facetOptions))
	}
	return batch.IndexAdvanced(doc)
}
