package nodepage

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"

	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// maxKey bounds a dataset key in a path, as the catalogue does.
const maxKey = 2048

// datasetData is what a dataset's page shows. Its texts come from
// harvested metadata and are escaped by the templates; its links are live
// only when they are http or https (safeURL).
type datasetData struct {
	page
	Key, Path   string
	Title       string
	Description string
	Facility    string
	// FacilityKey is the facility as the search takes it (lower case).
	FacilityKey string
	Instrument  string
	Publisher   string
	DOI         string
	// DOIURL is the DOI at its resolver, as the DCAT-AP links it.
	DOIURL     string
	Landing    string
	Licence    string
	Access     string
	Issued     string
	Datestamp  string
	Creators   []string
	Keywords   []string
	Techniques []techniqueView
	HasQuality bool
	Quality    float64
	Dimensions []*fairwayv1.QualityDimension
	Gaps       []*fairwayv1.QualityGap
	Related    []relatedView
	Formats    []formatLink
	// Problem is set instead of the rest when there is no such dataset,
	// it was withdrawn, or the catalogue did not answer.
	Problem string
}

type techniqueView struct {
	Label, IRI, ID string
}

type relatedView struct {
	Relation, Type, Identifier, Href string
}

type formatLink struct {
	Name, Href string
}

// dcatFormats are the catalogue's RDF formats a dataset page links to.
var dcatFormats = []struct{ name, param string }{
	{"Turtle", "ttl"}, {"JSON-LD", "jsonld"}, {"RDF/XML", "rdfxml"}, {"N-Triples", "nt"},
}

func (h *Handler) dataset(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	key := r.PathValue("key")
	d := datasetData{page: page{Node: h.cfg.Title, Now: h.cfg.Now().UTC()}, Key: key, Path: DatasetPath(key)}
	if len(key) > maxKey {
		d.Problem = "No dataset with a key this long here."
		h.render(w, http.StatusNotFound, "dataset.html", d)
		return
	}
	var rec readmodel.Record
	msg := h.call(r.Context(), "catalogue", func(ctx context.Context) (err error) {
		rec, err = h.cfg.Catalogue.Get(ctx, key)
		if errors.Is(err, readmodel.ErrNotFound) {
			return nil
		}
		return err
	})
	switch {
	case msg != "":
		d.Problem = "The catalogue did not answer: " + msg
		h.render(w, http.StatusServiceUnavailable, "dataset.html", d)
		return
	case rec.Key == "":
		d.Problem = "No dataset with this key here."
		h.render(w, http.StatusNotFound, "dataset.html", d)
		return
	case rec.Deleted:
		d.Problem = "This dataset was withdrawn by its facility."
		h.render(w, http.StatusGone, "dataset.html", d)
		return
	}
	fillDataset(&d, rec)
	d.Heading = d.Title
	h.render(w, http.StatusOK, "dataset.html", d)
	// A HEAD (a link checker) is no investigation: COUNTER counts the
	// pages that were read, as the catalogue's own documents do.
	if h.cfg.Viewed != nil && r.Method == http.MethodGet {
		h.cfg.Viewed(r, rec.Key, rec.Facility, "page")
	}
}

// fillDataset puts rec's record into d.
func fillDataset(d *datasetData, rec readmodel.Record) {
	e := rec.Entry.GetDataset()
	ds := e.GetDataset()
	d.Title = cmp.Or(ds.GetTitle(), "(untitled)")
	d.Description = ds.GetDescription()
	d.Facility, d.FacilityKey = strings.ToUpper(rec.Facility), rec.Facility
	d.Instrument = ds.GetInstrument()
	d.Publisher = ds.GetPublisher()
	d.DOI = ds.GetDoi()
	if d.DOI != "" {
		d.DOIURL = dcat.DOIIRI(d.DOI)
	}
	d.Landing = ds.GetLandingPage()
	d.Licence = cmp.Or(ds.GetLicenseSpdx(), ds.GetLicense())
	d.Access = ds.GetAccessRights()
	if t := ds.GetIssued(); t != nil {
		d.Issued = t.AsTime().UTC().Format("2006-01-02")
	}
	d.Datestamp = when(rec.Datestamp)
	for _, p := range ds.GetCreators() {
		if n := cmp.Or(p.GetName(), strings.TrimSpace(p.GetGivenName()+" "+p.GetFamilyName())); n != "" {
			d.Creators = append(d.Creators, n)
		}
	}
	for _, s := range ds.GetSubjects() {
		if v := s.GetValue(); v != "" {
			d.Keywords = append(d.Keywords, v)
		}
	}
	for _, t := range e.GetTechniques() {
		d.Techniques = append(d.Techniques, techniqueView{Label: cmp.Or(t.GetLabel(), t.GetId(), t.GetIri()), IRI: t.GetIri(), ID: t.GetId()})
	}
	if e != nil {
		d.HasQuality = true
		d.Quality = e.GetQualityScore()
		d.Dimensions = e.GetQualityDimensions()
		d.Gaps = e.GetQualityGaps()
	}
	for _, rel := range ds.GetRelated() {
		d.Related = append(d.Related, relatedView{
			Relation: rel.GetRelation(), Type: rel.GetType(), Identifier: rel.GetIdentifier(),
			Href: safeURL(dcat.RelatedIRI(rel)),
		})
	}
	for _, f := range dcatFormats {
		d.Formats = append(d.Formats, formatLink{Name: f.name, Href: d.Path + "?format=" + f.param})
	}
}

// searchData is what the search page shows.
type searchData struct {
	page
	Facility, Technique string
	Result              *search.Result
	// Err is why the search did not run (an invalid query, the catalogue
	// down); Near are the techniques an unknown one may have meant.
	Err  string
	Near []search.Technique
	// Next is the link to the next page of hits.
	Next string
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	d := searchData{page: page{Node: h.cfg.Title, Heading: "Search", Now: h.cfg.Now().UTC(), Query: v.Get("q")},
		Facility: v.Get("facility"), Technique: v.Get("technique")}
	req := search.Request{Query: d.Query, Facility: d.Facility, Technique: d.Technique, Cursor: v.Get("cursor"), Limit: search.DefaultLimit}
	var res search.Result
	var err error
	msg := h.call(r.Context(), "search", func(ctx context.Context) error {
		res, err = h.cfg.Search.Search(ctx, req)
		if errors.Is(err, search.ErrInvalid) {
			return nil // the user's to fix, not the node's
		}
		return err
	})
	var unknown *search.UnknownTechniqueError
	code := http.StatusOK
	switch {
	case msg != "":
		d.Err, code = msg, http.StatusServiceUnavailable
	case errors.As(err, &unknown):
		d.Err, d.Near, code = err.Error(), unknown.Near, http.StatusBadRequest
	case err != nil:
		d.Err, code = err.Error(), http.StatusBadRequest
	default:
		d.Result = &res
		if res.Next != "" {
			next := url.Values{}
			for _, k := range []string{"q", "facility", "technique"} {
				if s := v.Get(k); s != "" {
					next.Set(k, s)
				}
			}
			next.Set("cursor", res.Next)
			d.Next = "/search?" + next.Encode()
		}
	}
	h.render(w, code, "search.html", d)
}
