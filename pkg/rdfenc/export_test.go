package rdfenc

import (
	"testing"

	"github.com/knakk/rdf"
)

// Helpers of the internal tests, for the external ones.

// ReadBackCanonical parses doc with the third-party parser of its format
// and returns the triples as canonical sorted lines.
func ReadBackCanonical(t testing.TB, f Format, doc []byte) []string {
	t.Helper()
	return readBackCanonical(t, f, doc)
}

// Canonical returns the triples of groups as canonical sorted lines, as
// format f must give them back.
func Canonical(t testing.TB, f Format, groups ...[]rdf.Triple) []string {
	t.Helper()
	return canonical(expected(mustCheck(t, groups), f))
}

// Diff describes how two canonical graphs differ ("" when they do not).
func Diff(want, got []string) string { return diff(want, got) }
