package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// The resources of the server.
const (
	// DatasetByDOI is the URI template of a dataset by its DOI, the DOI
	// as it is written (10.5291/ILL-DATA.5-21-1001).
	DatasetByDOI = "fairway://datasets/doi/{+doi}"
	// DatasetByKey is the URI template of a dataset by its key in this node
	// (doi:… or src:facility:id), for the datasets without a DOI.
	DatasetByKey = "fairway://datasets/key/{+key}"
	// InventoryURI is the node's inventory of facilities and techniques.
	InventoryURI = "fairway://inventory"

	doiPrefix = "fairway://datasets/doi/"
	keyPrefix = "fairway://datasets/key/"
)

// maxID bounds a dataset id of get_dataset or a resource URI.
const maxID = 2048

// DatasetInput is the input of get_dataset.
type DatasetInput struct {
	ID string `json:"id" jsonschema:"the dataset's DOI (10.5291/ILL-DATA.5-21-1001, doi:…, https://doi.org/…) or its key in this node, as search_datasets' hits give it"`
}

// DatasetQuery echoes how get_dataset found the dataset.
type DatasetQuery struct {
	// ID as given.
	ID string `json:"id"`
	// FoundBy is "key" or "doi".
	FoundBy string `json:"found_by"`
}

// DatasetOutput is the structured answer of get_dataset (and the JSON of a
// dataset resource).
type DatasetOutput struct {
	// Notice marks the harvested text in Record and Turtle.
	Notice string       `json:"untrusted_content_notice"`
	Query  DatasetQuery `json:"query"`
	// Key, DOI and facility (lower case) of the dataset.
	Key      string `json:"key"`
	DOI      string `json:"doi,omitempty"`
	Facility string `json:"facility"`
	// Datestamp of the dataset in the catalogue.
	Datestamp time.Time `json:"datestamp"`
	// Resource is the dataset's URI as a resource of this server.
	Resource string `json:"resource_uri"`
	// Record is the enriched record as the catalogue holds it (protobuf
	// JSON: the canonical dataset, its PaNET techniques, its quality).
	Record map[string]any `json:"record"`
	// Turtle is the dataset's DCAT-AP description as the catalogue renders
	// it (empty for an entry the publisher has not rendered).
	Turtle string `json:"dcat_ap_turtle"`
	// Techniques the dataset is tagged with (not their broader ones).
	Techniques []search.Technique `json:"techniques"`
	// Quality is its FAIR quality.
	Quality Quality `json:"quality"`
	// Links are its links to publications, related works, its instrument
	// and its proposal.
	Links Links `json:"links"`
}

// Quality is the FAIR quality of one dataset (package quality's rubric,
// as the enricher scored it).
type Quality struct {
	// Score in [0, 1].
	Score float64 `json:"score"`
	// Dimensions are the score of each dimension, in the rubric's order.
	Dimensions []QualityDimension `json:"dimensions"`
	// Gaps are the checks the dataset fails, with what it needs to pass;
	// TotalGaps counts them.
	Gaps      []QualityGap `json:"gaps"`
	TotalGaps int          `json:"total_gaps"`
}

// QualityDimension is the score of one quality dimension.
type QualityDimension struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// QualityGap is one check of the rubric a dataset fails.
type QualityGap struct {
	Check     string  `json:"check"`
	Dimension string  `json:"dimension"`
	Hint      string  `json:"hint"`
	Weight    float64 `json:"weight"`
}

// Links are what a dataset links to.
type Links struct {
	// Publications are the works the dataset is related to as a
	// publication is (cited by, referenced by, documented by, supplement
	// to, …); Related its other related identifiers.
	Publications []Link `json:"publications"`
	Related      []Link `json:"related"`
	// Citations counts the distinct works that cite or reuse it (the
	// relations the reuse statistic counts, analytics.ReuseRelations).
	Citations int `json:"citations"`
	// Instrument it was taken with, when the record names one.
	Instrument *Instrument `json:"instrument,omitempty"`
	// Proposal it was taken under, when the record names one.
	Proposal string `json:"proposal,omitempty"`
	// Landing page at the facility, and the DOI's resolver URL.
	LandingPage string `json:"landing_page,omitempty"`
	DOIURL      string `json:"doi_url,omitempty"`
	// Total counts the publications, related works, instrument and
	// proposal.
	Total int `json:"total"`
}

// Link is one related identifier of a dataset.
type Link struct {
	Identifier string `json:"identifier"`
	Type       string `json:"type,omitempty"`
	Relation   string `json:"relation,omitempty"`
	// URL resolves the identifier (a DOI's resolver URL, a URL as it is).
	URL string `json:"url,omitempty"`
	// Citation: the relation counts as a citation or reuse.
	Citation bool `json:"citation"`
}

