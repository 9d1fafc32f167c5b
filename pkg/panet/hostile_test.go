package panet

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/proto/fairwayv1"
)

// TestHostileBounds matches datasets of a few MiB built to cost time or
// memory (millions of one-letter words, acronyms, characters that change
// length when lowered, one endless word, thousands of long subjects) and
// checks that each takes time and allocates memory in proportion to its
// size, and that no word buffer above maxPooledTokens is kept in the pool.
func TestHostileBounds(t *testing.T) {
	m := NewMatcher(release(t, v130))
	const size = 8 << 20
	text := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	tests := []struct {
		name string
		ds   *fairwayv1.Dataset
	}{
		{"one-letter words", &fairwayv1.Dataset{Description: text("a ")}},
		{"acronyms", &fairwayv1.Dataset{Title: text("SAXS "), Description: text("x-ray powder diffraction ")}},
		{"length-changing characters", &fairwayv1.Dataset{Description: text("İ Ⱥ tomography ")}},
		{"one endless word", &fairwayv1.Dataset{Description: text("a")}},
		{"one huge subject", &fairwayv1.Dataset{Subjects: subjects(text("SAXS "))}},
		{"many long subjects", &fairwayv1.Dataset{Subjects: subjects(strings.Split(strings.Repeat(strings.Repeat("SANS a ", 200)+"\x00", 4000), "\x00")...)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// n is the text's size, scanned the part of it that is read:
			// at most MaxTextBytes of each field.
			n, scanned := 0, 0
			for _, s := range append([]string{tc.ds.Title, tc.ds.Description}, values(tc.ds.Subjects)...) {
				n += len(s)
				scanned += min(len(s), MaxTextBytes)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			got := m.MatchDataset(tc.ds)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: %v, %d bytes allocated (%.3f×), %d techniques", n, took, alloc, float64(alloc)/float64(n), len(got))
			// Generous bounds per byte scanned: a capped scan stays far
			// below them on a loaded machine; scanning every byte of every
			// field (24 bytes of words per byte of "a a a") does not.
			if limit := 256*uint64(scanned) + 1<<20; alloc > limit {
				t.Errorf("allocated %d bytes for %d bytes of text (%d scanned), limit %d", alloc, n, scanned, limit)
			}
			if limit := time.Duration(scanned)*time.Microsecond + 20*time.Millisecond; took > limit {
				t.Errorf("took %v for %d bytes of text (%d scanned), limit %v", took, n, scanned, limit)
			}
			for range 8 {
				if b := tokenBuffers.Get().(*[]token); cap(*b) > maxPooledTokens {
					t.Errorf("the pool keeps a buffer of %d words", cap(*b))
				}
			}
		})
	}
}

func values(subjects []*fairwayv1.Subject) []string {
	out := make([]string, len(subjects))
	for i, s := range subjects {
		out[i] = s.GetValue()
	}
	return out
}

// TestCapText: a long text is cut at MaxTextBytes, before the word that
// crosses the limit and never inside a character.
func TestCapText(t *testing.T) {
	tests := []struct {
		name, s string
		max     int
		want    string
	}{
		{"short", "SAXS data", 64, "SAXS data"},
		{"at a blank", "SAXS data", 5, "SAXS "},
		{"inside a word", "SAXS tomography", 8, "SAXS "},
		{"inside a character", "ab é", 4, "ab "},
		{"one word", "tomography", 4, ""},
		{"after punctuation", "SAXS, WAXS", 6, "SAXS, "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := capText(tc.s, tc.max); got != tc.want {
				t.Errorf("capText(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
			}
		})
	}
	m := NewMatcher(release(t, v130))
	long := strings.Repeat("a ", MaxTextBytes/2) + "SAXS"
	if got := m.Match(nil, long); len(got) != 0 {
		t.Errorf("a technique beyond MaxTextBytes was found: %v", got)
	}
	if got := m.Match(nil, "SAXS "+long); len(got) != 1 {
		t.Errorf("a technique at the start of a long text: %v", got)
	}
}
