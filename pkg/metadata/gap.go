package metadata

import (
	"unicode/utf8"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// MaxGapValue is how many bytes of a source value a Gap keeps.
const MaxGapValue = 256

// ReasonBadDate is the reason of a Gap for a date that cannot be parsed.
const ReasonBadDate = "date cannot be parsed"

// NewGap returns a Gap of the canonical dataset: a fact of the source meant
// for field that the normaliser could not read, with its value cut at
// MaxGapValue bytes (on a character boundary) and the reason.
func NewGap(field, value, reason string) *fairwayv1.Gap {
	if len(value) > MaxGapValue {
		cut := MaxGapValue
		for cut > 0 && !utf8.RuneStart(value[cut]) {
			cut--
		}
		value = value[:cut]
	}
	return &fairwayv1.Gap{Field: field, Value: value, Reason: reason}
}
