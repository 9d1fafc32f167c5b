package panet

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// subjects builds free keyword subjects from values.
func subjects(values ...string) []*fairwayv1.Subject {
	out := make([]*fairwayv1.Subject, len(values))
	for i, v := range values {
		out[i] = &fairwayv1.Subject{Value: v}
	}
	return out
}

func TestMatch(t *testing.T) {
	m := NewMatcher(release(t, v130))
	const sfx = Namespace + "PaNET01168"
	type want struct{ id, by, text string }
	tests := []struct {
		name     string
		subjects []*fairwayv1.Subject
		want     []want
	}{
		{name: "IRI in value_uri", subjects: []*fairwayv1.Subject{{Value: "SFX", ValueUri: sfx}}, want: []want{{"PaNET01168", "iri", sfx}}},
		{name: "IRI in value", subjects: subjects(sfx), want: []want{{"PaNET01168", "iri", sfx}}},
		{name: "https IRI", subjects: subjects("https://purl.org/pan-science/PaNET/PaNET01168"), want: []want{{"PaNET01168", "iri", "https://purl.org/pan-science/PaNET/PaNET01168"}}},
		{name: "IRI with padding", subjects: subjects("  " + sfx + " "), want: []want{{"PaNET01168", "iri", sfx}}},
		{name: "bare id", subjects: subjects("PaNET01168"), want: []want{{"PaNET01168", "id", "PaNET01168"}}},
		{name: "bare id lower case", subjects: subjects("panet01168"), want: []want{{"PaNET01168", "id", "panet01168"}}},
		{name: "bare id in value_uri", subjects: []*fairwayv1.Subject{{ValueUri: "PANET01168"}}, want: []want{{"PaNET01168", "id", "PANET01168"}}},
		{name: "CURIE with id", subjects: subjects("PaNET:PaNET01168"), want: []want{{"PaNET01168", "id", "PaNET:PaNET01168"}}},
		{name: "CURIE with digits", subjects: subjects("panet:01168"), want: []want{{"PaNET01168", "id", "panet:01168"}}},
		{name: "id with underscore", subjects: subjects("PaNET_01168"), want: []want{{"PaNET01168", "id", "PaNET_01168"}}},
		{name: "digits under PaNET scheme", subjects: []*fairwayv1.Subject{{Value: "01168", Scheme: "PaNET"}}, want: []want{{"PaNET01168", "id", "01168"}}},
		{name: "label", subjects: subjects("serial femtosecond crystallography"), want: []want{{"PaNET01168", "label", "serial femtosecond crystallography"}}},
		{name: "label case and blanks", subjects: subjects("  Serial   Femtosecond\tCrystallography "), want: []want{{"PaNET01168", "label", "Serial   Femtosecond\tCrystallography"}}},
		{name: "label with underscores", subjects: subjects("serial_femtosecond_crystallography"), want: []want{{"PaNET01168", "label", "serial_femtosecond_crystallography"}}},
		{name: "label hyphen-insensitive", subjects: subjects("X Ray Single-Crystal Diffraction"), want: []want{{"PaNET01102", "label", "X Ray Single-Crystal Diffraction"}}},
		{name: "altLabel acronym", subjects: subjects("SFX"), want: []want{{"PaNET01168", "synonym", "SFX"}}},
		{name: "altLabel lower case", subjects: subjects("saxs"), want: []want{{"PaNET01188", "synonym", "saxs"}}},
		{name: "micro sign", subjects: subjects("PPC-Sr\u00b5CT"), want: []want{{"PaNET01333", "synonym", "PPC-Sr\u00b5CT"}}},
		// A technique and a specifier share the label: the technique wins.
		{name: "label shared with a specifier", subjects: subjects("diffraction"), want: []want{{"PaNET01022", "label", "diffraction"}}},
		{
			// Unique by IRI, in first-seen order, each with its most
			// confident match.
			name:     "unique by IRI in first-seen order",
			subjects: subjects("SAXS", "sfx", sfx, "PaNET01188", "diffraction"),
			want:     []want{{"PaNET01188", "id", "PaNET01188"}, {"PaNET01168", "iri", sfx}, {"PaNET01022", "label", "diffraction"}},
		},
		{name: "unknown id", subjects: subjects("PaNET99999", "panet:99999")},
		{name: "specifier IRI", subjects: subjects(Namespace + "PaNET2020018")},
		{name: "object property IRI", subjects: subjects(Namespace + "PaNET1000000")},
		{name: "ontology IRI", subjects: subjects(OntologyIRI)},
		{name: "not an id", subjects: subjects("PaNET", "panet:", "PaNET01168x", "xPaNET01168", "PaNET-", "01168")},
		{name: "free keywords", subjects: subjects("protein", "cooking", "serial femtosecond")},
		{name: "keyword naming a technique", subjects: subjects("protein", "crystallography of proteins"), want: []want{{"PaNET01082", "text", "crystallography"}}},
		{name: "label of another scheme's IRI", subjects: []*fairwayv1.Subject{{Value: "crystallography", ValueUri: "http://example.org/crystallography"}}, want: []want{{"PaNET01082", "label", "crystallography"}}},
		{name: "empty and nil", subjects: []*fairwayv1.Subject{nil, {}, {Value: "   "}}},
		{name: "no subjects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Match(tc.subjects)
			if len(got) != len(tc.want) {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				c, _ := m.Ontology().Class(w.id)
				if g.GetId() != w.id || g.GetIri() != Namespace+w.id || g.GetMatchedBy() != w.by || g.GetMatchedText() != w.text || c == nil || g.GetLabel() != c.Label {
					t.Errorf("technique %d = %v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestMatchEveryClass checks that every technique is found from its IRI, its
// id and its label, so that the lookup tables cover the whole release.
func TestMatchEveryClass(t *testing.T) {
	for _, file := range []string{v130, v111} {
		o := release(t, file)
		m := NewMatcher(o)
		for _, c := range o.Classes() {
			for _, s := range []string{c.IRI, c.ID, c.Label} {
				got := m.Match(subjects(s))
				if c.Specifier || s == "" {
					if len(got) != 0 && got[0].Id == c.ID {
						t.Errorf("%s: %s %q matched", file, c.ID, s)
					}
					continue
				}
				if s == c.Label && len(m.labels[normalize(s)]) > 1 {
					continue // ambiguous label
				}
				if len(got) != 1 || got[0].Id != c.ID {
					t.Errorf("%s: Match(%q) = %v, want %s", file, s, got, c.ID)
					continue
				}
				var want []string
				for _, a := range o.Ancestors(c.ID) {
					want = append(want, a.IRI)
				}
				if !slices.Equal(got[0].Broader, want) {
					t.Errorf("%s: Match(%q).Broader = %v, want %v", file, s, got[0].Broader, want)
				}
			}
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	m := NewMatcher(release(b, v130))
	subs := subjects("protein crystallography", "SFX", "lysozyme", "PaNET01102", "X-ray diffraction", "room temperature",
		Namespace+"PaNET01188", "beamline P11", "serial femtosecond crystallography", "not a technique at all")
	for i := range 10 {
		subs = append(subs, &fairwayv1.Subject{Value: fmt.Sprintf("keyword %d", i)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := m.Match(subs); len(got) != 5 {
			b.Fatalf("Match = %d techniques, want 5: %v", len(got), got)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	path := testenv.SharedData(b, "panet", v130)
	for b.Loop() {
		if _, err := Load(b.Context(), path); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMatchText(t *testing.T) {
	m := NewMatcher(release(t, v130))
	type want struct{ id, text string }
	tests := []struct {
		name string
		text string
		want []want
	}{
		{name: "acronym", text: "SAXS of lysozyme at 20 C", want: []want{{"PaNET01188", "SAXS"}}},
		{name: "short acronym keeps its case", text: "saxs and Saxs are not the acronym"},
		{name: "acronym as a whole word only", text: "GISAXS of block copolymer films", want: []want{{"PaNET01162", "GISAXS"}}},
		{name: "long acronym in any case", text: "haxpes of buried interfaces", want: []want{{"PaNET01103", "haxpes"}}},
		{name: "acronym before a hyphen", text: "XRD-based phase analysis", want: []want{{"PaNET01216", "XRD"}}},
		{name: "multi-word label with hyphens and case", text: "Small-Angle X-Ray Scattering of micelles", want: []want{{"PaNET01188", "Small-Angle X-Ray Scattering"}}},
		{name: "xray written as one word", text: "xray powder diffraction of zeolites", want: []want{{"PaNET01101", "xray powder diffraction"}}},
		{name: "plural", text: "in situ x-ray absorption spectroscopies", want: []want{{"PaNET01196", "x-ray absorption spectroscopies"}}},
		{name: "prefix written apart", text: "nano-tomography of a battery electrode", want: []want{{"PaNET01154", "nano-tomography"}}},
		{name: "longest phrase wins", text: "grazing incidence small angle x-ray scattering", want: []want{{"PaNET01162", "grazing incidence small angle x-ray scattering"}}},
		{name: "ancestor dropped for a descendant", text: "x-ray scattering: SAXS and WAXS", want: []want{{"PaNET01188", "SAXS"}, {"PaNET01191", "WAXS"}}},
		{name: "diffraction-limited is not diffraction", text: "a diffraction-limited storage ring"},
		{name: "imaging plate is not imaging", text: "recorded on an imaging plate"},
		{name: "PhD and PDF are not acronyms here", text: "PhD thesis data, see the PDF report"},
		{name: "upper classes are not matched in text", text: "testing of the therapy versus time"},
		{name: "no technique", text: "Data of the 2021 user meeting"},
		{name: "denied by no", text: "No diffraction was observed"},
		{name: "denied by without", text: "measured without small-angle neutron scattering"},
		{name: "denied by neither and nor", text: "Neither ARPES nor XPS data were recorded"},
		{name: "denied by not", text: "not SAXS but WAXS", want: []want{{"PaNET01191", "WAXS"}}},
		{name: "not only is no denial", text: "not only SAXS", want: []want{{"PaNET01188", "SAXS"}}},
		{name: "a denial across punctuation is none", text: "Any fluorescence? No. SAXS was measured", want: []want{{"PaNET01188", "SAXS"}}},
		{name: "denied by was not after the phrase", text: "SAXS was not performed"},
		{name: "denied by were not after the phrase", text: "XPS and ARPES were not recorded", want: []want{{"PaNET01204", "XPS"}}},
		{name: "was not only is no denial", text: "SAXS was not only a test", want: []want{{"PaNET01188", "SAXS"}}},
		{name: "a denial further after the phrase is not seen", text: "SAXS data, however, were not kept", want: []want{{"PaNET01188", "SAXS"}}},
		{name: "acronym plural", text: "XRDs of the three samples", want: []want{{"PaNET01216", "XRDs"}}},
		{name: "no plural of an acronym ending in S", text: "SAXSs", want: nil},
		{name: "acronym in parentheses", text: "small angle X-ray scattering (SAXS) of micelles", want: []want{{"PaNET01188", "small angle X-ray scattering"}}},
		{name: "Greek mu for Mu", text: "\u03bcSR and \u00b5SR of a magnet", want: []want{{"PaNET01051", "\u03bcSR"}}},
		{name: "Greek mu for micro", text: "\u03bc-XRF maps", want: []want{{"PaNET01113", "\u03bc-XRF"}}},
		{name: "probe qualifier inside a label names both", text: "quasi-elastic neutron scattering of water", want: []want{{"PaNET01035", "quasi-elastic neutron scattering"}, {"PaNET01242", "quasi-elastic neutron scattering"}}},
		{name: "x-ray qualifier inside a label", text: "time-resolved X-ray diffraction", want: []want{{"PaNET01264", "time-resolved X-ray diffraction"}, {"PaNET01216", "time-resolved X-ray diffraction"}}},
		{name: "a qualifier does not split a longer label", text: "small-angle neutron scattering", want: []want{{"PaNET01189", "small-angle neutron scattering"}}},
		{name: "generic last word dropped after a probe", text: "neutron spin echo of proteins", want: []want{{"PaNET01052", "neutron spin echo"}}},
		{name: "spin echo without a probe is not the technique", text: "MRI spin echo sequences"},
		{name: "time of flight is no technique without its last word", text: "the neutron time-of-flight spectrometer"},
		{name: "computed tomography", text: "X-ray computed tomography of a battery", want: []want{{"PaNET01207", "X-ray computed tomography"}}},
		{name: "synchrotron for x-ray", text: "synchrotron powder diffraction of zeolites", want: []want{{"PaNET01101", "synchrotron powder diffraction"}}},
		{name: "qualifier with another class's acronym", text: "high-resolution ARPES of a semimetal", want: []want{{"PaNET01317", "high-resolution ARPES"}}},
		{name: "initials of a qualifier with an acronym", text: "APXPS of water on TiO2", want: []want{{"PaNET01218", "APXPS"}}},
		{name: "acronym spelled out in a synonym names both", text: "micro X-ray fluorescence of a meteorite", want: []want{{"PaNET01113", "micro X-ray fluorescence"}, {"PaNET01177", "micro X-ray fluorescence"}}},
		{name: "x-ray tube is no technique", text: "x-ray tube maintenance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Match(nil, tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("Match(%q) = %v, want %v", tc.text, got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Id != w.id || g.MatchedBy != MatchedByText || g.MatchedText != w.text || g.Confidence <= 0 || g.Confidence >= ConfidenceSynonym {
					t.Errorf("technique %d = %v, want %+v", i, g, w)
				}
				if len(g.Broader) == 0 {
					t.Errorf("technique %d has no broader techniques", i)
				}
			}
		})
	}
}

// A subject match is kept even when a narrower technique is found in the
// text; a title match is more confident than a description match.
func TestMatchDataset(t *testing.T) {
	m := NewMatcher(release(t, v130))
	ds := &fairwayv1.Dataset{
		Title:       "SAXS of lysozyme",
		Description: "Complementary x-ray powder diffraction was measured.",
		Subjects:    subjects("x-ray scattering"),
	}
	got := m.MatchDataset(ds)
	ids := map[string]*fairwayv1.Technique{}
	for _, g := range got {
		ids[g.Id] = g
	}
	if len(got) != 3 || ids["PaNET01184"] == nil || ids["PaNET01188"] == nil || ids["PaNET01101"] == nil {
		t.Fatalf("MatchDataset = %v", got)
	}
	if c := ids["PaNET01184"].Confidence; c != ConfidenceLabel {
		t.Errorf("subject confidence %v, want %v", c, ConfidenceLabel)
	}
	if ti, de := ids["PaNET01188"].Confidence, ids["PaNET01101"].Confidence; ti <= de {
		t.Errorf("title confidence %v not above description confidence %v", ti, de)
	}
}

func TestAliases(t *testing.T) {
	o := release(t, v130)
	as, err := LoadAliases(testenv.SharedData(t, "panet", "esrf-ontologies", "PaNET-aliases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(as) < 90 {
		t.Fatalf("%d aliases", len(as))
	}
	tests := []struct {
		subject, text, id string
		by                string
	}{
		// "ED-EXAFS" is an altLabel; "EDE" is an alias too but denied in
		// free text; "CT scan" and "x-ray reflectometry" come from both.
		{subject: "x-ray scanning microscopy", id: "PaNET01295", by: MatchedByLabel},
		{subject: "XANES", id: "PaNET01199", by: MatchedBySynonym},
		{text: "micro SAXS tomography of bone", id: "PaNET01286", by: MatchedByText},
		{text: "ASAXS near the Se edge", id: "PaNET01274", by: MatchedByText},
	}
	plain, aliased := NewMatcher(o), NewMatcher(o, as...)
	for _, tc := range tests {
		got := aliased.Match(subjects(tc.subject), tc.text)
		if tc.subject == "" {
			got = aliased.Match(nil, tc.text)
		}
		if len(got) != 1 || got[0].Id != tc.id || got[0].MatchedBy != tc.by {
			t.Errorf("Match(%q, %q) = %v, want %s by %s", tc.subject, tc.text, got, tc.id, tc.by)
		}
	}
	// A name only the dictionary knows.
	if got := plain.Match(subjects("hard x-ray probe")); len(got) != 0 {
		t.Errorf("without aliases: %v", got)
	}
	if got := aliased.Match(subjects("Hard X-ray probe")); len(got) != 1 || got[0].Id != "PaNET01013" || got[0].MatchedBy != MatchedBySynonym {
		t.Errorf("with aliases: %v", got)
	}
	// Aliases of unknown classes are ignored.
	if got := NewMatcher(o, Alias{IRI: Namespace + "PaNET99999", Names: []string{"cooking"}}).Match(subjects("cooking")); len(got) != 0 {
		t.Errorf("alias of an unknown class: %v", got)
	}
	if _, err := ParseAliases(strings.NewReader(`[{"names":["x"]}]`)); !errors.Is(err, ErrInvalidAliases) {
		t.Errorf("entry without iri: %v", err)
	}
	if _, err := ParseAliases(strings.NewReader(`{`)); !errors.Is(err, ErrInvalidAliases) {
		t.Errorf("bad JSON: %v", err)
	}
	if _, err := LoadAliases(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
