// Package dcat renders enriched datasets and the node's catalogues as
// DCAT-AP 3.0.1 RDF: triples for every serialisation (DatasetTriples,
// MembershipTriples, CatalogueTriples, FacilityCatalogueTriples, with the
// prefixes of Namespaces), and Turtle with github.com/knakk/rdf's encoder
// (DatasetTurtle, CatalogueWriter). docs/dcat-ap.md is the mapping table.
//
// One dataset is a dcat:Dataset with its title, description, identifiers
// (dct:identifier, and adms:identifier for a DOI), dates, publisher (its
// ROR IRI, or the facility's minted agent IRI), creators (ORCID IRIs when
// known), contact points (with vcard:hasEmail), keywords, themes, landing
// page, access rights, language, related publications, temporal coverage
// (the collection period), the activity that generated it (instrument and
// proposal), provenance, and its distributions (format, media type, byte
// size, download and access URLs, licence); and a dcat:CatalogRecord
// conforming to DCAT-AP 3.0.1. PaNET techniques are dcat:theme values,
// each described as a skos:Concept of the PaNET scheme, next to the EU
// data theme of the catalogue (TECH by default); free subjects are
// dcat:keyword literals (and dct:subject when they have an IRI of another
// vocabulary). Each facility has a dcat:Catalog of its own, a dct:hasPart
// of the node's catalogue, that lists its datasets and their records.
//
// Every IRI taken from the data passes one rule, PublishableIRI: http(s)
// with a host, urn:, and doi: and hdl: written as their resolvers' IRIs;
// anything else is left out, and DroppedIRIs tells what was.
//
// Nodes that have no IRI of their own (distributions, identifiers,
// contact points, periods, activities) are blank nodes whose labels derive
// from the dataset IRI, so that the triples of many datasets can share one
// document without two datasets sharing a blank node.
package dcat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MappingVersion names the version of the mapping from the canonical
// dataset to DCAT-AP. It is part of what a catalogue entry's content hash
// covers, so that a replay after a change of the mapping renders every
// dataset again instead of skipping it as unchanged. Raise it with every
// change of the output.
const MappingVersion = "7"

var (
	// ErrNoDataset is returned when there is no dataset to render.
	ErrNoDataset = errors.New("dcat: no dataset")
	// ErrDeleted is returned for a tombstone: a withdrawn dataset has no
	// DCAT description.
	ErrDeleted = errors.New("dcat: dataset is deleted")
	// ErrInvalidOptions is returned by Options.Validate.
	ErrInvalidOptions = errors.New("dcat: invalid options")
)

// Defaults of Options.
const (
	DefaultBaseURL              = "http://127.0.0.1:8080"
	DefaultCatalogueTitle       = "Fairway photon and neutron data catalogue"
	DefaultCatalogueDescription = "Datasets published by photon and neutron facilities, harvested and described in DCAT-AP by a Fairway PaNOSC node."
	DefaultPublisherName        = "Fairway PaNOSC node"
	DefaultCatalogueLicense     = "https://creativecommons.org/publicdomain/zero/1.0/"
	DefaultCatalogueLanguage    = "en"
	DefaultDataTheme            = "TECH"
)

// Options configures the rendering. The zero value renders with the
// documented defaults.
type Options struct {
	// BaseURL of the node, an absolute http(s) URL. Datasets without a DOI
	// get the IRI <BaseURL>/datasets/<path-escaped key>. Default
	// DefaultBaseURL.
	BaseURL string
	// CatalogueIRI is the IRI of the dcat:Catalog. Default
	// <BaseURL>/catalogue.
	CatalogueIRI string
	// CatalogueTitle and CatalogueDescription describe the catalogue.
	// Defaults DefaultCatalogueTitle and DefaultCatalogueDescription.
	CatalogueTitle, CatalogueDescription string
	// PublisherName is the foaf:name of the catalogue's publisher (the
	// organisation running the node). Default DefaultPublisherName.
	PublisherName string
	// PublisherIRI identifies the catalogue's publisher (a ROR id, a
	// homepage); a blank node when empty.
	PublisherIRI string
	// Homepage is the catalogue's foaf:homepage. Default BaseURL.
	Homepage string
	// CatalogueLicense is the licence of the catalogue's metadata (an IRI or
	// a name LicenseIRI knows). Default CC0 1.0 (DefaultCatalogueLicense).
	CatalogueLicense string
	// CatalogueLanguage is the language of the catalogue's texts. Default
	// "en".
	CatalogueLanguage string
	// DataTheme is the code in the EU data-theme table (AGRI … TRAN) given
	// to every dataset next to its PaNET themes, as DCAT-AP asks for one.
	// Default "TECH" (science and technology); "-" gives none.
	DataTheme string
	// Facilities describes facilities beyond the name their feeds give
	// (Dataset.facility, the key here, in any letter case): their full
	// names and ROR ids. Optional: a facility not listed is its name, with
	// the minted agent IRI.
	Facilities map[string]Facility
	// Now tells the time used to decide whether an embargo has ended.
	// Default time.Now.
	Now func() time.Time
}

