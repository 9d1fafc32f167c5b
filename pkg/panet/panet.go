// Package panet provides the PaNET ontology (Photon and Neutron Experimental
// Techniques, http://purl.org/pan-science/PaNET/) and the matching of
// datasets (subjects, keywords, title, description) to PaNET techniques;
// TermIRI recognises a PaNET IRI or id in a subject value without the
// ontology.
//
// The ontology is read from its OWL release file (RDF/XML) with Load or Parse.
// Only what the pipeline needs is kept: every PaNET class with its label,
// synonyms (skos:altLabel), acronyms, definition, superclasses (from
// rdfs:subClassOf and owl:equivalentClass axioms) and equivalent classes, and
// the ontology's version. Alias dictionaries (LoadAliases) add synonyms to
// a Matcher.
//
// The OWL file is read with a focused encoding/xml reader rather than
// github.com/knakk/rdf: knakk's RDF/XML decoder stops with "TODO not rdf name
// space" at the first typed node element nested in a property (the
// <owl:Class><owl:intersectionOf …> structures of every PaNET release), so it
// cannot read either release file.
package panet

import (
	"errors"
	"regexp"
	"slices"
	"strings"
)

// Namespace is the namespace of PaNET IRIs; a class IRI is Namespace + id.
const Namespace = "http://purl.org/pan-science/PaNET/"

// OntologyIRI is the IRI of the PaNET ontology itself.
const OntologyIRI = Namespace + "PaNET.owl"

// SpecifierRootID is the root of the specifier classes ("photon and neutron
// specifiers", added in v1.2): the probes, purposes, processes… that
// technique classes are defined with. Specifiers are not techniques.
const SpecifierRootID = "PaNET2000000"

var (
	// ErrInvalidOntology is returned when a source cannot be read as a PaNET
	// OWL file (not XML, not RDF/XML, or without any PaNET class).
	ErrInvalidOntology = errors.New("panet: invalid ontology")
	// ErrFetch is returned when an ontology cannot be fetched from a URL
	// (bad status, body too large, unsupported scheme).
	ErrFetch = errors.New("panet: cannot fetch ontology")
)

// classIRI matches the IRI of a PaNET class and captures its bare id.
var classIRI = regexp.MustCompile(`^http://purl\.org/pan-science/PaNET/(PaNET[0-9]+)$`)

// Class is one PaNET class. Classes returned by an Ontology are shared and
// must not be modified.
type Class struct {
	// IRI is the full class IRI (http://purl.org/pan-science/PaNET/PaNET01168).
	IRI string
	// ID is the bare id (PaNET01168).
	ID string
	// Label is the rdfs:label (the English or untagged one when there are
	// several; the others are added to AltLabels).
	Label string
	// AltLabels are the skos:altLabel synonyms, in file order.
	AltLabels []string
	// Acronyms are the AltLabels that look like acronyms (no blank, at
	// least two upper-case letters: "SAXS", "MChD", "TR-SFX").
	Acronyms []string
	// Definition is the IAO_0000115 or skos:definition text, when present.
	Definition string
	// Parents are the ids of the direct PaNET superclasses, from
	// rdfs:subClassOf axioms and from the named members of an
	// owl:equivalentClass intersection (A ≡ B ⊓ C makes B and C
	// superclasses of A). Reasoned releases assert every inferred
	// superclass; Parents keeps only those that are not already an ancestor
	// of another superclass.
	Parents []string
	// Equivalents are the ids of the PaNET classes declared equivalent
	// (owl:equivalentClass, directly or through classes outside PaNET). They
	// share the class's ancestors and are not its ancestors.
	Equivalents []string
	// ExternalParents are named superclasses outside PaNET (Wikidata,
	// ChMO…), as IRIs.
	ExternalParents []string
	// Specifier is true for SpecifierRootID and its descendants, false for
	// technique classes.
	Specifier bool
}

// Info is the ontology header (owl:Ontology) of a release.
type Info struct {
	// IRI is the ontology IRI.
	IRI string
	// Title is dcterms:title.
	Title string
	// VersionInfo is owl:versionInfo (e.g. "1.3.0-48-g7011e6b").
	VersionInfo string
	// VersionIRI is owl:versionIRI.
	VersionIRI string
	// Created and Modified are dcterms:created and dcterms:modified, as written.
	Created, Modified string
	// License is dcterms:license (an IRI or a text).
	License string
}

// Ontology is a loaded PaNET release. It is immutable and safe for
// concurrent use.
type Ontology struct {
	info      Info
	byID      map[string]*Class
	byIRI     map[string]*Class
	ordered   []*Class            // sorted by ID
	ancestors map[string][]*Class // by ID, sorted by ID
}

// Info returns the ontology header.
func (o *Ontology) Info() Info { return o.info }

// Version identifies the release: owl:versionInfo, else owl:versionIRI, else
// dcterms:modified, else dcterms:created; empty when the file has none.
func (o *Ontology) Version() string {
	for _, v := range []string{o.info.VersionInfo, o.info.VersionIRI, o.info.Modified, o.info.Created} {
		if v != "" {
			return v
		}
	}
	return ""
}

// Len returns the number of PaNET classes.
func (o *Ontology) Len() int { return len(o.ordered) }

// Classes returns every PaNET class, sorted by id. The slice is a copy; the
// classes are shared.
func (o *Ontology) Classes() []*Class { return slices.Clone(o.ordered) }

// Class looks a class up by bare id ("PaNET01168") or full IRI.
func (o *Ontology) Class(idOrIRI string) (*Class, bool) {
	if c, ok := o.byID[idOrIRI]; ok {
		return c, true
	}
	c, ok := o.byIRI[idOrIRI]
	return c, ok
}

