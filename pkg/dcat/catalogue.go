package dcat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// CatalogueHeader renders the dcat:Catalog node of the node's catalogue
// (title, description, publisher, homepage, licence, language and theme
// taxonomies) as a Turtle document, without its datasets.
func CatalogueHeader(opts Options) (string, error) {
	if err := opts.Validate(); err != nil {
		return "", err
	}
	o := opts.withDefaults()
	g, err := newGraph(o.CatalogueIRI)
	if err != nil {
		return "", fmt.Errorf("dcat: catalogue IRI %q: %w", o.CatalogueIRI, err)
	}
	g.catalogue(o)
	var buf bytes.Buffer
	if err := g.encode(&buf); err != nil {
		return "", fmt.Errorf("dcat: encode catalogue: %w", err)
	}
	return buf.String(), nil
}

func (g *graph) catalogue(o Options) {
	g.add(rdfType, dcatCatalog)
	g.text(dctTitle, o.CatalogueTitle)
	g.text(dctDescription, o.CatalogueDescription)

	var pub node
	if i, ok := dataIRI(o.PublisherIRI); ok {
		pub = i
	} else {
		pub = g.blank("publisher")
	}
	g.add(dctPublisher, pub)
	g.organisation(pub, mustLiteral(o.PublisherName))

	if home, ok := dataIRI(o.Homepage); ok {
		g.add(foafHomepage, home)
		g.node(home, rdfType, foafDocument)
	}
	g.catalogueCommon(o)
}

// catalogueCommon adds what the node's and the facilities' catalogues
// share: licence, language and theme taxonomies.
func (g *graph) catalogueCommon(o Options) {
	if lic, ok := LicenseIRI(o.CatalogueLicense); ok {
		if i, ok := dataIRI(lic); ok {
			g.add(dctLicense, i)
			g.node(i, rdfType, dctLicenseDoc)
		}
	}
	if lang, ok := LanguageIRI(o.CatalogueLanguage); ok {
		g.concept(dctLanguage, lang, dctLinguisticSys, languageCS, "")
	}
	g.add(dcatThemeTaxon, panetCS)
	g.node(panetCS, rdfType, skosConceptScheme)
	g.node(panetCS, dctTitle, mustLiteral("PaNET: the Photon and Neutron Experimental Techniques Ontology"))
	if o.DataTheme != "-" {
		g.add(dcatThemeTaxon, dataThemeCS)
		g.node(dataThemeCS, rdfType, skosConceptScheme)
		g.node(dataThemeCS, dctTitle, mustLiteral("Data theme (EU authority table)"))
	}
}

// ErrClosed is returned by writes to a closed CatalogueWriter.
var ErrClosed = errors.New("dcat: catalogue writer is closed")

// node is a term that can be both subject and object: an IRI or a blank
// node.
type node interface {
	rdf.Subject
	rdf.Object
}

// CatalogueWriter streams a whole catalogue as one Turtle document: the
// catalogue header, then for each dataset its description and the
// <catalogue> dcat:dataset <dataset> triple. Prefix declarations repeat
// from one dataset to the next, which Turtle allows. A CatalogueWriter is
// not safe for concurrent use.
type CatalogueWriter struct {
	w     io.Writer
	opts  Options
	cat   rdf.IRI
	count int
	err   error
}

// NewCatalogueWriter validates opts and writes the catalogue header to w.
func NewCatalogueWriter(w io.Writer, opts Options) (*CatalogueWriter, error) {
	if w == nil {
		return nil, errors.New("dcat: catalogue writer: nil io.Writer")
	}
	header, err := CatalogueHeader(opts)
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	cat, _ := dataIRI(o.CatalogueIRI) // checked by CatalogueHeader
	cw := &CatalogueWriter{w: w, opts: o, cat: cat}
	if _, err := io.WriteString(w, header); err != nil {
		return nil, fmt.Errorf("dcat: write catalogue header: %w", err)
	}
	return cw, nil
}

