package xmltree

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
)

// samplePayloads are the reference metadata payloads of every XML format
// the normaliser reads.
func samplePayloads(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, rel := range [][]string{
		{"oai-samples", "datacite-viringo", "oai_getrecord_oaidatacite.xml"},
		{"oai-samples", "datacite-viringo", "oai_getrecord_datacite.xml"},
		{"oai-samples", "sickle", "ListRecords.xml"},
	} {
		out = append(out, testenv.MetadataPayloads(tb, rel...)...)
	}
	return out
}

// diffTrees describes the first difference between two trees, or "".
func diffTrees(path string, a, b *Element) string {
	switch {
	case a == nil && b == nil:
		return ""
	case a == nil || b == nil:
		return fmt.Sprintf("%s: %v vs %v", path, a, b)
	}
	path += "/" + a.Name
	if a.Name != b.Name || a.Space != b.Space {
		return fmt.Sprintf("%s: name {%q %q} vs {%q %q}", path, a.Space, a.Name, b.Space, b.Name)
	}
	if len(a.Attrs) != len(b.Attrs) {
		return fmt.Sprintf("%s: attributes %v vs %v", path, a.Attrs, b.Attrs)
	}
	for i := range a.Attrs {
		if a.Attrs[i] != b.Attrs[i] {
			return fmt.Sprintf("%s: attribute %d %+v vs %+v", path, i, a.Attrs[i], b.Attrs[i])
		}
	}
	if len(a.content) != len(b.content) {
		return fmt.Sprintf("%s: %d content nodes vs %d", path, len(a.content), len(b.content))
	}
	for i := range a.content {
		x, y := a.content[i], b.content[i]
		if (x.el == nil) != (y.el == nil) || x.text != y.text {
			return fmt.Sprintf("%s: content %d {%q %v} vs {%q %v}", path, i, x.text, x.el != nil, y.text, y.el != nil)
		}
		if d := diffTrees(path, x.el, y.el); d != "" {
			return d
		}
	}
	return ""
}

// checkSameTree fails when parseFast reads a prepared payload and its tree
// is not the one encoding/xml's tokens give, or it reads one that
// encoding/xml rejects.
func checkSameTree(t *testing.T, payload []byte) (fast bool) {
	t.Helper()
	b, err := prepare(payload)
	if err != nil {
		return false
	}
	got, ok := parseFast(b)
	want, err := parseDecoder(b)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("parseFast read %q, encoding/xml rejects it: %v", payload, err)
	}
	if d := diffTrees("", got, want); d != "" {
		t.Fatalf("parseFast and encoding/xml differ on %q: %s", payload, d)
	}
	return true
}

var fastCases = []string{
	`<a/>`,
	`<a>text</a>`,
	"\uFEFF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n<r xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:x p:k=\"1\" xml:lang=\"en\" k='2'>v</p:x><q:y q:k=\"3\"/></r>",
	`<r xmlns:p="urn:1"><p:a xmlns:p="urn:2"><p:b/></p:a><p:c/></r>`,
	`<r xmlns="urn:1"><a xmlns=""><b/></a><c xmlns:xmlns="z"/><xmlns/></r>`,
	`<a b=c d e = "f" g=>x</a>`,
	`<a t="x&amp;y &lt; &#65;&#x42;&#X43; &nbsp; &bogus; &#; &#xZZ; &; & &#99999999999; &#xD800;">v</a>`,
	"<a>AT&T &amp R&D&#<b/>&#x</a>",
	"<a>line\r\nbreak\rand\n\r</a>",
	"<a k=\"1\r\n2\r3\">x</a>",
	`<a><![CDATA[<b>&amp;]] ]]></a>`,
	"<a><![CDATA[x\r\ny\r]]></a>",
	`<a>]]</a>`,
	`<a>x <!-- - -> --> y<?pi data?><b><?xml version="1.0"?></b></a>`,
	`<a:b:c/>`,
	`<:a/>`,
	`<a:/>`,
	`<a></b>`,
	`<a><b></a>`,
	`<a></a:a>`,
	`<?xml version="1.1"?><a/>`,
	`<?xml version='1.0' encoding='ISO-8859-1'?><a/>`,
	`<!DOCTYPE a><a/>`,
	`<a>&#1;</a>`,
	`<a>x ]]> y</a>`,
	`<a b="<">x</a>`,
	`<a>unclosed`,
	`<é/>`,
	`<a é="1"/>`,
	`text<a/>`,
	" \u00a0 <a/>",
	"&nbsp;<a>x</a>",
	`<a b="1"c="2"/>`,
	`<a><b/ ></a>`,
	`<a></a >`,
	`<a></ a>`,
	"<a>x</a>trailing <b>",
	strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth),
	strings.Repeat("<a>", MaxDepth+1),
}

