package metadata

import (
	"errors"
	"strings"
	"unicode/utf8"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// MaxGapValue is how many bytes of a source value a gap of the canonical
// dataset (fairwayv1.Gap) keeps.
const MaxGapValue = 256

// ReasonBadDate is the reason of a Gap for a date that cannot be parsed
// when the parser says no more; DateReason says which rule it broke after
// the same words. Every reader words a bad date so.
const ReasonBadDate = "invalid date"

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

// NewGap returns a Gap of the canonical dataset: a fact of the source meant
// for field that the normaliser could not read, its value as GapValue
// keeps it, and the reason.
func NewGap(field, value, reason string) *fairwayv1.Gap {
	return &fairwayv1.Gap{Field: field, Value: GapValue(value), Reason: reason}
}

// DateReason returns why ParseDate or ParseISODate rejected a date, for the
// reason of a gap: "invalid date: day out of range" (the rule it broke,
// without the value), or "invalid date" for another error.
func DateReason(err error) string {
	var de dateError
	if errors.As(err, &de) {
		return ReasonBadDate + ": " + string(de)
	}
	return ReasonBadDate
}
