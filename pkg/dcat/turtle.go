package dcat

import (
	"bytes"
	"errors"
	"sort"
	"strings"

	"github.com/knakk/rdf"
)

// writeTurtle writes triples as one Turtle document: the vocabulary
// prefixes (see prefixes), then the triples, consecutive triples of one
// subject as a predicate list and of one subject and predicate as an
// object list. The renderer keeps each node's triples together, so this
// single pass groups them as a Turtle writer that sorts would, without the
// sorting. IRIs are written as prefixed names only when their local name
// is plain (plainLocal), else in full.
func writeTurtle(buf *bytes.Buffer, ts []rdf.Triple) error {
	buf.WriteString(prefixHeader)
	for i, t := range ts {
		if t.Subj == nil || t.Pred == nil || t.Obj == nil {
			return errors.New("dcat: incomplete triple")
		}
		switch {
		case i > 0 && t.Subj == ts[i-1].Subj && t.Pred == ts[i-1].Pred:
			buf.WriteString(", ")
		case i > 0 && t.Subj == ts[i-1].Subj:
			buf.WriteString(" ;\n    ")
			writePredicate(buf, t.Pred)
			buf.WriteByte(' ')
		default:
			if i > 0 {
				buf.WriteString(" .\n")
			}
			writeTerm(buf, t.Subj)
			buf.WriteByte(' ')
			writePredicate(buf, t.Pred)
			buf.WriteByte(' ')
		}
		writeTerm(buf, t.Obj)
	}
	if len(ts) > 0 {
		buf.WriteString(" .\n")
	}
	return nil
}

const xsdStringIRI = nsXSD + "string"

// prefixHeader declares the vocabulary prefixes, in a stable order.
var prefixHeader = func() string {
	nss := make([]string, 0, len(prefixes))
	for ns := range prefixes {
		nss = append(nss, ns)
	}
	sort.Slice(nss, func(i, j int) bool { return prefixes[nss[i]] < prefixes[nss[j]] })
	var b strings.Builder
	for _, ns := range nss {
		b.WriteString("@prefix " + prefixes[ns] + ": <" + ns + "> .\n")
	}
	b.WriteByte('\n')
	return b.String()
}()

func writePredicate(buf *bytes.Buffer, p rdf.Predicate) {
	if i, ok := p.(rdf.IRI); ok && i == rdfType {
		buf.WriteByte('a')
		return
	}
	writeTerm(buf, p)
}

func writeTerm(buf *bytes.Buffer, t rdf.Term) {
	switch x := t.(type) {
	case rdf.IRI:
		writeIRI(buf, x.String())
	case rdf.Blank:
		buf.WriteString(x.Serialize(rdf.Turtle)) // "_:label"
	case rdf.Literal:
		writeString(buf, x.String())
		switch {
		case x.Lang() != "":
			buf.WriteByte('@')
			buf.WriteString(x.Lang())
		case x.DataType.String() != xsdStringIRI && x.DataType.String() != "":
			buf.WriteString("^^")
			writeIRI(buf, x.DataType.String())
		}
	default:
		buf.WriteString(t.Serialize(rdf.Turtle))
	}
}

// writeIRI writes an IRI as a prefixed name when it is in a declared
// namespace with a plain local name, else in full. IRIs of the renderer
// passed PublishableIRI or are vocabulary terms: they hold nothing a Turtle
// IRI reference may not.
func writeIRI(buf *bytes.Buffer, iri string) {
	if k := strings.LastIndexAny(iri, "#/"); k >= 0 {
		if p, ok := prefixes[iri[:k+1]]; ok && plainLocal(iri[k+1:]) {
			buf.WriteString(p)
			buf.WriteByte(':')
			buf.WriteString(iri[k+1:])
			return
		}
	}
	buf.WriteByte('<')
	buf.WriteString(iri)
	buf.WriteByte('>')
}

// writeString writes a Turtle string literal, escaping what Turtle's
// STRING_LITERAL_QUOTE may not hold.
func writeString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		default:
			continue
		}
		buf.WriteString(s[last:i])
		buf.WriteString(esc)
		last = i + 1
	}
	buf.WriteString(s[last:])
	buf.WriteByte('"')
}
