package rdfenc

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/knakk/rdf"
)

// datasetGroup returns a group shaped like one rendered dataset: about 40
// triples, an IRI subject, blank nodes for agents and a distribution,
// language-tagged and typed literals.
func datasetGroup(tb testing.TB, i int) []rdf.Triple {
	tb.Helper()
	mk := func(s string) rdf.IRI {
		v, err := rdf.NewIRI(s)
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	const (
		dcat = "http://www.w3.org/ns/dcat#"
		dct  = "http://purl.org/dc/terms/"
		foaf = "http://xmlns.com/foaf/0.1/"
		xsd  = "http://www.w3.org/2001/XMLSchema#"
	)
	ds := mk(fmt.Sprintf("https://doi.org/10.5072/esrf.%d", i))
	rec := mk(fmt.Sprintf("https://node.example/datasets/k%d#record", i))
	typ := mk(rdfType)
	en := func(s string) rdf.Literal {
		l, err := rdf.NewLangLiteral(s, "en")
		if err != nil {
			tb.Fatal(err)
		}
		return l
	}
	b := func(role string, n int) rdf.Blank {
		v, err := rdf.NewBlank(fmt.Sprintf("n%x%s%d", i, role, n))
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	ts := []rdf.Triple{
		{Subj: ds, Pred: typ, Obj: mk(dcat + "Dataset")},
		{Subj: ds, Pred: mk(dct + "title"), Obj: en(fmt.Sprintf("Diffraction study of sample %d at beamline ID%02d", i, i%32))},
		{Subj: ds, Pred: mk(dct + "description"), Obj: en(strings.Repeat("In-situ X-ray diffraction of \"battery\" cathodes under cycling; ", 8))},
		{Subj: ds, Pred: mk(dct + "identifier"), Obj: rdf.NewTypedLiteral(fmt.Sprintf("10.5072/esrf.%d", i), rdf.IRI{})},
		{Subj: ds, Pred: mk(dct + "issued"), Obj: rdf.NewTypedLiteral("2024-03-01", mk(xsd+"date"))},
		{Subj: ds, Pred: mk(dct + "modified"), Obj: rdf.NewTypedLiteral("2024-03-02T10:11:12Z", mk(xsd+"dateTime"))},
		{Subj: ds, Pred: mk(dct + "accessRights"), Obj: mk("http://publications.europa.eu/resource/authority/access-right/PUBLIC")},
		{Subj: ds, Pred: mk(dct + "license"), Obj: mk("https://creativecommons.org/licenses/by/4.0/")},
		{Subj: ds, Pred: mk(dcat + "landingPage"), Obj: mk(fmt.Sprintf("https://data.esrf.fr/doi/10.5072/esrf.%d?lang=en&view=(full)", i))},
		{Subj: ds, Pred: mk(dct + "publisher"), Obj: mk("https://ror.org/02550n020")},
	}
	for _, w := range []string{"diffraction", "battery", "in situ", "cathode", "XRD"} {
		ts = append(ts, rdf.Triple{Subj: ds, Pred: mk(dcat + "keyword"), Obj: en(w)})
	}
	for _, th := range []string{"PaNET01188", "PaNET01012", "PaNET00001"} {
		ts = append(ts, rdf.Triple{Subj: ds, Pred: mk(dcat + "theme"), Obj: mk("http://purl.org/pan-science/PaNET/" + th)})
	}
	for n := 1; n <= 3; n++ {
		c := b("creator", n)
		ts = append(ts,
			rdf.Triple{Subj: ds, Pred: mk(dct + "creator"), Obj: c},
			rdf.Triple{Subj: c, Pred: typ, Obj: mk(foaf + "Person")},
			rdf.Triple{Subj: c, Pred: mk(foaf + "name"), Obj: rdf.NewTypedLiteral(fmt.Sprintf("Müller, Anna %d", n), rdf.IRI{})},
		)
	}
	d := b("distribution", 1)
	ts = append(ts,
		rdf.Triple{Subj: ds, Pred: mk(dcat + "distribution"), Obj: d},
		rdf.Triple{Subj: d, Pred: typ, Obj: mk(dcat + "Distribution")},
		rdf.Triple{Subj: d, Pred: mk(dcat + "accessURL"), Obj: mk(fmt.Sprintf("https://data.esrf.fr/files/%d", i))},
		rdf.Triple{Subj: d, Pred: mk(dcat + "byteSize"), Obj: rdf.NewTypedLiteral("123456789", mk(xsd+"nonNegativeInteger"))},
		rdf.Triple{Subj: d, Pred: mk(dcat + "mediaType"), Obj: mk("http://www.iana.org/assignments/media-types/application/x-hdf5")},
		rdf.Triple{Subj: d, Pred: mk(dct + "format"), Obj: mk("http://publications.europa.eu/resource/authority/file-type/HDF")},
		rdf.Triple{Subj: rec, Pred: typ, Obj: mk(dcat + "CatalogRecord")},
		rdf.Triple{Subj: rec, Pred: mk(foaf + "primaryTopic"), Obj: ds},
		rdf.Triple{Subj: rec, Pred: mk(dct + "modified"), Obj: rdf.NewTypedLiteral("2024-03-02T10:11:12Z", mk(xsd+"dateTime"))},
		rdf.Triple{Subj: rec, Pred: mk(dct + "conformsTo"), Obj: mk("https://semiceu.github.io/DCAT-AP/releases/3.0.1")},
	)
	return ts
}

// TestEncodeBoundedMemory encodes many groups into io.Discard and checks
// that the live heap does not grow with the document: the encoder keeps
// nothing of a group once it is written.
func TestEncodeBoundedMemory(t *testing.T) {
	groups := map[Format]int{Turtle: 30_000, NTriples: 30_000, RDFXML: 30_000, JSONLD: 8_000}
	if testing.Short() {
		for f := range groups {
			groups[f] /= 10
		}
	}
	const bound = 16 << 20 // far above the encoder's buffers, far below the document
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := make([][]rdf.Triple, 64) // groups are reused: the test holds a fixed set
	for i := range base {
		base[i] = datasetGroup(t, i)
	}
	for _, f := range Formats {
		t.Run(f.String(), func(t *testing.T) {
			n := groups[f]
			cw := &countingWriter{}
			enc := NewEncoder(cw, f, testNamespaces)
			if err := enc.Encode(base[0]); err != nil {
				t.Fatal(err)
			}
			start := heap()
			var peak uint64
			for i := 1; i < n; i++ {
				if err := enc.Encode(base[i%len(base)]); err != nil {
					t.Fatal(err)
				}
				if i%(n/5) == 0 {
					peak = max(peak, heap())
				}
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			if peak > start+bound {
				t.Errorf("heap grew from %d to %d bytes over a %d-byte document of %d groups", start, peak, cw.n, n)
			}
			if cw.n < bound && !testing.Short() {
				t.Errorf("document of %d bytes is too small to show anything", cw.n)
			}
		})
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkEncode encodes dataset-sized groups (about 40 triples) into
// io.Discard and reports groups (datasets) per second.
func BenchmarkEncode(b *testing.B) {
	base := make([][]rdf.Triple, 256)
	for i := range base {
		base[i] = datasetGroup(b, i)
	}
	b.Logf("%d triples per group", len(base[0]))
	for _, f := range Formats {
		b.Run(f.String(), func(b *testing.B) {
			enc := NewEncoder(io.Discard, f, testNamespaces)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := enc.Encode(base[i%len(base)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if err := enc.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "groups/s")
		})
	}
}