// Instrument is the instrument a dataset was taken with.
type Instrument struct {
	Name string `json:"name,omitempty"`
	PID  string `json:"pid,omitempty"`
	// URL resolves the PID.
	URL string `json:"url,omitempty"`
}

// publicationRelations are the DataCite relation types (in lower case)
// that relate a dataset to a publication about or using it.
var publicationRelations = []string{
	"iscitedby", "cites", "isreferencedby", "references", "issupplementto", "issupplementedby",
	"isdocumentedby", "documents", "isdescribedby", "describes", "isreviewedby", "reviews", "ispublishedin",
}

func (h *handlers) getDataset(ctx context.Context, req *mcp.CallToolRequest, in DatasetInput) (*mcp.CallToolResult, DatasetOutput, error) {
	rec, q, err := h.find(ctx, in.ID, "")
	if err != nil {
		return nil, DatasetOutput{}, err
	}
	out, err := h.datasetOutput(rec, q)
	if err != nil {
		return nil, DatasetOutput{}, err
	}
	h.investigated(ctx, req.Session, rec, "get_dataset")
	return nil, out, nil
}

// Errors of a dataset that cannot be answered.
var (
	errNoDataset = errors.New("no such dataset")
	errWithdrawn = errors.New("dataset withdrawn")
)

// find returns the live record id names: by is "key", "doi", or "" for a
// key, else a DOI.
func (h *handlers) find(ctx context.Context, id, by string) (readmodel.Record, DatasetQuery, error) {
	id = strings.TrimSpace(id)
	q := DatasetQuery{ID: id}
	switch {
	case id == "":
		return readmodel.Record{}, q, errors.New("no dataset id: give a DOI or a dataset key")
	case len(id) > maxID:
		return readmodel.Record{}, q, fmt.Errorf("dataset id of %d bytes: at most %d", len(id), maxID)
	}
	rec, err := readmodel.Record{}, readmodel.ErrNotFound
	if by != "doi" {
		q.FoundBy = "key"
		rec, err = h.cfg.Catalogue.Get(ctx, id)
	}
	if errors.Is(err, readmodel.ErrNotFound) && by != "key" {
		if doi, ok := metadata.LooseDOI(id); ok {
			q.FoundBy = "doi"
			rec, err = h.cfg.Catalogue.ByDOI(ctx, doi)
		}
	}
	switch {
	case errors.Is(err, readmodel.ErrNotFound):
		return rec, q, fmt.Errorf("%w: no dataset with DOI or key %.200q in this node's catalogue", errNoDataset, id)
	case err != nil:
		return rec, q, fmt.Errorf("the catalogue cannot be read now: %w", err)
	case rec.Deleted:
		return rec, q, fmt.Errorf("%w: the dataset %.200q was withdrawn at its source", errWithdrawn, id)
	}
	return rec, q, nil
}

// datasetOutput is what the server answers of a live record.
func (h *handlers) datasetOutput(rec readmodel.Record, q DatasetQuery) (DatasetOutput, error) {
	e := rec.Entry.GetDataset()
	ds := e.GetDataset()
	if ds == nil {
		return DatasetOutput{}, fmt.Errorf("the catalogue entry of %.200q has no dataset", rec.Key)
	}
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(e)
	if err != nil {
		return DatasetOutput{}, fmt.Errorf("record of %.200q: %w", rec.Key, err)
	}
	var record map[string]any
	if err := json.Unmarshal(raw, &record); err != nil {
		return DatasetOutput{}, fmt.Errorf("record of %.200q: %w", rec.Key, err)
	}
	out := DatasetOutput{
		Notice: HarvestedNotice, Query: q, Key: rec.Key, DOI: rec.DOI, Facility: rec.Facility, Datestamp: rec.Datestamp,
		Resource: ResourceURI(rec.Key, rec.DOI), Record: record, Turtle: rec.Entry.GetTurtle(),
		Techniques: []search.Technique{}, Quality: quality(e), Links: links(ds),
	}
	for _, t := range e.GetTechniques() {
		out.Techniques = append(out.Techniques, search.Technique{IRI: t.GetIri(), ID: t.GetId(), Label: t.GetLabel()})
	}
	return out, nil
}

// ResourceURI returns the URI of a dataset as a resource of the server:
// by its DOI when it has one, else by its key, escaped as the DCAT-AP
// escapes an IRI's path (dcat.EscapeIRIPath), so that every id comes back
// as it is when the server reads the URI (it unescapes the path).
func ResourceURI(key, doi string) string {
	if doi != "" {
		return doiPrefix + dcat.EscapeIRIPath(doi)
	}
	return keyPrefix + dcat.EscapeIRIPath(key)
}

