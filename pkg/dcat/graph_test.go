package dcat

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/knakk/rdf"
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
