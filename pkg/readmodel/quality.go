package readmodel

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/panosc/fairway/pkg/quality"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// QualityBuckets is the number of score buckets of a facility's
// distribution: [0, 0.1), [0.1, 0.2), … [0.9, 1].
const QualityBuckets = 10

// What a stored record keeps of its quality (a hostile entry must not grow
// the counts): at most maxGaps failed checks and maxDimensions dimensions,
// each name of at most maxQualityName bytes (longer ones are not kept).
const (
	maxGaps        = 64
	maxDimensions  = 16
	maxQualityName = 64
)

// qualitySummary is what a record keeps of the enricher's quality score: the
// score and each dimension's in ten-thousandths, and the names of the
// checks it fails.
type qualitySummary struct {
	score      uint64
	dimensions []dimensionScore
	gaps       []string
}

type dimensionScore struct {
	name  string
	score uint64
}

// tenThousandths returns a score in [0, 1] as an integer in [0, 10000]
// (NaN and out of range values clamped).
func tenThousandths(s float64) uint64 {
	if math.IsNaN(s) || s <= 0 {
		return 0
	}
	if s >= 1 {
		return 10000
	}
	return uint64(math.Round(s * 1e4))
}

// qualityOf reads the quality of an enriched dataset.
func qualityOf(e *fairwayv1.EnrichedDataset) qualitySummary {
	q := qualitySummary{score: tenThousandths(e.GetQualityScore())}
	for _, d := range e.GetQualityDimensions() {
		if n := d.GetName(); n != "" && len(n) <= maxQualityName && len(q.dimensions) < maxDimensions &&
			!slices.ContainsFunc(q.dimensions, func(x dimensionScore) bool { return x.name == n }) {
			q.dimensions = append(q.dimensions, dimensionScore{name: n, score: tenThousandths(d.GetScore())})
		}
	}
	for _, g := range e.GetQualityGaps() {
		if n := g.GetCheck(); n != "" && len(n) <= maxQualityName && len(q.gaps) < maxGaps && !slices.Contains(q.gaps, n) {
			q.gaps = append(q.gaps, n)
		}
	}
	return q
}

func (q *qualitySummary) append(b []byte) []byte {
	b = binary.AppendUvarint(b, q.score)
	b = binary.AppendUvarint(b, uint64(len(q.dimensions)))
	for _, d := range q.dimensions {
		b = appendString(b, d.name)
		b = binary.AppendUvarint(b, d.score)
	}
	b = binary.AppendUvarint(b, uint64(len(q.gaps)))
	for _, g := range q.gaps {
		b = appendString(b, g)
	}
	return b
}

func (q *qualitySummary) size() int {
	n := 3 * binary.MaxVarintLen64
	for _, d := range q.dimensions {
		n += len(d.name) + 2*binary.MaxVarintLen64
	}
	for _, g := range q.gaps {
		n += len(g) + binary.MaxVarintLen64
	}
	return n
}

func (d *decoder) quality() qualitySummary {
	q := qualitySummary{score: d.uvarint()}
	if n := d.uvarint(); n > maxDimensions {
		d.err = true
	} else {
		for range n {
			q.dimensions = append(q.dimensions, dimensionScore{name: d.string(), score: d.uvarint()})
		}
	}
	if n := d.uvarint(); n > maxGaps {
		d.err = true
	} else {
		for range n {
			q.gaps = append(q.gaps, d.string())
		}
	}
	return q
}

// The keys of a facility's quality counts in the counts bucket:
// countQuality, the facility's length (uvarint) and bytes, then one of
// these and, for a bucket, dimension or gap, its index or name.
const (
	qualityScoreSum = 's' // sum of the scores, in ten-thousandths
	qualityBucket   = 'b' // datasets whose score is in the bucket (one byte)
	qualityDimSum   = 'd' // sum of a dimension's scores, in ten-thousandths
	qualityDimCount = 'n' // datasets scored in a dimension
	qualityGap      = 'g' // datasets that fail a check
)

func qualityKey(facility string, kind byte, rest string) string {
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(facility)+len(rest))
	b = append(b, countQuality)
	b = binary.AppendUvarint(b, uint64(len(facility)))
	b = append(b, facility...)
	b = append(b, kind)
	return string(append(b, rest...))
}

// addQuality counts the quality of r, a live record of a facility, n times
// more.
func (c *counter) addQuality(r *Record, n int64) {
	q := &r.quality
	f := r.Facility
	c.delta[qualityKey(f, qualityScoreSum, "")] += n * int64(q.score)
	c.delta[qualityKey(f, qualityBucket, string([]byte{bucketOf(q.score)}))] += n
	for _, d := range q.dimensions {
		c.delta[qualityKey(f, qualityDimSum, d.name)] += n * int64(d.score)
		c.delta[qualityKey(f, qualityDimCount, d.name)] += n
	}
	for _, g := range q.gaps {
		c.delta[qualityKey(f, qualityGap, g)] += n
	}
}

// bucketOf returns the bucket of a score in ten-thousandths.
func bucketOf(score uint64) byte {
	b := score / (10000 / QualityBuckets)
	if b >= QualityBuckets {
		b = QualityBuckets - 1
	}
	return byte(b)
}

