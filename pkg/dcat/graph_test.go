package dcat

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/internal/testenv"
)

// testGraph is a decoded Turtle document with lookups by N-Triples terms
// (<iri>, _:label, "literal", "v"^^<datatype>, "v"@lang).
type testGraph struct {
	triples []rdf.Triple
	spo     map[string]map[string][]string
}

func term(t rdf.Term) string { return t.Serialize(rdf.NTriples) }

// decode parses a Turtle document with knakk/rdf's decoder, failing the
// test when it does not parse.
func decode(t testing.TB, ttl string) *testGraph {
	t.Helper()
	ts, err := rdf.NewTripleDecoder(strings.NewReader(ttl), rdf.Turtle).DecodeAll()
	if err != nil {
		t.Fatalf("Turtle does not parse: %v\n%s", err, ttl)
	}
	return newTestGraph(ts)
}

func newTestGraph(ts []rdf.Triple) *testGraph {
	g := &testGraph{triples: ts, spo: map[string]map[string][]string{}}
	for _, tr := range ts {
		s, p := term(tr.Subj), term(tr.Pred)
		if g.spo[s] == nil {
			g.spo[s] = map[string][]string{}
		}
		g.spo[s][p] = append(g.spo[s][p], term(tr.Obj))
	}
	return g
}

func (g *testGraph) objects(s, p string) []string { return g.spo[s][p] }

func (g *testGraph) has(s, p, o string) bool { return slices.Contains(g.spo[s][p], o) }

// one returns the only object of (s, p), failing the test otherwise.
func (g *testGraph) one(t testing.TB, s, p string) string {
	t.Helper()
	os := g.objects(s, p)
	if len(os) != 1 {
		t.Fatalf("%s %s has %d values %v, want 1", s, p, len(os), os)
	}
	return os[0]
}