// Ancestors returns every PaNET superclass of a class (transitively), sorted
// by id, or nil when the class is unknown. idOrIRI is a bare id or an IRI.
func (o *Ontology) Ancestors(idOrIRI string) []*Class {
	c, ok := o.Class(idOrIRI)
	if !ok {
		return nil
	}
	return slices.Clone(o.ancestors[c.ID])
}

// isAcronym reports whether an altLabel looks like an acronym.
func isAcronym(s string) bool {
	if s == "" || len(s) > 20 || strings.ContainsAny(s, " \t\n") {
		return false
	}
	upper := 0
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			upper++
		}
	}
	return upper >= 2
}

// newOntology builds the indexes, direct parents and ancestor closures of
// the parsed classes.
func newOntology(info Info, raw map[string]*rawClass) (*Ontology, error) {
	o := &Ontology{
		info:      info,
		byID:      make(map[string]*Class),
		byIRI:     make(map[string]*Class),
		ancestors: make(map[string][]*Class),
	}
	// The class graph over every IRI of the file: subclass edges, and
	// equivalence edges both ways (a ChMO class equivalent to a PaNET class
	// carries its superclasses).
	up := make(map[string][]string)
	for iri, rc := range raw {
		for _, s := range rc.supers {
			if s != iri && s != nsOWL+"Thing" {
				up[iri] = append(up[iri], s)
			}
		}
		for _, e := range rc.equivalents {
			if e != iri {
				up[iri] = append(up[iri], e)
				up[e] = append(up[e], iri)
			}
		}
	}
	for iri, rc := range raw {
		if !rc.isClass {
			continue
		}
		m := classIRI.FindStringSubmatch(iri)
		if m == nil {
			continue
		}
		c := &Class{IRI: iri, ID: m[1], Definition: firstNonEmpty(rc.definitions)}
		c.Label, c.AltLabels = pickLabel(rc.labels)
		for _, a := range rc.altLabels {
			if a != "" && !slices.Contains(c.AltLabels, a) && a != c.Label {
				c.AltLabels = append(c.AltLabels, a)
			}
		}
		for _, a := range c.AltLabels {
			if isAcronym(a) {
				c.Acronyms = append(c.Acronyms, a)
			}
		}
		for _, s := range rc.supers {
			if !classIRI.MatchString(s) && s != nsOWL+"Thing" && !slices.Contains(c.ExternalParents, s) {
				c.ExternalParents = append(c.ExternalParents, s)
			}
		}
		o.byID[c.ID] = c
		o.byIRI[c.IRI] = c
		o.ordered = append(o.ordered, c)
	}
	if len(o.ordered) == 0 {
		return nil, ErrInvalidOntology
	}
	slices.SortFunc(o.ordered, func(a, b *Class) int { return strings.Compare(a.ID, b.ID) })

	// reach[id]: the PaNET classes of this file reachable from a class
	// through subclass and equivalence edges (itself excluded).
	reach := make(map[string]map[string]bool, len(o.ordered))
	for _, c := range o.ordered {
		seen := map[string]bool{c.IRI: true}
		stack := slices.Clone(up[c.IRI])
		got := map[string]bool{}
		for len(stack) > 0 {
			s := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[s] {
				continue
			}
			seen[s] = true
			if x, ok := o.byIRI[s]; ok {
				got[x.ID] = true
			}
			stack = append(stack, up[s]...)
		}
		reach[c.ID] = got
	}
	// An equivalent class reaches back; an ancestor does not.
	closure := make(map[string]map[string]bool, len(o.ordered))
	for _, c := range o.ordered {
		anc := map[string]bool{}
		for s := range reach[c.ID] {
			if reach[s][c.ID] {
				c.Equivalents = append(c.Equivalents, s)
			} else {
				anc[s] = true
			}
		}
		slices.Sort(c.Equivalents)
		closure[c.ID] = anc
		list := make([]*Class, 0, len(anc))
		for s := range anc {
			list = append(list, o.byID[s])
		}
		slices.SortFunc(list, func(a, b *Class) int { return strings.Compare(a.ID, b.ID) })
		o.ancestors[c.ID] = list
		c.Specifier = c.ID == SpecifierRootID || anc[SpecifierRootID] || slices.Contains(c.Equivalents, SpecifierRootID)
	}
	// Direct parents: an ancestor s is direct when no other ancestor t has s
	// as an ancestor.
	for _, c := range o.ordered {
		for s := range closure[c.ID] {
			direct := true
			for t := range closure[c.ID] {
				if t != s && closure[t][s] {
					direct = false
					break
				}
			}
			if direct {
				c.Parents = append(c.Parents, s)
			}
		}
		slices.Sort(c.Parents)
	}
	return o, nil
}

func firstNonEmpty(ss []langText) string {
	for _, s := range ss {
		if s.text != "" {
			return s.text
		}
	}
	return ""
}

// pickLabel chooses the main label (English or untagged first) and returns
// the other labels as extra synonyms.
func pickLabel(labels []langText) (string, []string) {
	best := -1
	for i, l := range labels {
		if l.text == "" {
			continue
		}
		lang := strings.ToLower(l.lang)
		if lang == "" || lang == "en" || strings.HasPrefix(lang, "en-") {
			best = i
			break
		}
		if best < 0 {
			best = i
		}
	}
	if best < 0 {
		return "", nil
	}
	var rest []string
	for i, l := range labels {
		if i != best && l.text != "" && l.text != labels[best].text && !slices.Contains(rest, l.text) {
			rest = append(rest, l.text)
		}
	}
	return labels[best].text, rest
}
