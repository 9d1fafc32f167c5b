package rdfenc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/knakk/rdf"
	"github.com/piprate/json-gold/ld"
)

// fuzzGroup builds a group around text the fuzzer picks: as a literal
// (plain, language-tagged, typed), in IRIs (subject, object, predicate,
// datatype) and as a blank node label.
func fuzzGroup(text, tail, tag string) []rdf.Triple {
	s, err := rdf.NewIRI("https://example.org/" + tail)
	if err != nil {
		s, _ = rdf.NewIRI("https://example.org/fallback")
	}
	p := func(l string) rdf.IRI { i, _ := rdf.NewIRI("https://example.org/vocab#" + l); return i }
	g := []rdf.Triple{
		{Subj: s, Pred: p("plain"), Obj: rdf.NewTypedLiteral(text, rdf.IRI{})},
		{Subj: s, Pred: p("typed"), Obj: rdf.NewTypedLiteral(text, s)},
		{Subj: s, Pred: p("self"), Obj: s},
	}
	if l, err := newLangLiteral(text, tag); err == nil {
		g = append(g, rdf.Triple{Subj: s, Pred: p("lang"), Obj: l})
	}
	for _, ns := range []string{"https://example.org/p/", "http://purl.org/dc/terms/", "https://example.org/"} {
		// Under a declared namespace, the tail decides between a prefixed
		// name (QName, compact IRI) and the IRI in full.
		if pi, err := rdf.NewIRI(ns + tail); err == nil {
			g = append(g, rdf.Triple{Subj: s, Pred: pi, Obj: pi})
		}
	}
	if b, err := rdf.NewBlank(tail); err == nil {
		g = append(g, rdf.Triple{Subj: s, Pred: p("node"), Obj: b},
			rdf.Triple{Subj: b, Pred: p("plain"), Obj: rdf.NewTypedLiteral(text, rdf.IRI{})})
	}
	return g
}

// fuzzing reports whether the test binary runs the fuzzer (rather than the
// seed corpus, which is also read back with the third-party parsers).
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

