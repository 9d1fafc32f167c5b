package metadata

import (
	"strings"
	"time"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// DateRange is a date as records write a period: a range "start/end"
// (RKMS-ISO 8601, either side may be open) or one date, which is both its
// start and its end.
type DateRange struct {
	// Start and End are the sides that parse, as written (the zero time
	// otherwise); Bounds puts a reversed range right.
	Start, End time.Time
	// StartErr and EndErr say why a side that is given does not parse;
	// a single date that does not parse has StartErr only, and a range
	// with no side at all ("/") too.
	StartErr, EndErr error
}

// ParseDateRange reads a period with ParseDate's rules for each side.
func ParseDateRange(v string) DateRange {
	var r DateRange
	from, to, isRange := strings.Cut(v, "/")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if !isRange {
		r.Start, r.StartErr = ParseDate(from)
		r.End = r.Start
		return r
	}
	if from == "" && to == "" {
		_, r.StartErr = ParseDate("")
		return r
	}
	if from != "" {
		r.Start, r.StartErr = ParseDate(from)
	}
	if to != "" {
		r.End, r.EndErr = ParseDate(to)
	}
	return r
}

// Bounds returns the start and end of the period, a reversed range
// swapped.
func (r DateRange) Bounds() (start, end time.Time) {
	if !r.Start.IsZero() && !r.End.IsZero() && r.End.Before(r.Start) {
		return r.End, r.Start
	}
	return r.Start, r.End
}

// First returns what ParseDate reads from the same text: the first side
// that is given, or its error.
func (r DateRange) First() (time.Time, error) {
	if r.StartErr != nil || !r.Start.IsZero() {
		return r.Start, r.StartErr
	}
	return r.End, r.EndErr
}

// Valid reports whether some side of the period parses.
func (r DateRange) Valid() bool { return !r.Start.IsZero() || !r.End.IsZero() }

// Gaps returns the gaps of the sides of the period v (as written) that do
// not parse: field startField for the start, endField for the end, the
// reason as DateReason words it.
func (r DateRange) Gaps(v, startField, endField string) []*fairwayv1.Gap {
	var out []*fairwayv1.Gap
	if r.StartErr != nil {
		out = append(out, NewGap(startField, v, DateReason(r.StartErr)))
	}
	if r.EndErr != nil {
		out = append(out, NewGap(endField, v, DateReason(r.EndErr)))
	}
	return out
}

// Gap fields of the collection period (Dataset.collected_start and
// collected_end).
const (
	FieldCollectedStart = "collected_start"
	FieldCollectedEnd   = "collected_end"
	// FieldDates is the gap field of a date of a type with no field of its
	// own (Dataset.dates).
	FieldDates = "dates"
)

// TypedDate returns the typed date of the canonical dataset for a date v
// (as written) of type typ with information info: its time is what
// DateRange.First reads, its end the end of a range that has a start. When
// that does not parse, time is unset and ok is false.
func TypedDate(typ, v, info string, r DateRange) (td *fairwayv1.TypedDate, ok bool) {
	td = &fairwayv1.TypedDate{Type: typ, Value: GapValue(v), Information: GapValue(info)}
	t, err := r.First()
	if err != nil {
		return td, false
	}
	td.Time = Timestamp(t)
	if !r.Start.IsZero() && strings.Contains(v, "/") {
		td.End = Timestamp(r.End)
	}
	return td, true
}
