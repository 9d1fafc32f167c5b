package panet

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
)

const (
	v130 = "PaNET-v1.3.0-reasoned.owl"
	v111 = "PaNET-v1.1.1.owl"
)

var (
	loadOnce sync.Map // file name -> *Ontology
)

// release loads (once per test binary) one of the reference releases.
func release(t testing.TB, name string) *Ontology {
	t.Helper()
	if o, ok := loadOnce.Load(name); ok {
		return o.(*Ontology)
	}
	o, err := Load(context.Background(), testenv.SharedData(t, "panet", name))
	if err != nil {
		t.Fatalf("Load %s: %v", name, err)
	}
	loadOnce.Store(name, o)
	return o
}

func ids(cs []*Class) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestLoadReleases(t *testing.T) {
	tests := []struct {
		file           string
		classes        int // every PaNET owl:Class
		specifiers     int
		version        string
		created        string
		withDefinition int
	}{
		// The data README counts 510 PaNET classes: 380 techniques and 130
		// specifiers (PaNET2000000 and its descendants).
		{file: v130, classes: 510, specifiers: 130, version: "1.3.0-48-g7011e6b", created: "2025-10-21", withDefinition: 53},
		// The data README says 376; the file declares 375 PaNET class IRIs
		// (counted with grep as well); its versionInfo predates the tag.
		{file: v111, classes: 375, specifiers: 0, version: "1.0.0-3-g6a0b629-dirty", created: "2021-05-19", withDefinition: 16},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			o := release(t, tc.file)
			if o.Len() != tc.classes || len(o.Classes()) != tc.classes {
				t.Errorf("Len = %d, Classes = %d, want %d", o.Len(), len(o.Classes()), tc.classes)
			}
			specs, defs := 0, 0
			for _, c := range o.Classes() {
				if c.Specifier {
					specs++
				}
				if c.Definition != "" {
					defs++
				}
				if !strings.HasPrefix(c.IRI, Namespace) || c.IRI != Namespace+c.ID {
					t.Errorf("class %q has IRI %q", c.ID, c.IRI)
				}
			}
			if specs != tc.specifiers {
				t.Errorf("specifiers = %d, want %d", specs, tc.specifiers)
			}
			if defs != tc.withDefinition {
				t.Errorf("classes with a definition = %d, want %d", defs, tc.withDefinition)
			}
			if o.Version() != tc.version {
				t.Errorf("Version = %q, want %q", o.Version(), tc.version)
			}
			info := o.Info()
			if info.IRI != OntologyIRI || info.Created != tc.created || info.License != "https://creativecommons.org/licenses/by/4.0/" ||
				info.Title != "The Photon and Neutron Experimental Techniques Ontology" {
				t.Errorf("Info = %+v", info)
			}
			if !slices.IsSortedFunc(o.Classes(), func(a, b *Class) int { return strings.Compare(a.ID, b.ID) }) {
				t.Error("Classes not sorted by id")
			}
		})
	}
}

