package rdfenc_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/rdfenc"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// sampleGroups renders datasets of the demo corpus and of the OAI-PMH
// samples (one with UTF-8 test text) as the node serves them: the node and
// facility catalogues, then each dataset with its record and membership
// as one group.
func sampleGroups(t *testing.T) (groups, datasets [][]rdf.Triple, stored []string) {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	opts := dcat.Options{BaseURL: "https://node.example"}
	var ds []*fairwayv1.Dataset
	add := func(facility, format, id string, payload []byte) {
		d, err := normaliser.Normalise(&fairwayv1.RawRecord{
			FeedId: "feed", Facility: facility, SourceKind: "oai-pmh", SourceIdentifier: id,
			MetadataFormat: format, Payload: payload,
		}, now)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		ds = append(ds, d)
	}
	c := samplefeed.NewCorpus(3, 40)
	for i := range c.Size {
		r := c.Record(i)
		if r.Deleted {
			continue
		}
		if i%2 == 0 {
			add(r.Facility.Acronym, "oai_datacite", r.Identifier, r.OAIDataCiteXML())
		} else {
			add(r.Facility.Acronym, "oai_dc", r.Identifier, r.DublinCoreXML())
		}
	}
	for k, p := range testenv.MetadataPayloads(t, "oai-samples", "sickle", "GetRecord_utf8test.xml") {
		add("ESRF", "oai_dc", fmt.Sprintf("oai:utf8:%d", k), p)
	}
	var facilities []string
	seen := map[string]bool{}
	for _, d := range ds {
		if !seen[d.GetFacility()] {
			seen[d.GetFacility()] = true
			facilities = append(facilities, d.GetFacility())
		}
	}
	cat, err := dcat.CatalogueTriples(opts, facilities)
	if err != nil {
		t.Fatal(err)
	}
	groups = append(groups, cat)
	for _, f := range facilities {
		ts, err := dcat.FacilityCatalogueTriples(f, opts)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, ts)
	}
	for _, d := range ds {
		e := &fairwayv1.EnrichedDataset{Dataset: d}
		ts, err := dcat.DatasetTriples(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dcat.MembershipTriples(d, opts)
		if err != nil {
			t.Fatal(err)
		}
		datasets = append(datasets, ts)
		groups = append(groups, append(append([]rdf.Triple(nil), ts...), m...))
		ttl, err := dcat.DatasetTurtle(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, ttl)
	}
	return groups, datasets, stored
}

// TestDCATDocument writes a catalogue rendered by pkg/dcat in every format
// and reads it back with rapper and jsonld: the same triples.
func TestDCATDocument(t *testing.T) {
	groups, _, _ := sampleGroups(t)
	for _, f := range rdfenc.Formats {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			enc := rdfenc.NewEncoder(&buf, f, dcat.Namespaces())
			for i, g := range groups {
				if err := enc.Encode(g); err != nil {
					t.Fatalf("group %d: %v", i, err)
				}
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			want := rdfenc.Canonical(t, f, groups...)
			if len(want) < 1000 {
				t.Fatalf("only %d triples: the samples did not render", len(want))
			}
			if d := rdfenc.Diff(want, rdfenc.ReadBackCanonical(t, f, buf.Bytes())); d != "" {
				t.Errorf("read back differs:\n%.5000s", d)
			}
		})
	}
}

// TestParseStoredTurtle reads the Turtle a catalogue entry stores
// (dcat.DatasetTurtle) with ParseTurtle: the dataset's triples.
func TestParseStoredTurtle(t *testing.T) {
	_, datasets, stored := sampleGroups(t)
	for i, ttl := range stored {
		ts, err := rdfenc.ParseTurtle(ttl)
		if err != nil {
			t.Fatalf("dataset %d: %v\n%s", i, err, ttl)
		}
		want := rdfenc.Canonical(t, rdfenc.NTriples, datasets[i])
		got := rdfenc.Canonical(t, rdfenc.NTriples, ts)
		if d := rdfenc.Diff(want, got); d != "" {
			t.Errorf("dataset %d differs:\n%s", i, d)
		}
	}
}
