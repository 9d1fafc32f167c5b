package rdfenc

import (
	"bytes"
)

// turtleWriter writes Turtle: the prefixes once, then each subject with its
// predicates and objects (';' and ',' lists), one statement per subject.
type turtleWriter struct{ ns *nsTable }

func (t *turtleWriter) header(w *bytes.Buffer) error {
	for _, e := range t.ns.entries {
		w.WriteString("@prefix ")
		w.WriteString(e.prefix)
		w.WriteString(": <")
		w.WriteString(e.ns)
		w.WriteString("> .\n")
	}
	if len(t.ns.entries) > 0 {
		w.WriteByte('\n')
	}
	return nil
}

func (t *turtleWriter) group(w *bytes.Buffer, ts []triple) error {
	for _, g := range bySubject(ts) {
		t.term(w, g.subject)
		// Predicates in the order of their first triple, each with all
		// its objects.
		for i, p := range byPredicate(g.triples) {
			if i == 0 {
				w.WriteByte(' ')
			} else {
				w.WriteString(" ;\n    ")
			}
			if p[0].p.value == rdfType {
				w.WriteByte('a')
			} else {
				t.term(w, p[0].p)
			}
			for j, tr := range p {
				if j == 0 {
					w.WriteByte(' ')
				} else {
					w.WriteString(", ")
				}
				t.term(w, tr.o)
			}
		}
		w.WriteString(" .\n\n")
	}
	return nil
}

func (t *turtleWriter) footer(*bytes.Buffer) {}

// term writes a term, an IRI (and a datatype) as a prefixed name when it
// splits into a declared namespace and a simple local name; other terms as
// N-Triples writes them.
func (t *turtleWriter) term(w *bytes.Buffer, x term) {
	switch {
	case x.kind == kindIRI:
		t.iri(w, x.value)
	case x.kind == kindLiteral && x.datatype != "":
		writeQuoted(w, x.value)
		w.WriteString("^^")
		t.iri(w, x.datatype)
	default:
		ntTerm(w, x)
	}
}

func (t *turtleWriter) iri(w *bytes.Buffer, iri string) {
	if p, l, ok := t.ns.split(iri); ok {
		w.WriteString(p)
		w.WriteByte(':')
		w.WriteString(l)
		return
	}
	w.WriteByte('<')
	w.WriteString(iri)
	w.WriteByte('>')
}

// ntriplesWriter writes N-Triples: one triple per line, every IRI in full.
type ntriplesWriter struct{}

func (ntriplesWriter) header(*bytes.Buffer) error { return nil }

func (ntriplesWriter) group(w *bytes.Buffer, ts []triple) error {
	for _, t := range ts {
		ntTerm(w, t.s)
		w.WriteByte(' ')
		ntTerm(w, t.p)
		w.WriteByte(' ')
		ntTerm(w, t.o)
		w.WriteString(" .\n")
	}
	return nil
}

func (ntriplesWriter) footer(*bytes.Buffer) {}

func ntTerm(w *bytes.Buffer, x term) {
	switch x.kind {
	case kindIRI:
		w.WriteByte('<')
		w.WriteString(x.value)
		w.WriteByte('>')
	case kindBlank:
		w.WriteString("_:")
		w.WriteString(x.value)
	case kindLiteral:
		writeQuoted(w, x.value)
		switch {
		case x.lang != "":
			w.WriteByte('@')
			w.WriteString(x.lang)
		case x.datatype != "":
			w.WriteString("^^<")
			w.WriteString(x.datatype)
			w.WriteString(">")
		}
	}
}

const hexDigits = "0123456789ABCDEF"

// writeQuoted writes s as a double-quoted string of N-Triples and Turtle:
// '"', '\' and the control characters with a short escape (\t \b \n \r \f)
// escaped so, the other controls and DEL as \u00XX, everything else as
// UTF-8.
func writeQuoted(w *bytes.Buffer, s string) {
	w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7F {
			continue
		}
		w.WriteString(s[start:i])
		start = i + 1
		switch c {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		case '\r':
			w.WriteString(`\r`)
		case '\t':
			w.WriteString(`\t`)
		case '\b':
			w.WriteString(`\b`)
		case '\f':
			w.WriteString(`\f`)
		default:
			w.WriteString(`\u00`)
			w.WriteByte(hexDigits[c>>4])
			w.WriteByte(hexDigits[c&0xF])
		}
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}
