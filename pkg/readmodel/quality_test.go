package readmodel_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// scored returns the entry of d with a quality score, the score of each
// dimension and the checks it fails, as the enricher gives them.
func scored(d ds, score float64, dims map[string]float64, gaps ...string) *fairwayv1.CatalogueEntry {
	e := entry(d)
	e.Dataset.QualityScore = score
	for _, name := range []string{"findability", "accessibility", "interoperability", "reusability", "contextuality"} {
		if s, ok := dims[name]; ok {
			e.Dataset.QualityDimensions = append(e.Dataset.QualityDimensions, &fairwayv1.QualityDimension{Name: name, Score: s})
		}
	}
	for _, g := range gaps {
		e.Dataset.QualityGaps = append(e.Dataset.QualityGaps, &fairwayv1.QualityGap{Check: g, Weight: 0.1})
	}
	return e
}

// distribution returns the ten buckets with the counts given by bucket
// index.
func distribution(counts map[int]uint64) []readmodel.ScoreBucket {
	out := make([]readmodel.ScoreBucket, readmodel.QualityBuckets)
	for i := range out {
		out[i] = readmodel.ScoreBucket{From: float64(i) / 10, To: float64(i+1) / 10, Datasets: counts[i]}
	}
	return out
}

// TestQuality: the quality of each facility's live datasets, kept up to
// date by every batch (an update moves a dataset's score, a tombstone
// takes it out), kept across a restart, and one facility's datasets never
// count for another.
func TestQuality(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	fa := map[string]float64{"findability": 1, "accessibility": 0.5}
	seq := publish(t, b,
		scored(ds{key: "esrf/1", facility: "ESRF"}, 0.85, fa, "doi", "licence"),
		scored(ds{key: "esrf/2", facility: "esrf"}, 0.35, map[string]float64{"findability": 0.5, "accessibility": 0}, "doi", "links", "open-access"),
		scored(ds{key: "esrf/3", facility: "ESRF"}, 1, fa),
		scored(ds{key: "ill/1", facility: "ILL"}, 0.05, map[string]float64{"findability": 0}, "title"),
		scored(ds{key: "ill/2", facility: "ILL"}, 0.5, nil, "title", "doi"),
	)
	dir := t.TempDir()
	m := start(t, b, dir, "node")
	caughtUp(t, m.Model, seq)

	esrf := readmodel.FacilityQuality{
		Facility: "esrf", Datasets: 3, MeanScore: 0.7333,
		Distribution: distribution(map[int]uint64{3: 1, 8: 1, 9: 1}),
		Dimensions: []readmodel.DimensionMean{
			{Name: "findability", MeanScore: 0.8333, Datasets: 3},
			{Name: "accessibility", MeanScore: 0.3333, Datasets: 3},
		},
		Gaps: []readmodel.GapCount{{Check: "doi", Datasets: 2}, {Check: "licence", Datasets: 1}, {Check: "links", Datasets: 1}, {Check: "open-access", Datasets: 1}},
	}
	ill := readmodel.FacilityQuality{
		Facility: "ill", Datasets: 2, MeanScore: 0.275,
		Distribution: distribution(map[int]uint64{0: 1, 5: 1}),
		Dimensions:   []readmodel.DimensionMean{{Name: "findability", MeanScore: 0, Datasets: 1}},
		Gaps:         []readmodel.GapCount{{Check: "title", Datasets: 2}, {Check: "doi", Datasets: 1}},
	}
	check := func(m *readmodel.Model, want ...readmodel.FacilityQuality) {
		t.Helper()
		got, err := m.Quality(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Quality:\n got %+v\nwant %+v", got, want)
		}
		for _, w := range want {
			one, err := m.FacilityQuality(ctx, " "+w.Facility+" ")
			if err != nil || !reflect.DeepEqual(one, w) {
				t.Fatalf("FacilityQuality(%s) = %+v, %v; want %+v", w.Facility, one, err, w)
			}
		}
	}
	check(m.Model, esrf, ill)
	if _, err := m.FacilityQuality(ctx, "PSI"); !errors.Is(err, readmodel.ErrNotFound) {
		t.Fatalf("FacilityQuality(PSI): %v, want ErrNotFound", err)
	}
	if one, err := m.FacilityQuality(ctx, "ESRF"); err != nil || one.Facility != "esrf" {
		t.Fatalf("FacilityQuality(ESRF) = %+v, %v", one, err)
	}

	// ILL's second dataset improves, its first is deleted: ESRF's figures
	// stay as they were.
	seq = publish(t, b,
		scored(ds{key: "ill/2", facility: "ILL"}, 0.95, map[string]float64{"findability": 1}),
		entry(ds{key: "ill/1", facility: "ILL", deleted: true}),
	)
	caughtUp(t, m.Model, seq)
	ill = readmodel.FacilityQuality{
		Facility: "ill", Datasets: 1, MeanScore: 0.95,
		Distribution: distribution(map[int]uint64{9: 1}),
		Dimensions:   []readmodel.DimensionMean{{Name: "findability", MeanScore: 1, Datasets: 1}},
		Gaps:         []readmodel.GapCount{},
	}
	check(m.Model, esrf, ill)

	// Every ILL dataset gone: ILL is no longer listed.
	seq = publish(t, b, entry(ds{key: "ill/2", facility: "ILL", deleted: true}))
	caughtUp(t, m.Model, seq)
	check(m.Model, esrf)

	// The counts are kept with the records: a restart reads the same.
	m.stop()
	m2 := start(t, b, dir, "node")
	caughtUp(t, m2.Model, seq)
	check(m2.Model, esrf)
}

// TestQualityBounds: a hostile entry's gaps and dimensions are bounded and
// its score clamped; it cannot reach another facility's figures.
func TestQualityBounds(t *testing.T) {
	b := testenv.Bus(t)
	ctx := context.Background()
	e := scored(ds{key: "x/1", facility: "X"}, 7, nil)
	for i := range 5000 {
		e.Dataset.QualityGaps = append(e.Dataset.QualityGaps, &fairwayv1.QualityGap{Check: string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))})
	}
	long := make([]byte, 10000)
	for i := range long {
		long[i] = 'z'
	}
	e.Dataset.QualityGaps = append([]*fairwayv1.QualityGap{{Check: string(long)}}, e.Dataset.QualityGaps...)
	e.Dataset.QualityDimensions = []*fairwayv1.QualityDimension{{Name: "findability", Score: -3}, {Name: "findability", Score: 1}}
	seq := publish(t, b, e, scored(ds{key: "y/1", facility: "Y"}, 0.5, nil, "doi"))
	m := start(t, b, t.TempDir(), "node")
	caughtUp(t, m.Model, seq)
	x, err := m.FacilityQuality(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if x.MeanScore != 1 || x.Distribution[9].Datasets != 1 || len(x.Gaps) != 64 || len(x.Dimensions) != 1 || x.Dimensions[0].MeanScore != 0 {
		t.Fatalf("hostile facility: mean %v, last bucket %d, %d gaps, dimensions %+v", x.MeanScore, x.Distribution[9].Datasets, len(x.Gaps), x.Dimensions)
	}
	y, err := m.FacilityQuality(ctx, "y")
	if err != nil || y.Datasets != 1 || y.MeanScore != 0.5 || !reflect.DeepEqual(y.Gaps, []readmodel.GapCount{{Check: "doi", Datasets: 1}}) {
		t.Fatalf("other facility: %+v, %v", y, err)
	}
}
