package catalogue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/rdfenc"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Vocabulary of the listings.
const (
	nsHydra = "http://www.w3.org/ns/hydra/core#"
	nsRDF   = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsDCAT  = "http://www.w3.org/ns/dcat#"
	nsDCT   = "http://purl.org/dc/terms/"
	nsFOAF  = "http://xmlns.com/foaf/0.1/"
	nsADMS  = "http://www.w3.org/ns/adms#"
	nsXSD   = "http://www.w3.org/2001/XMLSchema#"
	// ChangeType is the ADMS change-type vocabulary the changes feed gives
	// each catalogue record as its adms:status (created is not told apart
	// from updated: the catalogue keeps only an entry's last state).
	ChangeType = "http://purl.org/adms/changetype/"
	// ChangeTypeScheme is the concept scheme of ChangeType.
	ChangeTypeScheme = "http://purl.org/adms/changetype/1.0"
	nsSKOS           = "http://www.w3.org/2004/02/skos/core#"
)

func iri(s string) rdf.IRI {
	i, err := rdf.NewIRI(s)
	if err != nil {
		// Only the node's own IRIs come here, built from its validated
		// base URL and escaped values.
		panic(fmt.Sprintf("catalogue: %q is not an IRI: %v", s, err))
	}
	return i
}

func triple(s rdf.Subject, p string, o rdf.Object) rdf.Triple {
	return rdf.Triple{Subj: s, Pred: iri(p), Obj: o}
}

func integer(n uint64) rdf.Literal {
	return rdf.NewTypedLiteral(strconv.FormatUint(n, 10), iri(nsXSD+"nonNegativeInteger"))
}

func dateTime(t time.Time) rdf.Literal {
	return rdf.NewTypedLiteral(t.UTC().Format(time.RFC3339), iri(nsXSD+"dateTime"))
}

// listing is what a document of many datasets says about its catalogues.
type listing struct {
	// node: the datasets are linked from the node's catalogue too (pages
	// and the export of the node's catalogue; a facility's page links them
	// from the facility's only).
	node bool
}

// header returns the catalogues a listing describes: the node's catalogue
// with its parts, and every facility's catalogue (a node catalogue's
// parts must be described in the document for it to be valid DCAT-AP), or
// only the facility's for a facility listing.
func (h *Handler) header(ctx context.Context, facility string) ([]rdf.Triple, error) {
	if facility != "" {
		return dcat.FacilityCatalogueTriples(facility, h.opts)
	}
	counts, err := h.src.Facilities(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range counts {
		names = append(names, c.Value)
	}
	out, err := dcat.CatalogueTriples(h.opts, names)
	if err != nil {
		return nil, err
	}
	for _, f := range names {
		t, err := dcat.FacilityCatalogueTriples(f, h.opts)
		if err != nil {
			return nil, err
		}
		out = append(out, t...)
	}
	return out, nil
}

// errRecord marks a record that does not render (an entry without its
// dataset, a stored description that does not parse): it is left out of a
// listing, which goes on.
var errRecord = errors.New("catalogue entry does not render")

// describe writes the description of a live record's dataset as the
// catalogue holds it (its dataset and catalogue record, copied from the
// entry's Turtle when the document is Turtle), then its links to its
// facility's catalogue and, for node listings, to the node's, and extra.
func (h *Handler) describe(enc *rdfenc.Encoder, rec readmodel.Record, l listing, extra ...rdf.Triple) error {
	e := rec.Entry
	ds := e.GetDataset().GetDataset()
	if ds == nil {
		return fmt.Errorf("%w: entry of %s has no dataset", errRecord, rec.Key)
	}
	links, err := dcat.MembershipTriples(ds, h.opts)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errRecord, rec.Key, err)
	}
	if l.node {
		d, err := dcat.DatasetIRI(ds, h.opts)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", errRecord, rec.Key, err)
		}
		di, err := rdf.NewIRI(d)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", errRecord, rec.Key, err)
		}
		links = append(links, triple(iri(h.catalogueIRI()), nsDCAT+"dataset", di))
	}
	if e.Turtle != "" {
		err = enc.EncodeTurtle(e.Turtle)
	} else {
		var ts []rdf.Triple
		if ts, err = dcat.DatasetTriples(e.Dataset, h.opts); err != nil {
			return fmt.Errorf("%w: %s: %w", errRecord, rec.Key, err)
		}
		err = enc.Encode(ts)
	}
	if err == nil {
		err = enc.Encode(append(links, extra...))
	}
	if errors.Is(err, rdfenc.ErrStoredTurtle) || errors.Is(err, rdfenc.ErrInvalidTriple) {
		return fmt.Errorf("%w: %s: %w", errRecord, rec.Key, err)
	}
	return err
}

