package normaliser_test

import (
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/scicatjson"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// BenchmarkNormalise measures Normalise per format over the reference
// samples of that format, in turn, and reports datasets per second (per core
// with -cpu 1: Normalise runs on one goroutine).
func BenchmarkNormalise(b *testing.B) {
	oai := func(format string, rel ...string) []*fairwayv1.RawRecord {
		var out []*fairwayv1.RawRecord
		for _, p := range testenv.MetadataPayloads(b, append([]string{"oai-samples"}, rel...)...) {
			out = append(out, rawRecord(format, "oai:x:1", p))
		}
		return out
	}
	scicat := func(name string) []*fairwayv1.RawRecord {
		var out []*fairwayv1.RawRecord
		for _, doc := range testenv.SciCatSeed(b, name) {
			out = append(out, scicatRecord(b, doc))
		}
		return out
	}
	for _, bm := range []struct {
		name string
		raws []*fairwayv1.RawRecord
	}{
		{"oai_datacite", oai("oai_datacite", "datacite-viringo", "oai_getrecord_oaidatacite.xml")},
		{"datacite", oai("datacite", "datacite-viringo", "oai_getrecord_datacite.xml")},
		{"oai_dc", oai("oai_dc", "sickle", "ListRecords.xml")},
		{"scicat_dataset", scicat("Dataset.json")},
		{"scicat_published", scicat("PublishedData.json")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			var size int
			for _, r := range bm.raws {
				size += len(r.Payload)
			}
			b.SetBytes(int64(size / len(bm.raws)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := normaliser.Normalise(bm.raws[i%len(bm.raws)], normaliseAt); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
		})
	}
}

// scicatRecord is a SciCat document as the harvester hands it on: its
// source identifier is the document's pid (or _id).
func scicatRecord(tb testing.TB, doc []byte) *fairwayv1.RawRecord {
	tb.Helper()
	ds, err := scicatjson.Parse(doc)
	if err != nil {
		tb.Fatal(err)
	}
	r := rawRecord("scicat", ds.SourceID(), doc)
	r.FeedId, r.SourceKind = "scicat", "scicat"
	return r
}