// Facility is what the node knows of a facility as an agent.
type Facility struct {
	// Name is the facility's full name ("European Synchrotron Radiation
	// Facility"): its agent's foaf:name, and a dataset publisher of that
	// name is the facility. Default: the facility as its feeds name it.
	Name string
	// ROR is the facility's ROR id or IRI; when given, its agent's IRI
	// instead of <facility catalogue>#publisher.
	ROR string
}

// facility returns what the options say of a facility, by its name in any
// letter case.
func (o Options) facility(name string) (Facility, bool) {
	if f, ok := o.Facilities[name]; ok {
		return f, true
	}
	for k, f := range o.Facilities {
		if strings.EqualFold(strings.TrimSpace(k), strings.TrimSpace(name)) {
			return f, true
		}
	}
	return Facility{}, false
}

func (o Options) withDefaults() Options {
	o.BaseURL = strings.TrimRight(strings.TrimSpace(o.BaseURL), "/")
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.CatalogueIRI == "" {
		o.CatalogueIRI = o.BaseURL + "/catalogue"
	}
	if o.CatalogueTitle == "" {
		o.CatalogueTitle = DefaultCatalogueTitle
	}
	if o.CatalogueDescription == "" {
		o.CatalogueDescription = DefaultCatalogueDescription
	}
	if o.PublisherName == "" {
		o.PublisherName = DefaultPublisherName
	}
	if o.Homepage == "" {
		o.Homepage = o.BaseURL
	}
	if o.CatalogueLicense == "" {
		o.CatalogueLicense = DefaultCatalogueLicense
	}
	if o.CatalogueLanguage == "" {
		o.CatalogueLanguage = DefaultCatalogueLanguage
	}
	if o.DataTheme == "" {
		o.DataTheme = DefaultDataTheme
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports whether the options, completed with their defaults, are
// usable.
func (o Options) Validate() error {
	o = o.withDefaults()
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: BaseURL %q: want an absolute http(s) URL without query or fragment", ErrInvalidOptions, o.BaseURL)
	}
	for _, f := range []struct{ name, value string }{{"CatalogueIRI", o.CatalogueIRI}, {"Homepage", o.Homepage}, {"PublisherIRI", o.PublisherIRI}} {
		if f.value == "" && f.name == "PublisherIRI" {
			continue
		}
		if _, ok := dataIRI(f.value); !ok {
			return fmt.Errorf("%w: %s %q is not an absolute IRI", ErrInvalidOptions, f.name, f.value)
		}
	}
	if _, ok := LicenseIRI(o.CatalogueLicense); !ok {
		return fmt.Errorf("%w: CatalogueLicense %q is neither an IRI nor a known licence", ErrInvalidOptions, o.CatalogueLicense)
	}
	if _, ok := LanguageIRI(o.CatalogueLanguage); !ok {
		return fmt.Errorf("%w: CatalogueLanguage %q is not a known language", ErrInvalidOptions, o.CatalogueLanguage)
	}
	if _, ok := dataThemes[o.DataTheme]; !ok && o.DataTheme != "-" {
		return fmt.Errorf("%w: DataTheme %q is not a code of the EU data-theme table", ErrInvalidOptions, o.DataTheme)
	}
	for k, f := range o.Facilities {
		if cleanText(k) == "" {
			return fmt.Errorf("%w: Facilities: a blank facility", ErrInvalidOptions)
		}
		if f.ROR == "" {
			continue
		}
		if _, ok := metadata.RORIRI(f.ROR); !ok {
			return fmt.Errorf("%w: Facilities[%q].ROR %q is not a ROR id", ErrInvalidOptions, k, f.ROR)
		}
	}
	return nil
}

// DatasetIRI returns the IRI of a dataset: https://doi.org/<doi> when it has
// a DOI, else <BaseURL>/datasets/<path-escaped key>.
func DatasetIRI(d *fairwayv1.Dataset, opts Options) (string, error) {
	if d == nil {
		return "", ErrNoDataset
	}
	if err := opts.Validate(); err != nil {
		return "", err
	}
	return datasetIRI(d, opts.withDefaults())
}

func datasetIRI(d *fairwayv1.Dataset, o Options) (string, error) {
	if doi, ok := metadata.LooseDOI(validUTF8(d.GetDoi())); ok {
		return DOIIRI(doi), nil
	}
	key := strings.TrimSpace(validUTF8(d.GetKey()))
	if key == "" {
		return "", fmt.Errorf("%w: dataset has neither a DOI nor a key", ErrNoDataset)
	}
	return o.BaseURL + "/datasets/" + url.PathEscape(key), nil
}

// DatasetTurtle renders one enriched dataset as a Turtle document: the
// triples of DatasetTriples. A dataset without a title is given its DOI,
// source identifier or key as title, and one without a description its
// title, since DCAT-AP requires both. Values given as IRIs that
// PublishableIRI refuses (a javascript: landing page, an http URL without a
// host or with a blank in it) are left out rather than failing the dataset;
// DroppedIRIs lists them. Tombstones give ErrDeleted.
func DatasetTurtle(e *fairwayv1.EnrichedDataset, opts Options) (string, error) {
	ts, err := DatasetTriples(e, opts)
	if err != nil {
		return "", err
	}
	buf := turtleBuffers.Get().(*bytes.Buffer)
	defer putTurtleBuffer(buf)
	buf.Grow(len(prefixHeader) + 80*len(ts))
	if err := writeTurtle(buf, ts); err != nil {
		return "", fmt.Errorf("dcat: encode %s: %w", e.GetDataset().GetKey(), err)
	}
	return buf.String(), nil
}

// turtleBuffers recycles the buffers DatasetTurtle writes into (its string
// is a copy), so that the publisher does not grow one per dataset.
var turtleBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledTurtle bounds the buffer kept for reuse: the rare huge dataset
// does not pin its buffer.
const maxPooledTurtle = 1 << 20

func putTurtleBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledTurtle {
		return
	}
	buf.Reset()
	turtleBuffers.Put(buf)
}

