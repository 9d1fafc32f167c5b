package oaiprovider

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/datacite"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/rdfenc"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Metadata prefixes the provider disseminates.
const (
	// PrefixDC is unqualified Dublin Core, which every OAI-PMH repository
	// offers.
	PrefixDC = "oai_dc"
	// PrefixOAIDataCite is DataCite kernel 4 in DataCite's OAI envelope
	// (schema oai-1.1), the format the OpenAIRE Guidelines for Data
	// Archives harvest.
	PrefixOAIDataCite = "oai_datacite"
	// PrefixDataCite is the bare DataCite kernel-4 <resource>.
	PrefixDataCite = "datacite"
	// PrefixDCAT is the dataset's DCAT-AP description (the catalogue
	// entry's) as RDF/XML.
	PrefixDCAT = "dcat_ap"
)

// errNoMetadata is returned when a record cannot be disseminated in a format.
var errNoMetadata = errors.New("no metadata in this format")

// format is one metadata format.
type format struct {
	prefix, schema, namespace string
	// render writes the record's metadata element.
	render func(p *Provider, rec *readmodel.Record, buf *bytes.Buffer) error
}

var formats = []format{
	{PrefixDC, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/", (*Provider).renderDC},
	{PrefixOAIDataCite, datacite.OAISchema, datacite.OAINamespace, (*Provider).renderOAIDataCite},
	{PrefixDataCite, datacite.Kernel4Schema, datacite.Kernel4Namespace, (*Provider).renderDataCite},
	{PrefixDCAT, "http://www.openarchives.org/OAI/2.0/rdf.xsd", "http://www.w3.org/1999/02/22-rdf-syntax-ns#", (*Provider).renderDCAT},
}

func formatOf(prefix string) (*format, bool) {
	for i := range formats {
		if formats[i].prefix == prefix {
			return &formats[i], true
		}
	}
	return nil, false
}

// entryOf returns the record's enriched dataset, or errNoMetadata.
func entryOf(rec *readmodel.Record) (*fairwayv1.EnrichedDataset, error) {
	e := rec.Entry.GetDataset()
	if e.GetDataset() == nil {
		return nil, fmt.Errorf("%w: the entry of %s holds no dataset", errNoMetadata, rec.Key)
	}
	return e, nil
}

// nodeURL returns the dataset's IRI on the node, for datasets without DOI.
func (p *Provider) nodeURL(ds *fairwayv1.Dataset) string {
	iri, err := dcat.DatasetIRI(ds, p.cfg.DCAT)
	if err != nil {
		return ""
	}
	return iri
}

func (p *Provider) writeOptions(ds *fairwayv1.Dataset) datacite.WriteOptions {
	o := datacite.WriteOptions{Now: p.cfg.Now}
	if ds.GetDoi() == "" {
		o.URL = p.nodeURL(ds)
	}
	return o
}

func (p *Provider) renderDataCite(rec *readmodel.Record, buf *bytes.Buffer) error {
	e, err := entryOf(rec)
	if err != nil {
		return err
	}
	return datacite.EncodeResourceWith(buf, e.Dataset, e.Techniques, p.writeOptions(e.Dataset))
}

func (p *Provider) renderOAIDataCite(rec *readmodel.Record, buf *bytes.Buffer) error {
	e, err := entryOf(rec)
	if err != nil {
		return err
	}
	symbol := cmp.Or(p.cfg.DatacentreSymbol, strings.ToUpper(e.Dataset.GetFacility()))
	return datacite.EncodeOAIDataCite(buf, symbol, e.Dataset, e.Techniques, p.writeOptions(e.Dataset))
}

// dcRecord is an oai_dc record.
type dcRecord struct {
	XMLName        xml.Name `xml:"oai_dc:dc"`
	OAIDC          string   `xml:"xmlns:oai_dc,attr"`
	DC             string   `xml:"xmlns:dc,attr"`
	XSI            string   `xml:"xmlns:xsi,attr"`
	SchemaLocation string   `xml:"xsi:schemaLocation,attr"`
	Elements       []dcElement
}

type dcElement struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// renderDC writes unqualified Dublin Core: title; creators; subjects (the
// dataset's, then the labels of its PaNET techniques); description;
// publisher; contributors; dates (issued, else the publication year; an
// embargo end as info:eu-repo/date/embargoEnd/…); type Dataset (and the
// dataset's own type when it names another); formats; identifiers (the DOI
// IRI, the landing page, the IRI on the node for a dataset without DOI);
// language; relations (as IRIs where they have one); rights (the access
// right as info:eu-repo/semantics/…, the licence).
func (p *Provider) renderDC(rec *readmodel.Record, buf *bytes.Buffer) error {
	e, err := entryOf(rec)
	if err != nil {
		return err
	}
	ds := e.Dataset
	r := dcRecord{
		OAIDC: "http://www.openarchives.org/OAI/2.0/oai_dc/", DC: "http://purl.org/dc/elements/1.1/", XSI: xsiNamespace,
		SchemaLocation: "http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
	}
	seen := map[string]bool{}
	add := func(name, value string) {
		value = strings.TrimSpace(value)
		if value == "" || seen[name+"\x00"+value] {
			return
		}
		seen[name+"\x00"+value] = true
		r.Elements = append(r.Elements, dcElement{XMLName: xml.Name{Local: "dc:" + name}, Value: value})
	}
	add("title", ds.GetTitle())
	for _, c := range ds.GetCreators() {
		add("creator", personName(c))
	}
	for _, s := range ds.GetSubjects() {
		add("subject", s.GetValue())
	}
	for _, t := range e.GetTechniques() {
		add("subject", t.GetLabel())
	}
	add("description", ds.GetDescription())
	add("publisher", cmp.Or(ds.GetPublisher(), ds.GetFacility()))
	for _, c := range ds.GetContributors() {
		add("contributor", personName(c))
	}
	switch {
	case ds.GetIssued().IsValid():
		add("date", ds.GetIssued().AsTime().UTC().Format(time.DateOnly))
	case ds.GetPublicationYear() > 0:
		add("date", fmt.Sprintf("%04d", ds.GetPublicationYear()))
	}
	if end := ds.GetEmbargoUntil(); end.IsValid() && metadata.AccessStatement(ds.GetAccessRights()) == metadata.AccessEmbargoed {
		add("date", "info:eu-repo/date/embargoEnd/"+end.AsTime().UTC().Format(time.DateOnly))
	}
	add("type", "Dataset")
	if t, ok := metadata.ResourceTypeGeneral(ds.GetResourceType()); ok {
		add("type", t)
	}
	for _, d := range ds.GetDistributions() {
		add("format", cmp.Or(d.GetMediaType(), d.GetFormat()))
	}
	if doi, ok := metadata.NormaliseDOI(ds.GetDoi()); ok {
		add("identifier", metadata.DOIResolver+doi)
	} else {
		add("identifier", p.nodeURL(ds))
	}
	add("identifier", ds.GetLandingPage())
	add("language", ds.GetLanguage())
	for _, rel := range ds.GetRelated() {
		id, typ := metadata.ClassifyIdentifier(rel.GetIdentifier())
		switch typ {
		case metadata.TypeDOI:
			id = metadata.DOIResolver + id
		case metadata.TypeHandle:
			id = "https://hdl.handle.net/" + id
		}
		add("relation", id)
	}
	add("relation", ds.GetInstrumentPid())
	switch metadata.AccessStatement(ds.GetAccessRights()) {
	case metadata.AccessOpen:
		add("rights", datacite.EURepoOpen)
	case metadata.AccessEmbargoed:
		if end := ds.GetEmbargoUntil(); end.IsValid() && !p.cfg.Now().Before(end.AsTime()) {
			add("rights", datacite.EURepoOpen)
		} else {
			add("rights", datacite.EURepoEmbargoed)
		}
	case metadata.AccessRestricted:
		add("rights", datacite.EURepoRestricted)
	case metadata.AccessClosed:
		add("rights", datacite.EURepoClosed)
	}
	add("rights", ds.GetLicense())
	enc := xml.NewEncoder(buf)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("oai_dc of %s: %w", rec.Key, err)
	}
	return enc.Close()
}

