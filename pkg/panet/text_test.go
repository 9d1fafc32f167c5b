package panet

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// TestTokenizeUnicode: every word's folded form is its own text folded,
// whatever the other characters of the text do when lowered ('İ' shrinks,
// 'Ⱥ' grows), and a technique between such characters is found.
func TestTokenizeUnicode(t *testing.T) {
	m := NewMatcher(release(t, v130))
	tests := []struct {
		name, text string
		folds      []string
		want       string // the id MatchDataset finds in the title, "" none
	}{
		{name: "ascii", text: "X-Ray Tomography", folds: []string{"x", "ray", "tomography"}, want: "PaNET01207"},
		{name: "shrinking then growing", text: "İ tomography Ⱥ", folds: []string{"i", "tomography", "ⱥ"}, want: "PaNET01129"},
		{name: "growing then shrinking", text: "Ⱥ tomography İ", folds: []string{"ⱥ", "tomography", "i"}, want: "PaNET01129"},
		{name: "several of each", text: "İİİ ȺȺ SAXS Ⱥ", folds: []string{"iii", "ⱥⱥ", "saxs", "ⱥ"}, want: "PaNET01188"},
		{name: "micro sign", text: "µCT ÉTUDE", folds: []string{"μct", "étude"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			toks := tokenize(nil, tc.text)
			var folds []string
			for _, k := range toks {
				folds = append(folds, k.fold)
			}
			if strings.Join(folds, "|") != strings.Join(tc.folds, "|") {
				t.Errorf("folded words %q, want %q", folds, tc.folds)
			}
			got := m.MatchDataset(&fairwayv1.Dataset{Title: tc.text})
			var ids []string
			for _, g := range got {
				ids = append(ids, g.Id)
			}
			if tc.want == "" && len(ids) != 0 || tc.want != "" && (len(ids) != 1 || ids[0] != tc.want) {
				t.Errorf("MatchDataset(%q) = %v, want %q", tc.text, ids, tc.want)
			}
		})
	}
}

// FuzzMatch: no text makes the matcher panic or take long, every word is
// folded as it would be alone, and every match points into the text.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"", " ", "İ tomography Ⱥ", "Ⱥ SAXS İ", "small-angle X-ray scattering", "xray", "µCT",
		"No diffraction was observed", "\xff\xfe tomography \x80", strings.Repeat("a ", 1<<12),
		strings.Repeat("İ", 300) + " GISAXS", "ǅ ǈ ǋ ß ẞ ſ K Å",
	} {
		f.Add(s)
	}
	m := NewMatcher(release(f, v130))
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range tokenize(nil, s) {
			if k.start < 0 || k.end > len(s) || k.start >= k.end {
				t.Fatalf("word at [%d,%d) of a text of %d bytes", k.start, k.end, len(s))
			}
			if want := foldWord(s[k.start:k.end]); k.raw != "" && k.fold != want {
				t.Fatalf("word %q folded %q in the text, %q alone", s[k.start:k.end], k.fold, want)
			}
		}
		start := time.Now()
		got := m.MatchDataset(&fairwayv1.Dataset{Title: s, Description: s, Subjects: subjects(s)})
		if took := time.Since(start); took > time.Second+time.Duration(len(s))*10*time.Microsecond {
			t.Fatalf("%d bytes took %v", len(s), took)
		}
		for _, g := range got {
			if g.MatchedBy == MatchedByText && !strings.Contains(s, g.MatchedText) {
				t.Fatalf("matched text %q is not in the text", g.MatchedText)
			}
			if !utf8.ValidString(g.MatchedText) && utf8.ValidString(s) {
				t.Fatalf("matched text %q is not valid UTF-8", g.MatchedText)
			}
		}
	})
}
