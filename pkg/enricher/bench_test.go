package enricher_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// BenchmarkEnrich measures Enrich (PaNET matching of subjects, title and
// description, and the quality score) over the demo corpus normalised,
// and reports datasets per second (per core with -cpu 1).
func BenchmarkEnrich(b *testing.B) {
	ont, err := panet.Load(context.Background(), testenv.PaNET(b))
	if err != nil {
		b.Fatal(err)
	}
	st := enricher.NewWithOntology(enricher.Config{}, nil, ont, slog.New(slog.DiscardHandler))
	c := samplefeed.NewCorpus(1, 400)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ds []*fairwayv1.Dataset
	for i := range c.Size {
		r := c.Record(i)
		if r.Deleted {
			continue
		}
		d, err := normaliser.Normalise(&fairwayv1.RawRecord{
			FeedId: "demo", Facility: r.Facility.Acronym, SourceKind: "oai-pmh", SourceIdentifier: r.Identifier,
			MetadataFormat: "oai_datacite", Payload: r.OAIDataCiteXML(),
		}, at)
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, d)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if e := st.Enrich(ds[i%len(ds)]); e == nil {
			b.Fatal("no enriched dataset")
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
}