// personName is a person's name as Dublin Core writes it.
func personName(p *fairwayv1.Person) string {
	if n := strings.TrimSpace(p.GetName()); n != "" {
		return n
	}
	parts := slices.DeleteFunc([]string{strings.TrimSpace(p.GetFamilyName()), strings.TrimSpace(p.GetGivenName())}, func(s string) bool { return s == "" })
	return strings.Join(parts, ", ")
}

// namespaces are the prefixes of the RDF/XML of dcat_ap.
var namespaces = dcat.Namespaces()

// renderDCAT writes the catalogue entry's DCAT-AP description (its Turtle,
// as published) as an RDF/XML <rdf:RDF> element, without XML declaration.
func (p *Provider) renderDCAT(rec *readmodel.Record, buf *bytes.Buffer) error {
	ttl := rec.Entry.GetTurtle()
	if ttl == "" {
		return fmt.Errorf("%w: the entry of %s has no DCAT-AP description", errNoMetadata, rec.Key)
	}
	triples, err := rdfenc.ParseTurtle(ttl)
	if err != nil {
		return fmt.Errorf("%w: DCAT-AP of %s: %w", errNoMetadata, rec.Key, err)
	}
	start := buf.Len()
	enc := rdfenc.NewEncoder(buf, rdfenc.RDFXML, namespaces)
	if err := enc.Encode(triples); err != nil {
		return fmt.Errorf("%w: RDF/XML of %s: %w", errNoMetadata, rec.Key, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("%w: RDF/XML of %s: %w", errNoMetadata, rec.Key, err)
	}
	out := buf.Bytes()[start:]
	if bytes.HasPrefix(out, []byte("<?xml")) {
		if i := bytes.Index(out, []byte("?>")); i >= 0 {
			rest := bytes.TrimLeft(out[i+2:], " \t\r\n")
			n := copy(out, rest)
			buf.Truncate(start + n)
		}
	}
	return nil
}