// WriteDataset writes a dataset and its link to the catalogue. turtle is
// the dataset's description as DatasetTurtle rendered it earlier (a
// catalogue entry's Turtle); when empty, the dataset is rendered now.
// Rendering errors (ErrDeleted, ErrNoDataset) leave the writer usable; a
// write error stops it.
func (c *CatalogueWriter) WriteDataset(e *fairwayv1.EnrichedDataset, turtle string) error {
	if c.err != nil {
		return c.err
	}
	if turtle == "" {
		var err error
		if turtle, err = DatasetTurtle(e, c.opts); err != nil {
			return err
		}
	}
	if e.GetDataset() == nil {
		return ErrNoDataset
	}
	iri, err := datasetIRI(e.GetDataset(), c.opts)
	if err != nil {
		return err
	}
	return c.WriteTurtle(iri, turtle)
}

// WriteTurtle writes a dataset description rendered earlier by
// DatasetTurtle (a catalogue entry's Turtle) and its link to the catalogue.
func (c *CatalogueWriter) WriteTurtle(datasetIRI, turtle string) error {
	if c.err != nil {
		return c.err
	}
	ds, ok := dataIRI(datasetIRI)
	if !ok {
		return fmt.Errorf("dcat: catalogue writer: dataset IRI %q is not an IRI", datasetIRI)
	}
	var buf bytes.Buffer
	buf.Grow(len(turtle) + 256)
	buf.WriteString(turtle)
	if n := len(turtle); n > 0 && turtle[n-1] != '\n' {
		buf.WriteByte('\n')
	}
	enc := rdf.NewTripleEncoder(&buf, rdf.Turtle)
	enc.GenerateNamespaces = false
	enc.Namespaces[nsDCAT] = prefixes[nsDCAT]
	if err := enc.Encode(rdf.Triple{Subj: c.cat, Pred: dcatDatasetProp, Obj: ds}); err != nil {
		return fmt.Errorf("dcat: catalogue writer: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("dcat: catalogue writer: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := c.w.Write(buf.Bytes()); err != nil {
		c.err = fmt.Errorf("dcat: catalogue writer: %w", err)
		return c.err
	}
	c.count++
	return nil
}

// Count returns how many datasets were written.
func (c *CatalogueWriter) Count() int { return c.count }

// Close ends the catalogue: it returns the write error that stopped the
// writer, if any, and makes later writes fail with ErrClosed. The writer
// writes through to its io.Writer, so there is nothing left to flush.
func (c *CatalogueWriter) Close() error {
	if c.err != nil {
		if errors.Is(c.err, ErrClosed) {
			return nil
		}
		err := c.err
		c.err = ErrClosed
		return err
	}
	c.err = ErrClosed
	return nil
}

// RecordIRI returns the IRI of a dataset's dcat:CatalogRecord:
// <BaseURL>/datasets/<path-escaped key>#record (a hash IRI: it
// dereferences to the dataset's document), for datasets with a DOI too.
func RecordIRI(ds *fairwayv1.Dataset, opts Options) (string, error) {
	if ds == nil {
		return "", ErrNoDataset
	}
	if err := opts.Validate(); err != nil {
		return "", err
	}
	return recordIRI(ds, opts.withDefaults())
}

func recordIRI(ds *fairwayv1.Dataset, o Options) (string, error) {
	key := strings.TrimSpace(validUTF8(ds.GetKey()))
	if key == "" {
		return "", fmt.Errorf("%w: dataset has no key", ErrNoDataset)
	}
	return o.BaseURL + "/datasets/" + url.PathEscape(key) + "#record", nil
}

// FacilityCatalogueIRI returns the IRI of a facility's dcat:Catalog:
// <BaseURL>/catalogue/<facility in lower case, path-escaped>; "" for a
// blank facility. Options are completed with their defaults, not
// validated.
func FacilityCatalogueIRI(facility string, opts Options) string {
	return facilityCatalogueIRI(facility, opts.withDefaults())
}

func facilityCatalogueIRI(facility string, o Options) string {
	slug := strings.ToLower(cleanText(facility))
	if slug == "" {
		return ""
	}
	return o.BaseURL + "/catalogue/" + url.PathEscape(slug)
}

// facilityAgentIRI is the IRI of a facility as an agent: its ROR IRI when
// the options give one, else the IRI the node mints,
// <facility catalogue>#publisher; "" for a blank facility.
func facilityAgentIRI(facility string, o Options) string {
	c := facilityCatalogueIRI(facility, o)
	if c == "" {
		return ""
	}
	if f, ok := o.facility(facility); ok {
		if ror, ok := metadata.RORIRI(f.ROR); ok {
			return ror
		}
	}
	return c + "#publisher"
}

// facilityName is a facility's full name when the options give one, else
// the facility as its feeds name it.
func facilityName(facility string, o Options) string {
	if f, ok := o.facility(facility); ok && cleanText(f.Name) != "" {
		return cleanText(f.Name)
	}
	return cleanText(facility)
}

// MembershipTriples links a dataset and its record to the catalogue that
// lists them: <facility catalogue> dcat:dataset <dataset> ; dcat:record
// <record> (the node catalogue for a dataset without a facility). A
// tombstone is ErrDeleted: the catalogue no longer lists it.
func MembershipTriples(ds *fairwayv1.Dataset, opts Options) ([]rdf.Triple, error) {
	if ds == nil {
		return nil, ErrNoDataset
	}
	if ds.GetDeleted() {
		return nil, fmt.Errorf("%w: %s", ErrDeleted, ds.GetKey())
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	d, err := datasetIRI(ds, o)
	if err != nil {
		return nil, err
	}
	r, err := recordIRI(ds, o)
	if err != nil {
		return nil, err
	}
	c := facilityCatalogueIRI(ds.GetFacility(), o)
	if c == "" {
		c = o.CatalogueIRI
	}
	ci, ok1 := dataIRI(c)
	di, ok2 := dataIRI(d)
	ri, ok3 := dataIRI(r)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("dcat: membership of %s: an IRI cannot be published", ds.GetKey())
	}
	return []rdf.Triple{{Subj: ci, Pred: dcatDatasetProp, Obj: di}, {Subj: ci, Pred: dcatRecord, Obj: ri}}, nil
}

// CatalogueTriples renders the node's dcat:Catalog (title, description,
// publisher, homepage, licence, language, theme taxonomies) with
// dct:hasPart <facility catalogue> for each facility given (blank and
// repeated ones, in any letter case, once). A document holding it must
// hold each facility's FacilityCatalogueTriples too, since DCAT-AP wants
// every part described as a dcat:Catalog.
func CatalogueTriples(opts Options, facilities []string) ([]rdf.Triple, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	g, err := newGraph(o.CatalogueIRI)
	if err != nil {
		return nil, fmt.Errorf("dcat: catalogue IRI %q: %w", o.CatalogueIRI, err)
	}
	g.catalogue(o)
	seen := map[string]bool{}
	for _, f := range facilities {
		c := facilityCatalogueIRI(f, o)
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		if i, ok := dataIRI(c); ok {
			g.add(dctHasPart, i)
		}
	}
	return g.triples(), nil
}

// FacilityCatalogueTriples renders one facility's dcat:Catalog: dct:isPartOf
// the node catalogue, its own title and description, the facility as its
// publisher (a foaf:Organization with the minted agent IRI), and the node
// catalogue's licence, language and theme taxonomies, so that it is valid
// on its own. A blank facility is ErrNoFacility.
func FacilityCatalogueTriples(facility string, opts Options) ([]rdf.Triple, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	name := cleanText(facility)
	c := facilityCatalogueIRI(name, o)
	if c == "" {
		return nil, ErrNoFacility
	}
	g, err := newGraph(c)
	if err != nil {
		return nil, fmt.Errorf("dcat: facility catalogue IRI %q: %w", c, err)
	}
	g.add(rdfType, dcatCatalog)
	g.text(dctTitle, name+" datasets")
	g.text(dctDescription, "Datasets published by "+name+", harvested from its feeds and described in DCAT-AP by "+o.PublisherName+".")
	if pub, ok := dataIRI(facilityAgentIRI(name, o)); ok {
		g.add(dctPublisher, pub)
		g.organisation(pub, mustLiteral(facilityName(name, o)))
	}
	if cat, ok := dataIRI(o.CatalogueIRI); ok {
		g.add(dctIsPartOf, cat)
	}
	g.catalogueCommon(o)
	return g.triples(), nil
}

// ErrNoFacility is returned for a facility catalogue without a facility.
var ErrNoFacility = errors.New("dcat: no facility")
