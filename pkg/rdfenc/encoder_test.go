package rdfenc

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/knakk/rdf"
)

// testNamespaces are vocabulary prefixes as dcat.Namespaces gives them,
// plus ones the encoders must ignore.
var testNamespaces = map[string]string{
	"dcat":    "http://www.w3.org/ns/dcat#",
	"dct":     "http://purl.org/dc/terms/",
	"foaf":    "http://xmlns.com/foaf/0.1/",
	"xsd":     "http://www.w3.org/2001/XMLSchema#",
	"rdf":     "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
	"ex":      "https://example.org/",
	"hydra":   "http://www.w3.org/ns/hydra/core#",
	"":        "http://ignored.example/empty#",
	"xmlfoo":  "http://ignored.example/xml#",
	"bad:one": "http://ignored.example/colon#",
	"rel":     "not-absolute/",
}

func iri(t testing.TB, s string) rdf.IRI {
	t.Helper()
	i, err := rdf.NewIRI(s)
	if err != nil {
		t.Fatalf("IRI %q: %v", s, err)
	}
	return i
}

func blank(t testing.TB, s string) rdf.Blank {
	t.Helper()
	b, err := rdf.NewBlank(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lang(t testing.TB, v, l string) rdf.Literal {
	t.Helper()
	x, err := rdf.NewLangLiteral(v, l)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func plain(v string) rdf.Literal { return rdf.NewTypedLiteral(v, rdf.IRI{}) }

// hardGroups is a document of three groups with the cases that break
// serialisers: IRIs with ?, &, parentheses, a trailing dot, non-ASCII and
// an empty local name; literals with quotes, backslashes, newlines, tabs,
// control characters, non-ASCII, XML markup, Turtle syntax, language tags,
// datatypes, empty and long; blank nodes as subjects and objects (labels
// starting with a digit and with '_'); predicates with no QName in the
// namespaces; a subject spread over two groups.
func hardGroups(t testing.TB) [][]rdf.Triple {
	t.Helper()
	dct := func(l string) rdf.IRI { return iri(t, "http://purl.org/dc/terms/"+l) }
	xsd := func(l string) rdf.IRI { return iri(t, "http://www.w3.org/2001/XMLSchema#"+l) }
	typ := iri(t, rdfType)
	ds := iri(t, "https://example.org/datasets/a?b=1&c=(2)")
	dot := iri(t, "https://example.org/datasets/v1.")
	uni := iri(t, "https://example.org/datasets/Ångström/日本")
	ns := iri(t, "https://example.org/")
	long := strings.Repeat("Long line with \"quotes\" and \\ and é.\n", 3000)
	g1 := []rdf.Triple{
		{Subj: ds, Pred: typ, Obj: iri(t, "http://www.w3.org/ns/dcat#Dataset")},
		{Subj: ds, Pred: dct("title"), Obj: lang(t, `Say "hi" \ bye`, "en")},
		{Subj: ds, Pred: dct("title"), Obj: lang(t, "Grüezi\nmitenand", "de-CH")},
		{Subj: ds, Pred: dct("description"), Obj: plain("tab\there\r\nCRLF, ctl \x01\x1f\x7f, <tag> &amp; ]]> \"\"\" ''' . ; , \\u0041")},
		{Subj: ds, Pred: dct("abstract"), Obj: plain("Ångström – 日本語 🎉 \u00a0\u2028\u2029\ufeff")},
		{Subj: ds, Pred: dct("alternative"), Obj: plain("")},
		{Subj: ds, Pred: dct("tableOfContents"), Obj: plain(long)},
		{Subj: ds, Pred: dct("issued"), Obj: rdf.NewTypedLiteral("2024-02-29", xsd("date"))},
		{Subj: ds, Pred: dct("modified"), Obj: rdf.NewTypedLiteral("2024-02-29T12:00:00.5+01:00", xsd("dateTime"))},
		{Subj: ds, Pred: dct("extent"), Obj: rdf.NewTypedLiteral("042", xsd("integer"))},
		{Subj: ds, Pred: dct("extent"), Obj: rdf.NewTypedLiteral("1.50", xsd("decimal"))},
		{Subj: ds, Pred: dct("valid"), Obj: rdf.NewTypedLiteral("true", xsd("boolean"))},
		{Subj: ds, Pred: dct("format"), Obj: rdf.NewTypedLiteral("x<y>&\"z\"", iri(t, "https://example.org/dt?x=1&y=(2)"))},
		{Subj: ds, Pred: dct("conformsTo"), Obj: rdf.NewTypedLiteral("s", xsd("string"))},
		{Subj: ds, Pred: dct("relation"), Obj: dot},
		{Subj: ds, Pred: dct("relation"), Obj: uni},
		{Subj: ds, Pred: dct("relation"), Obj: ns},
		{Subj: ds, Pred: dct("relation"), Obj: iri(t, "dct:looks-prefixed")},
		{Subj: ds, Pred: dct("relation"), Obj: iri(t, "urn:isbn:0-486-27557-4")},
		{Subj: ds, Pred: dct("relation"), Obj: iri(t, "mailto:a.b@example.org")},
		{Subj: ds, Pred: iri(t, "https://example.org/vocab?x=a&y=b"), Obj: plain("query predicate")},
		{Subj: ds, Pred: iri(t, "https://example.org/v#12ab"), Obj: plain("digit local")},
		{Subj: ds, Pred: iri(t, "https://example.org/v.x/pred.dot"), Obj: plain("dotted local")},
		{Subj: ds, Pred: dct("publisher"), Obj: blank(t, "n0publisher1")},
		{Subj: ds, Pred: dct("creator"), Obj: blank(t, "1digit")},
		{Subj: ds, Pred: dct("contributor"), Obj: blank(t, "_1digit")},
		{Subj: blank(t, "n0publisher1"), Pred: typ, Obj: iri(t, "http://xmlns.com/foaf/0.1/Organization")},
		{Subj: blank(t, "n0publisher1"), Pred: iri(t, "http://xmlns.com/foaf/0.1/name"), Obj: lang(t, "ESRF", "en")},
		{Subj: blank(t, "1digit"), Pred: iri(t, "http://xmlns.com/foaf/0.1/name"), Obj: plain("One")},
		{Subj: blank(t, "_1digit"), Pred: iri(t, "http://xmlns.com/foaf/0.1/name"), Obj: plain("Two")},
	}
	g2 := []rdf.Triple{
		{Subj: dot, Pred: typ, Obj: iri(t, "http://www.w3.org/ns/dcat#Dataset")},
		{Subj: dot, Pred: dct("title"), Obj: plain("Second")},
		{Subj: uni, Pred: dct("title"), Obj: lang(t, "日本", "ja")},
	}
	g3 := []rdf.Triple{ // the first group's subject again
		{Subj: ds, Pred: dct("isPartOf"), Obj: iri(t, "https://example.org/catalogue/esrf")},
		{Subj: iri(t, "https://example.org/catalogue/esrf"), Pred: iri(t, "http://www.w3.org/ns/dcat#dataset"), Obj: ds},
	}
	return [][]rdf.Triple{g1, g2, g3}
}

func encodeAll(t testing.TB, f Format, groups [][]rdf.Triple) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := NewEncoder(&buf, f, testNamespaces)
	for i, g := range groups {
		if err := enc.Encode(g); err != nil {
			t.Fatalf("%s: group %d: %v", f, i, err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("%s: close: %v", f, err)
	}
	return buf.Bytes()
}

// expected is the graph a parser must read back from format f: RDF/XML
// replaces characters XML 1.0 forbids with U+FFFD.
func expected(ts []triple, f Format) []triple {
	if f != RDFXML {
		return ts
	}
	out := make([]triple, len(ts))
	for i, t := range ts {
		if t.o.kind == kindLiteral {
			t.o.value = xmlText(t.o.value)
		}
		out[i] = t
	}
	return out
}

// xmlText replaces what XML 1.0 cannot hold.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		if xmlChar(r) {
			return r
		}
		return '\uFFFD'
	}, s)
}

