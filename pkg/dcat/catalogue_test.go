package dcat

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/panosc/fairway/proto/fairwayv1"
)

func TestCatalogueHeader(t *testing.T) {
	opts := testOptions()
	opts.PublisherIRI = "https://ror.org/02550n020"
	opts.CatalogueTitle = "Test catalogue"
	out, err := CatalogueHeader(opts)
	if err != nil {
		t.Fatal(err)
	}
	g := decode(t, out)
	cat := "<http://127.0.0.1:8080/catalogue>"
	for _, w := range [][3]string{
		{cat, rdfTyp, dcatT("Catalog")},
		{cat, dct("title"), lit("Test catalogue")},
		{cat, dct("description"), lit(DefaultCatalogueDescription)},
		{cat, dct("publisher"), "<https://ror.org/02550n020>"},
		{"<https://ror.org/02550n020>", foaf("name"), lit(DefaultPublisherName)},
		{cat, foaf("homepage"), "<http://127.0.0.1:8080>"},
		{cat, dct("license"), iri(DefaultCatalogueLicense)},
		{cat, dct("language"), iri(LanguageAuthority + "/ENG")},
		{cat, dcatT("themeTaxonomy"), iri(PaNETScheme)},
		{cat, dcatT("themeTaxonomy"), iri(DataThemeAuthority)},
	} {
		if !g.has(w[0], w[1], w[2]) {
			t.Errorf("missing %v", w)
		}
	}
	if _, err := CatalogueHeader(Options{BaseURL: "nope"}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("bad options: %v", err)
	}
}

func TestCatalogueWriter(t *testing.T) {
	opts := testOptions()
	opts.BaseURL = "https://node.example.org/"
	var buf bytes.Buffer
	w, err := NewCatalogueWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	withDOI := fullDataset()
	withoutDOI := edit(func(e *fairwayv1.EnrichedDataset) { e.Dataset.Doi, e.Dataset.Key = "", oddKey })
	other := edit(func(e *fairwayv1.EnrichedDataset) {
		e.Dataset.Doi, e.Dataset.Key, e.Dataset.Publisher = "10.5072/other", "doi:10.5072/other", "Another publisher"
	})
	for _, e := range []*fairwayv1.EnrichedDataset{withDOI, withoutDOI} {
		if err := w.WriteDataset(e, ""); err != nil {
			t.Fatal(err)
		}
	}
	// A tombstone is refused and the writer goes on.
	if err := w.WriteDataset(&fairwayv1.EnrichedDataset{Dataset: &fairwayv1.Dataset{Key: "k", Deleted: true}}, ""); !errors.Is(err, ErrDeleted) {
		t.Fatalf("tombstone: %v", err)
	}
	if err := w.WriteDataset(nil, "<http://x/a> <http://x/b> <http://x/c> ."); !errors.Is(err, ErrNoDataset) {
		t.Fatalf("Turtle without a dataset: %v", err)
	}
	// A catalogue entry's stored Turtle.
	ttl, err := DatasetTurtle(other, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDataset(other, strings.TrimSuffix(ttl, "\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTurtle("not an IRI", ttl); err == nil {
		t.Fatal("WriteTurtle accepted a bad IRI")
	}
	if w.Count() != 3 {
		t.Errorf("Count = %d, want 3", w.Count())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDataset(withDOI, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	out := buf.String()
	if strings.Count(out, "@prefix dcat:") < 4 {
		t.Errorf("expected repeated prefix declarations")
	}
	g := decode(t, out)
	cat := "<https://node.example.org/catalogue>"
	if got := g.subjectsOfType(dcatT("Catalog")); len(got) != 1 || got[0] != cat {
		t.Fatalf("catalogues = %v", got)
	}
	wantDatasets := []string{
		"<https://doi.org/10.5072/other>",
		"<https://doi.org/10.5281/zenodo.1234(5)>",
		"<https://node.example.org/datasets/src:esrf:oai:esrf.fr:123%3Fx=%281%29&y.>",
	}
	if got := g.subjectsOfType(dcatT("Dataset")); strings.Join(got, " ") != strings.Join(wantDatasets, " ") {
		t.Errorf("datasets = %v, want %v", got, wantDatasets)
	}
	for _, d := range wantDatasets {
		if !g.has(cat, dcatT("dataset"), d) {
			t.Errorf("catalogue does not link %s", d)
		}
	}
	if n := len(g.objects(cat, dcatT("dataset"))); n != 3 {
		t.Errorf("%d dcat:dataset links, want 3", n)
	}
	// Blank nodes of different datasets stay different nodes.
	pubs := map[string]bool{}
	for _, d := range wantDatasets {
		for _, p := range g.objects(d, dct("publisher")) {
			pubs[p] = true
			if n := len(g.objects(p, foaf("name"))); n != 1 {
				t.Errorf("publisher %s of %s has %d names", p, d, n)
			}
		}
	}
	if len(pubs) != 3 {
		t.Errorf("%d distinct publisher nodes, want 3", len(pubs))
	}
	if !g.has(g.one(t, "<https://doi.org/10.5072/other>", dct("publisher")), foaf("name"), lit("Another publisher")) {
		t.Error("publisher of the stored entry lost")
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestCatalogueWriterErrors(t *testing.T) {
	if _, err := NewCatalogueWriter(nil, Options{}); err == nil {
		t.Error("nil writer accepted")
	}
	if _, err := NewCatalogueWriter(&bytes.Buffer{}, Options{DataTheme: "nope"}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("bad options: %v", err)
	}
	if _, err := NewCatalogueWriter(&failingWriter{}, Options{}); err == nil {
		t.Error("header write error not reported")
	}
	w, err := NewCatalogueWriter(&failingWriter{after: 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDataset(fullDataset(), ""); err == nil {
		t.Fatal("write error not reported")
	}
	// The writer stays failed, and Close reports it.
	if err := w.WriteDataset(fullDataset(), ""); err == nil || w.Count() != 0 {
		t.Fatalf("second write = %v, count %d", err, w.Count())
	}
	if err := w.Close(); err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("Close = %v, want the write error", err)
	}
}
