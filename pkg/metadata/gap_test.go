package metadata_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/metadata"
)

func TestGapValue(t *testing.T) {
	if got := metadata.GapValue("  soon "); got != "soon" {
		t.Errorf("GapValue trims: %q", got)
	}
	long := strings.Repeat("é", 200) // 400 bytes
	got := metadata.GapValue(long)
	if len(got) != 256 || !utf8.ValidString(got) {
		t.Errorf("GapValue of %d bytes = %d bytes, valid %v", len(long), len(got), utf8.ValidString(got))
	}
	got = metadata.GapValue("a" + long)
	if len(got) != 255 || !utf8.ValidString(got) {
		t.Errorf("GapValue splits a character: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if got := metadata.GapValue("bad \xff"); !utf8.ValidString(got) {
		t.Errorf("GapValue keeps invalid UTF-8: %q", got)
	}
}

func TestDateReason(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2019-02-30", "invalid date: day out of range"},
		{"soon", "invalid date: expected a four-digit year"},
		{"2019-13", "invalid date: month out of range"},
	}
	for _, tt := range tests {
		_, err := metadata.ParseDate(tt.in)
		if got := metadata.DateReason(err); got != tt.want {
			t.Errorf("DateReason(ParseDate(%q)) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := metadata.DateReason(nil); got != "invalid date" {
		t.Errorf("DateReason(nil) = %q", got)
	}
}

func TestIdentifierScheme(t *testing.T) {
	tests := []struct{ in, want string }{
		{"doi", "DOI"}, {"DOI", "DOI"}, {" handle ", "Handle"}, {"HDL", "Handle"}, {"url", "URL"},
		{"urn", "URN"}, {"Ark", "ARK"}, {"isbn", "ISBN"}, {"e-ISSN", "EISSN"}, {"arxiv", "arXiv"}, {"igsn", "IGSN"},
		{"Proposal", "Proposal"}, {" ESRF local id ", "ESRF local id"}, {"", ""},
	}
	for _, tt := range tests {
		if got := metadata.IdentifierScheme(tt.in); got != tt.want {
			t.Errorf("IdentifierScheme(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFileCount(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"15 files", 15, true}, {"1 file", 1, true}, {" 2,048 Files ", 2048, true},
		{"12 GB", 0, false}, {"files", 0, false}, {"-3 files", 0, false}, {"x files", 0, false},
		{"99999999999999999999 files", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		if got, ok := metadata.FileCount(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("FileCount(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
func TestNewGap(t *testing.T) {
	g := metadata.NewGap("created", strings.Repeat("a", 255)+"é", metadata.ReasonBadDate)
	if g.Field != "created" || g.Value != strings.Repeat("a", 255) || g.Reason != metadata.ReasonBadDate {
		t.Errorf("NewGap = %v (cut inside a character)", g)
	}
	if g := metadata.NewGap("issued", "soon", "r"); g.Value != "soon" {
		t.Errorf("NewGap = %v", g)
	}
}