func TestRoundTrip(t *testing.T) {
	groups := hardGroups(t)
	all := mustCheck(t, groups)
	for _, f := range Formats {
		t.Run(f.String(), func(t *testing.T) {
			doc := encodeAll(t, f, groups)
			want := canonical(expected(all, f))
			if d := diff(want, readBackCanonical(t, f, doc)); d != "" {
				t.Errorf("read back differs:\n%s\n--- document:\n%.3000s", d, doc)
			}
		})
	}
}

func TestEmptyDocument(t *testing.T) {
	for _, f := range Formats {
		t.Run(f.String(), func(t *testing.T) {
			doc := encodeAll(t, f, nil)
			out, err := readBack(t, f, doc)
			if err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			if strings.TrimSpace(out) != "" {
				t.Errorf("empty document read back as %q", out)
			}
		})
	}
}

func TestTurtlePrefixesOnce(t *testing.T) {
	doc := string(encodeAll(t, Turtle, hardGroups(t)))
	for _, p := range []string{"dcat", "dct", "foaf", "xsd", "ex", "hydra"} {
		if n := strings.Count(doc, "@prefix "+p+": "); n != 1 {
			t.Errorf("prefix %s declared %d times", p, n)
		}
	}
	for _, bad := range []string{"xmlfoo", "bad:one", "rel:", "@prefix : "} {
		if strings.Contains(doc, "@prefix "+bad) {
			t.Errorf("unusable prefix %q declared", bad)
		}
	}
	if !strings.Contains(doc, "dct:title") || !strings.Contains(doc, "<https://example.org/datasets/v1.>") {
		t.Errorf("expected prefixed names and IRIs in full:\n%.2000s", doc)
	}
}

