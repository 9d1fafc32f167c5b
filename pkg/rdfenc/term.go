package rdfenc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/knakk/rdf"
)

// ErrInvalidTriple is wrapped by the error of Encode when a triple of the
// group cannot be written: a missing term, an IRI that is not absolute or
// holds characters no syntax allows, a blank node label outside
// [A-Za-z0-9_-], text that is not UTF-8, a malformed language tag, or
// (RDF/XML only) a predicate that cannot be written as an XML element name.
// Nothing of the group is written then.
var ErrInvalidTriple = errors.New("rdfenc: triple cannot be serialised")

// Vocabulary IRIs the encoders treat specially.
const (
	nsRDF         = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsXSD         = "http://www.w3.org/2001/XMLSchema#"
	rdfType       = nsRDF + "type"
	rdfLangString = nsRDF + "langString"
	xsdString     = nsXSD + "string"
)

type termKind uint8

const (
	kindIRI termKind = iota + 1
	kindBlank
	kindLiteral
)

// term is a checked RDF term. For a literal, datatype is "" for a plain
// string (xsd:string) and for a language-tagged string (lang set).
type term struct {
	kind     termKind
	value    string // the IRI, the blank node label (without "_:"), the literal's lexical form
	lang     string
	datatype string
}

// triple is a checked triple.
type triple struct{ s, p, o term }

// checkGroup checks every triple of a group, before any is written.
func checkGroup(ts []rdf.Triple) ([]triple, error) {
	out := make([]triple, len(ts))
	for i, t := range ts {
		c, err := checkTriple(t)
		if err != nil {
			return nil, fmt.Errorf("%w: triple %d: %w", ErrInvalidTriple, i, err)
		}
		out[i] = c
	}
	return out, nil
}

func checkTriple(t rdf.Triple) (triple, error) {
	var c triple
	var err error
	switch s := t.Subj.(type) {
	case rdf.IRI:
		c.s, err = checkIRI(s.String())
	case *rdf.IRI:
		if s == nil {
			return c, errors.New("no subject")
		}
		c.s, err = checkIRI(s.String())
	case rdf.Blank:
		c.s, err = checkBlank(s)
	case *rdf.Blank:
		if s == nil {
			return c, errors.New("no subject")
		}
		c.s, err = checkBlank(*s)
	case nil:
		return c, errors.New("no subject")
	default:
		return c, fmt.Errorf("subject of type %T", t.Subj)
	}
	if err != nil {
		return c, fmt.Errorf("subject: %w", err)
	}
	switch p := t.Pred.(type) {
	case rdf.IRI:
		c.p, err = checkIRI(p.String())
	case *rdf.IRI:
		if p == nil {
			return c, errors.New("no predicate")
		}
		c.p, err = checkIRI(p.String())
	case nil:
		return c, errors.New("no predicate")
	default:
		return c, fmt.Errorf("predicate of type %T", t.Pred)
	}
	if err != nil {
		return c, fmt.Errorf("predicate: %w", err)
	}
	switch o := t.Obj.(type) {
	case rdf.IRI:
		c.o, err = checkIRI(o.String())
	case *rdf.IRI:
		if o == nil {
			return c, errors.New("no object")
		}
		c.o, err = checkIRI(o.String())
	case rdf.Blank:
		c.o, err = checkBlank(o)
	case *rdf.Blank:
		if o == nil {
			return c, errors.New("no object")
		}
		c.o, err = checkBlank(*o)
	case rdf.Literal:
		c.o, err = checkLiteral(o)
	case *rdf.Literal:
		if o == nil {
			return c, errors.New("no object")
		}
		c.o, err = checkLiteral(*o)
	case nil:
		return c, errors.New("no object")
	default:
		return c, fmt.Errorf("object of type %T", t.Obj)
	}
	if err != nil {
		return c, fmt.Errorf("object: %w", err)
	}
	return c, nil
}

// maxIRIBytes bounds an IRI; longer ones are refused.
const maxIRIBytes = 8192

// checkIRI accepts an absolute IRI (a scheme, then anything) of valid
// UTF-8 without the characters N-Triples forbids in an IRIREF
// ([\x00-\x20<>"{}|^`\]) and without characters XML 1.0 forbids, so that
// every format can write it as it is, without escapes.
func checkIRI(s string) (term, error) {
	if s == "" {
		return term{}, errors.New("empty IRI")
	}
	if len(s) > maxIRIBytes {
		return term{}, fmt.Errorf("IRI of %d bytes (at most %d)", len(s), maxIRIBytes)
	}
	if !hasScheme(s) {
		return term{}, fmt.Errorf("IRI %q is not absolute", truncate(s, 64))
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !iriASCII[c] {
				return term{}, fmt.Errorf("IRI %q holds %q", truncate(s, 64), c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return term{}, fmt.Errorf("IRI %q is not UTF-8", truncate(s, 64))
		}
		if !xmlChar(r) {
			return term{}, fmt.Errorf("IRI %q holds %U", truncate(s, 64), r)
		}
		i += n
	}
	return term{kind: kindIRI, value: s}, nil
}

// iriASCII marks the ASCII characters an IRI may hold as it is.
var iriASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x21; c < 0x7F; c++ { // no DEL
		t[c] = !strings.ContainsRune("<>\"{}|^`\\", rune(c))
	}
	return t
}()

