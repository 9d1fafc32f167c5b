package metadata

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxGapValue is how many bytes of a value a gap of the canonical dataset
// (fairwayv1.Gap) keeps.
const MaxGapValue = 256

// GapValue returns the value of a gap: s trimmed, as valid UTF-8, cut at
// MaxGapValue bytes without splitting a character.
func GapValue(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if len(s) <= MaxGapValue {
		return s
	}
	cut := MaxGapValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// DateReason returns why ParseDate or ParseISODate rejected a date, for the
// reason of a gap: "invalid date: day out of range" (the rule it broke,
// without the value), or "invalid date" for another error.
func DateReason(err error) string {
	var de dateError
	if errors.As(err, &de) {
		return "invalid date: " + string(de)
	}
	return "invalid date"
}