// DatasetTriples renders one enriched dataset: its dcat:Dataset with the
// nodes it points to (distributions, agents, contact points, concepts,
// period of time, activity), each node's triples contiguous, then its
// dcat:CatalogRecord. Blank node labels derive from the dataset IRI, so
// the triples of many datasets can share one document. Errors as
// DatasetTurtle.
func DatasetTriples(e *fairwayv1.EnrichedDataset, opts Options) ([]rdf.Triple, error) {
	if e.GetDataset() == nil {
		return nil, ErrNoDataset
	}
	if e.GetDataset().GetDeleted() {
		return nil, fmt.Errorf("%w: %s", ErrDeleted, e.GetDataset().GetKey())
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	iri, err := datasetIRI(e.GetDataset(), o)
	if err != nil {
		return nil, err
	}
	g, err := newGraph(iri)
	if err != nil {
		return nil, fmt.Errorf("dcat: dataset IRI %q: %w", iri, err)
	}
	g.dataset(e, o)
	if err := g.record(e, o); err != nil {
		return nil, err
	}
	return g.triples(), nil
}

// graph collects the triples of one document: the main node's first, then
// the nodes it points to, each node's triples contiguous so that the
// encoder can write predicate lists.
type graph struct {
	subject rdf.IRI
	subj    node // subject, boxed once
	main    []rdf.Triple
	nodes   []rdf.Triple
	bprefix string // blank node label prefix
	blanks  int
	typed   map[string]bool // IRI nodes already described
	dropped dropList        // values of the data refused as IRIs
}

func newGraph(subject string) (*graph, error) {
	s, ok := dataIRI(subject)
	if !ok {
		return nil, errors.New("not an IRI that Turtle can hold")
	}
	sum := sha256.Sum256([]byte(subject))
	return &graph{
		subject: s, subj: s, bprefix: "n" + hex.EncodeToString(sum[:8]), typed: make(map[string]bool, 8),
		main: make([]rdf.Triple, 0, 32), nodes: make([]rdf.Triple, 0, 64),
	}, nil
}

// blank returns a new blank node, unique within a document made of many
// graphs.
func (g *graph) blank(role string) node {
	g.blanks++
	b, _ := rdf.NewBlank(g.bprefix + role + strconv.Itoa(g.blanks)) // label is never empty
	return b
}

func (g *graph) add(p rdf.Predicate, o rdf.Object) {
	g.main = append(g.main, rdf.Triple{Subj: g.subj, Pred: p, Obj: o})
}

func (g *graph) node(s rdf.Subject, p rdf.Predicate, o rdf.Object) {
	g.nodes = append(g.nodes, rdf.Triple{Subj: s, Pred: p, Obj: o})
}

// once reports whether an IRI node is described for the first time.
func (g *graph) once(i rdf.IRI) bool {
	if g.typed[i.String()] {
		return false
	}
	g.typed[i.String()] = true
	return true
}

// text adds a literal value to the main node when it is not blank.
func (g *graph) text(p rdf.Predicate, s string) {
	if l, ok := literal(s); ok {
		g.add(p, l)
	}
}

// triples returns the graph's triples: the main node's, then the others'.
func (g *graph) triples() []rdf.Triple {
	out := make([]rdf.Triple, 0, len(g.main)+len(g.nodes))
	return append(append(out, g.main...), g.nodes...)
}

func (g *graph) encode(buf *bytes.Buffer) error { return writeTurtle(buf, g.triples()) }

// dataset adds the description of a dataset.
func (g *graph) dataset(e *fairwayv1.EnrichedDataset, o Options) {
	d := e.GetDataset()
	g.add(rdfType, dcatDataset)
	// dcat:Resource too: the record's foaf:primaryTopic must be one, and a
	// SHACL processor does not infer it from dcat:Dataset.
	g.add(rdfType, dcatResource)

	title := firstText(d.GetTitle(), d.GetDoi(), d.GetSourceIdentifier(), d.GetKey())
	g.text(dctTitle, title)
	g.text(dctDescription, firstText(d.GetDescription(), title))

	doi, _ := metadata.LooseDOI(validUTF8(d.GetDoi()))
	if doi != "" {
		g.text(dctIdentifier, DOIIRI(doi))
	}
	if s := strings.TrimSpace(d.GetSourceIdentifier()); s != "" && s != doi {
		g.text(dctIdentifier, s)
	}
	if doi != "" {
		id := g.blank("id")
		g.add(admsIdentifier, id)
		g.node(id, rdfType, admsIdentifierC)
		g.node(id, skosNotation, mustLiteral(doi))
		g.node(id, admsSchemaAgency, mustLiteral("International DOI Foundation"))
	}
	g.identifiers(d, doi)
	if v := cleanText(d.GetVersion()); v != "" {
		g.add(dcatVersion, mustLiteral(v))
	}

	if l, ok := dateLiteral(d.GetIssued()); ok {
		g.add(dctIssued, l)
	} else if y := d.GetPublicationYear(); y > 0 && y < 10000 {
		g.add(dctIssued, rdf.NewTypedLiteral(fmt.Sprintf("%04d", y), xsdGYear))
	}
	if l, ok := dateLiteral(d.GetModified()); ok {
		g.add(dctModified, l)
	}

	landing, hasLanding := g.fromFeed(FieldLandingPage, d.GetLandingPage(), d.GetLandingPage())
	publisher := g.publisher(d, o)
	g.contacts(d, publisher, landing, hasLanding)
	for _, p := range d.GetCreators() {
		g.creator(p)
	}

	g.subjects(e)
	g.themes(e, o)

	if hasLanding {
		g.add(dcatLandingPage, landing)
		if g.once(landing) {
			g.node(landing, rdfType, foafDocument)
		}
	}
	if ar := AccessRightsIRI(d, o.Now()); ar != "" {
		g.concept(dctAccessRights, ar, dctRightsStmt, accessRightCS, "")
		if end, ok := dateLiteral(d.GetEmbargoUntil()); ok && strings.EqualFold(strings.TrimSpace(d.GetAccessRights()), "embargoed") {
			g.add(dctAvailable, end)
		}
	}
	if lang, ok := LanguageIRI(d.GetLanguage()); ok {
		g.concept(dctLanguage, lang, dctLinguisticSys, languageCS, "")
	}
	for _, r := range d.GetRelated() {
		if i, ok := g.fromFeed(FieldRelated, r.GetIdentifier(), RelatedIRI(r)); ok {
			g.add(relationPredicate(r.GetRelation()), i)
		}
	}
	g.temporal(d)
	g.typedDates(d)
	g.spatial(d)
	g.principalInvestigator(d)
	g.funding(d)
	g.activity(d)
	g.provenance(d)
	g.distributions(d, doi, landing, hasLanding)
	g.quality(e, o)
}

// creator adds a dct:creator: the ORCID IRI when known, else a blank node.
func (g *graph) creator(p *fairwayv1.Person) {
	name := firstText(p.GetName(), strings.TrimSpace(p.GetGivenName()+" "+p.GetFamilyName()))
	nameLit, ok := literal(name)
	if !ok {
		return
	}
	var node rdf.Subject
	orcidIRI, _ := metadata.ORCIDIRI(p.GetOrcid())
	orcid, hasORCID := dataIRI(orcidIRI)
	if !hasORCID && looksLikeIRI(p.GetOrcid()) {
		g.drop(FieldORCID, p.GetOrcid())
	}
	if hasORCID {
		if !g.once(orcid) {
			return // the same person twice
		}
		g.add(dctCreator, orcid)
		node = orcid
	} else {
		b := g.blank("creator")
		g.add(dctCreator, b)
		node = b
	}
	g.node(node, rdfType, foafAgent)
	if hasORCID || p.GetGivenName() != "" || p.GetFamilyName() != "" {
		g.node(node, rdfType, foafPerson)
	}
	g.node(node, foafName, nameLit)
	if l, ok := literal(p.GetGivenName()); ok {
		g.node(node, foafGivenName, l)
	}
	if l, ok := literal(p.GetFamilyName()); ok {
		g.node(node, foafFamilyName, l)
	}
}

// subjects adds the free subjects as keywords: every subject that is not
// the text a PaNET technique was matched from, nor a PaNET term.
func (g *graph) subjects(e *fairwayv1.EnrichedDataset) {
	matched := map[string]bool{}
	for _, t := range e.GetTechniques() {
		matched[strings.TrimSpace(t.GetMatchedText())] = true
	}
	seen := map[string]bool{}
	for _, s := range e.GetDataset().GetSubjects() {
		v, uri := strings.TrimSpace(s.GetValue()), strings.TrimSpace(s.GetValueUri())
		subject, hasSubject := g.fromFeed(FieldSubjectURI, s.GetValueUri(), uri)
		if matched[v] || (uri != "" && matched[uri]) || strings.EqualFold(strings.TrimSpace(s.GetScheme()), "panet") ||
			strings.HasPrefix(uri, "http://purl.org/pan-science/PaNET/") {
			continue
		}
		if k := strings.ToLower(v); v != "" && !seen[k] {
			seen[k] = true
			g.text(dcatKeyword, v)
		}
		if hasSubject && !seen[subject.String()] {
			seen[subject.String()] = true
			g.add(dctSubject, subject)
		}
	}
}

// themes adds the PaNET techniques, and the EU data theme, as dcat:theme
// concepts.
func (g *graph) themes(e *fairwayv1.EnrichedDataset, o Options) {
	for _, t := range e.GetTechniques() {
		i, ok := dataIRI(t.GetIri())
		if !ok || !g.once(i) {
			continue
		}
		g.add(dcatTheme, i)
		g.node(i, rdfType, skosConcept)
		if l, ok := literal(firstText(t.GetLabel(), t.GetId())); ok {
			if ll, err := rdf.NewLangLiteral(l.String(), "en"); err == nil {
				g.node(i, skosPrefLabel, ll)
			}
		}
		g.node(i, skosInScheme, panetCS)
	}
	if o.DataTheme != "-" {
		g.concept(dcatTheme, DataThemeAuthority+"/"+o.DataTheme, skosConcept, dataThemeCS, dataThemes[o.DataTheme])
	}
}

// concept adds a value from an EU authority table, typed as the DCAT-AP
// range class and placed in its scheme. A skos:Concept gets its English
// prefLabel, which DCAT-AP requires of concepts.
func (g *graph) concept(p rdf.Predicate, value string, class, scheme node, prefLabel string) {
	i, ok := dataIRI(value)
	if !ok {
		return
	}
	g.add(p, i)
	if !g.once(i) {
		return
	}
	g.node(i, rdfType, class)
	if class == skosConcept {
		if l, err := rdf.NewLangLiteral(prefLabel, "en"); err == nil && prefLabel != "" {
			g.node(i, skosPrefLabel, l)
		}
	}
	g.node(i, skosInScheme, scheme)
}

// provenance adds a dct:provenance statement naming where the record came
// from (facility, instrument, feed and format; no harvest time, so that the
// description depends on the content only).
func (g *graph) provenance(d *fairwayv1.Dataset) {
	var parts []string
	if f := strings.TrimSpace(d.GetFacility()); f != "" {
		parts = append(parts, "facility "+f)
	}
	if i := strings.TrimSpace(d.GetInstrument()); i != "" {
		parts = append(parts, "instrument "+i)
	}
	if f := strings.TrimSpace(d.GetFeedId()); f != "" {
		parts = append(parts, "feed "+f)
	}
	if m := strings.TrimSpace(d.GetMetadataFormat()); m != "" {
		parts = append(parts, "metadata format "+m)
	}
	if len(parts) == 0 {
		return
	}
	l, ok := literal("Harvested by Fairway from " + strings.Join(parts, ", ") + ".")
	if !ok {
		return
	}
	p := g.blank("provenance")
	g.add(dctProvenance, p)
	g.node(p, rdfType, dctProvenanceStmt)
	g.node(p, rdfsLabel, l)
}

// validUTF8 replaces invalid UTF-8 sequences.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// plainASCII reports whether s holds printable ASCII, tabs and line
// breaks only: nothing cleanText would change but its blanks around.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			return false
		}
	}
	return true
}

