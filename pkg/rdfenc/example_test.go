package rdfenc_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/rdfenc"
)

// An HTTP handler negotiates the format (406 for what is not offered),
// labels the answer with the format's media type and streams one group of
// triples per dataset.
func Example() {
	s, _ := rdf.NewIRI("https://node.example/datasets/k1")
	p, _ := rdf.NewIRI("http://purl.org/dc/terms/title")
	title, _ := rdf.NewLangLiteral(`A "quoted" title`, "en")
	datasets := [][]rdf.Triple{{{Subj: s, Pred: p, Obj: title}}}
	namespaces := map[string]string{"dct": "http://purl.org/dc/terms/"}

	handler := func(w http.ResponseWriter, r *http.Request) {
		f, err := rdfenc.Negotiate(r.Header.Get("Accept"), r.URL.Query().Get("format"))
		if errors.Is(err, rdfenc.ErrNotAcceptable) {
			http.Error(w, err.Error(), http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", f.MediaType())
		w.Header().Add("Vary", "Accept")
		enc := rdfenc.NewEncoder(w, f, namespaces)
		for _, ts := range datasets {
			if err := enc.Encode(ts); errors.Is(err, rdfenc.ErrInvalidTriple) {
				continue // that dataset is left out (log it); the document stays valid
			} else if err != nil {
				return // the client went away
			}
		}
		_ = enc.Close()
	}

	for _, q := range []string{"?format=nt", "?format=ttl", "?format=html"} {
		rec := httptest.NewRecorder()
		handler(rec, httptest.NewRequest("GET", "/catalogue"+q, nil))
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
		os.Stdout.Write(rec.Body.Bytes())
	}
	// Output:
	// 200 application/n-triples
	// <https://node.example/datasets/k1> <http://purl.org/dc/terms/title> "A \"quoted\" title"@en .
	// 200 text/turtle
	// @prefix dct: <http://purl.org/dc/terms/> .
	//
	// <https://node.example/datasets/k1> dct:title "A \"quoted\" title"@en .
	//
	// 406 text/plain; charset=utf-8
	// rdfenc: no acceptable RDF serialisation: unknown format "html"
}
