package panet

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// MaxOntologySize bounds how many bytes Load reads from a URL (64 MiB; a
// PaNET release is well under 1 MiB).
const MaxOntologySize = 64 << 20

// Load reads a PaNET OWL file (RDF/XML) from source: a file path, a file://
// URL, or an http(s) URL fetched with ctx. A missing file gives an error
// that satisfies errors.Is(err, fs.ErrNotExist); a bad HTTP answer gives
// ErrFetch; a file that is not a PaNET ontology gives ErrInvalidOntology.
func Load(ctx context.Context, source string) (*Ontology, error) {
	if source == "" {
		return nil, fmt.Errorf("panet: load: empty source: %w", ErrFetch)
	}
	u, err := url.Parse(source)
	if err == nil && len(u.Scheme) > 1 { // one letter: a Windows drive
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			return loadURL(ctx, source)
		case "file":
			p := u.Path
			if p == "" {
				p = u.Opaque
			}
			return loadFile(p)
		default:
			return nil, fmt.Errorf("panet: load %q: unsupported scheme %q: %w", source, u.Scheme, ErrFetch)
		}
	}
	return loadFile(source)
}

func loadFile(path string) (*Ontology, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("panet: load: %w", err)
	}
	defer f.Close()
	o, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("panet: load %s: %w", path, err)
	}
	return o, nil
}

func loadURL(ctx context.Context, source string) (*Ontology, error) {
	b, err := Fetch(ctx, source)
	if err != nil {
		return nil, err
	}
	o, err := Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("panet: load %s: %w", source, err)
	}
	return o, nil
}

// Fetch returns the bytes of the OWL file at an http(s) URL, at most
// MaxOntologySize of them. Any failure (no answer, a status other than 200,
// a larger file) gives ErrFetch.
func Fetch(ctx context.Context, source string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, fmt.Errorf("panet: load %s: %w: %w", source, ErrFetch, err)
	}
	req.Header.Set("Accept", "application/rdf+xml, application/xml;q=0.9, */*;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("panet: load %s: %w: %w", source, ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("panet: load %s: status %s: %w", source, resp.Status, ErrFetch)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxOntologySize+1))
	if err != nil {
		return nil, fmt.Errorf("panet: load %s: %w: %w", source, ErrFetch, err)
	}
	if len(b) > MaxOntologySize {
		return nil, fmt.Errorf("panet: load %s: larger than %d bytes: %w", source, MaxOntologySize, ErrFetch)
	}
	return b, nil
}

// IsURL reports whether source names an http(s) URL (which Load fetches)
// rather than a file.
func IsURL(source string) bool {
	u, err := url.Parse(source)
	return err == nil && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"))
}

// XML namespaces and terms read from the OWL file.
const (
	nsRDF   = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsRDFS  = "http://www.w3.org/2000/01/rdf-schema#"
	nsOWL   = "http://www.w3.org/2002/07/owl#"
	nsSKOS  = "http://www.w3.org/2004/02/skos/core#"
	nsDCT   = "http://purl.org/dc/terms/"
	nsDC    = "http://purl.org/dc/elements/1.1/"
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	iaoDef  = "http://purl.obolibrary.org/obo/IAO_0000115"
	owlCls  = nsOWL + "Class"
	owlOnto = nsOWL + "Ontology"
)

// langText is a literal with its xml:lang.
type langText struct{ text, lang string }

// rawClass collects what the file says about one subject.
type rawClass struct {
	isClass     bool
	labels      []langText
	altLabels   []string
	definitions []langText
	supers      []string
	// equivalents are the named classes of owl:equivalentClass axioms; the
	// named members of an equivalent owl:intersectionOf are in supers.
	equivalents []string
}

// entityDecl matches internal entity declarations of a DOCTYPE, which OWL
// files written by some tools use for namespace IRIs (&owl;Thing).
var entityDecl = regexp.MustCompile(`<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"([^"]*)"|'([^']*)')\s*>`)

// Parse reads a PaNET OWL file in RDF/XML. It keeps the owl:Class nodes
// whose IRI is a PaNET class IRI (Namespace + "PaNET" + digits), declared
// either as <owl:Class rdf:about> or with rdf:type owl:Class, merging every
// top-level node that describes the same class, and the owl:Ontology header.
func Parse(r io.Reader) (*Ontology, error) {
	p := &parser{d: xml.NewDecoder(r), raw: make(map[string]*rawClass)}
	p.d.Strict = true
	if err := p.parse(); err != nil {
		return nil, err
	}
	o, err := newOntology(p.info, p.raw)
	if err != nil {
		return nil, fmt.Errorf("%w: no PaNET class found", err)
	}
	return o, nil
}

