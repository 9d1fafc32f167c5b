package panet

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// The figures measured on testdata/evaluation.json with PaNET v1.3.0
// (go test -run TestEvaluation -v ./pkg/panet/). The test fails when either
// falls below them: a change to the matcher that loses precision or recall
// must be seen.
const (
	measuredPrecision = 0.986
	measuredRecall    = 0.944
)

// evalRecord is one labelled record of the evaluation set: what a dataset
// says, and the PaNET ids of the techniques it was measured with, labelled
// by hand (the most specific classes that are correct; none for a record
// that names no technique).
type evalRecord struct {
	ID          string `json:"id"`
	Source      string `json:"source"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Subjects    []struct {
		Value    string `json:"value"`
		Scheme   string `json:"scheme"`
		ValueURI string `json:"value_uri"`
	} `json:"subjects"`
	PaNET []string `json:"panet"`
}

func (r evalRecord) dataset() *fairwayv1.Dataset {
	ds := &fairwayv1.Dataset{Title: r.Title, Description: r.Description}
	for _, s := range r.Subjects {
		ds.Subjects = append(ds.Subjects, &fairwayv1.Subject{Value: s.Value, Scheme: s.Scheme, ValueUri: s.ValueURI})
	}
	return ds
}

func loadEvaluation(tb testing.TB) []evalRecord {
	tb.Helper()
	b, err := os.ReadFile("testdata/evaluation.json")
	if err != nil {
		tb.Fatal(err)
	}
	var recs []evalRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		tb.Fatal(err)
	}
	return recs
}

// score compares what the matcher found with the labels. A technique found
// is right when it is a labelled one, or broader than or equivalent to a
// labelled one (a true statement about the dataset, only less specific):
// the latter counts neither for nor against precision. A labelled technique
// is recalled when it, or an equivalent class, is found.
type score struct{ tp, fp, fn, broader int }

func (s *score) add(o *Ontology, found []*fairwayv1.Technique, gold []string) (fps, fns []string) {
	var ids []string
	for _, t := range found {
		ids = append(ids, t.Id)
	}
	same := func(a, b string) bool {
		if a == b {
			return true
		}
		c, _ := o.Class(a)
		return c != nil && slices.Contains(c.Equivalents, b)
	}
	for _, id := range ids {
		switch {
		case slices.ContainsFunc(gold, func(g string) bool { return same(id, g) }):
			s.tp++
		case slices.ContainsFunc(gold, func(g string) bool {
			return slices.ContainsFunc(o.Ancestors(g), func(a *Class) bool { return same(id, a.ID) })
		}):
			s.broader++
		default:
			s.fp++
			fps = append(fps, id)
		}
	}
	// A label broader than another label of the record says nothing more:
	// the most specific technique wins.
	gold = slices.DeleteFunc(slices.Clone(gold), func(g string) bool {
		return slices.ContainsFunc(gold, func(h string) bool {
			return h != g && slices.ContainsFunc(o.Ancestors(h), func(a *Class) bool { return a.ID == g })
		})
	})
	for _, g := range gold {
		if !slices.ContainsFunc(ids, func(id string) bool { return same(id, g) }) {
			s.fn++
			fns = append(fns, g)
		}
	}
	return fps, fns
}

func (s score) precision() float64 {
	if s.tp+s.fp == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fp)
}

func (s score) recall() float64 {
	if s.tp+s.fn == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fn)
}

func TestEvaluation(t *testing.T) {
	o := release(t, v130)
	m := NewMatcher(o)
	recs := loadEvaluation(t)
	if len(recs) < 200 {
		t.Fatalf("%d records, want at least 200", len(recs))
	}
	var s, written score // written: the titles and abstracts written for the set
	none := 0
	for _, r := range recs {
		for _, g := range r.PaNET {
			if c, ok := o.Class(g); !ok || c.Specifier {
				t.Fatalf("%s: label %s is not a technique of the release", r.ID, g)
			}
		}
		if len(r.PaNET) == 0 {
			none++
		}
		found := m.MatchDataset(r.dataset())
		if strings.HasPrefix(r.Source, "written") {
			written.add(o, found, r.PaNET)
		}
		if fps, fns := s.add(o, found, r.PaNET); len(fps)+len(fns) > 0 {
			t.Logf("%s: wrong %v, missed %v (%q)", r.ID, fps, fns, r.Title)
		}
	}
	p, rc := s.precision(), s.recall()
	t.Logf("%d records (%d name no technique): precision %.3f, recall %.3f (tp %d, fp %d, fn %d, broader %d)",
		len(recs), none, p, rc, s.tp, s.fp, s.fn, s.broader)
	t.Logf("written records only: precision %.3f, recall %.3f (tp %d, fp %d, fn %d, broader %d)",
		written.precision(), written.recall(), written.tp, written.fp, written.fn, written.broader)
	if p < measuredPrecision {
		t.Errorf("precision %.3f below the %.3f measured", p, measuredPrecision)
	}
	if rc < measuredRecall {
		t.Errorf("recall %.3f below the %.3f measured", rc, measuredRecall)
	}
}

// The scoring itself: a broader technique is neither right nor wrong, an
// unrelated one is wrong, a missing label is missed.
func TestEvaluationScore(t *testing.T) {
	o := release(t, v130)
	tech := func(ids ...string) (out []*fairwayv1.Technique) {
		for _, id := range ids {
			out = append(out, &fairwayv1.Technique{Id: id})
		}
		return out
	}
	tests := []struct {
		name  string
		found []string
		gold  []string
		want  score
	}{
		{"exact", []string{"PaNET01188"}, []string{"PaNET01188"}, score{tp: 1}},
		{"broader", []string{"PaNET01184", "PaNET01188"}, []string{"PaNET01188"}, score{tp: 1, broader: 1}},
		{"only broader", []string{"PaNET01184"}, []string{"PaNET01188"}, score{broader: 1, fn: 1}},
		{"unrelated", []string{"PaNET01189"}, []string{"PaNET01188"}, score{fp: 1, fn: 1}},
		{"equivalent", []string{"PaNET00401"}, []string{"PaNET01106"}, score{tp: 1}},
		{"nothing to find", []string{"PaNET01188"}, nil, score{fp: 1}},
		{"nothing found", nil, nil, score{}},
		{"broader label", []string{"PaNET01188"}, []string{"PaNET01184", "PaNET01188"}, score{tp: 1}},
	}
	for _, tc := range tests {
		var s score
		s.add(o, tech(tc.found...), tc.gold)
		if s != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, s, tc.want)
		}
	}
}

// BenchmarkMatchEvaluation matches every record of the evaluation set
// (subjects, title, description); datasets/s is what the enricher's
// tagging can do per core.
func BenchmarkMatchEvaluation(b *testing.B) {
	m := NewMatcher(release(b, v130))
	recs := loadEvaluation(b)
	ds := make([]*fairwayv1.Dataset, len(recs))
	for i, r := range recs {
		ds[i] = r.dataset()
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		m.MatchDataset(ds[n%len(ds)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "datasets/s")
}

// BenchmarkMatchLongAbstract matches datasets whose description is a long
// abstract (the descriptions of ten records of the set, about 1.5 KB).
func BenchmarkMatchLongAbstract(b *testing.B) {
	m := NewMatcher(release(b, v130))
	recs := loadEvaluation(b)
	var ds []*fairwayv1.Dataset
	for i := 0; i+10 <= len(recs); i += 10 {
		d := recs[i].dataset()
		for _, r := range recs[i+1 : i+10] {
			d.Description += " " + r.Description + " " + r.Title + "."
		}
		ds = append(ds, d)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		m.MatchDataset(ds[n%len(ds)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "datasets/s")
}