func FuzzEncode(f *testing.F) {
	for _, seed := range [][3]string{
		{"plain", "datasets/a", "en"},
		{"quote \" backslash \\ newline \n cr \r tab \t", "a?b=1&c=(2)", "de-CH"},
		{"ctl \x00\x01\x08\x0b\x0c\x1f\x7f", "trailing.", "x"},
		{"\ufffe\uffff surrogate-free non-characters", "é/日本", "ja"},
		{"]]> <![CDATA[ &amp; &#0; <a/>", "p(1)", "en-GB"},
		{`""" ''' \u0041 \U0001F600 " .`, "#frag", ""},
		{"🎉 astral \U0010FFFF", "x/", "zh-Hant"},
		{strings.Repeat("long ", 2000), "_:b1", "123"},
		{"", "", "-"},
		{"bad utf-8 \xff\xfe", "bad\xffutf8", "en"},
		{"tail of blank label", "n1b-c_d", "en"},
		{"0", "0..0", "`n"},
		{"suffix", "//x", "en"},
		{"suffix", "_x", "en"},
		{"suffix", "title", "en"},
		{"suffix", "a-b_c9", "en"},
		{"dct:x", "1digit", "en"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	thirdParty := !fuzzing()
	f.Fuzz(func(t *testing.T, text, tail, tag string) {
		group := fuzzGroup(text, tail, tag)
		checked, err := checkGroup(group)
		if err != nil {
			if !errors.Is(err, ErrInvalidTriple) {
				t.Fatalf("refusal does not wrap ErrInvalidTriple: %v", err)
			}
			// A refused group writes nothing; the document stays valid.
			for _, f := range Formats {
				var buf bytes.Buffer
				enc := NewEncoder(&buf, f, testNamespaces)
				if err := enc.Encode(group); !errors.Is(err, ErrInvalidTriple) {
					t.Fatalf("%s: Encode = %v, want ErrInvalidTriple", f, err)
				}
				if err := enc.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := decodeGo(f, buf.Bytes()); err != nil {
					t.Fatalf("%s: empty document after a refusal: %v\n%s", f, err, buf.Bytes())
				}
			}
			return
		}
		for _, f := range Formats {
			var buf bytes.Buffer
			enc := NewEncoder(&buf, f, testNamespaces)
			err := enc.Encode(group)
			if f == RDFXML && errors.Is(err, ErrInvalidTriple) {
				continue // a predicate with no XML name
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			want := canonical(expected(checked, f))
			got, err := decodeGo(f, buf.Bytes())
			if err != nil {
				t.Fatalf("%s: %v\n%s", f, err, buf.Bytes())
			}
			if d := diff(want, canonical(got)); d != "" {
				t.Fatalf("%s: read back differs:\n%s\n%s", f, d, buf.Bytes())
			}
			if thirdParty {
				out, err := readBack(t, f, buf.Bytes())
				if err != nil {
					t.Fatalf("%s: %v\n%s", f, err, buf.Bytes())
				}
				got, err := parseNT(out)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(want, canonical(got)); d != "" {
					t.Fatalf("%s: third-party read back differs:\n%s\n%s", f, d, buf.Bytes())
				}
			}
		}
	})
}

// decodeGo reads a document back with Go parsers: the test's strict
// N-Triples reader, knakk/rdf's Turtle decoder (ParseTurtle), encoding/xml for RDF/XML, json-gold's
// JSON-LD to RDF (which never fetches: its loader refuses).
func decodeGo(f Format, doc []byte) ([]triple, error) {
	switch f {
	case NTriples:
		return parseNT(string(doc))
	case Turtle:
		ts, err := ParseTurtle(string(doc))
		if err != nil {
			return nil, err
		}
		return checkGroup(ts)
	case RDFXML:
		return decodeRDFXML(doc)
	case JSONLD:
		opts := ld.NewJsonLdOptions("")
		opts.DocumentLoader = noLoader{}
		opts.Format = "application/n-quads"
		out, err := ld.NewJsonLdProcessor().ToRDF(mustJSON(doc), opts)
		if err != nil {
			return nil, err
		}
		s, _ := out.(string)
		return parseNT(s)
	}
	return nil, fmt.Errorf("format %v", f)
}

// decodeRDFXML reads the RDF/XML the encoder writes (rdf:Description
// elements of property elements) with encoding/xml, which checks that the
// document is well-formed XML with well-formed namespaces.
func decodeRDFXML(doc []byte) ([]triple, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var out []triple
	var subject *term
	var prop *xml.StartElement
	var text strings.Builder
	attr := func(e xml.StartElement, space, local string) (string, bool) {
		for _, a := range e.Attr {
			if a.Name.Space == space && a.Name.Local == local {
				return a.Value, true
			}
		}
		return "", false
	}
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				return nil, errors.New("unexpected end")
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if e.Name.Space != nsRDF || e.Name.Local != "RDF" {
					return nil, fmt.Errorf("root %v", e.Name)
				}
			case 2:
				if e.Name.Space != nsRDF || e.Name.Local != "Description" {
					return nil, fmt.Errorf("node element %v", e.Name)
				}
				if v, ok := attr(e, nsRDF, "about"); ok {
					subject = &term{kind: kindIRI, value: v}
				} else if v, ok := attr(e, nsRDF, "nodeID"); ok {
					subject = &term{kind: kindBlank, value: v}
				} else {
					return nil, errors.New("node element without subject")
				}
			case 3:
				prop = &e
				text.Reset()
			default:
				return nil, errors.New("nested element")
			}
		case xml.CharData:
			if depth == 3 {
				text.Write(e)
			}
		case xml.EndElement:
			if depth == 3 {
				tr := triple{s: *subject, p: term{kind: kindIRI, value: prop.Name.Space + prop.Name.Local}}
				if v, ok := attr(*prop, nsRDF, "resource"); ok {
					tr.o = term{kind: kindIRI, value: v}
				} else if v, ok := attr(*prop, nsRDF, "nodeID"); ok {
					tr.o = term{kind: kindBlank, value: v}
				} else {
					tr.o = term{kind: kindLiteral, value: text.String()}
					tr.o.lang, _ = attr(*prop, nsXMLNamespace, "lang")
					tr.o.datatype, _ = attr(*prop, nsRDF, "datatype")
				}
				out = append(out, tr)
			}
			depth--
		}
	}
}

func mustJSON(doc []byte) any {
	v, err := ld.DocumentFromReader(bytes.NewReader(doc))
	if err != nil {
		return map[string]any{"@id": "invalid JSON: " + err.Error()}
	}
	return v
}

// newLangLiteral is rdf.NewLangLiteral, which panics on an empty tag.
func newLangLiteral(v, tag string) (rdf.Literal, error) {
	if tag == "" {
		return rdf.Literal{}, errors.New("empty language tag")
	}
	return rdf.NewLangLiteral(v, tag)
}