// withdrawnTriples returns the catalogue record of a withdrawn dataset, as
// the changes feed tells it: its primary topic, when, and the change type
// deleted. The dataset itself is described by what DCAT-AP asks of any
// dataset (a title and a description), which say that it was withdrawn.
func (h *Handler) withdrawnTriples(rec readmodel.Record) ([]rdf.Triple, error) {
	ds := tombstoneDataset(rec)
	d, err := dcat.DatasetIRI(ds, h.opts)
	if err != nil {
		return nil, err
	}
	r, err := dcat.RecordIRI(ds, h.opts)
	if err != nil {
		return nil, err
	}
	// Checked, not iri's panic: the IRIs come from a key the source chose.
	ri, err := rdf.NewIRI(r)
	if err != nil {
		return nil, err
	}
	di, err := rdf.NewIRI(d)
	if err != nil {
		return nil, err
	}
	title, _ := rdf.NewLangLiteral("Withdrawn dataset "+rec.Key, "en")
	desc, _ := rdf.NewLangLiteral("Withdrawn at its source; the catalogue keeps this record so that harvesters remove the dataset.", "en")
	return []rdf.Triple{
		triple(ri, nsRDF+"type", iri(nsDCAT+"CatalogRecord")),
		triple(ri, nsFOAF+"primaryTopic", di),
		triple(ri, nsDCT+"modified", dateTime(rec.Datestamp)),
		triple(ri, nsADMS+"status", iri(ChangeType+"deleted")),
		triple(di, nsRDF+"type", iri(nsDCAT+"Dataset")),
		// Typed as the record's primary topic must be (the shapes do not
		// infer that a dcat:Dataset is a dcat:Resource), as the renderer
		// types live datasets.
		triple(di, nsRDF+"type", iri(nsDCAT+"Resource")),
		triple(di, nsDCT+"title", title),
		triple(di, nsDCT+"description", desc),
	}, nil
}

// tombstoneDataset returns what is known of a withdrawn dataset: its key,
// and its DOI when it was keyed by one (a tombstone may carry no more).
func tombstoneDataset(rec readmodel.Record) *fairwayv1.Dataset {
	ds := &fairwayv1.Dataset{Key: rec.Key, Doi: rec.DOI, Facility: rec.Facility}
	if d := rec.Entry.GetDataset().GetDataset(); d != nil {
		if d.Doi != "" {
			ds.Doi = d.Doi
		}
		if d.Facility != "" {
			ds.Facility = d.Facility
		}
	}
	if ds.Doi == "" {
		ds.Doi, _ = strings.CutPrefix(rec.Key, "doi:")
		if ds.Doi == rec.Key {
			ds.Doi = ""
		}
	}
	return ds
}

// catalogueIRI is the IRI of the node's catalogue.
func (h *Handler) catalogueIRI() string {
	if h.opts.CatalogueIRI != "" {
		return h.opts.CatalogueIRI
	}
	return h.baseURL() + "/catalogue"
}

// cataloguePage serves a page of the node's catalogue.
func (h *Handler) cataloguePage(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, "", "/catalogue")
}

// facilityPage serves a page of one facility's catalogue; 404 for a
// facility without datasets.
func (h *Handler) facilityPage(w http.ResponseWriter, r *http.Request) {
	facility := strings.ToLower(r.PathValue("facility"))
	// A facility whose datasets were all withdrawn keeps its catalogue
	// (empty): its IRI is still in their records.
	held, err := h.src.Search(r.Context(), readmodel.Query{Facility: facility, Deleted: readmodel.WithDeleted, Limit: 1, KeysOnly: true})
	if err != nil {
		h.searchFailed(w, err)
		return
	}
	if held.Total == 0 {
		http.Error(w, fmt.Sprintf("no catalogue of a facility %q here", facility), http.StatusNotFound)
		return
	}
	h.page(w, r, facility, "/catalogue/"+url.PathEscape(facility))
}

