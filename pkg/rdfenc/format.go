// Package rdfenc serialises RDF graphs as Turtle, N-Triples, RDF/XML and
// JSON-LD, streaming one group of triples (a dataset) at a time, and picks
// the serialisation a client asks for (content negotiation).
//
// The encoders write what third-party parsers read back as the same set of
// triples: IRIs that cannot be written as prefixed names are written in
// full, literals are escaped as each syntax requires, and a triple that
// cannot be written at all is refused with a reason before anything of its
// group is written, so that a document never becomes unparseable.
package rdfenc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Format is an RDF serialisation.
type Format int

// The serialisations the encoder writes.
const (
	// Turtle is text/turtle, with the vocabulary prefixes declared once.
	Turtle Format = iota + 1
	// NTriples is application/n-triples, one triple per line.
	NTriples
	// RDFXML is application/rdf+xml.
	RDFXML
	// JSONLD is application/ld+json, compacted with an inline context.
	JSONLD
)

// Formats lists every serialisation, in the order of Format.
var Formats = []Format{Turtle, NTriples, RDFXML, JSONLD}

// MediaType returns the format's media type (without parameters); "" for
// an unknown format.
func (f Format) MediaType() string {
	switch f {
	case Turtle:
		return "text/turtle"
	case NTriples:
		return "application/n-triples"
	case RDFXML:
		return "application/rdf+xml"
	case JSONLD:
		return "application/ld+json"
	}
	return ""
}

