package rdfenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/piprate/json-gold/ld"
)

// ErrRemoteContext is what the JSON-LD processor's document loader answers
// every request with: the encoder's context is inline, and nothing is ever
// fetched.
var ErrRemoteContext = errors.New("rdfenc: JSON-LD documents are never fetched")

// noLoader is a json-gold document loader that refuses every URL.
type noLoader struct{}

// LoadDocument refuses to load u.
func (noLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	return nil, fmt.Errorf("%w: %q", ErrRemoteContext, truncate(u, 128))
}

// jsonldWriter writes JSON-LD: {"@context":{prefix: namespace …},
// "@graph":[ node objects … ]}. Each group is turned into node objects by
// github.com/piprate/json-gold (FromRDF, then compaction with the inline
// context, parsed once per document), and its nodes are appended to the
// one @graph array, so the document streams. Literals keep their lexical
// form, with "@type" for a datatype and "@language" for a language tag
// (no native JSON numbers or booleans), so that they survive a round trip.
// A group holding an IRI that would read as a compact IRI (its scheme is a
// prefix of the context, as in "dct:x") is written in expanded form with
// "@context": null on each of its nodes.
type jsonldWriter struct {
	ns      *nsTable
	opts    *ld.JsonLdOptions
	api     *ld.JsonLdApi
	ctx     *ld.Context
	written int // node objects written so far
}

func (x *jsonldWriter) header(w *bytes.Buffer) error {
	context := make(map[string]any, len(x.ns.entries))
	for _, e := range x.ns.entries {
		if x.ns.byNS[e.ns] == e.prefix { // one term per namespace
			context[e.prefix] = e.ns
		}
	}
	x.opts = ld.NewJsonLdOptions("")
	x.opts.DocumentLoader = noLoader{}
	x.opts.ProcessingMode = ld.JsonLd_1_1
	x.opts.UseNativeTypes = false
	x.opts.UseRdfType = false
	x.api = ld.NewJsonLdApi()
	ctx, err := ld.NewContext(nil, x.opts).Parse(context)
	if err != nil {
		return fmt.Errorf("JSON-LD context: %w", err)
	}
	x.ctx = ctx
	w.WriteString(`{"@context":`)
	if err := writeJSON(w, context); err != nil {
		return err
	}
	w.WriteString(",\n\"@graph\":[")
	return nil
}

func (x *jsonldWriter) footer(w *bytes.Buffer) {
	if x.written > 0 {
		w.WriteByte('\n')
	}
	w.WriteString("]}\n")
}

func (x *jsonldWriter) group(w *bytes.Buffer, ts []triple) error {
	ds := ld.NewRDFDataset()
	quads := make([]*ld.Quad, len(ts))
	for i, t := range ts {
		quads[i] = ld.NewQuad(ldNode(t.s), ldNode(t.p), ldNode(t.o), "@default")
	}
	ds.Graphs["@default"] = quads
	expanded, err := x.api.FromRDF(ds, x.opts)
	if err != nil {
		return fmt.Errorf("JSON-LD from RDF: %w", err)
	}
	var nodes []any
	compacted, err := x.api.Compact(x.ctx, "", expanded, true)
	var lderr *ld.JsonLdError
	switch {
	case errors.As(err, &lderr) && lderr.Code == ld.IRIConfusedWithPrefix:
		// An IRI whose scheme is one of the context's prefixes ("dct:x")
		// would be read back as a compact IRI: such a group's nodes are
		// written expanded, under a null local context.
		for _, n := range expanded {
			if m, ok := n.(map[string]any); ok {
				m["@context"] = nil
			}
			nodes = append(nodes, n)
		}
	case err != nil:
		return fmt.Errorf("JSON-LD compaction: %w", err)
	default:
		switch c := compacted.(type) {
		case []any:
			nodes = c
		case map[string]any:
			nodes = []any{c}
		default:
			return fmt.Errorf("JSON-LD compaction gave %T", compacted)
		}
	}
	for _, n := range nodes {
		if x.written > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
		if err := writeJSON(w, n); err != nil {
			return err
		}
		x.written++
	}
	return nil
}

// ldNode turns a checked term into json-gold's.
func ldNode(t term) ld.Node {
	switch t.kind {
	case kindBlank:
		return ld.NewBlankNode("_:" + t.value)
	case kindLiteral:
		switch {
		case t.lang != "":
			return ld.NewLiteral(t.value, rdfLangString, t.lang)
		case t.datatype != "":
			return ld.NewLiteral(t.value, t.datatype, "")
		}
		return ld.NewLiteral(t.value, xsdString, "")
	}
	return ld.NewIRI(t.value)
}

// writeJSON writes v as compact JSON without HTML escaping.
func writeJSON(w *bytes.Buffer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("JSON: %w", err)
	}
	// Encode ends the value with a newline; the document's layout is ours.
	if b := w.Bytes(); len(b) > 0 && b[len(b)-1] == '\n' {
		w.Truncate(len(b) - 1)
	}
	return nil
}
