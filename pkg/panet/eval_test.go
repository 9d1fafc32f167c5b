package panet

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// The figures measured on testdata/evaluation.json with PaNET v1.3.0
// (go test -run TestEvaluation -v ./pkg/panet/): pooled, the records as
// they are; free text, the same records with every subject that is a PaNET
// IRI or id removed, so that only names in keywords, titles and
// descriptions can be found. The test fails when any falls below them: a
// change to the matcher that loses precision or recall must be seen.
const (
	measuredPrecision         = 0.980
	measuredRecall            = 0.974
	measuredFreeTextPrecision = 0.979
	measuredFreeTextRecall    = 0.907
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

// freeText returns r with every subject that is a PaNET IRI or id removed
// (a PaNET IRI or id in value_uri or value, or digits under a PaNET
// scheme), whatever the rest of the subject says.
func (r evalRecord) freeText() evalRecord {
	out := r
	out.Subjects = nil
	for _, s := range r.Subjects {
		if !panetRef.MatchString(strings.TrimSpace(s.ValueURI)) && !panetRef.MatchString(strings.TrimSpace(s.Value)) &&
			!(strings.EqualFold(strings.TrimSpace(s.Scheme), "panet") && panetDigits.MatchString(strings.TrimSpace(s.Value))) {
			out.Subjects = append(out.Subjects, s)
		}
	}
	return out
}

// panetRef matches a PaNET IRI (http or https, the PaNET.owl# form) or a
// bare id or CURIE (PaNET01168, PaNET_01168, panet:PaNET01168,
// panet:01168), in any case; panetDigits the digits of an id.
var (
	panetRef    = regexp.MustCompile(`(?i)^(?:https?://purl\.org/pan-science/panet/(?:panet\.owl#)?(?:panet[_-]?)?\d+[/#]?|(?:panet:)?panet[_-]?\d+|panet:\d+)$`)
	panetDigits = regexp.MustCompile(`^\d+$`)
)

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

// score compares what the matcher found with the labels, in two units:
// techniques found (right, wrong, broader) for precision, and labels
// (recalled, missed) for recall. A label broader than another label of the
// same record is dropped first: the most specific technique wins. A
// technique found is right when it is a label or an equivalent class of
// one; broader when it is an ancestor of a label (or of an equivalent), a
// true but less specific statement that counts neither for nor against
// precision; wrong otherwise. A label is recalled when it, or an
// equivalent class, is found, and missed otherwise.
type score struct{ right, wrong, broader, recalled, missed int }

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
	gold = slices.DeleteFunc(slices.Clone(gold), func(g string) bool {
		return slices.ContainsFunc(gold, func(h string) bool {
			return h != g && slices.ContainsFunc(o.Ancestors(h), func(a *Class) bool { return a.ID == g })
		})
	})
	for _, id := range ids {
		switch {
		case slices.ContainsFunc(gold, func(g string) bool { return same(id, g) }):
			s.right++
		case slices.ContainsFunc(gold, func(g string) bool {
			return slices.ContainsFunc(o.Ancestors(g), func(a *Class) bool { return same(id, a.ID) })
		}):
			s.broader++
		default:
			s.wrong++
			fps = append(fps, id)
		}
	}
	for _, g := range gold {
		if slices.ContainsFunc(ids, func(id string) bool { return same(id, g) }) {
			s.recalled++
		} else {
			s.missed++
			fns = append(fns, g)
		}
	}
	return fps, fns
}

// precision is the share of the techniques found, other than broader
// ones, that are right.
func (s score) precision() float64 {
	if s.right+s.wrong == 0 {
		return 1
	}
	return float64(s.right) / float64(s.right+s.wrong)
}

// recall is the share of the labels that are found.
func (s score) recall() float64 {
	if s.recalled+s.missed == 0 {
		return 1
	}
	return float64(s.recalled) / float64(s.recalled+s.missed)
}

func (s score) String() string {
	return fmt.Sprintf("precision %.3f, recall %.3f (found: %d right, %d wrong, %d broader; labels: %d recalled, %d missed)",
		s.precision(), s.recall(), s.right, s.wrong, s.broader, s.recalled, s.missed)
}