func (g *testGraph) subjectsOfType(class string) []string {
	var out []string
	for s, po := range g.spo {
		if slices.Contains(po[iri(nsRDF+"type")], class) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func iri(s string) string { return "<" + s + ">" }
func lit(s string) string { return strconv.Quote(s) }
func typed(v, dt string) string {
	return strconv.Quote(v) + "^^" + iri(dt)
}

const sh = "http://www.w3.org/ns/shacl#"

// propertyShape is the subset of SHACL the DCAT-AP generated shapes use.
type propertyShape struct {
	target, path, nodeKind, class, datatype string
	min, max                                int
}

var (
	shapesOnce sync.Once
	shapes     []propertyShape
	shapesErr  error
)

// dcatAPShapes reads the property shapes of the official DCAT-AP 3.0.1
// SHACL file (releases/3.0.1/shacl/dcat-ap-SHACL.ttl): one NodeShape per
// class, with sh:path, sh:minCount, sh:maxCount, sh:nodeKind, sh:class and
// sh:datatype — all the constraint kinds that file uses.
func dcatAPShapes(t testing.TB) []propertyShape {
	t.Helper()
	shapesOnce.Do(func() {
		f, err := os.Open(testenv.SharedData(t, "dcat-ap", "3.0.1_shacl_dcat-ap-SHACL.ttl"))
		if err != nil {
			shapesErr = err
			return
		}
		defer f.Close()
		ts, err := rdf.NewTripleDecoder(f, rdf.Turtle).DecodeAll()
		if err != nil {
			shapesErr = err
			return
		}
		g := newTestGraph(ts)
		for _, ns := range g.subjectsOfType(iri(sh + "NodeShape")) {
			targets := g.objects(ns, iri(sh+"targetClass"))
			for _, ps := range g.objects(ns, iri(sh+"property")) {
				p := propertyShape{min: -1, max: -1}
				first := func(pred string) string {
					if v := g.objects(ps, iri(sh+pred)); len(v) > 0 {
						return v[0]
					}
					return ""
				}
				p.path, p.nodeKind, p.class, p.datatype = first("path"), first("nodeKind"), first("class"), first("datatype")
				if v := first("minCount"); v != "" {
					p.min, _ = strconv.Atoi(strings.Trim(strings.SplitN(v, "^^", 2)[0], `"`))
				}
				if v := first("maxCount"); v != "" {
					p.max, _ = strconv.Atoi(strings.Trim(strings.SplitN(v, "^^", 2)[0], `"`))
				}
				for _, tc := range targets {
					p.target = tc
					shapes = append(shapes, p)
				}
			}
		}
	})
	if shapesErr != nil {
		t.Fatalf("reading the DCAT-AP shapes: %v", shapesErr)
	}
	if len(shapes) < 200 {
		t.Fatalf("only %d DCAT-AP property shapes read", len(shapes))
	}
	return shapes
}

// dateTypes are the datatypes DCAT-AP's hand-written shapes
// (DateOrDateTimeDataType_Shape in html/shacl/shapes.ttl, which knakk/rdf
// cannot parse) allow for dct:issued and dct:modified.
var dateTypes = []string{"date", "dateTime", "gYear", "gYearMonth"}

// validate checks a graph against the DCAT-AP shapes, without inference
// (sh:class needs an explicit rdf:type, as a SHACL processor without RDFS
// entailment would), and the date datatypes. It returns the violations.
func validate(t testing.TB, g *testGraph) []string {
	t.Helper()
	var out []string
	for _, p := range dcatAPShapes(t) {
		for _, focus := range g.subjectsOfType(p.target) {
			vals := g.objects(focus, p.path)
			if p.min >= 0 && len(vals) < p.min {
				out = append(out, fmt.Sprintf("%s: %s has %d values, min %d", focus, p.path, len(vals), p.min))
			}
			if p.max >= 0 && len(vals) > p.max {
				out = append(out, fmt.Sprintf("%s: %s has %d values, max %d", focus, p.path, len(vals), p.max))
			}
			for _, v := range vals {
				isLit, isBlank := strings.HasPrefix(v, `"`), strings.HasPrefix(v, "_:")
				switch p.nodeKind {
				case iri(sh + "Literal"):
					if !isLit {
						out = append(out, fmt.Sprintf("%s: %s value %s is not a literal", focus, p.path, v))
					}
				case iri(sh + "IRI"):
					if isLit || isBlank {
						out = append(out, fmt.Sprintf("%s: %s value %s is not an IRI", focus, p.path, v))
					}
				case iri(sh + "BlankNodeOrIRI"):
					if isLit {
						out = append(out, fmt.Sprintf("%s: %s value %s is a literal", focus, p.path, v))
					}
				}
				if p.class != "" && p.class != iri(nsRDFS+"Resource") && p.class != iri(nsRDFS+"Literal") && !g.has(v, iri(nsRDF+"type"), p.class) {
					out = append(out, fmt.Sprintf("%s: %s value %s is not a %s", focus, p.path, v, p.class))
				}
				if p.datatype != "" && !strings.HasSuffix(v, "^^"+p.datatype) {
					out = append(out, fmt.Sprintf("%s: %s value %s is not a %s", focus, p.path, v, p.datatype))
				}
			}
		}
	}
	for _, tr := range g.triples {
		if p := tr.Pred.String(); p == nsDCT+"issued" || p == nsDCT+"modified" {
			v := term(tr.Obj)
			if !slices.ContainsFunc(dateTypes, func(dt string) bool { return strings.HasSuffix(v, "^^"+iri(nsXSD+dt)) }) {
				out = append(out, fmt.Sprintf("%s: %s value %s is not a date", term(tr.Subj), iri(p), v))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestValidatorCatchesViolations makes sure the checks above can fail.
func TestValidatorCatchesViolations(t *testing.T) {
	g := decode(t, `@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<http://x/d> a dcat:Dataset ; dct:title "t" ; dct:issued "2020-01-01" ; dct:publisher <http://x/p1>, <http://x/p2> ;
  dcat:theme "not an IRI" ; dcat:landingPage <http://x/lp> ; dcat:distribution [ a dcat:Distribution ] .
<http://x/c> a dcat:Catalog ; dct:title "c" .`)
	got := validate(t, g)
	want := []string{
		"<http://x/c>: <http://purl.org/dc/terms/description> has 0 values, min 1",
		"<http://x/c>: <http://purl.org/dc/terms/publisher> has 0 values, min 1",
		"<http://x/d>: <http://purl.org/dc/terms/description> has 0 values, min 1",
		"<http://x/d>: <http://purl.org/dc/terms/issued> value \"2020-01-01\" is not a date",
		"<http://x/d>: <http://purl.org/dc/terms/publisher> has 2 values, max 1",
		"<http://x/d>: <http://purl.org/dc/terms/publisher> value <http://x/p1> is not a <http://xmlns.com/foaf/0.1/Agent>",
		"<http://x/d>: <http://purl.org/dc/terms/publisher> value <http://x/p2> is not a <http://xmlns.com/foaf/0.1/Agent>",
		"<http://x/d>: <http://www.w3.org/ns/dcat#landingPage> value <http://x/lp> is not a <http://xmlns.com/foaf/0.1/Document>",
		"<http://x/d>: <http://www.w3.org/ns/dcat#theme> value \"not an IRI\" is not a <http://www.w3.org/2004/02/skos/core#Concept>",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing violation %q", w)
		}
	}
	// The blank distribution has no access URL.
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "accessURL> has 0 values, min 1") }) {
		t.Errorf("missing the distribution's accessURL violation in %q", got)
	}
}