// String returns the format's short name: "turtle", "ntriples", "rdfxml"
// or "jsonld".
func (f Format) String() string {
	switch f {
	case Turtle:
		return "turtle"
	case NTriples:
		return "ntriples"
	case RDFXML:
		return "rdfxml"
	case JSONLD:
		return "jsonld"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Extension returns the usual file name extension of the format, without
// the dot: "ttl", "nt", "rdf" or "jsonld"; "" for an unknown format.
func (f Format) Extension() string {
	switch f {
	case Turtle:
		return "ttl"
	case NTriples:
		return "nt"
	case RDFXML:
		return "rdf"
	case JSONLD:
		return "jsonld"
	}
	return ""
}

func (f Format) valid() bool { return f >= Turtle && f <= JSONLD }

// ErrNotAcceptable is returned by Negotiate when none of the formats is
// acceptable to the client, or when the override names no format; an HTTP
// handler answers it with 406.
var ErrNotAcceptable = errors.New("rdfenc: no acceptable RDF serialisation")

// formatNames are the ?format= values Negotiate understands.
var formatNames = map[string]Format{
	"ttl": Turtle, "turtle": Turtle,
	"nt": NTriples, "ntriples": NTriples, "n-triples": NTriples,
	"rdf": RDFXML, "rdfxml": RDFXML, "rdf+xml": RDFXML, "xml": RDFXML,
	"jsonld": JSONLD, "json-ld": JSONLD, "json": JSONLD,
}

// mediaTypes maps every media type the encoder offers to its format.
var mediaTypes = map[string]Format{
	"text/turtle":           Turtle,
	"application/x-turtle":  Turtle,
	"application/turtle":    Turtle,
	"application/n-triples": NTriples,
	"text/plain":            NTriples,
	"application/rdf+xml":   RDFXML,
	"application/xml":       RDFXML,
	"text/xml":              RDFXML,
	"application/ld+json":   JSONLD,
	"application/json":      JSONLD,
}

// preference breaks ties between equally acceptable formats.
var preference = []Format{Turtle, JSONLD, RDFXML, NTriples}

// Bounds on what Negotiate reads of a header: a longer header is cut, and
// only its first ranges are considered.
const (
	maxAcceptBytes  = 4096
	maxAcceptRanges = 64
)

// Negotiate picks the format of an answer. A non-empty override (the value
// of ?format=: ttl, turtle, nt, ntriples, n-triples, rdf, rdfxml, xml,
// jsonld, json-ld, json, or a media type or media range) wins; an override
// naming nothing offered is ErrNotAcceptable. Otherwise the Accept header
// decides, with q-values, wildcards (*/*, text/*, application/*) and the
// most specific matching range setting a type's q-value (RFC 9110 §12.5.1);
// the other media types a format is known by (application/x-turtle,
// text/plain, application/xml, text/xml, application/json) count only when
// named, wildcards stand for the format's own MediaType, the type the
// answer carries;
// parameters other than q are ignored, names are case-insensitive. An empty
// Accept, one whose every range is malformed, or */* gives Turtle; ties go
// to Turtle, then JSON-LD, RDF/XML and N-Triples. When no offered type has
// a q-value above zero the result is ErrNotAcceptable.
func Negotiate(accept, override string) (Format, error) {
	if o := strings.ToLower(strings.TrimSpace(override)); o != "" {
		if f, ok := formatNames[o]; ok {
			return f, nil
		}
		if strings.Contains(o, "/") {
			f, err := negotiateAccept(o)
			if err != nil {
				return 0, fmt.Errorf("%w: format %q", ErrNotAcceptable, truncate(override, 64))
			}
			return f, nil
		}
		return 0, fmt.Errorf("%w: unknown format %q", ErrNotAcceptable, truncate(override, 64))
	}
	return negotiateAccept(accept)
}

// mediaRange is one element of an Accept header.
type mediaRange struct {
	typ, sub string
	q        int // thousandths
}

// specificity ranks how closely a range matches a media type: 0 no match,
// 1 */*, 2 type/*, 3 the type itself.
func (r mediaRange) specificity(typ, sub string) int {
	switch {
	case r.typ == "*" && r.sub == "*":
		return 1
	case r.typ == typ && r.sub == "*":
		return 2
	case r.typ == typ && r.sub == sub:
		return 3
	}
	return 0
}

func negotiateAccept(accept string) (Format, error) {
	if len(accept) > maxAcceptBytes {
		accept = accept[:maxAcceptBytes]
	}
	ranges := parseAccept(accept)
	if len(ranges) == 0 {
		return Turtle, nil
	}
	// The q-value of each format: the best over its media types, each
	// media type taking the q of its most specific matching range.
	var q [JSONLD + 1]int
	// Wildcards stand for a format's own media type only (the one the
	// answer is labelled with): "text/turtle;q=0, */*" is no Turtle.
	for mt, f := range mediaTypes {
		typ, sub, _ := strings.Cut(mt, "/")
		best, bestQ := 0, 0
		for _, r := range ranges {
			if s := r.specificity(typ, sub); s > best {
				best, bestQ = s, r.q
			}
		}
		if best < 3 && mt != f.MediaType() {
			continue
		}
		if best > 0 && bestQ > q[f] {
			q[f] = bestQ
		}
	}
	pick, pickQ := Format(0), 0
	for _, f := range preference {
		if q[f] > pickQ {
			pick, pickQ = f, q[f]
		}
	}
	if pickQ == 0 {
		return 0, fmt.Errorf("%w: Accept %q", ErrNotAcceptable, truncate(accept, 128))
	}
	return pick, nil
}

// parseAccept returns the well-formed ranges of an Accept header; malformed
// ones are left out.
func parseAccept(accept string) []mediaRange {
	var out []mediaRange
	for part := range strings.SplitSeq(accept, ",") {
		if len(out) == maxAcceptRanges {
			break
		}
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, _ := strings.Cut(part, ";")
		typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mt)), "/")
		if !ok || !isToken(typ) || !isToken(sub) || (typ == "*" && sub != "*") {
			continue
		}
		r := mediaRange{typ: typ, sub: sub, q: 1000}
		good := true
		for p := range strings.SplitSeq(params, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
			if !strings.EqualFold(strings.TrimSpace(name), "q") {
				continue
			}
			q, ok := parseQ(strings.TrimSpace(value))
			if !ok {
				good = false
				break
			}
			r.q = q
			break // parameters after q are accept-extensions
		}
		if good {
			out = append(out, r)
		}
	}
	return out
}

// parseQ reads a qvalue (RFC 9110 §12.4.2) into thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole != "0" && whole != "1" {
		return 0, false
	}
	if hasDot && len(frac) > 3 {
		return 0, false
	}
	n := 0
	for i := range 3 {
		d := 0
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			d = int(c - '0')
		}
		n = n*10 + d
	}
	if whole == "1" {
		if n != 0 {
			return 0, false
		}
		return 1000, true
	}
	return n, true
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