// FacilityQuality is the FAIR quality of one facility's live datasets, as
// the enricher scored them (package quality's rubric).
type FacilityQuality struct {
	// Facility in lower case.
	Facility string `json:"facility"`
	// Datasets is the number of live datasets counted.
	Datasets uint64 `json:"datasets"`
	// MeanScore is the mean of their scores, in [0, 1], to four decimals.
	MeanScore float64 `json:"meanScore"`
	// Distribution is how many datasets score in each tenth: [0, 0.1),
	// [0.1, 0.2), … [0.9, 1].
	Distribution []ScoreBucket `json:"distribution"`
	// Dimensions is the mean score of each dimension (findability,
	// accessibility, …), over the datasets scored in it, in the rubric's
	// order.
	Dimensions []DimensionMean `json:"dimensions"`
	// Gaps are the checks the datasets fail, with how many fail each, the
	// most common first (ties by name).
	Gaps []GapCount `json:"gaps"`
}

// ScoreBucket is the number of datasets whose score is in [From, To) (the
// last bucket includes 1).
type ScoreBucket struct {
	From     float64 `json:"from"`
	To       float64 `json:"to"`
	Datasets uint64  `json:"datasets"`
}

// DimensionMean is the mean score of one quality dimension.
type DimensionMean struct {
	Name      string  `json:"name"`
	MeanScore float64 `json:"meanScore"`
	Datasets  uint64  `json:"datasets"`
}

// GapCount is how many datasets fail one check of the rubric.
type GapCount struct {
	Check    string `json:"check"`
	Datasets uint64 `json:"datasets"`
}

// Quality returns the quality of every facility with live datasets, by
// facility. It reads the counts each batch keeps up to date (one scan of
// the quality counts, not of the datasets).
func (m *Model) Quality(ctx context.Context) ([]FacilityQuality, error) {
	return m.quality(ctx, nil)
}

// FacilityQuality returns the quality of one facility's live datasets
// (the facility's name in any case), or ErrNotFound when it has none.
func (m *Model) FacilityQuality(ctx context.Context, facility string) (FacilityQuality, error) {
	f := strings.ToLower(strings.TrimSpace(facility))
	out, err := m.quality(ctx, &f)
	if err != nil {
		return FacilityQuality{}, err
	}
	if len(out) == 0 {
		return FacilityQuality{}, ErrNotFound
	}
	return out[0], nil
}

// quality reads the quality counts of every facility, or of one.
func (m *Model) quality(ctx context.Context, only *string) ([]FacilityQuality, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	done, err := m.reading()
	if err != nil {
		return nil, err
	}
	defer done()
	var out []FacilityQuality
	err = m.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounts)
		c := b.Cursor()
		prefix := []byte{countQuality}
		if only != nil {
			k := qualityKey(*only, 0, "")
			prefix = []byte(k[:len(k)-1])
		}
		var cur *FacilityQuality
		var sum uint64
		var dimSums map[string]uint64
		flush := func() {
			if cur == nil {
				return
			}
			cur.finish(sum, dimSums)
			if cur.Datasets > 0 {
				out = append(out, *cur)
			}
			cur = nil
		}
		for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
			n, w := binary.Uvarint(k[1:])
			if w <= 0 || uint64(len(k)) < 1+uint64(w)+n+1 {
				continue // not a key this package wrote
			}
			fac := string(k[1+w : 1+w+int(n)])
			kind, rest := k[1+w+int(n)], string(k[2+w+int(n):])
			if cur == nil || cur.Facility != fac {
				flush()
				cur = &FacilityQuality{Facility: fac, Distribution: emptyDistribution()}
				sum, dimSums = 0, map[string]uint64{}
			}
			val := readU64(v)
			switch kind {
			case qualityScoreSum:
				sum = val
			case qualityBucket:
				if len(rest) == 1 && rest[0] < QualityBuckets {
					cur.Distribution[rest[0]].Datasets = val
					cur.Datasets += val
				}
			case qualityDimSum:
				dimSums[rest] = val
			case qualityDimCount:
				cur.Dimensions = append(cur.Dimensions, DimensionMean{Name: rest, Datasets: val})
			case qualityGap:
				cur.Gaps = append(cur.Gaps, GapCount{Check: rest, Datasets: val})
			}
		}
		flush()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b FacilityQuality) int { return strings.Compare(a.Facility, b.Facility) })
	return out, nil
}

// dimensionRank orders the dimensions as the rubric does (findability
// first); names the rubric does not have come last.
func dimensionRank(name string) int {
	for i, p := range quality.Principles {
		if p.Dimension() == name {
			return i
		}
	}
	return len(quality.Principles)
}

func emptyDistribution() []ScoreBucket {
	out := make([]ScoreBucket, QualityBuckets)
	for i := range out {
		out[i] = ScoreBucket{From: float64(i) / QualityBuckets, To: float64(i+1) / QualityBuckets}
	}
	return out
}

// finish computes the means from the sums and orders the gaps.
func (f *FacilityQuality) finish(sum uint64, dimSums map[string]uint64) {
	if f.Datasets > 0 {
		f.MeanScore = math.Round(float64(sum)/float64(f.Datasets)) / 1e4
	}
	for i := range f.Dimensions {
		if d := &f.Dimensions[i]; d.Datasets > 0 {
			d.MeanScore = math.Round(float64(dimSums[d.Name])/float64(d.Datasets)) / 1e4
		}
	}
	slices.SortFunc(f.Dimensions, func(a, b DimensionMean) int {
		if ra, rb := dimensionRank(a.Name), dimensionRank(b.Name); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Name, b.Name)
	})
	slices.SortFunc(f.Gaps, func(a, b GapCount) int {
		if a.Datasets != b.Datasets {
			if a.Datasets > b.Datasets {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Check, b.Check)
	})
	if f.Dimensions == nil {
		f.Dimensions = []DimensionMean{}
	}
	if f.Gaps == nil {
		f.Gaps = []GapCount{}
	}
}