func TestParseTurtleOwnOutput(t *testing.T) {
	// knakk's decoder, which ParseTurtle uses, reads the encoder's Turtle.
	groups := hardGroups(t)
	doc := encodeAll(t, Turtle, groups)
	ts, err := ParseTurtle(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := mustCheck(t, [][]rdf.Triple{ts})
	if d := diff(canonical(mustCheck(t, groups)), canonical(got)); d != "" {
		t.Errorf("ParseTurtle differs:\n%s", d)
	}
}

func TestParseTurtleRejects(t *testing.T) {
	for _, doc := range []string{
		"<http://a> <http://b> .",
		"@prefix x: <http://x/> .\ny:a y:b y:c .",
		"<http://a> <http://b> \"unterminated .\n<http://a> <http://b> <http://c> .",
		"<http://a> <http://b> [ <http://c> ",
		"<http://a> <http://b> <http://c> <http://d> .",
	} {
		if _, err := ParseTurtle(doc); err == nil {
			t.Errorf("ParseTurtle(%q) = nil error", doc)
		}
	}
	if _, err := ParseTurtle(strings.Repeat(" ", MaxTurtleBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
}

func TestEncodeRefuses(t *testing.T) {
	s := iri(t, "https://example.org/s")
	p := iri(t, "https://example.org/p")
	cases := []struct {
		name    string
		triple  rdf.Triple
		formats []Format // the formats that refuse it (nil: all)
	}{
		{"nil subject", rdf.Triple{Pred: p, Obj: s}, nil},
		{"nil predicate", rdf.Triple{Subj: s, Obj: s}, nil},
		{"nil object", rdf.Triple{Subj: s, Pred: p}, nil},
		{"empty IRI", rdf.Triple{Subj: rdf.IRI{}, Pred: p, Obj: s}, nil},
		{"relative IRI", rdf.Triple{Subj: iri(t, "datasets/a"), Pred: p, Obj: s}, nil},
		{"zero blank", rdf.Triple{Subj: rdf.Blank{}, Pred: p, Obj: s}, nil},
		{"blank label with slash", rdf.Triple{Subj: blank(t, "a/b"), Pred: p, Obj: s}, nil},
		{"blank label ending in dot", rdf.Triple{Subj: blank(t, "ab."), Pred: p, Obj: s}, nil},
		{"blank label with dots", rdf.Triple{Subj: blank(t, "0..0"), Pred: p, Obj: s}, nil},
		{"literal not UTF-8", rdf.Triple{Subj: s, Pred: p, Obj: plain("a\xffb")}, nil},
		{"IRI not UTF-8", rdf.Triple{Subj: iri(t, "https://e.org/\xff"), Pred: p, Obj: s}, nil},
		{"IRI with U+FFFE", rdf.Triple{Subj: iri(t, "https://e.org/\uFFFE"), Pred: p, Obj: s}, nil},
		{"langString without tag", rdf.Triple{Subj: s, Pred: p, Obj: rdf.NewTypedLiteral("x", iri(t, rdfLangString))}, nil},
		{"relative datatype", rdf.Triple{Subj: s, Pred: p, Obj: rdf.NewTypedLiteral("x", iri(t, "dt"))}, nil},
		{"predicate without XML name", rdf.Triple{Subj: s, Pred: iri(t, "https://example.org/p(1)"), Obj: s}, []Format{RDFXML}},
		{"predicate ending in slash", rdf.Triple{Subj: s, Pred: iri(t, "https://example.org/p/"), Obj: s}, []Format{RDFXML}},
		{"predicate rdf:li", rdf.Triple{Subj: s, Pred: iri(t, nsRDF+"li"), Obj: s}, []Format{RDFXML}},
		{"predicate rdf:Description", rdf.Triple{Subj: s, Pred: iri(t, nsRDF+"Description"), Obj: s}, []Format{RDFXML}},
	}
	// One document per format: each case's group holds a marker triple
	// and the case's triple, and is followed by a group that must still
	// be written. The document read back holds exactly the groups taken.
	for _, f := range Formats {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			enc := NewEncoder(&buf, f, testNamespaces)
			var taken [][]rdf.Triple
			for i, c := range cases {
				refuses := c.formats == nil
				for _, g := range c.formats {
					refuses = refuses || g == f
				}
				group := []rdf.Triple{{Subj: s, Pred: p, Obj: plain(fmt.Sprintf("case %d", i))}, c.triple}
				err := enc.Encode(group)
				switch {
				case refuses && !errors.Is(err, ErrInvalidTriple):
					t.Errorf("%s: Encode = %v, want ErrInvalidTriple", c.name, err)
				case !refuses && err != nil:
					t.Errorf("%s: Encode = %v", c.name, err)
				case !refuses:
					taken = append(taken, group)
				}
				after := []rdf.Triple{{Subj: s, Pred: p, Obj: plain(fmt.Sprintf("after %d", i))}}
				if err := enc.Encode(after); err != nil {
					t.Fatalf("%s: encoder unusable after it: %v", c.name, err)
				}
				taken = append(taken, after)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			want := canonical(mustCheck(t, taken))
			if d := diff(want, readBackCanonical(t, f, buf.Bytes())); d != "" {
				t.Errorf("read back differs:\n%s\n%s", d, buf.Bytes())
			}
		})
	}
}

func TestEncoderState(t *testing.T) {
	s := iri(t, "https://example.org/s")
	g := []rdf.Triple{{Subj: s, Pred: s, Obj: s}}
	var buf bytes.Buffer
	enc := NewEncoder(&buf, Format(99), nil)
	if err := enc.Encode(g); err == nil {
		t.Error("unknown format: Encode succeeded")
	}
	if err := enc.Close(); err == nil {
		t.Error("unknown format: Close succeeded")
	}
	enc = NewEncoder(&buf, Turtle, nil)
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := enc.Encode(g); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}
	enc = NewEncoder(failingWriter{}, NTriples, nil)
	if err := enc.Encode(g); err != nil {
		t.Fatalf("buffered Encode: %v", err)
	}
	if err := enc.Close(); err == nil {
		t.Error("Close on a failing writer succeeded")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
