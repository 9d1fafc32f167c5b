package xmltree_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/panosc/fairway/pkg/xmltree"
)

func TestParseMatchesLocalNames(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{"default namespace", `<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title xml:lang="en" titleType="Other">T</title></titles></resource>`},
		{"declared prefix", `<dc:resource xmlns:dc="urn:x"><dc:titles><dc:title lang="en" dc:titleType="Other">T</dc:title></dc:titles></dc:resource>`},
		{"prefix declared on a missing ancestor", `<r:resource xsi:schemaLocation="x y"><r:titles><r:title xml:lang="en" titleType="Other">T</r:title></r:titles></r:resource>`},
		{"wrong namespace", `<resource xmlns="http://example.org/wrong"><titles><title xml:lang="en" titleType="Other">T</title></titles></resource>`},
		{"different case", `<Resource><TITLES><Title XML:LANG="en" TitleType="Other">T</Title></TITLES></Resource>`},
		{"leading declaration and comment", "\uFEFF<?xml version=\"1.0\"?>\n<!-- c --><resource><titles><title xml:lang=\"en\" titleType=\"Other\">T</title></titles></resource>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := xmltree.Parse([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !root.Is("resource") {
				t.Fatalf("root = %q", root.Name)
			}
			title := root.Child("titles").Child("title")
			if title.Text() != "T" || title.Attr("titleType") != "Other" || title.Attr("lang") != "en" {
				t.Fatalf("title = %q, type %q, lang %q", title.Text(), title.Attr("titleType"), title.Attr("lang"))
			}
		})
	}
}

func TestParseLenientInput(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"HTML entity", []byte(`<a>x&nbsp;y &amp; z</a>`), "x y & z"},
		{"control character", []byte("<a>x\x01y</a>"), "x\uFFFDy"},
		{"invalid UTF-8", []byte("<a>x\xffy</a>"), "x\uFFFDy"},
		{"latin-1 declared", []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Schlep\xfctz</a>"), "Schlepütz"},
		{"latin-9 declared", []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><a>Schlep\xfctz</a>"), "Schlepütz"},
		{"windows-1252 quotes", []byte("<?xml version='1.0' encoding='windows-1252'?><a>\x93q\x94</a>"), "“q”"},
		{"stray byte under an ASCII declaration", []byte("<?xml version=\"1.0\" encoding=\"US-ASCII\"?><a>Jos\xe9</a>"), "José"},
		{"utf-8 under a latin-1 declaration", []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Schlepütz</a>"), "Schlepütz"},
		{"unquoted attribute", []byte(`<a b=c>v</a>`), "v"},
		{"CDATA", []byte(`<a><![CDATA[<b>v</b>]]></a>`), "<b>v</b>"},
		{"trailing content ignored", []byte(`<a>v</a><b>w</b>`), "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := xmltree.Parse(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if got := root.Text(); got != tt.want {
				t.Fatalf("Text() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		reason  string
	}{
		{"empty", "", "empty payload"},
		{"blank", " \n\t", "empty payload"},
		{"plain text", "not xml at all", "outside the root element"},
		{"JSON", `{"pid": "x"}`, "outside the root element"},
		{"truncated", "<resource><titles><title>broken", "unexpected EOF"},
		{"only a comment", "<!-- nothing -->", "no element"},
		{"UTF-16", "\xFF\xFE<\x00a\x00/\x00>\x00", "UTF-16"},
		{"too deep", strings.Repeat("<a>", xmltree.MaxDepth+1), "deeper than"},
		{"bad syntax", "<a><</a>", "XML syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := xmltree.Parse([]byte(tt.payload))
			if !errors.Is(err, xmltree.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %q, want it to say %q", err, tt.reason)
			}
		})
	}
}

func TestTextAndBlock(t *testing.T) {
	root, err := xmltree.Parse([]byte("<d>\n   First line\n   wrapped   here.\n\n   Second <i>para</i>graph.<br/>Third.\n</d>"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := root.Text(), "First line wrapped here. Second paragraph. Third."; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	if got, want := root.Block(), "First line wrapped here.\n\nSecond paragraph.\n\nThird."; got != want {
		t.Errorf("Block() = %q, want %q", got, want)
	}
}

func TestChildrenAndNil(t *testing.T) {
	root, err := xmltree.Parse([]byte(`<r><c>1</c><x/><C>2</C><c>3</c></r>`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range root.Children("c") {
		got = append(got, c.Text())
	}
	if strings.Join(got, ",") != "1,2,3" {
		t.Errorf("Children(c) = %v", got)
	}
	if n := len(root.Elements()); n != 4 {
		t.Errorf("Elements() = %d, want 4", n)
	}
	var missing *xmltree.Element = root.Child("nope")
	if missing != nil {
		t.Fatal("Child(nope) != nil")
	}
	if missing.Child("a").Text() != "" || missing.Attr("a") != "" || missing.Is("a") ||
		missing.Children("a") != nil || missing.Elements() != nil || missing.Block() != "" {
		t.Error("accessors on nil element are not empty")
	}
}