type parser struct {
	d    *xml.Decoder
	raw  map[string]*rawClass
	info Info
}

func (p *parser) fail(err error) error {
	line, col := p.d.InputPos()
	return fmt.Errorf("%w: line %d col %d: %w", ErrInvalidOntology, line, col, err)
}

func (p *parser) parse() error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return fmt.Errorf("%w: no root element", ErrInvalidOntology)
		}
		if err != nil {
			return p.fail(err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			p.declareEntities(string(t))
		case xml.StartElement:
			if t.Name.Space != nsRDF || t.Name.Local != "RDF" {
				return fmt.Errorf("%w: root element is <%s> in %q, not rdf:RDF", ErrInvalidOntology, t.Name.Local, t.Name.Space)
			}
			return p.parseRoot(attr(t, nsXML, "base"))
		}
	}
}

func (p *parser) declareEntities(directive string) {
	for _, m := range entityDecl.FindAllStringSubmatch(directive, -1) {
		if p.d.Entity == nil {
			p.d.Entity = make(map[string]string)
		}
		p.d.Entity[m[1]] = m[2] + m[3]
	}
}

// parseRoot reads the node elements of rdf:RDF.
func (p *parser) parseRoot(base string) error {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return p.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.parseNode(t, base); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// subjectOf returns the IRI of a node element (rdf:about or rdf:ID), or ""
// for a blank node.
func subjectOf(t xml.StartElement, base string) string {
	if b := attr(t, nsXML, "base"); b != "" {
		base = b
	}
	if about := attr(t, nsRDF, "about"); about != "" {
		return resolve(base, about)
	}
	if id := attr(t, nsRDF, "ID"); id != "" {
		return resolve(base, "#"+id)
	}
	return ""
}

// parseNode reads one top-level node element and its property elements.
func (p *parser) parseNode(t xml.StartElement, base string) error {
	subj := subjectOf(t, base)
	typ := t.Name.Space + t.Name.Local
	var rc *rawClass
	switch {
	case typ == owlOnto:
		return p.parseOntologyHeader(t, subj)
	case subj != "" && (classIRI.MatchString(subj) || typ == owlCls || typ == nsRDF+"Description"):
		// Classes outside PaNET (ChMO, Wikidata) are read too: their
		// equivalence and subclass axioms link PaNET classes.
		rc = p.raw[subj]
		if rc == nil {
			rc = &rawClass{}
			p.raw[subj] = rc
		}
		if typ == owlCls {
			rc.isClass = true
		}
	default:
		if err := p.d.Skip(); err != nil {
			return p.fail(err)
		}
		return nil
	}
	if b := attr(t, nsXML, "base"); b != "" {
		base = b
	}
	// Property attributes.
	for _, a := range t.Attr {
		switch a.Name.Space + a.Name.Local {
		case nsRDFS + "label":
			rc.labels = append(rc.labels, langText{text: clean(a.Value), lang: attr(t, nsXML, "lang")})
		case nsSKOS + "altLabel":
			rc.altLabels = append(rc.altLabels, clean(a.Value))
		}
	}
	for {
		tok, err := p.d.Token()
		if err != nil {
			return p.fail(err)
		}
		switch pt := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := p.parseClassProperty(rc, pt, base); err != nil {
				return err
			}
		}
	}
}

func (p *parser) parseClassProperty(rc *rawClass, t xml.StartElement, base string) error {
	switch t.Name.Space + t.Name.Local {
	case nsRDFS + "label":
		s, err := p.text()
		rc.labels = append(rc.labels, langText{text: s, lang: attr(t, nsXML, "lang")})
		return err
	case nsSKOS + "altLabel":
		s, err := p.text()
		rc.altLabels = append(rc.altLabels, s)
		return err
	case iaoDef, nsSKOS + "definition":
		s, err := p.text()
		rc.definitions = append(rc.definitions, langText{text: s, lang: attr(t, nsXML, "lang")})
		return err
	case nsOWL + "equivalentClass":
		if res := attr(t, nsRDF, "resource"); res != "" {
			rc.equivalents = append(rc.equivalents, resolve(base, res))
			break
		}
		named, members, err := p.classExpression(base)
		if err != nil {
			return err
		}
		if named != "" {
			rc.equivalents = append(rc.equivalents, named)
		}
		// A ≡ B ⊓ C ⊓ (restriction): A is a subclass of B and of C.
		rc.supers = append(rc.supers, members...)
		return nil
	case nsRDF + "type":
		if resolve(base, attr(t, nsRDF, "resource")) == owlCls {
			rc.isClass = true
		}
	case nsRDFS + "subClassOf":
		if res := attr(t, nsRDF, "resource"); res != "" {
			rc.supers = append(rc.supers, resolve(base, res))
			break
		}
		// A nested node: a named class (<owl:Class rdf:about>) counts, an
		// anonymous class expression (restriction, intersection) does not.
		named, err := p.nestedSubject(base)
		if err != nil {
			return err
		}
		if named != "" {
			rc.supers = append(rc.supers, named)
		}
		return nil
	}
	if err := p.d.Skip(); err != nil {
		return p.fail(err)
	}
	return nil
}

