package rdfenc

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/knakk/rdf"
)

// TestEncodeTurtle copies a stored description whose prefixes the
// document declares, parses one that declares others, and gives the same
// triples either way, in every format.
func TestEncodeTurtle(t *testing.T) {
	ns := map[string]string{"dct": "http://purl.org/dc/terms/", "dcat": "http://www.w3.org/ns/dcat#"}
	const body = "<http://x.test/d> a <http://www.w3.org/ns/dcat#Dataset> ;\n    dct:title \"T\" .\n"
	tests := []struct {
		name string
		doc  string
		copy bool
	}{
		{"same prefixes", "@prefix dct: <http://purl.org/dc/terms/> .\n" + body, true},
		{"a subset", "@prefix dct: <http://purl.org/dc/terms/> .\n\n" + body, true},
		{"another namespace for a prefix", "@prefix dct: <http://example.org/other#> .\n" + body, false},
		{"a prefix the document lacks", "@prefix dct: <http://purl.org/dc/terms/> .\n@prefix ex: <http://example.org/> .\n" + body, false},
		{"a base", "@base <http://x.test/> .\n@prefix dct: <http://purl.org/dc/terms/> .\n" + body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range Formats {
				var buf bytes.Buffer
				enc := NewEncoder(&buf, f, ns)
				if err := enc.EncodeTurtle(tt.doc); err != nil {
					t.Fatal(err)
				}
				if err := enc.Close(); err != nil {
					t.Fatal(err)
				}
				if f == Turtle {
					if copied := strings.Contains(buf.String(), body); copied != tt.copy {
						t.Errorf("copied %v, want %v:\n%s", copied, tt.copy, buf.String())
					}
					ts, err := rdf.NewTripleDecoder(strings.NewReader(buf.String()), rdf.Turtle).DecodeAll()
					if err != nil || len(ts) != 2 {
						t.Errorf("%d triples, %v:\n%s", len(ts), err, buf.String())
					}
				}
			}
		})
	}
	var buf bytes.Buffer
	if err := NewEncoder(&buf, Turtle, ns).EncodeTurtle("@prefix dct: <http://example.org/> .\nnot turtle"); !errors.Is(err, ErrStoredTurtle) {
		t.Errorf("a document that does not parse: %v", err)
	}
}
