package rdfenc

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

const (
	nsXMLNamespace = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS        = "http://www.w3.org/2000/xmlns/"
	// generatedPrefix names the namespace a property element declares for
	// itself when its predicate has no QName under the document's
	// namespaces.
	generatedPrefix = "ns0"
)

// rdfSyntaxNames are the names of the RDF/XML syntax that cannot be
// property elements (RDF 1.1 XML Syntax §7.2.5 coreSyntaxTerms and the
// old terms), and rdf:li, which a parser renumbers.
var rdfSyntaxNames = map[string]bool{
	"RDF": true, "Description": true, "ID": true, "about": true, "parseType": true,
	"resource": true, "nodeID": true, "datatype": true, "li": true,
	"aboutEach": true, "aboutEachPrefix": true, "bagID": true,
}

// rdfxmlWriter writes RDF/XML: one rdf:Description per subject (rdf:about,
// or rdf:nodeID for a blank node), a property element per triple with
// rdf:resource, rdf:nodeID, or the literal as text with xml:lang or
// rdf:datatype. Predicates are QNames under the document's namespaces,
// declared on <rdf:RDF>; a predicate outside them declares its namespace
// on its own element. A predicate IRI that ends in no XML name (e.g. ".../"
// or "...(1)") cannot be written in RDF/XML at all: its group is refused.
//
// Characters XML 1.0 does not allow (controls other than tab, newline and
// carriage return; U+FFFE, U+FFFF) cannot be written in any form in an
// XML 1.0 document: in literals they are replaced with U+FFFD, so that the
// dataset is still served (IRIs holding them are refused by every format).
type rdfxmlWriter struct {
	ns *nsTable
}

func (x *rdfxmlWriter) header(w *bytes.Buffer) error {
	w.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	w.WriteString(`<rdf:RDF xmlns:rdf="` + nsRDF + `"`)
	for _, e := range x.ns.entries {
		if e.prefix == "rdf" {
			continue
		}
		w.WriteString("\n    xmlns:")
		w.WriteString(e.prefix)
		w.WriteString(`="`)
		xmlEscape(w, e.ns, true)
		w.WriteByte('"')
	}
	w.WriteString(">\n")
	return nil
}

func (x *rdfxmlWriter) footer(w *bytes.Buffer) { w.WriteString("</rdf:RDF>\n") }

func (x *rdfxmlWriter) group(w *bytes.Buffer, ts []triple) error {
	// Property names first, so that a refusal leaves nothing written.
	names := make(map[string]qname, 16)
	for i, t := range ts {
		if _, ok := names[t.p.value]; ok {
			continue
		}
		q, err := x.qname(t.p.value)
		if err != nil {
			return fmt.Errorf("%w: triple %d: %w", ErrInvalidTriple, i, err)
		}
		names[t.p.value] = q
	}
	for _, g := range bySubject(ts) {
		w.WriteString("  <rdf:Description ")
		if g.subject.kind == kindBlank {
			w.WriteString(`rdf:nodeID="`)
			w.WriteString(nodeID(g.subject.value))
		} else {
			w.WriteString(`rdf:about="`)
			xmlEscape(w, g.subject.value, true)
		}
		w.WriteString("\">\n")
		for _, t := range g.triples {
			x.property(w, names[t.p.value], t.o)
		}
		w.WriteString("  </rdf:Description>\n")
	}
	return nil
}

// qname is a property element's name, with the namespace it must declare
// itself when it has no prefix of the document.
type qname struct {
	name    string // prefix:local
	declare string // namespace to declare as generatedPrefix, or ""
}

