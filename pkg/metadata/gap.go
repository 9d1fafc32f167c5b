package metadata

import (
	"unicode/utf8"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// MaxGapValue is the most bytes of a source value a gap keeps.
const MaxGapValue = 256

// Gap returns the gap of a fact the normaliser could not read: the field of
// the canonical dataset it was meant for, the value as the source gave it,
// cut at MaxGapValue bytes (on a character boundary), and why.
func Gap(field, value, reason string) *fairwayv1.Gap {
	if len(value) > MaxGapValue {
		n := MaxGapValue
		for n > 0 && !utf8.RuneStart(value[n]) {
			n--
		}
		value = value[:n]
	}
	return &fairwayv1.Gap{Field: field, Value: value, Reason: reason}
}