func TestKnownClasses(t *testing.T) {
	tests := []struct {
		file, id, label string
		alt, acronyms   []string
		parents         []string
		external        []string
		definition      string
		ancestorsHave   []string
		ancestorsLen    int
		specifier       bool
	}{
		{
			file: v130, id: "PaNET01168", label: "serial femtosecond crystallography",
			alt: []string{"SFX"}, acronyms: []string{"SFX"},
			// 23 asserted (reasoned) PaNET superclasses reduce to these two.
			parents:       []string{"PaNET01002", "PaNET01169"},
			external:      []string{"https://www.wikidata.org/wiki/Q133900"},
			ancestorsHave: []string{"PaNET00001", "PaNET01102", "PaNET01169", "PaNET01029"},
			ancestorsLen:  23,
		},
		{
			file: v130, id: "PaNET01022", label: "diffraction",
			parents:       []string{"PaNET01020"},
			ancestorsHave: []string{"PaNET00001", "PaNET00003", "PaNET00200", "PaNET01020"},
			ancestorsLen:  4,
		},
		{
			file: v130, id: "PaNET00001", label: "photon and neutron technique",
			definition: "A technique in the domain of neutron, muon and accelerator-based light sources",
		},
		{
			file: v130, id: "PaNET2020018", label: "diffraction", specifier: true,
			parents: []string{"PaNET2020016"}, ancestorsHave: []string{SpecifierRootID},
		},
		{
			// Not reasoned: ancestors are computed from the asserted parents.
			file: v111, id: "PaNET01168", label: "serial femtosecond crystallography",
			alt: []string{"SFX"}, acronyms: []string{"SFX"},
			parents:       []string{"PaNET01002", "PaNET01003", "PaNET01082", "PaNET01102"},
			ancestorsHave: []string{"PaNET00001", "PaNET01012", "PaNET01029"},
		},
		{
			file: v111, id: "PaNET01102", label: "x-ray single crystal diffraction",
			alt: []string{"SXRD", "single crystal x-ray diffraction"}, acronyms: []string{"SXRD"},
			parents: []string{"PaNET01012", "PaNET01029"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.id, func(t *testing.T) {
			o := release(t, tc.file)
			c, ok := o.Class(tc.id)
			if !ok {
				t.Fatalf("Class(%q) not found", tc.id)
			}
			byIRI, ok := o.Class(Namespace + tc.id)
			if !ok || byIRI != c {
				t.Errorf("Class(IRI) = %v, %v; want the same class", byIRI, ok)
			}
			if c.Label != tc.label {
				t.Errorf("Label = %q, want %q", c.Label, tc.label)
			}
			if !slices.Equal(c.AltLabels, tc.alt) || !slices.Equal(c.Acronyms, tc.acronyms) {
				t.Errorf("AltLabels = %q, Acronyms = %q; want %q, %q", c.AltLabels, c.Acronyms, tc.alt, tc.acronyms)
			}
			if !slices.Equal(c.Parents, tc.parents) {
				t.Errorf("Parents = %v, want %v", c.Parents, tc.parents)
			}
			if !slices.Equal(c.ExternalParents, tc.external) {
				t.Errorf("ExternalParents = %v, want %v", c.ExternalParents, tc.external)
			}
			if c.Definition != tc.definition {
				t.Errorf("Definition = %q, want %q", c.Definition, tc.definition)
			}
			if c.Specifier != tc.specifier {
				t.Errorf("Specifier = %v, want %v", c.Specifier, tc.specifier)
			}
			anc := ids(o.Ancestors(tc.id))
			for _, a := range tc.ancestorsHave {
				if !slices.Contains(anc, a) {
					t.Errorf("Ancestors = %v, missing %s", anc, a)
				}
			}
			if tc.ancestorsLen > 0 && len(anc) != tc.ancestorsLen {
				t.Errorf("len(Ancestors) = %d, want %d", len(anc), tc.ancestorsLen)
			}
			for _, p := range c.Parents {
				if !slices.Contains(anc, p) {
					t.Errorf("parent %s is not an ancestor", p)
				}
			}
			if slices.Contains(anc, tc.id) {
				t.Error("a class is its own ancestor")
			}
		})
	}
}

func TestClassUnknown(t *testing.T) {
	o := release(t, v130)
	for _, q := range []string{"", "PaNET99999", "panet01168", Namespace + "PaNET99999", OntologyIRI, Namespace + "PaNET1000000"} {
		if c, ok := o.Class(q); ok {
			t.Errorf("Class(%q) = %s, want not found", q, c.ID)
		}
		if a := o.Ancestors(q); a != nil {
			t.Errorf("Ancestors(%q) = %v, want nil", q, ids(a))
		}
	}
}

func TestLoadSources(t *testing.T) {
	path := testenv.SharedData(t, "panet", v130)
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/PaNET.owl":
			w.Header().Set("Content-Type", "application/rdf+xml")
			_, _ = w.Write(body)
		case "/garbage":
			_, _ = w.Write([]byte("<html><body>not an ontology</body></html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.owl")
	if err := os.WriteFile(garbage, []byte("\x00\x01 this is not XML <<<"), 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.owl")
	if err := os.WriteFile(truncated, body[:len(body)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	noClasses := filepath.Join(dir, "empty.owl")
	if err := os.WriteFile(noClasses, []byte(`<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:owl="http://www.w3.org/2002/07/owl#">
  <owl:Class rdf:about="http://example.org/Other"/>
</rdf:RDF>`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		source  string
		wantLen int
		wantErr error
	}{
		{name: "path", source: path, wantLen: 510},
		{name: "file URL", source: "file://" + path, wantLen: 510},
		{name: "http URL", source: srv.URL + "/PaNET.owl", wantLen: 510},
		{name: "http 404", source: srv.URL + "/missing.owl", wantErr: ErrFetch},
		{name: "http not RDF", source: srv.URL + "/garbage", wantErr: ErrInvalidOntology},
		{name: "missing file", source: filepath.Join(dir, "nope.owl"), wantErr: fs.ErrNotExist},
		{name: "missing file URL", source: "file://" + filepath.Join(dir, "nope.owl"), wantErr: fs.ErrNotExist},
		{name: "garbage file", source: garbage, wantErr: ErrInvalidOntology},
		{name: "truncated file", source: truncated, wantErr: ErrInvalidOntology},
		{name: "no PaNET class", source: noClasses, wantErr: ErrInvalidOntology},
		{name: "unsupported scheme", source: "ftp://example.org/PaNET.owl", wantErr: ErrFetch},
		{name: "empty source", source: "", wantErr: ErrFetch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Load(context.Background(), tc.source)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Load(%q) error = %v, want %v", tc.source, err, tc.wantErr)
				}
				if o != nil {
					t.Errorf("Load returned an ontology with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q): %v", tc.source, err)
			}
			if o.Len() != tc.wantLen {
				t.Errorf("Len = %d, want %d", o.Len(), tc.wantLen)
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Load(ctx, srv.URL+"/PaNET.owl"); !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
	})
}

// TestParseRDFXMLForms covers RDF/XML forms the releases do not use but
// other OWL writers do.
func TestParseRDFXMLForms(t *testing.T) {
	const doc = `<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
  <!ENTITY owl "http://www.w3.org/2002/07/owl#" >
  <!ENTITY panet "http://purl.org/pan-science/PaNET/" >
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
         xmlns:owl="http://www.w3.org/2002/07/owl#"
         xmlns:skos="http://www.w3.org/2004/02/skos/core#"
         xml:base="http://purl.org/pan-science/PaNET/">
  <owl:Ontology rdf:about="http://purl.org/pan-science/PaNET/PaNET.owl">
    <owl:versionIRI rdf:resource="http://purl.org/pan-science/PaNET/9.9.9/PaNET.owl"/>
  </owl:Ontology>
  <owl:Class rdf:about="&panet;PaNET00001">
    <rdfs:label xml:lang="de">Photonen- und Neutronentechnik</rdfs:label>
    <rdfs:label xml:lang="en">photon and neutron technique</rdfs:label>
  </owl:Class>
  <rdf:Description rdf:about="PaNET00010">
    <rdf:type rdf:resource="&owl;Class"/>
    <rdfs:label>first
      technique</rdfs:label>
    <skos:definition>Defined here.</skos:definition>
    <rdfs:subClassOf><owl:Class rdf:about="&panet;PaNET00001"/></rdfs:subClassOf>
    <rdfs:subClassOf>
      <owl:Restriction>
        <owl:onProperty rdf:resource="&panet;PaNET1000000"/>
        <owl:someValuesFrom rdf:resource="&panet;PaNET00011"/>
      </owl:Restriction>
    </rdfs:subClassOf>
  </rdf:Description>
  <owl:Class rdf:about="http://purl.org/pan-science/PaNET/PaNET00011" rdfs:label="second technique">
    <rdfs:subClassOf rdf:resource="&panet;PaNET00001"/>
    <skos:altLabel>ST</skos:altLabel>
  </owl:Class>
  <owl:Class rdf:about="http://purl.org/pan-science/PaNET/PaNET00012">
    <rdfs:subClassOf rdf:resource="&panet;PaNET00001"/>
    <rdfs:label>third technique</rdfs:label>
    <skos:altLabel>ST</skos:altLabel>
  </owl:Class>
  <rdf:Description rdf:about="http://purl.org/pan-science/PaNET/PaNET00012">
    <skos:altLabel>third one</skos:altLabel>
  </rdf:Description>
  <owl:NamedIndividual rdf:about="http://purl.org/pan-science/PaNET/PaNET00099">
    <rdfs:label>an individual, not a class</rdfs:label>
  </owl:NamedIndividual>
</rdf:RDF>`
	o, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if o.Len() != 4 {
		t.Fatalf("Len = %d, want 4: %v", o.Len(), ids(o.Classes()))
	}
	if o.Version() != "http://purl.org/pan-science/PaNET/9.9.9/PaNET.owl" {
		t.Errorf("Version = %q", o.Version())
	}
	root, _ := o.Class("PaNET00001")
	if root.Label != "photon and neutron technique" || !slices.Equal(root.AltLabels, []string{"Photonen- und Neutronentechnik"}) {
		t.Errorf("root = %+v", root)
	}
	first, ok := o.Class("PaNET00010")
	if !ok || first.Label != "first technique" || first.Definition != "Defined here." || !slices.Equal(first.Parents, []string{"PaNET00001"}) {
		t.Errorf("PaNET00010 = %+v", first)
	}
	second, _ := o.Class("PaNET00011")
	if second.Label != "second technique" || !slices.Equal(second.Acronyms, []string{"ST"}) {
		t.Errorf("PaNET00011 = %+v", second)
	}
	third, _ := o.Class("PaNET00012")
	if !slices.Equal(third.AltLabels, []string{"ST", "third one"}) {
		t.Errorf("PaNET00012 alt labels = %q", third.AltLabels)
	}
	if _, ok := o.Class("PaNET00099"); ok {
		t.Error("a named individual was read as a class")
	}
	// "ST" is a synonym of two classes: ambiguous, matched to neither.
	m := NewMatcher(o)
	if got := m.Match(subjects("ST", "third one")); len(got) != 1 || got[0].Id != "PaNET00012" {
		t.Errorf("Match = %v, want only PaNET00012", got)
	}
}

// Equivalence axioms: a named owl:equivalentClass makes two classes share
// their ancestors without being each other's; an equivalent intersection
// makes its named members superclasses; a class outside PaNET equivalent to
// a PaNET class (v1.1.1: CHMO_0000182 ≡ PaNET01022) carries its subclasses'
// link to it.
func TestEquivalentClasses(t *testing.T) {
	tests := []struct {
		file, id    string
		equivalents []string
		ancestor    string
	}{
		{v130, "PaNET00401", []string{"PaNET01106"}, "PaNET00005"},
		{v130, "PaNET01106", []string{"PaNET00401"}, "PaNET00001"},
		{v130, "PaNET01156", nil, "PaNET01125"},
		{"PaNET-v1.1.1.owl", "PaNET01106", []string{"PaNET00401"}, "PaNET00004"},
		{"PaNET-v1.1.1.owl", "PaNET01156", nil, "PaNET01012"},
		{"PaNET-v1.1.1.owl", "PaNET01023", nil, "PaNET01022"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.id, func(t *testing.T) {
			o := release(t, tt.file)
			c, ok := o.Class(tt.id)
			if !ok {
				t.Fatalf("no class %s", tt.id)
			}
			if !slices.Equal(c.Equivalents, tt.equivalents) {
				t.Errorf("Equivalents = %v, want %v", c.Equivalents, tt.equivalents)
			}
			var anc []string
			for _, a := range o.Ancestors(tt.id) {
				anc = append(anc, a.ID)
			}
			if !slices.Contains(anc, tt.ancestor) {
				t.Errorf("ancestors %v lack %s", anc, tt.ancestor)
			}
			for _, e := range tt.equivalents {
				if slices.Contains(anc, e) {
					t.Errorf("equivalent %s listed as an ancestor", e)
				}
			}
		})
	}
}