func quality(e *fairwayv1.EnrichedDataset) Quality {
	q := Quality{Score: e.GetQualityScore(), Dimensions: []QualityDimension{}, Gaps: []QualityGap{}}
	for _, d := range e.GetQualityDimensions() {
		q.Dimensions = append(q.Dimensions, QualityDimension{Name: d.GetName(), Score: d.GetScore()})
	}
	for _, g := range e.GetQualityGaps() {
		q.Gaps = append(q.Gaps, QualityGap{Check: g.GetCheck(), Dimension: g.GetDimension(), Hint: g.GetHint(), Weight: g.GetWeight()})
	}
	q.TotalGaps = len(q.Gaps)
	return q
}

func links(ds *fairwayv1.Dataset) Links {
	l := Links{Publications: []Link{}, Related: []Link{}, LandingPage: ds.GetLandingPage(), Proposal: strings.TrimSpace(ds.GetProposalId())}
	if ds.GetDoi() != "" {
		l.DOIURL = dcat.DOIIRI(ds.GetDoi())
	}
	cited := map[string]bool{}
	for _, r := range ds.GetRelated() {
		rel := strings.ToLower(strings.TrimSpace(r.GetRelation()))
		link := Link{Identifier: r.GetIdentifier(), Type: r.GetType(), Relation: r.GetRelation(), URL: webLink(dcat.RelatedIRI(r))}
		link.Citation = slices.ContainsFunc(analytics.ReuseRelations, func(s string) bool { return strings.EqualFold(s, rel) })
		if link.Citation {
			cited[r.GetIdentifier()] = true
		}
		if slices.Contains(publicationRelations, rel) {
			l.Publications = append(l.Publications, link)
		} else {
			l.Related = append(l.Related, link)
		}
	}
	l.Citations = len(cited)
	if name, pid := strings.TrimSpace(ds.GetInstrument()), strings.TrimSpace(ds.GetInstrumentPid()); name != "" || pid != "" {
		l.Instrument = &Instrument{Name: name, PID: pid, URL: webLink(dcat.RelatedIRI(&fairwayv1.RelatedIdentifier{Identifier: pid}))}
	}
	l.Total = len(l.Publications) + len(l.Related)
	if l.Instrument != nil {
		l.Total++
	}
	if l.Proposal != "" {
		l.Total++
	}
	return l
}

// webLink returns iri when it is an http(s) URL a client can open, else "".
func webLink(iri string) string {
	if u, err := url.Parse(iri); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return iri
	}
	return ""
}

// addResources adds the dataset templates and the inventory.
func (h *handlers) addResources(s *mcp.Server) {
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "dataset-by-doi", Title: "Dataset by DOI", URITemplate: DatasetByDOI, MIMEType: "application/json",
		Description: "A dataset of the node by its DOI, written as it is (fairway://datasets/doi/10.5291/ILL-DATA.5-21-1001): the JSON of get_dataset, then its DCAT-AP description as text/turtle. " + HarvestedNotice,
	}, h.readDataset)
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "dataset-by-key", Title: "Dataset by key", URITemplate: DatasetByKey, MIMEType: "application/json",
		Description: "A dataset of the node by its key (as search_datasets' hits give it), for datasets without a DOI: as dataset-by-doi. " + HarvestedNotice,
	}, h.readDataset)
	s.AddResource(&mcp.Resource{
		Name: "inventory", Title: "Facilities and techniques", URI: InventoryURI, MIMEType: "application/json",
		Description: "The node's inventory: each facility with its live datasets, and each PaNET technique with datasets (its narrower techniques' included), with totals.",
	}, h.readInventory)
}

// readDataset reads a dataset resource.
func (h *handlers) readDataset(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	var id, by string
	switch {
	case strings.HasPrefix(uri, doiPrefix):
		id, by = uri[len(doiPrefix):], "doi"
	case strings.HasPrefix(uri, keyPrefix):
		id, by = uri[len(keyPrefix):], "key"
	default:
		return nil, mcp.ResourceNotFoundError(uri)
	}
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	rec, q, err := h.find(ctx, id, by)
	switch {
	case errors.Is(err, errNoDataset), errors.Is(err, errWithdrawn):
		return nil, mcp.ResourceNotFoundError(uri)
	case err != nil:
		return nil, err
	}
	out, err := h.datasetOutput(rec, q)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	contents := []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}
	if out.Turtle != "" {
		contents = append(contents, &mcp.ResourceContents{URI: uri, MIMEType: "text/turtle", Text: out.Turtle})
	}
	h.investigated(ctx, req.Session, rec, "resource")
	return &mcp.ReadResourceResult{Contents: contents}, nil
}