func TestFastParserMatchesDecoder(t *testing.T) {
	for _, c := range fastCases {
		checkSameTree(t, []byte(c))
	}
}

// TestFastParserReadsSamples holds that the everyday payloads take the
// fast path, and that it reads them as encoding/xml does.
func TestFastParserReadsSamples(t *testing.T) {
	samples := samplePayloads(t)
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	for i, p := range samples {
		if !checkSameTree(t, p) {
			t.Errorf("sample %d left to encoding/xml", i)
		}
	}
}

func TestFastParserCommonForms(t *testing.T) {
	for _, c := range []string{
		fastCases[2], fastCases[3], fastCases[5], fastCases[6], fastCases[7], fastCases[8], fastCases[10],
		fastCases[13], `<?xml version='1.0' encoding='ISO-8859-1'?><a/>`,
	} {
		if !checkSameTree(t, []byte(c)) {
			t.Errorf("%q left to encoding/xml", c)
		}
	}
}

// FuzzFastParser compares the fast tree with encoding/xml's wherever the
// fast parser reads the payload, and Parse's result with the decoder's
// everywhere.
func FuzzFastParser(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c))
	}
	for _, p := range samplePayloads(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if got, want := collapse(string(payload)), strings.Join(strings.Fields(string(payload)), " "); got != want {
			t.Fatalf("collapse(%q) = %q, want %q", payload, got, want)
		}
		checkSameTree(t, payload)
		got, err := Parse(payload)
		b, perr := prepare(payload)
		if perr != nil {
			if err == nil {
				t.Fatalf("Parse accepted %q that prepare rejects", payload)
			}
			return
		}
		want, werr := parseDecoder(b)
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("Parse error %v, encoding/xml's %v", err, werr)
		}
		if d := diffTrees("", got, want); d != "" {
			t.Fatal(d)
		}
	})
}

func TestCollapse(t *testing.T) {
	for _, s := range []string{
		"", " ", "a", "a b", " a", "a ", "a  b", "a\tb", "a\nb", "a\u00a0b", "a\u2003 b", "é b", "a b c", "\v", "a\fb\r",
	} {
		if got, want := collapse(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Errorf("collapse(%q) = %q, want %q", s, got, want)
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParseMemoryBounded: what Parse allocates grows with what a payload
// holds, not with how many '<' or '=' it has (the fast parser's first
// slices are sized by counting them). A payload the fast parser gives up
// on late is read twice: Parse then allocates at most 7/4 of what
// encoding/xml alone does, plus the fast parser's copy of the payload
// (truncated after 1 MiB of elements: 32 × the payload for the fast
// parser, then 58 × for encoding/xml); on what it reads, less than
// encoding/xml alone.
func TestParseMemoryBounded(t *testing.T) {
	const size = 1 << 20
	for _, tt := range []struct {
		name    string
		payload string
	}{
		{"only <", strings.Repeat("<", size)},
		{"only = in a tag", "<a " + strings.Repeat("=", size)},
		{"empty elements", "<r>" + strings.Repeat("<a/>", size/4) + "</r>"},
		{"truncated", "<r>" + strings.Repeat("<a></a>", size/7)},
		{"valueless attributes", "<a" + strings.Repeat(" b", size/2) + "/>"},
		{"attributes", "<r>" + strings.Repeat(`<a b="1" c="2"/>`, size/16) + "</r>"},
		{"comments", strings.Repeat("<!--<<<<<<<<-->", size/15) + "<a/>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte(tt.payload)
			got := allocated(func() { _, _ = Parse(payload) })
			decoder := allocated(func() {
				if b, err := prepare(payload); err == nil {
					_, _ = parseDecoder(b)
				}
			})
			if limit := 7*decoder/4 + uint64(len(payload)) + 4<<20; got > limit {
				t.Errorf("Parse allocated %d bytes for %d, more than %d (encoding/xml alone: %d)", got, len(payload), limit, decoder)
			}
			t.Logf("%.1f × the payload; encoding/xml alone %.1f ×", float64(got)/float64(len(payload)), float64(decoder)/float64(len(payload)))
		})
	}
}
