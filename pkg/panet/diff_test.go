package panet

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// owl writes a small release: version, then classes as "id|label|alt1,alt2".
func owl(t *testing.T, version string, classes ...string) *Ontology {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
 xmlns:owl="http://www.w3.org/2002/07/owl#" xmlns:skos="http://www.w3.org/2004/02/skos/core#">
`)
	fmt.Fprintf(&b, `<owl:Ontology rdf:about="%s"><owl:versionInfo>%s</owl:versionInfo></owl:Ontology>`+"\n", OntologyIRI, version)
	for _, c := range classes {
		parts := strings.Split(c, "|")
		fmt.Fprintf(&b, `<owl:Class rdf:about="%s%s"><rdfs:label>%s</rdfs:label>`, Namespace, parts[0], parts[1])
		if len(parts) > 2 && parts[2] != "" {
			for _, a := range strings.Split(parts[2], ",") {
				fmt.Fprintf(&b, `<skos:altLabel>%s</skos:altLabel>`, a)
			}
		}
		b.WriteString("</owl:Class>\n")
	}
	b.WriteString("</rdf:RDF>")
	o, err := Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestDiff(t *testing.T) {
	base := []string{"PaNET00010|diffraction|XRD", "PaNET00011|tomography|CT,computed tomography", "PaNET00012|imaging|"}
	tests := []struct {
		name string
		prev []string // nil: no release before
		next []string
		want Summary
	}{
		{"same release", base, base, Summary{OldVersion: "1", NewVersion: "2", OldTechniques: 3, NewTechniques: 3}},
		{"no release before", nil, base, Summary{NewVersion: "2", NewTechniques: 3, Added: []string{"PaNET00010", "PaNET00011", "PaNET00012"}}},
		{"added and removed", base, []string{"PaNET00010|diffraction|XRD", "PaNET00011|tomography|CT,computed tomography", "PaNET00013|holography|"},
			Summary{OldVersion: "1", NewVersion: "2", OldTechniques: 3, NewTechniques: 3, Added: []string{"PaNET00013"}, Removed: []string{"PaNET00012"}}},
		{"relabelled", base, []string{"PaNET00010|x-ray diffraction|XRD", "PaNET00011|tomography|CT,computed tomography", "PaNET00012|imaging|"},
			Summary{OldVersion: "1", NewVersion: "2", OldTechniques: 3, NewTechniques: 3, Relabelled: []Relabel{{"PaNET00010", "diffraction", "x-ray diffraction"}}}},
		{"synonyms added and removed", base, []string{"PaNET00010|diffraction|XRD,crystallography", "PaNET00011|tomography|CT", "PaNET00012|imaging|radiography"},
			Summary{OldVersion: "1", NewVersion: "2", OldTechniques: 3, NewTechniques: 3,
				SynonymsAdded:   []Synonym{{"PaNET00010", "crystallography"}, {"PaNET00012", "radiography"}},
				SynonymsRemoved: []Synonym{{"PaNET00011", "computed tomography"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev *Ontology
			if tt.prev != nil {
				prev = owl(t, "1", tt.prev...)
			}
			got := Diff(prev, owl(t, "2", tt.next...))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Diff =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.Unchanged() != (tt.name == "same release") {
				t.Errorf("Unchanged() = %v", got.Unchanged())
			}
			if s := got.String(); !strings.Contains(s, "→ 2") {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

// TestDiffReleases compares the two reference releases and lists at most
// ten entries of a kind.
func TestDiffReleases(t *testing.T) {
	s := Diff(release(t, v111), release(t, v130))
	if s.OldTechniques != 375 || s.NewTechniques != 380 || len(s.Added) == 0 || s.Unchanged() {
		t.Fatalf("Diff(v1.1.1, v1.3.0) = %d → %d techniques, %d added", s.OldTechniques, s.NewTechniques, len(s.Added))
	}
	if out := s.String(); strings.Count(out, "\n") > 70 || !strings.Contains(out, "more") {
		t.Errorf("String() is not short:\n%s", out)
	}
}