// page serves one page of a catalogue (the node's, or a facility's), with
// the Hydra view that links the first, previous, next and last pages and
// tells how many datasets the listing holds.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, facility, path string) {
	v := r.URL.Query()
	q, err := filters(v)
	if err == nil && facility != "" {
		if q.Facility != "" && !strings.EqualFold(q.Facility, facility) {
			err = fmt.Errorf("%w: facility %q asked of the catalogue of %s", errBadRequest, q.Facility, facility)
		}
		q.Facility = facility
	}
	page, size, perr := h.paging(v)
	if err == nil {
		err = perr
	}
	if err != nil {
		badRequest(w, err)
		return
	}
	f, ok := h.format(w, r)
	if !ok {
		return
	}
	after := v.Get("after")
	if after != "" && v.Get("page") != "" {
		badRequest(w, fmt.Errorf("%w: page and after cannot be given together", errBadRequest))
		return
	}
	q.Order, q.Offset, q.After, q.Limit = readmodel.ByKey, (page-1)*size, after, size
	res, err := h.src.Search(r.Context(), q)
	if err != nil {
		h.searchFailed(w, err)
		return
	}
	head, err := h.header(r.Context(), facility)
	if err != nil {
		h.unavailable(w, err)
		return
	}
	last := int((res.Total + uint64(size) - 1) / uint64(size))
	if last < 1 {
		last = 1
	}
	view := iri(h.pageURL(path, v, page))
	if after != "" {
		view = iri(h.listingURL(path, v, "after", after))
	}
	collection := iri(h.catalogueIRI())
	if facility != "" {
		collection = iri(dcat.FacilityCatalogueIRI(facility, h.opts))
	}
	head = append(head,
		triple(collection, nsHydra+"totalItems", integer(res.Total)),
		triple(collection, nsHydra+"view", view),
		triple(view, nsRDF+"type", iri(nsHydra+"PartialCollectionView")),
		triple(view, nsHydra+"first", iri(h.pageURL(path, v, 1))),
	)
	// The last page by number, while page numbers reach it.
	if (last-1)*size <= readmodel.MaxOffset {
		head = append(head, triple(view, nsHydra+"last", iri(h.pageURL(path, v, last))))
	}
	if after == "" && page > 1 {
		head = append(head, triple(view, nsHydra+"previous", iri(h.pageURL(path, v, min(page-1, last)))))
	}
	// The next page continues after this page's last dataset (a cursor):
	// a dataset added or withdrawn meanwhile shifts nothing, and a
	// catalogue of any size is paged to its end.
	if res.Next != "" {
		head = append(head, triple(view, nsHydra+"next", iri(h.listingURL(path, v, "after", res.Next))))
	}
	startDocument(w, f)
	enc := rdfenc.NewEncoder(h.streaming(w, r), f, dcat.Namespaces())
	if err := enc.Encode(head); err != nil {
		h.aborted("catalogue page", err)
	}
	for _, rec := range res.Records {
		if err := h.encodeDataset(enc, rec, listing{node: facility == ""}); err != nil {
			h.aborted("catalogue page", err)
		}
	}
	if err := enc.Close(); err != nil {
		h.aborted("catalogue page", err)
	}
}

// encodeDataset writes a live record's description. A record the model
// holds that does not render is logged and left out of the listing, rather
// than cutting every later dataset off.
func (h *Handler) encodeDataset(enc *rdfenc.Encoder, rec readmodel.Record, l listing, extra ...rdf.Triple) error {
	err := h.describe(enc, rec, l, extra...)
	if errors.Is(err, errRecord) {
		h.log.Error("catalogue entry left out of a listing", "key", rec.Key, "seq", rec.Seq, "err", err)
		return nil
	}
	return err
}

// searchFailed answers a failed question to the model: 400 for a query the
// model refuses, 503 for a model that does not answer.
func (h *Handler) searchFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, readmodel.ErrBadQuery) {
		badRequest(w, err)
		return
	}
	h.unavailable(w, err)
}

