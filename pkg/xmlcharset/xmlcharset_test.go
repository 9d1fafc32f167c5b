package xmlcharset_test

import (
	"testing"

	"github.com/panosc/fairway/pkg/xmlcharset"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		label string
		want  xmlcharset.Encoding
	}{
		{"UTF-8", xmlcharset.UTF8},
		{" utf8 ", xmlcharset.UTF8},
		{"US-ASCII", xmlcharset.ASCII},
		{"iso646-us", xmlcharset.ASCII},
		{"ISO-8859-1", xmlcharset.Latin1},
		{"iso_8859-1", xmlcharset.Latin1},
		{"windows-1252", xmlcharset.Latin1},
		{"ISO-8859-15", xmlcharset.Latin1},
		{"latin9", xmlcharset.Latin1},
		{"UTF-16", xmlcharset.Unsupported},
		{"EBCDIC-US", xmlcharset.Unsupported},
		{"", xmlcharset.Unsupported},
	}
	for _, tt := range tests {
		if got := xmlcharset.Lookup(tt.label); got != tt.want {
			t.Errorf("Lookup(%q) = %v, want %v", tt.label, got, tt.want)
		}
	}
}

func TestDeclared(t *testing.T) {
	tests := []struct {
		doc, want string
	}{
		{`<?xml version="1.0" encoding="ISO-8859-15"?><a/>`, "ISO-8859-15"},
		{"\xEF\xBB\xBF\n <?xml version='1.0' encoding='utf-8' standalone='yes'?><a/>", "utf-8"},
		{`<?xml version="1.0"?><a encoding="latin1"/>`, ""},
		{`<?xml version="1.0" encoding="latin1"`, ""}, // incomplete
		{`<a encoding="latin1"/>`, ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := xmlcharset.Declared([]byte(tt.doc)); got != tt.want {
			t.Errorf("Declared(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestToUTF8(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Schlep\xfctz", "Schlepütz"},
		{"Jos\xe9 \x80 \xff", "José € ÿ"},
		{"\x93quoted\x94 \x81", "“quoted” \uFFFD"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got := string(xmlcharset.ToUTF8([]byte(tt.in))); got != tt.want {
			t.Errorf("ToUTF8(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