func (x *rdfxmlWriter) qname(iri string) (qname, error) {
	if iri == nsRDF+"type" {
		return qname{name: "rdf:type"}, nil
	}
	if len(iri) > len(nsRDF) && iri[:len(nsRDF)] == nsRDF {
		local := iri[len(nsRDF):]
		if rdfSyntaxNames[local] {
			return qname{}, fmt.Errorf("predicate rdf:%s is RDF/XML syntax", local)
		}
		if xmlName(local) {
			return qname{name: "rdf:" + local}, nil
		}
	}
	if p, l, ok := x.ns.split(iri); ok {
		return qname{name: p + ":" + l}, nil
	}
	// The longest tail of the IRI that is an XML name.
	start := len(iri)
	for start > 0 && nameChar(iri[start-1]) {
		start--
	}
	for start < len(iri) && !nameStart(iri[start]) {
		start++
	}
	if start == len(iri) {
		return qname{}, fmt.Errorf("predicate %q ends in no XML name, RDF/XML cannot write it", truncate(iri, 64))
	}
	ns := iri[:start]
	switch ns {
	case nsRDF, nsXMLNamespace, nsXMLNS:
		return qname{}, fmt.Errorf("predicate %q cannot be written in RDF/XML", truncate(iri, 64))
	}
	return qname{name: generatedPrefix + ":" + iri[start:], declare: ns}, nil
}

func (x *rdfxmlWriter) property(w *bytes.Buffer, q qname, o term) {
	w.WriteString("    <")
	w.WriteString(q.name)
	if q.declare != "" {
		w.WriteString(" xmlns:" + generatedPrefix + `="`)
		xmlEscape(w, q.declare, true)
		w.WriteByte('"')
	}
	switch o.kind {
	case kindIRI:
		w.WriteString(` rdf:resource="`)
		xmlEscape(w, o.value, true)
		w.WriteString("\"/>\n")
		return
	case kindBlank:
		w.WriteString(` rdf:nodeID="`)
		w.WriteString(nodeID(o.value))
		w.WriteString("\"/>\n")
		return
	}
	switch {
	case o.lang != "":
		w.WriteString(` xml:lang="`)
		w.WriteString(o.lang)
		w.WriteByte('"')
	case o.datatype != "":
		w.WriteString(` rdf:datatype="`)
		xmlEscape(w, o.datatype, true)
		w.WriteByte('"')
	}
	w.WriteByte('>')
	xmlEscape(w, o.value, false)
	w.WriteString("</")
	w.WriteString(q.name)
	w.WriteString(">\n")
}

// nodeID turns a blank node label into an rdf:nodeID (an XML name): a
// label starting with a letter is kept, any other gets a leading '_'.
// Distinct labels stay distinct: only the second kind starts with '_'
// after the change.
func nodeID(label string) string {
	if c := label[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return label
	}
	return "_" + label
}

// xmlName reports whether s is an XML name without ':' made of ASCII.
func xmlName(s string) bool {
	if s == "" || !nameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !nameChar(s[i]) {
			return false
		}
	}
	return true
}

func nameStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func nameChar(c byte) bool {
	return nameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// xmlEscape writes s as XML text, or as an attribute value: markup
// characters as entities, carriage returns (and in attributes tabs and
// newlines) as character references so that parsers keep them, and
// characters XML 1.0 forbids as U+FFFD.
func xmlEscape(w *bytes.Buffer, s string, attr bool) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && c != '"' {
			i++
			continue
		}
		var rep string
		width := 1
		switch {
		case c == '&':
			rep = "&amp;"
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '\r':
			rep = "&#xD;"
		case c == '"' || c == '\n' || c == '\t':
			if !attr { // kept as they are in text
				i++
				continue
			}
			rep = attrRef(c)
		case c < 0x20:
			rep = "\uFFFD"
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			width = n
			if xmlChar(r) && (r != utf8.RuneError || n > 1) {
				i += n
				continue
			}
			rep = "\uFFFD"
		}
		w.WriteString(s[start:i])
		w.WriteString(rep)
		i += width
		start = i
	}
	w.WriteString(s[start:])
}

// attrRef is the reference of a character an attribute value must not
// hold as it is.
func attrRef(c byte) string {
	switch c {
	case '"':
		return "&quot;"
	case '\n':
		return "&#xA;"
	}
	return "&#x9;"
}
