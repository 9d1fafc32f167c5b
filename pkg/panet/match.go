package panet

import (
	"strings"
	"unicode"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// How a technique was matched (fairwayv1.Technique.MatchedBy).
const (
	// MatchedByIRI: a subject's value_uri or value is the class IRI.
	MatchedByIRI = "iri"
	// MatchedByID: a subject names the bare id (PaNET01168, panet:PaNET01168,
	// or digits under a PaNET scheme).
	MatchedByID = "id"
	// MatchedByLabel: a subject's value is the class label or one of its
	// synonyms (skos:altLabel, acronyms included), ignoring case, white
	// space, hyphens and underscores.
	MatchedByLabel = "label"
)

// Matcher finds the PaNET techniques a dataset names. Only technique
// classes are matched: specifier classes (Class.Specifier), which share many
// labels with techniques ("diffraction", "imaging"), are never returned. A
// Matcher is built once per ontology, is immutable, and is safe for
// concurrent use.
type Matcher struct {
	ont *Ontology
	// labels maps a normalised rdfs:label to its classes.
	labels map[string][]*Class
	// synonyms maps a normalised altLabel to its classes.
	synonyms map[string][]*Class
}

// NewMatcher precomputes the lookup tables of an ontology.
func NewMatcher(o *Ontology) *Matcher {
	m := &Matcher{ont: o, labels: make(map[string][]*Class), synonyms: make(map[string][]*Class)}
	add := func(idx map[string][]*Class, text string, c *Class) {
		k := normalize(text)
		if k == "" {
			return
		}
		for _, x := range idx[k] {
			if x == c {
				return
			}
		}
		idx[k] = append(idx[k], c)
	}
	for _, c := range o.ordered {
		if c.Specifier {
			continue
		}
		add(m.labels, c.Label, c)
		for _, a := range c.AltLabels {
			add(m.synonyms, a, c)
		}
	}
	return m
}

// Ontology returns the ontology the matcher was built from.
func (m *Matcher) Ontology() *Ontology { return m.ont }

// Match returns the techniques named by a dataset's subjects, unique by IRI,
// in the order of the first subject that names each, each with the IRIs of
// its broader techniques (Technique.Broader, sorted by id).
//
// For every subject, in this order of precedence: the class IRI in
// value_uri or value ("iri"); the bare id in value_uri or value ("id"); the
// class label or a synonym equal to value ("label"). A text that is the
// label or synonym of several classes is ambiguous and names none of them,
// unless it is the rdfs:label of exactly one class.
//
// This version matches subjects only: texts (title, description) are
// accepted so that callers need not change when free-text matching is added,
// and are not read.
func (m *Matcher) Match(subjects []*fairwayv1.Subject, texts ...string) []*fairwayv1.Technique {
	var out []*fairwayv1.Technique
	for _, s := range subjects {
		if s == nil {
			continue
		}
		c, by, text := m.matchSubject(s)
		if c == nil {
			continue
		}
		dup := false
		for _, t := range out {
			if t.Iri == c.IRI {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		t := &fairwayv1.Technique{Iri: c.IRI, Id: c.ID, Label: c.Label, MatchedBy: by, MatchedText: text}
		for _, a := range m.ont.ancestors[c.ID] {
			t.Broader = append(t.Broader, a.IRI)
		}
		out = append(out, t)
	}
	return out
}

func (m *Matcher) matchSubject(s *fairwayv1.Subject) (*Class, string, string) {
	uri, val := strings.TrimSpace(s.GetValueUri()), strings.TrimSpace(s.GetValue())
	for _, v := range [...]string{uri, val} {
		if c := m.byIRI(v); c != nil {
			return c, MatchedByIRI, v
		}
	}
	for _, v := range [...]string{uri, val} {
		if c := m.byID(v); c != nil {
			return c, MatchedByID, v
		}
	}
	if isPaNETScheme(s) && val != "" && allDigits(val) {
		if c := m.technique("PaNET" + val); c != nil {
			return c, MatchedByID, val
		}
	}
	if c := m.byLabel(val); c != nil {
		return c, MatchedByLabel, val
	}
	return nil, "", ""
}

// iriPrefixes are the spellings of the PaNET namespace accepted in IRIs.
var iriPrefixes = [...]string{Namespace, "https://purl.org/pan-science/PaNET/", Namespace + "PaNET.owl#"}

func (m *Matcher) byIRI(v string) *Class {
	if v == "" {
		return nil
	}
	if c, ok := m.ont.byIRI[v]; ok {
		return technique(c)
	}
	for _, p := range iriPrefixes {
		if len(v) > len(p) && strings.EqualFold(v[:len(p)], p) {
			id := strings.TrimRight(v[len(p):], "/#")
			if len(id) > 5 && strings.EqualFold(id[:5], "panet") && allDigits(id[5:]) {
				return m.technique("PaNET" + id[5:])
			}
		}
	}
	return nil
}

// byID accepts "PaNET01168" in any case, and the CURIEs "panet:PaNET01168"
// and "panet:01168"; one "_" or "-" may separate "PaNET" from the digits.
func (m *Matcher) byID(v string) *Class {
	if len(v) < 6 || len(v) > 40 {
		return nil
	}
	rest := v
	curie := false
	if len(rest) > 6 && strings.EqualFold(rest[:6], "panet:") {
		rest, curie = rest[6:], true
	}
	if len(rest) >= 5 && strings.EqualFold(rest[:5], "panet") {
		rest = rest[5:]
	} else if !curie {
		return nil
	}
	if rest != "" && (rest[0] == '_' || rest[0] == '-') {
		rest = rest[1:]
	}
	if rest == "" || !allDigits(rest) {
		return nil
	}
	return m.technique("PaNET" + rest)
}

// technique returns the technique class with a bare id, nil for an unknown
// id or a specifier.
func (m *Matcher) technique(id string) *Class {
	return technique(m.ont.byID[id])
}

func technique(c *Class) *Class {
	if c == nil || c.Specifier {
		return nil
	}
	return c
}

func (m *Matcher) byLabel(v string) *Class {
	if v == "" {
		return nil
	}
	k := normalize(v)
	if cs := m.labels[k]; len(cs) == 1 {
		return cs[0]
	} else if len(cs) > 1 {
		return nil
	}
	if cs := m.synonyms[k]; len(cs) == 1 {
		return cs[0]
	}
	return nil
}

func isPaNETScheme(s *fairwayv1.Subject) bool {
	return strings.EqualFold(strings.TrimSpace(s.GetScheme()), "panet") ||
		strings.HasPrefix(strings.TrimSpace(s.GetSchemeUri()), Namespace)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normalize folds case, turns hyphens, dashes and underscores into blanks,
// collapses white space and maps the micro sign to the Greek mu, so that
// "X-Ray_Diffraction " and "x ray diffraction" compare equal.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '-' || r == '_' || r == '\u2010' || r == '\u2011' || r == '\u2012' || r == '\u2013' || r == '\u2014' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r == '\u00b5':
			r = '\u03bc'
		default:
			r = unicode.ToLower(r)
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