// export serves the whole node catalogue (or what the filters keep) in
// one document, streamed dataset by dataset: memory stays bounded by a
// batch of the model, whatever the catalogue's size.
func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := filters(v)
	if err != nil {
		badRequest(w, err)
		return
	}
	f, ok := h.format(w, r)
	if !ok {
		return
	}
	// Every change up to this position is in the export (and perhaps
	// some after it): a portal asks the changes feed from there.
	w.Header().Set(PositionHeader, strconv.FormatUint(h.src.Position(), 10))
	head, err := h.header(r.Context(), "")
	if err != nil {
		h.unavailable(w, err)
		return
	}
	startDocument(w, f)
	enc := rdfenc.NewEncoder(h.streaming(w, r), f, dcat.Namespaces())
	if err := enc.Encode(head); err != nil {
		h.aborted("export", err)
	}
	q.Order = readmodel.ByKey
	err = h.src.Each(r.Context(), q, func(rec readmodel.Record) error {
		return h.encodeDataset(enc, rec, listing{node: true})
	})
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		h.aborted("export", err)
	}
}

// PositionHeader is the answer header of the changes feed that gives the
// position to ask for next (?since=) to see what changes after this page.
const PositionHeader = "Fairway-Position"

// changes serves what changed in the catalogue after a position (a stream
// sequence, as the previous page's PositionHeader or hydra:next gave it)
// or a time, in the order it changed: each changed dataset's description
// with its catalogue record (adms:status updated), and each withdrawn
// dataset's record (adms:status deleted). A dataset that changed twice is
// listed once, at its last change.
func (h *Handler) changes(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := filters(v)
	if err != nil {
		badRequest(w, err)
		return
	}
	since := strings.TrimSpace(v.Get("since"))
	switch {
	case since == "":
		badRequest(w, fmt.Errorf("%w: since is required: a position (0 for everything) or a time", errBadRequest))
		return
	case isDigits(since):
		if q.AfterSeq, err = strconv.ParseUint(since, 10, 64); err != nil {
			badRequest(w, fmt.Errorf("%w: since: %v", errBadRequest, err))
			return
		}
	default:
		t, err := parseTime(since)
		if err != nil {
			badRequest(w, fmt.Errorf("%w: since: %v", errBadRequest, err))
			return
		}
		if !q.From.IsZero() && q.From.After(t) {
			t = q.From
		}
		q.From = t
	}
	_, size, err := h.paging(v)
	if err != nil {
		badRequest(w, err)
		return
	}
	f, ok := h.format(w, r)
	if !ok {
		return
	}
	q.Deleted, q.Order, q.Limit = readmodel.WithDeleted, readmodel.BySeq, size
	// Read before the question: every change up to it is in the answer.
	applied := h.src.Position()
	res, err := h.src.Search(r.Context(), q)
	if err != nil {
		h.searchFailed(w, err)
		return
	}
	// The position to ask from next: after the last change listed, or,
	// on the last page, after everything the model had applied (changes
	// the filters leave out included), never back to the start.
	position := q.AfterSeq
	if n := len(res.Records); n > 0 {
		position = res.Records[n-1].Seq
	}
	if res.Next == "" {
		position = max(position, applied)
	}
	view := iri(h.changesURL(v, since))
	head := []rdf.Triple{
		triple(view, nsRDF+"type", iri(nsHydra+"PartialCollectionView")),
		triple(view, nsHydra+"totalItems", integer(res.Total)),
	}
	// The change types are concepts of the ADMS change-type vocabulary,
	// described as DCAT-AP wants a record's adms:status to be.
	for _, c := range []string{"updated", "deleted"} {
		ct := iri(ChangeType + c)
		label, _ := rdf.NewLangLiteral(c, "en")
		head = append(head,
			triple(ct, nsRDF+"type", iri(nsSKOS+"Concept")),
			triple(ct, nsSKOS+"prefLabel", label),
			triple(ct, nsSKOS+"inScheme", iri(ChangeTypeScheme)),
		)
	}
	if res.Next != "" {
		head = append(head, triple(view, nsHydra+"next", iri(h.changesURL(v, strconv.FormatUint(position, 10)))))
	}
	w.Header().Set(PositionHeader, strconv.FormatUint(position, 10))
	startDocument(w, f)
	enc := rdfenc.NewEncoder(h.streaming(w, r), f, dcat.Namespaces())
	if err := enc.Encode(head); err != nil {
		h.aborted("changes", err)
	}
	for _, rec := range res.Records {
		if rec.Deleted {
			// A tombstone that does not render is logged and left out, as
			// a live entry is: one bad entry must not stop every portal's
			// sync at its position.
			t, err := h.withdrawnTriples(rec)
			if err != nil {
				h.log.Error("catalogue tombstone left out of the changes feed", "key", rec.Key, "seq", rec.Seq, "err", err)
				continue
			}
			if err := enc.Encode(t); err != nil && !errors.Is(err, rdfenc.ErrInvalidTriple) {
				h.aborted("changes", err)
			} else if err != nil {
				h.log.Error("catalogue tombstone left out of the changes feed", "key", rec.Key, "seq", rec.Seq, "err", err)
			}
			continue
		}
		var status []rdf.Triple
		if r, err := dcat.RecordIRI(rec.Entry.GetDataset().GetDataset(), h.opts); err == nil {
			if ri, err := rdf.NewIRI(r); err == nil {
				status = append(status, triple(ri, nsADMS+"status", iri(ChangeType+"updated")))
			}
		}
		if err := h.encodeDataset(enc, rec, listing{node: true}, status...); err != nil {
			h.aborted("changes", err)
		}
	}
	if err := enc.Close(); err != nil {
		h.aborted("changes", err)
	}
}

