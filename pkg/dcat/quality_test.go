package dcat

import (
	"strings"
	"testing"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// TestQualityInDQV: the score, each dimension and each gap are in the
// output as DQV measurements and annotations; a dataset scored without its
// dimensions gets none.
func TestQualityInDQV(t *testing.T) {
	e := fullDataset()
	e.QualityScore = 0.8125
	e.QualityDimensions = []*fairwayv1.QualityDimension{
		{Name: "findability", Score: 0.6}, {Name: "accessibility", Score: 1}, {Name: "interoperability", Score: 1},
		{Name: "reusability", Score: 0.75}, {Name: "contextuality", Score: 0.5}, {Name: "bad name!", Score: 1},
	}
	e.QualityGaps = []*fairwayv1.QualityGap{{Check: "doi", Dimension: "findability", Hint: "register a DOI for the dataset", Weight: 0.1}}
	o := testOptions()
	o.BaseURL = "https://node.example.org"
	out, err := DatasetTurtle(e, o)
	if err != nil {
		t.Fatal(err)
	}
	g := decode(t, out)
	ds := g.subjectsOfType("<" + nsDCAT + "Dataset>")[0]
	values := map[string]string{}
	for _, m := range g.objects(ds, "<"+nsDQV+"hasQualityMeasurement>") {
		if !g.has(m, "<"+nsRDF+"type>", "<"+nsDQV+"QualityMeasurement>") {
			t.Errorf("measurement %s is not typed", m)
		}
		values[g.one(t, m, "<"+nsDQV+"isMeasurementOf>")] = g.one(t, m, "<"+nsDQV+"value>")
	}
	want := map[string]string{"score": "0.8125", "findability": "0.6", "accessibility": "1", "interoperability": "1", "reusability": "0.75", "contextuality": "0.5"}
	if len(values) != len(want) {
		t.Errorf("measurements %v, want %d", values, len(want))
	}
	for name, v := range want {
		if got := values["<"+QualityMetric(o, name)+">"]; got != `"`+v+`"^^<`+nsXSD+`decimal>` {
			t.Errorf("%s = %s, want %s", name, got, v)
		}
	}
	anns := g.objects(ds, "<"+nsDQV+"hasQualityAnnotation>")
	if len(anns) != 1 {
		t.Fatalf("annotations %v, want 1", anns)
	}
	a := anns[0]
	if !g.has(a, "<"+nsOA+"motivatedBy>", "<"+nsDQV+"qualityAssessment>") || !g.has(a, "<"+nsOA+"hasTarget>", ds) {
		t.Errorf("annotation %s: %v", a, g.spo[a])
	}
	body := g.one(t, a, "<"+nsOA+"hasBody>")
	if text := g.one(t, body, "<"+nsRDF+"value>"); !strings.Contains(text, "doi: register a DOI") {
		t.Errorf("annotation body %s", text)
	}

	e.QualityDimensions, e.QualityGaps = nil, nil
	out, err = DatasetTurtle(e, o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, nsDQV+"QualityMeasurement") || strings.Contains(out, "dqv:QualityMeasurement") {
		t.Error("a dataset without dimensions got measurements")
	}
}
