package rdfenc

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/knakk/rdf"
)

// MaxTurtleBytes bounds the document ParseTurtle reads.
const MaxTurtleBytes = 32 << 20

// ErrTooLarge is returned by ParseTurtle for a document over MaxTurtleBytes.
var ErrTooLarge = errors.New("rdfenc: document too large")

// ParseTurtle reads a Turtle document (e.g. the Turtle a catalogue entry
// stores) into its triples, with github.com/knakk/rdf's decoder. Relative
// IRIs stay relative (there is no base). A syntax error, or a failure of
// the decoder on hostile input, is returned as an error, never a panic.
//
// ParseTurtle is meant for Turtle the node wrote itself (dcat's renderer,
// or this package's encoder, whose output it reads back): knakk's lexer
// loops forever on some malformed input (a blank node label "_:0..0"), so
// it must not be given documents from outside.
func ParseTurtle(doc string) (ts []rdf.Triple, err error) {
	if len(doc) > MaxTurtleBytes {
		return nil, fmt.Errorf("%w: Turtle of %d bytes (at most %d)", ErrTooLarge, len(doc), MaxTurtleBytes)
	}
	dec := rdf.NewTripleDecoder(strings.NewReader(doc), rdf.Turtle)
	for {
		t, err := decodeOne(dec)
		if errors.Is(err, io.EOF) {
			return ts, nil
		}
		if err != nil {
			drain(dec, len(doc))
			return nil, fmt.Errorf("rdfenc: parse Turtle: %w", err)
		}
		ts = append(ts, t)
	}
}

// decodeOne decodes one triple, turning a panic of the decoder into an
// error.
func decodeOne(dec rdf.TripleDecoder) (t rdf.Triple, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder failed: %v", r)
		}
	}()
	return dec.Decode()
}

// drain reads the rest of a failed document, so that the decoder's lexer
// goroutine, which blocks until its tokens are read, ends. Every call
// consumes at least one token, and there are fewer tokens than bytes.
func drain(dec rdf.TripleDecoder, n int) {
	for range n + 2 {
		if _, err := decodeOne(dec); errors.Is(err, io.EOF) {
			return
		}
	}
}
