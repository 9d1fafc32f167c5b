package rdfenc_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/rdfenc"
	"github.com/panosc/fairway/proto/fairwayv1"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// goldenSamples are the real feed samples of ../shared/data whose
// catalogue documents are kept as golden files, one per sample file.
var goldenSamples = []struct {
	name, facility, format string
	path                   []string
}{
	{"viringo-datacite", "DataCite", "datacite", []string{"oai-samples", "datacite-viringo", "oai_getrecord_datacite.xml"}},
	{"viringo-oai-datacite", "DataCite", "oai_datacite", []string{"oai-samples", "datacite-viringo", "oai_getrecord_oaidatacite.xml"}},
	{"viringo-dc", "DataCite", "oai_dc", []string{"oai-samples", "datacite-viringo", "oai_listrecords_dc.xml"}},
	{"sickle-utf8", "ESRF", "oai_dc", []string{"oai-samples", "sickle", "GetRecord_utf8test.xml"}},
	{"scicat-published", "SciCat Live", "scicat", []string{"scicat-samples", "scicatlive-seed", "PublishedData.json"}},
}

// goldenDocument renders one sample file's records as the node serves a
// facility's catalogue: the facility's catalogue, then each dataset with
// its record and membership.
func goldenDocument(t *testing.T, facility, format string, path []string) [][]rdf.Triple {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	opts := dcat.Options{BaseURL: "https://node.example", Now: func() time.Time { return now }}
	var payloads [][]byte
	if format == "scicat" {
		for _, doc := range testenv.SciCatSeed(t, path[len(path)-1]) {
			payloads = append(payloads, doc)
		}
	} else {
		payloads = testenv.MetadataPayloads(t, path...)
	}
	head, err := dcat.FacilityCatalogueTriples(facility, opts)
	if err != nil {
		t.Fatal(err)
	}
	groups := [][]rdf.Triple{head}
	for k, p := range payloads {
		d, err := normaliser.Normalise(&fairwayv1.RawRecord{
			FeedId: "feed", Facility: facility, SourceKind: "oai-pmh", SourceIdentifier: fmt.Sprintf("oai:sample:%d", k),
			MetadataFormat: format, Payload: p,
			Provenance: &fairwayv1.Provenance{FeedId: "feed"},
		}, now)
		if err != nil {
			t.Fatalf("record %d: %v", k, err)
		}
		e := &fairwayv1.EnrichedDataset{Dataset: d}
		ts, err := dcat.DatasetTriples(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dcat.MembershipTriples(d, opts)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, append(ts, m...))
	}
	return groups
}

// TestGolden renders the real samples' catalogue documents in every
// serialisation and compares them with testdata/golden (go test -update
// rewrites them); each golden file is read back by the third-party parser
// of its format and gives exactly the triples rendered.
func TestGolden(t *testing.T) {
	for _, s := range goldenSamples {
		groups := goldenDocument(t, s.facility, s.format, s.path)
		for _, f := range rdfenc.Formats {
			t.Run(s.name+"."+f.Extension(), func(t *testing.T) {
				var buf bytes.Buffer
				enc := rdfenc.NewEncoder(&buf, f, dcat.Namespaces())
				for _, g := range groups {
					if err := enc.Encode(g); err != nil {
						t.Fatal(err)
					}
				}
				if err := enc.Close(); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join("testdata", "golden", s.name+"."+f.Extension())
				if *update {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				golden, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (go test ./pkg/rdfenc -run TestGolden -update writes it)", err)
				}
				if !bytes.Equal(golden, buf.Bytes()) {
					t.Errorf("%s differs from the rendering (after an intended change of the output: go test ./pkg/rdfenc -run TestGolden -update):\n%.2000s", file, firstDifference(string(golden), buf.String()))
				}
				if d := rdfenc.Diff(rdfenc.Canonical(t, f, groups...), rdfenc.ReadBackCanonical(t, f, golden)); d != "" {
					t.Errorf("%s read back differs:\n%.3000s", file, d)
				}
			})
		}
	}
}

// firstDifference returns the lines around where two documents part.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, w[i], g[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(w), len(g))
}