// classExpression reads the content of an owl:equivalentClass property
// element up to its end. It returns the IRI of a nested named class, or the
// named members of a nested owl:intersectionOf (restrictions and other
// anonymous members are skipped).
func (p *parser) classExpression(base string) (string, []string, error) {
	var named string
	var members []string
	depth := 0 // 1: the class expression node, 2: its properties, 3: their nodes
	inIntersection := false
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", nil, p.fail(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if depth == 0 {
				return named, members, nil
			}
			if depth == 2 {
				inIntersection = false
			}
			depth--
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if s := subjectOf(t, base); s != "" {
					named = s
				}
			case 2:
				inIntersection = t.Name.Space == nsOWL && t.Name.Local == "intersectionOf"
			case 3:
				if inIntersection {
					if s := subjectOf(t, base); s != "" {
						members = append(members, s)
					} else if res := attr(t, nsRDF, "resource"); res != "" {
						members = append(members, resolve(base, res))
					}
				}
			}
			if depth >= 3 {
				if err := p.d.Skip(); err != nil {
					return "", nil, p.fail(err)
				}
				depth--
			}
		}
	}
}

// nestedSubject reads the content of a property element up to its end and
// returns the IRI of its first nested node element, if named.
func (p *parser) nestedSubject(base string) (string, error) {
	subj := ""
	first := true
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", p.fail(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return subj, nil
		case xml.StartElement:
			if first {
				subj = subjectOf(t, base)
				first = false
			}
			if err := p.d.Skip(); err != nil {
				return "", p.fail(err)
			}
		}
	}
}

func (p *parser) parseOntologyHeader(t xml.StartElement, subj string) error {
	p.info.IRI = subj
	for {
		tok, err := p.d.Token()
		if err != nil {
			return p.fail(err)
		}
		switch pt := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			var dst *string
			switch pt.Name.Space + pt.Name.Local {
			case nsOWL + "versionInfo":
				dst = &p.info.VersionInfo
			case nsOWL + "versionIRI":
				dst = &p.info.VersionIRI
			case nsDCT + "created", nsDC + "date":
				dst = &p.info.Created
			case nsDCT + "modified":
				dst = &p.info.Modified
			case nsDCT + "title", nsDC + "title":
				dst = &p.info.Title
			case nsDCT + "license", nsDC + "rights":
				dst = &p.info.License
			}
			if dst == nil || *dst != "" {
				if err := p.d.Skip(); err != nil {
					return p.fail(err)
				}
				continue
			}
			if res := attr(pt, nsRDF, "resource"); res != "" {
				*dst = res
				if err := p.d.Skip(); err != nil {
					return p.fail(err)
				}
				continue
			}
			s, err := p.text()
			if err != nil {
				return err
			}
			*dst = s
		}
	}
}

// text reads the character data of the current element up to its end,
// skipping nested elements, and returns it trimmed.
func (p *parser) text() (string, error) {
	var b strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", p.fail(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			if err := p.d.Skip(); err != nil {
				return "", p.fail(err)
			}
		case xml.EndElement:
			return clean(b.String()), nil
		}
	}
}

// clean trims a literal and collapses its inner runs of white space.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

func attr(t xml.StartElement, space, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local && (a.Name.Space == space || (space == nsXML && a.Name.Space == "xml")) {
			return a.Value
		}
	}
	return ""
}

// resolve resolves a (possibly relative) IRI reference against base.
func resolve(base, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || base == "" {
		return ref
	}
	if u, err := url.Parse(ref); err == nil && u.IsAbs() {
		return ref
	}
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}