func TestEvaluation(t *testing.T) {
	o := release(t, v130)
	m := NewMatcher(o)
	recs := loadEvaluation(t)
	if len(recs) < 200 {
		t.Fatalf("%d records, want at least 200", len(recs))
	}
	// pooled: the records as they are; free: their subjects that are PaNET
	// IRIs or ids removed; written, negation: the records written for the
	// set, and those of them that name a technique only to deny it.
	var pooled, free, written, writtenFree, negation score
	none, stripped := 0, 0
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
		if fps, fns := pooled.add(o, found, r.PaNET); len(fps)+len(fns) > 0 {
			t.Logf("%s: wrong %v, missed %v (%q)", r.ID, fps, fns, r.Title)
		}
		ft := r.freeText()
		if len(ft.Subjects) < len(r.Subjects) {
			stripped++
		}
		foundFree := m.MatchDataset(ft.dataset())
		if fps, fns := free.add(o, foundFree, r.PaNET); len(fps)+len(fns) > 0 && len(ft.Subjects) < len(r.Subjects) {
			t.Logf("%s in free text: wrong %v, missed %v (%q)", r.ID, fps, fns, r.Title)
		}
		if strings.HasPrefix(r.Source, "written") {
			written.add(o, found, r.PaNET)
			writtenFree.add(o, foundFree, r.PaNET)
		}
		if strings.Contains(r.Source, "negation") {
			negation.add(o, found, r.PaNET)
		}
	}
	t.Logf("%d records (%d name no technique), pooled: %v", len(recs), none, pooled)
	t.Logf("free text (%d records lose PaNET subjects): %v", stripped, free)
	t.Logf("written records only: %v", written)
	t.Logf("written records only, free text: %v", writtenFree)
	t.Logf("negation records only: %v", negation)
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"pooled precision", pooled.precision(), measuredPrecision},
		{"pooled recall", pooled.recall(), measuredRecall},
		{"free-text precision", free.precision(), measuredFreeTextPrecision},
		{"free-text recall", free.recall(), measuredFreeTextRecall},
	} {
		if f.got < f.want {
			t.Errorf("%s %.3f below the %.3f measured", f.name, f.got, f.want)
		}
	}
}

// The scoring itself: a broader technique is neither right nor wrong, an
// unrelated one is wrong, a missing label is missed; techniques found and
// labels are counted apart.
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
		{"exact", []string{"PaNET01188"}, []string{"PaNET01188"}, score{right: 1, recalled: 1}},
		{"broader", []string{"PaNET01184", "PaNET01188"}, []string{"PaNET01188"}, score{right: 1, broader: 1, recalled: 1}},
		{"only broader", []string{"PaNET01184"}, []string{"PaNET01188"}, score{broader: 1, missed: 1}},
		{"unrelated", []string{"PaNET01189"}, []string{"PaNET01188"}, score{wrong: 1, missed: 1}},
		{"equivalent", []string{"PaNET00401"}, []string{"PaNET01106"}, score{right: 1, recalled: 1}},
		{"nothing to find", []string{"PaNET01188"}, nil, score{wrong: 1}},
		{"nothing found", nil, nil, score{}},
		{"nothing found of two", nil, []string{"PaNET01188", "PaNET01189"}, score{missed: 2}},
		// The broader label is dropped: the technique found for it is
		// broader, not right, and it is not a label to recall.
		{"broader label", []string{"PaNET01184", "PaNET01188"}, []string{"PaNET01184", "PaNET01188"}, score{right: 1, broader: 1, recalled: 1}},
	}
	for _, tc := range tests {
		var s score
		s.add(o, tech(tc.found...), tc.gold)
		if s != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, s, tc.want)
		}
	}
}

// TestFreeText: the subjects that are PaNET IRIs or ids are removed, the
// others kept.
func TestFreeText(t *testing.T) {
	var r evalRecord
	for _, s := range []struct{ v, scheme, uri string }{
		{v: "PaNET01168"}, {v: "panet:01168"}, {v: "PaNET_01188"}, {v: "http://purl.org/pan-science/PaNET/PaNET01168"},
		{v: "SFX", uri: "https://purl.org/pan-science/PaNET/PaNET01168"}, {v: "01168", scheme: "PaNET"},
		{v: "SAXS"}, {v: "small-angle x-ray scattering"}, {v: "01168"}, {v: "PaNET"},
	} {
		r.Subjects = append(r.Subjects, struct {
			Value    string `json:"value"`
			Scheme   string `json:"scheme"`
			ValueURI string `json:"value_uri"`
		}{s.v, s.scheme, s.uri})
	}
	var kept []string
	for _, s := range r.freeText().Subjects {
		kept = append(kept, s.Value)
	}
	if want := []string{"SAXS", "small-angle x-ray scattering", "01168", "PaNET"}; !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
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