// changesURL returns the URL of the changes feed after since, with the
// request's filters.
func (h *Handler) changesURL(v url.Values, since string) string {
	return h.listingURL("/changes", v, "since", since)
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// dataset serves one dataset by its key: 404 when the node never held it,
// 410 when it was withdrawn.
func (h *Handler) dataset(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if len(key) > maxParam {
		http.Error(w, "no dataset with a key this long here", http.StatusNotFound)
		return
	}
	rec, err := h.src.Get(r.Context(), key)
	h.serveDataset(w, r, rec, err, "key "+key, "dataset")
}

// doi serves the dataset of a DOI (bare, doi:-prefixed or as a resolver
// URL's path).
func (h *Handler) doi(w http.ResponseWriter, r *http.Request) {
	doi := strings.TrimPrefix(r.PathValue("doi"), "doi:")
	if len(doi) > maxParam {
		http.Error(w, "no dataset with a DOI this long here", http.StatusNotFound)
		return
	}
	rec, err := h.src.ByDOI(r.Context(), doi)
	h.serveDataset(w, r, rec, err, "DOI "+doi, "doi")
}

func (h *Handler) serveDataset(w http.ResponseWriter, r *http.Request, rec readmodel.Record, err error, what, source string) {
	switch {
	case errors.Is(err, readmodel.ErrNotFound):
		http.Error(w, "no dataset with "+what+" here", http.StatusNotFound)
		return
	case err != nil:
		h.unavailable(w, err)
		return
	case rec.Deleted:
		http.Error(w, "the dataset with "+what+" was withdrawn", http.StatusGone)
		return
	}
	f, ok := h.format(w, r)
	if !ok {
		return
	}
	head, err := dcat.FacilityCatalogueTriples(rec.Facility, h.opts)
	if err != nil {
		h.unavailable(w, err)
		return
	}
	// One dataset is small: it is rendered whole before the answer
	// starts, so that a dataset that does not render gets its status.
	var doc bytes.Buffer
	enc := rdfenc.NewEncoder(&doc, f, dcat.Namespaces())
	err = enc.Encode(head)
	if err == nil {
		err = h.describe(enc, rec, listing{})
	}
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		h.log.Error("dataset does not render", "key", rec.Key, "seq", rec.Seq, "err", err)
		http.Error(w, "the dataset with "+what+" cannot be rendered", http.StatusInternalServerError)
		return
	}
	startDocument(w, f)
	w.Header().Set("Last-Modified", rec.Datestamp.UTC().Format(http.TimeFormat))
	if _, err := w.Write(doc.Bytes()); err == nil && h.cfg.Viewed != nil && r.Method == http.MethodGet {
		h.cfg.Viewed(r, rec.Key, rec.Facility, source)
	}
}

// quality serves the node's quality metrics, which every dataset's DQV
// measurements refer to.
func (h *Handler) quality(w http.ResponseWriter, r *http.Request) {
	f, ok := h.format(w, r)
	if !ok {
		return
	}
	ts, err := dcat.QualityMetricTriples(h.opts)
	if err != nil {
		h.unavailable(w, err)
		return
	}
	var doc bytes.Buffer
	enc := rdfenc.NewEncoder(&doc, f, dcat.Namespaces())
	if err = enc.Encode(ts); err == nil {
		err = enc.Close()
	}
	if err != nil {
		h.unavailable(w, err)
		return
	}
	startDocument(w, f)
	_, _ = w.Write(doc.Bytes())
}