// cleanText makes a string safe for a Turtle literal: valid UTF-8, without
// control characters other than tab and newlines, trimmed.
func cleanText(s string) string {
	if plainASCII(s) {
		return strings.TrimSpace(s)
	}
	s = validUTF8(s)
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
				return -1
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

// literal returns a plain string literal of s, false when s is blank.
func literal(s string) (rdf.Literal, bool) {
	s = cleanText(s)
	if s == "" {
		return rdf.Literal{}, false
	}
	l, err := rdf.NewLiteral(s)
	return l, err == nil
}

// mustLiteral is literal for values known not to be blank.
func mustLiteral(s string) rdf.Literal {
	l, _ := literal(s)
	return l
}

func firstText(ss ...string) string {
	for _, s := range ss {
		if s = cleanText(s); s != "" {
			return s
		}
	}
	return ""
}

// dateLiteral renders a timestamp as xsd:date when it is midnight UTC (a
// date without time), else as xsd:dateTime in UTC.
func dateLiteral(ts *timestamppb.Timestamp) (rdf.Literal, bool) {
	if ts == nil || !ts.IsValid() {
		return rdf.Literal{}, false
	}
	t := ts.AsTime().UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return rdf.Literal{}, false
	}
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return rdf.NewTypedLiteral(t.Format(time.DateOnly), xsdDate), true
	}
	return rdf.NewTypedLiteral(t.Format(time.RFC3339Nano), xsdDateTime), true
}
