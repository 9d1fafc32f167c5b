package rdfenc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/knakk/rdf"
)

// ErrClosed is returned by Encode after Close.
var ErrClosed = errors.New("rdfenc: encoder closed")

// Encoder writes one RDF document in one format: the header (Turtle's
// prefixes, once; RDF/XML's <rdf:RDF>; JSON-LD's inline @context and the
// opening of @graph), then each Encode call's group of triples with the
// group's subjects grouped, then, on Close, the end of the document.
//
// Memory is bounded by the largest group, never by the document: a group
// is rendered into a buffer the encoder reuses, then written out. Output
// goes through a buffer of its own; Flush hands it to the writer (an HTTP
// handler flushes now and then), Close always does.
//
// Blank node labels are written as given (they must be unique within the
// document, as the dcat renderer makes them); RDF/XML, whose rdf:nodeID
// must start with a letter or '_', prefixes labels that do not start with
// a letter with '_'.
//
// Only the namespaces given become prefixes (Turtle), QNames (RDF/XML) or
// terms of the JSON-LD context, and only when the prefix is a simple name
// ([A-Za-z][A-Za-z0-9_-]*, not starting with "xml") and the namespace an
// absolute IRI; others are ignored. An IRI whose rest after a namespace is
// not a simple local name ([A-Za-z_][A-Za-z0-9_-]*) is written in full.
//
// An Encoder is not safe for concurrent use.
type Encoder struct {
	out     *bufio.Writer
	format  Format
	ns      *nsTable
	impl    formatWriter
	scratch bytes.Buffer
	started bool
	closed  bool
	err     error // sticky: a write error, or the format's own failure
}

// formatWriter renders one syntax.
type formatWriter interface {
	header(w *bytes.Buffer) error
	group(w *bytes.Buffer, ts []triple) error
	footer(w *bytes.Buffer)
}

// outputBuffer is the size of the encoder's output buffer.
const outputBuffer = 32 << 10

// NewEncoder returns an encoder of one document in format f onto w, with
// the namespaces given (prefix -> namespace IRI, e.g. dcat.Namespaces()).
// An unknown format makes Encode and Close fail.
func NewEncoder(w io.Writer, f Format, namespaces map[string]string) *Encoder {
	e := &Encoder{out: bufio.NewWriterSize(w, outputBuffer), format: f, ns: newNSTable(namespaces)}
	switch f {
	case Turtle:
		e.impl = &turtleWriter{ns: e.ns}
	case NTriples:
		e.impl = ntriplesWriter{}
	case RDFXML:
		e.impl = &rdfxmlWriter{ns: e.ns}
	case JSONLD:
		e.impl = &jsonldWriter{ns: e.ns}
	default:
		e.err = fmt.Errorf("rdfenc: unknown format %d", int(f))
	}
	return e
}

// Format returns the encoder's format.
func (e *Encoder) Format() Format { return e.format }

// Encode writes one group of triples (e.g. one dataset's). Every triple is
// checked before any is written: a triple that cannot be serialised makes
// Encode return an error wrapping ErrInvalidTriple, with nothing of the
// group written, and the encoder stays usable for the next group. Any
// other error (the writer's) is returned by every later call too.
func (e *Encoder) Encode(triples []rdf.Triple) error {
	if err := e.ready(); err != nil {
		return err
	}
	ts, err := checkGroup(triples)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return nil
	}
	e.scratch.Reset()
	if err := e.impl.group(&e.scratch, ts); err != nil {
		if errors.Is(err, ErrInvalidTriple) {
			return err
		}
		e.err = fmt.Errorf("rdfenc: %s: %w", e.format, err)
		return e.err
	}
	return e.write()
}

// Flush writes the buffered output to the underlying writer.
func (e *Encoder) Flush() error {
	if e.err != nil {
		return e.err
	}
	if err := e.out.Flush(); err != nil {
		e.err = fmt.Errorf("rdfenc: write: %w", err)
	}
	return e.err
}

// Close writes the end of the document (the whole of an empty one when
// nothing was encoded) and flushes it. It returns the error that stopped
// the encoder, if any; a second Close does nothing.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if e.err != nil {
		return e.err
	}
	if err := e.start(); err != nil {
		return err
	}
	e.scratch.Reset()
	e.impl.footer(&e.scratch)
	if err := e.write(); err != nil {
		return err
	}
	return e.Flush()
}

// ready reports whether a group may be written, writing the header first
// when none was.
func (e *Encoder) ready() error {
	if e.closed {
		return ErrClosed
	}
	if e.err != nil {
		return e.err
	}
	return e.start()
}

// start writes the header once.
func (e *Encoder) start() error {
	if e.started {
		return nil
	}
	e.started = true
	e.scratch.Reset()
	if err := e.impl.header(&e.scratch); err != nil {
		e.err = fmt.Errorf("rdfenc: %s: %w", e.format, err)
		return e.err
	}
	return e.write()
}

// write moves the scratch buffer to the output; a scratch buffer grown far
// beyond the usual group is let go so that one huge group does not pin its
// memory for the rest of the document.
func (e *Encoder) write() error {
	if _, err := e.out.Write(e.scratch.Bytes()); err != nil {
		e.err = fmt.Errorf("rdfenc: write: %w", err)
		return e.err
	}
	if e.scratch.Cap() > 4<<20 {
		e.scratch = bytes.Buffer{}
	}
	return nil
}

// nsTable holds the usable namespaces, sorted by prefix.
type nsTable struct {
	entries []nsEntry
	byNS    map[string]string // namespace -> prefix (the first in prefix order)
}

type nsEntry struct{ prefix, ns string }

func newNSTable(m map[string]string) *nsTable {
	t := &nsTable{byNS: map[string]string{}}
	for p, ns := range m {
		if !simplePrefix(p) {
			continue
		}
		if _, err := checkIRI(ns); err != nil {
			continue
		}
		if ns == nsXMLNamespace || ns == nsXMLNS {
			continue
		}
		t.entries = append(t.entries, nsEntry{p, ns})
	}
	sort.Slice(t.entries, func(i, j int) bool { return t.entries[i].prefix < t.entries[j].prefix })
	for _, e := range t.entries {
		if _, ok := t.byNS[e.ns]; !ok {
			t.byNS[e.ns] = e.prefix
		}
	}
	return t
}

// split returns the prefix and local name of iri under the namespace that
// is its longest match with a simple local name; ok is false when none is.
func (t *nsTable) split(iri string) (prefix, local string, ok bool) {
	best := -1
	for i, e := range t.entries {
		if len(e.ns) < len(iri) && strings.HasPrefix(iri, e.ns) && simpleLocal(iri[len(e.ns):]) {
			if best < 0 || len(e.ns) > len(t.entries[best].ns) {
				best = i
			}
		}
	}
	if best < 0 {
		return "", "", false
	}
	ns := t.entries[best].ns
	return t.byNS[ns], iri[len(ns):], true
}

// simplePrefix reports whether p can be a prefix in every syntax.
func simplePrefix(p string) bool {
	if p == "" || len(p) > 64 || strings.HasPrefix(strings.ToLower(p), "xml") {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// simpleLocal reports whether s can follow a prefix in every syntax.
func simpleLocal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}
