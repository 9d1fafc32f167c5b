package rdfenc

import (
	"errors"
	"fmt"
	"strings"
)

// ErrStoredTurtle is returned by EncodeTurtle for a document that does not
// parse; nothing of it was written, and the encoder stays usable.
var ErrStoredTurtle = errors.New("rdfenc: stored Turtle does not parse")

// EncodeTurtle writes the statements of a Turtle document as one group:
// a stored description, such as a catalogue entry's. In a Turtle document
// whose prefixes include every prefix doc declares, with the same
// namespaces, doc's statements are copied as they are, without being
// parsed: the fast path of a page of stored descriptions. Otherwise (other
// formats, other prefixes, a directive other than @prefix) doc is parsed
// and encoded as Encode does. doc must come from a trusted writer (its
// statements are not checked on the fast path), and its blank node labels
// must be unique within the document, as for Encode.
func (e *Encoder) EncodeTurtle(doc string) error {
	if e.format == Turtle {
		if body, ok := e.turtleBody(doc); ok {
			if err := e.ready(); err != nil {
				return err
			}
			e.scratch.Reset()
			e.scratch.WriteString(body)
			if n := len(body); n > 0 && body[n-1] != '\n' {
				e.scratch.WriteByte('\n')
			}
			return e.write()
		}
	}
	ts, err := ParseTurtle(doc)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStoredTurtle, err)
	}
	return e.Encode(ts)
}

// turtleBody returns doc's statements after its @prefix directives, when
// every directive declares a prefix the encoder declares too, with the
// same namespace.
func (e *Encoder) turtleBody(doc string) (string, bool) {
	rest := doc
	for {
		rest = strings.TrimLeft(rest, " \t\r\n")
		if !strings.HasPrefix(rest, "@") && !hasFoldPrefix(rest, "PREFIX") && !hasFoldPrefix(rest, "BASE") {
			return rest, true
		}
		line, after, ok := strings.Cut(rest, "\n")
		if !ok {
			return "", false
		}
		p, ns, ok := prefixDirective(line)
		if !ok || !e.ns.declares(p, ns) {
			return "", false
		}
		rest = after
	}
}

// prefixDirective reads `@prefix p: <ns> .` on one line.
func prefixDirective(line string) (prefix, ns string, ok bool) {
	s, ok := strings.CutPrefix(strings.TrimSpace(line), "@prefix ")
	if !ok {
		return "", "", false
	}
	s, ok = strings.CutSuffix(strings.TrimSpace(s), ".")
	if !ok {
		return "", "", false
	}
	prefix, iri, ok := strings.Cut(strings.TrimSpace(s), ":")
	iri = strings.TrimSpace(iri)
	if !ok || !strings.HasPrefix(iri, "<") || !strings.HasSuffix(iri, ">") || strings.ContainsAny(iri[1:len(iri)-1], "<>\\ ") {
		return "", "", false
	}
	return prefix, iri[1 : len(iri)-1], true
}

// declares reports whether the table declares prefix for ns.
func (t *nsTable) declares(prefix, ns string) bool {
	for _, e := range t.entries {
		if e.prefix == prefix {
			return e.ns == ns
		}
	}
	return false
}

// hasFoldPrefix reports whether s begins with prefix in any letter case.
func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
