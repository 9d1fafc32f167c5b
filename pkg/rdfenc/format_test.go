package rdfenc

import (
	"errors"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	const bad = Format(0)
	cases := []struct {
		name, accept, override string
		want                   Format // bad: ErrNotAcceptable
	}{
		{"no header", "", "", Turtle},
		{"blank header", "  ", "", Turtle},
		{"any", "*/*", "", Turtle},
		{"turtle", "text/turtle", "", Turtle},
		{"x-turtle", "application/x-turtle", "", Turtle},
		{"ntriples", "application/n-triples", "", NTriples},
		{"text/plain is N-Triples", "text/plain", "", NTriples},
		{"rdfxml", "application/rdf+xml", "", RDFXML},
		{"application/xml", "application/xml", "", RDFXML},
		{"text/xml", "text/xml", "", RDFXML},
		{"jsonld", "application/ld+json", "", JSONLD},
		{"json", "application/json", "", JSONLD},
		{"case-insensitive", "Application/LD+JSON", "", JSONLD},
		{"parameters", `application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"; charset=utf-8`, "", JSONLD},
		{"spaces", " text/turtle ; q=0.5 , application/rdf+xml ; q=0.9 ", "", RDFXML},
		{"q-values", "text/turtle;q=0.5, application/ld+json;q=0.8, application/rdf+xml;q=0.1", "", JSONLD},
		{"q=1 and q=1.000", "application/n-triples;q=1.000, text/turtle;q=0.999", "", NTriples},
		{"Q upper case", "text/turtle;Q=0.1, application/n-triples", "", NTriples},
		{"tie prefers Turtle", "application/n-triples, text/turtle", "", Turtle},
		{"tie prefers JSON-LD over RDF/XML", "application/rdf+xml, application/ld+json", "", JSONLD},
		{"text/* prefers Turtle", "text/*", "", Turtle},
		{"application/* prefers JSON-LD", "application/*", "", JSONLD},
		{"wildcard after refusal", "text/turtle;q=0, */*;q=0.1", "", JSONLD},
		{"specific beats wildcard", "*/*;q=0.9, application/ld+json;q=0.1, text/turtle;q=0.1, application/rdf+xml;q=0.1, application/n-triples;q=0.1, text/plain;q=0, application/json;q=0, application/xml;q=0, text/xml;q=0, application/x-turtle;q=0", "", Turtle},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", RDFXML},
		{"html only", "text/html", "", bad},
		{"all refused", "*/*;q=0", "", bad},
		{"image wildcard", "image/*", "", bad},
		{"malformed q ignored", "text/turtle;q=2, application/ld+json;q=abc, application/n-triples", "", NTriples},
		{"malformed range ignored", "turtle, /json, */json, application/rdf+xml", "", RDFXML},
		{"only malformed", "garbage", "", Turtle},
		{"accept-ext after q", "application/ld+json;q=0.4;foo=bar, text/turtle;q=0.3", "", JSONLD},
		{"override ttl", "application/ld+json", "ttl", Turtle},
		{"override turtle", "", "turtle", Turtle},
		{"override nt", "", "nt", NTriples},
		{"override ntriples", "", "ntriples", NTriples},
		{"override n-triples", "", "N-Triples", NTriples},
		{"override rdf", "", "rdf", RDFXML},
		{"override rdfxml", "", "rdfxml", RDFXML},
		{"override xml", "", "xml", RDFXML},
		{"override jsonld", "text/turtle", "jsonld", JSONLD},
		{"override json-ld", "", "json-ld", JSONLD},
		{"override json", "", "JSON", JSONLD},
		{"override media type", "text/turtle", "application/ld+json", JSONLD},
		{"override media range", "", "text/*", Turtle},
		{"override wins over refusing Accept", "text/html", "nt", NTriples},
		{"bad override", "text/turtle", "html", bad},
		{"bad override media type", "text/turtle", "text/html", bad},
		{"long header", strings.Repeat("text/html, ", 1000) + "text/turtle", "", bad},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Negotiate(c.accept, c.override)
			if c.want == bad {
				if !errors.Is(err, ErrNotAcceptable) {
					t.Fatalf("Negotiate(%.60q, %q) = %v, %v; want ErrNotAcceptable", c.accept, c.override, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Negotiate(%.60q, %q) = %v, %v; want %v", c.accept, c.override, got, err, c.want)
			}
		})
	}
}

func TestFormatNames(t *testing.T) {
	cases := []struct {
		f                Format
		name, media, ext string
	}{
		{Turtle, "turtle", "text/turtle", "ttl"},
		{NTriples, "ntriples", "application/n-triples", "nt"},
		{RDFXML, "rdfxml", "application/rdf+xml", "rdf"},
		{JSONLD, "jsonld", "application/ld+json", "jsonld"},
		{Format(0), "Format(0)", "", ""},
	}
	for _, c := range cases {
		if c.f.String() != c.name || c.f.MediaType() != c.media || c.f.Extension() != c.ext {
			t.Errorf("%d: %q %q %q", int(c.f), c.f.String(), c.f.MediaType(), c.f.Extension())
		}
	}
	for _, f := range Formats {
		// Each format negotiates from its own name and media type.
		for _, v := range []string{f.String(), f.MediaType()} {
			if got, err := Negotiate("", v); err != nil || got != f {
				t.Errorf("override %q: %v, %v", v, got, err)
			}
			if got, err := Negotiate(v, ""); strings.Contains(v, "/") && (err != nil || got != f) {
				t.Errorf("Accept %q: %v, %v", v, got, err)
			}
		}
	}
}
