package panet

import (
	"fmt"
	"slices"
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
		{name: "altLabel acronym", subjects: subjects("SFX"), want: []want{{"PaNET01168", "label", "SFX"}}},
		{name: "altLabel lower case", subjects: subjects("saxs"), want: []want{{"PaNET01188", "label", "saxs"}}},
		{name: "micro sign", subjects: subjects("PPC-Sr\u00b5CT"), want: []want{{"PaNET01333", "label", "PPC-Sr\u00b5CT"}}},
		// A technique and a specifier share the label: the technique wins.
		{name: "label shared with a specifier", subjects: subjects("diffraction"), want: []want{{"PaNET01022", "label", "diffraction"}}},
		{
			name:     "unique by IRI in first-seen order",
			subjects: subjects("SAXS", "sfx", sfx, "PaNET01188", "diffraction"),
			want:     []want{{"PaNET01188", "label", "SAXS"}, {"PaNET01168", "label", "sfx"}, {"PaNET01022", "label", "diffraction"}},
		},
		{name: "unknown id", subjects: subjects("PaNET99999", "panet:99999")},
		{name: "specifier IRI", subjects: subjects(Namespace + "PaNET2020018")},
		{name: "object property IRI", subjects: subjects(Namespace + "PaNET1000000")},
		{name: "ontology IRI", subjects: subjects(OntologyIRI)},
		{name: "not an id", subjects: subjects("PaNET", "panet:", "PaNET01168x", "xPaNET01168", "PaNET-", "01168")},
		{name: "free keywords", subjects: subjects("protein", "cooking", "serial femtosecond", "crystallography of proteins")},
		{name: "label of another scheme's IRI", subjects: []*fairwayv1.Subject{{Value: "crystallography", ValueUri: "http://example.org/crystallography"}}, want: []want{{"PaNET01082", "label", "crystallography"}}},
		{name: "empty and nil", subjects: []*fairwayv1.Subject{nil, {}, {Value: "   "}}},
		{name: "no subjects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Match(tc.subjects, "serial femtosecond crystallography in the title is not matched")
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
