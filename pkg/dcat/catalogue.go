package dcat

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/knakk/rdf"
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
	g.node(pub, rdfType, foafAgent)
	g.node(pub, rdfType, foafOrganization)
	g.node(pub, foafName, mustLiteral(o.PublisherName))

	if home, ok := dataIRI(o.Homepage); ok {
		g.add(foafHomepage, home)
		g.node(home, rdfType, foafDocument)
	}
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
