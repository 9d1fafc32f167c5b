package dcat

import (
	"testing"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// TestIdentifiersAndVersion: every identifier but the DOI is an
// adms:Identifier with its scheme; the version is dcat:version.
func TestIdentifiersAndVersion(t *testing.T) {
	e := fullDataset()
	e.Dataset.Version = " 1.2 "
	e.Dataset.Identifiers = []*fairwayv1.Identifier{
		{Value: e.Dataset.Doi, Scheme: "DOI"},
		{Value: "20.500.12345/abc", Scheme: "Handle"},
		{Value: "20.500.12345/ABC", Scheme: "Handle"},
		{Value: " ", Scheme: "URL"},
	}
	out, err := DatasetTurtle(e, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	g := decode(t, out)
	ds := g.subjectsOfType("<" + nsDCAT + "Dataset>")[0]
	if v := g.one(t, ds, "<"+nsDCAT+"version>"); v != `"1.2"` {
		t.Errorf("version %s", v)
	}
	notations := map[string]string{}
	for _, id := range g.objects(ds, "<"+nsADMS+"identifier>") {
		label := ""
		if ls := g.objects(id, "<"+nsRDFS+"label>"); len(ls) == 1 {
			label = ls[0]
		}
		notations[g.one(t, id, "<"+nsSKOS+"notation>")] = label
	}
	if len(notations) != 2 || notations[`"20.500.12345/abc"`] != `"Handle"` {
		t.Errorf("identifiers %v, want the DOI and the handle once", notations)
	}
}