// hasScheme reports whether s starts with a URI scheme and a colon.
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// xmlChar reports whether XML 1.0 allows r in a document.
func xmlChar(r rune) bool {
	switch {
	case r == 0x9, r == 0xA, r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// maxBlankLabel bounds a blank node label.
const maxBlankLabel = 256

// checkBlank accepts the labels every syntax and parser takes as they are:
// ASCII letters, digits, '_' and '-', not starting with '-'. ('.', which
// Turtle allows inside a label, is refused: knakk/rdf's decoder, that of
// ParseTurtle, fails on "a..b" and loops forever on "_:0..0".)
func checkBlank(b rdf.Blank) (term, error) {
	label := strings.TrimPrefix(b.Serialize(rdf.NTriples), "_:")
	if label == "" {
		return term{}, errors.New("blank node without a label")
	}
	if len(label) > maxBlankLabel {
		return term{}, fmt.Errorf("blank node label of %d bytes (at most %d)", len(label), maxBlankLabel)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case c == '-' && i > 0:
		default:
			return term{}, fmt.Errorf("blank node label %q holds %q", truncate(label, 64), c)
		}
	}
	return term{kind: kindBlank, value: label}, nil
}

// checkLiteral accepts a literal of valid UTF-8 with a well-formed language
// tag (BCP 47 syntax: letters, then '-'-separated letters and digits) or a
// datatype IRI. A literal without datatype is a plain string.
func checkLiteral(l rdf.Literal) (term, error) {
	v := l.String()
	if !utf8.ValidString(v) {
		return term{}, errors.New("literal is not UTF-8")
	}
	t := term{kind: kindLiteral, value: v}
	dt := l.DataType.String()
	if lang := l.Lang(); lang != "" {
		if !langTag(lang) {
			return term{}, fmt.Errorf("language tag %q", truncate(lang, 32))
		}
		if dt != "" && dt != rdfLangString {
			return term{}, fmt.Errorf("language tag %q with datatype %q", lang, truncate(dt, 64))
		}
		t.lang = lang
		return t, nil
	}
	switch dt {
	case "", xsdString:
		return t, nil
	case rdfLangString:
		return term{}, errors.New("rdf:langString literal without a language tag")
	}
	d, err := checkIRI(dt)
	if err != nil {
		return term{}, fmt.Errorf("datatype: %w", err)
	}
	t.datatype = d.value
	return t, nil
}

// langTag reports whether s has the syntax of a BCP 47 language tag as RDF
// syntaxes accept it: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*.
func langTag(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if sub == "" || len(sub) > 8 {
			return false
		}
		for j := 0; j < len(sub); j++ {
			c := sub[j]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			case i > 0 && c >= '0' && c <= '9':
			default:
				return false
			}
		}
	}
	return true
}

// subjectGroup is one subject's triples in a group, in the order given.
type subjectGroup struct {
	subject term
	triples []triple
}

// bySubject groups a group's triples by subject, subjects in the order of
// their first triple.
func bySubject(ts []triple) []subjectGroup {
	out, bounds := orderBy(ts, func(t *triple) string { return t.s.value })
	groups := make([]subjectGroup, len(bounds)-1)
	for i := range groups {
		groups[i] = subjectGroup{subject: out[bounds[i]].s, triples: out[bounds[i]:bounds[i+1]]}
	}
	return groups
}

// byPredicate groups one subject's triples by predicate, predicates in the
// order of their first triple: each group's triples differ in object only.
func byPredicate(ts []triple) [][]triple {
	out, bounds := orderBy(ts, func(t *triple) string { return t.p.value })
	groups := make([][]triple, len(bounds)-1)
	for i := range groups {
		groups[i] = out[bounds[i]:bounds[i+1]]
	}
	return groups
}

// orderBy returns the triples reordered so that those of equal key are
// together, keys in the order of their first triple and triples of a key
// in the order given, with the bounds of each key's run. A blank node's
// key is its label, which cannot equal an IRI (an IRI holds ':').
func orderBy(ts []triple, key func(*triple) string) (out []triple, bounds []int) {
	ids := make([]int, len(ts))
	index := make(map[string]int, 8)
	var counts []int
	for i := range ts {
		k := key(&ts[i])
		id, ok := index[k]
		if !ok {
			id = len(counts)
			index[k] = id
			counts = append(counts, 0)
		}
		ids[i] = id
		counts[id]++
	}
	bounds = make([]int, len(counts)+1)
	for id, c := range counts {
		bounds[id+1] = bounds[id] + c
	}
	next := append([]int(nil), bounds[:len(counts)]...)
	out = make([]triple, len(ts))
	for i := range ts {
		out[next[ids[i]]] = ts[i]
		next[ids[i]]++
	}
	return out, bounds
}
