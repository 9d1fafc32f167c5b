package metadata

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// ErrInvalidDate is wrapped by the errors of ParseDate and ParseISODate.
var ErrInvalidDate = errors.New("invalid date")

// ParseDate parses a date as metadata records write them, leniently. It is
// the one date parser of the readers (DataCite, Dublin Core, SciCat).
// It accepts:
//
//   - YYYY, YYYY-MM, YYYY-MM-DD (one-digit months and days too) and YYYYMMDD;
//   - a time after the date, separated by "T" or a blank: hh:mm, hh:mm:ss,
//     hh:mm:ss.fraction (a one-digit hour too);
//   - a zone: "Z", "+hh:mm", "+hhmm" or "+hh" (or "-"); a missing zone means UTC;
//   - month or day "00", which some feeds write for "unknown": clamped to 01;
//   - a range "start/end" (RKMS-ISO8601, as DataCite allows): the first
//     non-empty side is taken.
//
// The result is in UTC. Anything else, a date that does not exist
// (2019-02-30) or the year 0000 is an error wrapping ErrInvalidDate.
func ParseDate(s string) (time.Time, error) {
	orig := s
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '/'); i >= 0 {
		first, second := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		if first != "" {
			s = first
		} else {
			s = second
		}
	}
	t, err := parseDate(s, false)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q: %w", ErrInvalidDate, orig, err)
	}
	return t, nil
}

// ParseISODate parses a date in the ISO 8601 extended format, as protocols
// write them (OAI-PMH datestamps and from/until arguments). It accepts:
//
//   - YYYY, YYYY-MM and YYYY-MM-DD, months and days of two digits;
//   - after a full date only, a time separated by "T" or a blank (blanks
//     may follow the separator): hh:mm, hh:mm:ss or hh:mm:ss with a
//     fraction, hours of two digits;
//   - a zone as ParseDate does, also directly after a date without time;
//   - month or day "00", clamped to 01, and the year 0000.
//
// Surrounding blanks are ignored; a missing zone means UTC; the result is in
// UTC. Unlike ParseDate it reads no ranges and no YYYYMMDD. Anything else,
// or a date that does not exist, is an error wrapping ErrInvalidDate.
func ParseISODate(s string) (time.Time, error) {
	t, err := parseDate(strings.TrimSpace(s), true)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q: %w", ErrInvalidDate, s, err)
	}
	return t, nil
}

// Timestamp returns t as a timestamp of the canonical dataset, nil for the
// zero time (a date the record does not give).
func Timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// dateError is the reason a date is rejected.
type dateError string

// Error implements error.
func (e dateError) Error() string { return string(e) }

// parseDate reads one date, by ParseISODate's rules when iso is set, else
// by ParseDate's (without ranges).
func parseDate(s string, iso bool) (time.Time, error) {
	p := dateScanner{s: s}
	year, n := p.digits(4)
	if n != 4 {
		return time.Time{}, dateError("expected a four-digit year")
	}
	// minDigits is how many digits a month, a day or an hour needs (it
	// has two at the most).
	minDigits := 1
	if iso {
		minDigits = 2
	}
	month, day := 1, 1
	hour, minute, sec, nsec := 0, 0, 0, 0
	fullDate := false
	switch {
	case p.peek() == '-' && (!iso || isDigit(p.peekAt(1))):
		p.next()
		if month, n = p.digits(2); n < minDigits {
			return time.Time{}, dateError("expected a month")
		}
		if p.peek() == '-' && (!iso || isDigit(p.peekAt(1))) {
			p.next()
			if day, n = p.digits(2); n < minDigits {
				return time.Time{}, dateError("expected a day")
			}
			fullDate = true
		}
	case !iso && isDigit(p.peek()):
		// Basic format YYYYMMDD.
		if month, n = p.digits(2); n != 2 {
			return time.Time{}, dateError("expected a two-digit month")
		}
		if day, n = p.digits(2); n != 2 {
			return time.Time{}, dateError("expected a two-digit day")
		}
	}
	c := p.peek()
	separator := c == 'T' || c == 't' || c == ' '
	if (iso && fullDate && separator) || (!iso && separator && isDigit(p.peekAt(1))) {
		p.next()
		if iso {
			for p.peek() == ' ' {
				p.next()
			}
		}
		if hour, n = p.digits(2); n < minDigits {
			return time.Time{}, dateError("expected an hour")
		}
		if p.peek() != ':' {
			return time.Time{}, dateError("expected ':' after the hour")
		}
		p.next()
		if minute, n = p.digits(2); n != 2 {
			return time.Time{}, dateError("expected two-digit minutes")
		}
		if p.peek() == ':' {
			p.next()
			if sec, n = p.digits(2); n != 2 {
				return time.Time{}, dateError("expected two-digit seconds")
			}
			if c := p.peek(); c == '.' || c == ',' {
				p.next()
				frac, digits := 0, 0
				for isDigit(p.peek()) {
					if digits < 9 {
						frac = frac*10 + int(p.next()-'0')
						digits++
					} else {
						p.next()
					}
				}
				if digits == 0 {
					return time.Time{}, dateError("expected digits after the decimal point")
				}
				for ; digits < 9; digits++ {
					frac *= 10
				}
				nsec = frac
			}
		}
	}
	loc, err := parseZone(strings.TrimSpace(p.s[p.i:]))
	if err != nil {
		return time.Time{}, err
	}
	if year == 0 && !iso {
		return time.Time{}, dateError("year 0000")
	}
	if month == 0 {
		month = 1
	}
	if day == 0 {
		day = 1
	}
	if month > 12 {
		return time.Time{}, dateError("month out of range")
	}
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, dateError("day out of range")
	}
	if hour == 24 && minute == 0 && sec == 0 && nsec == 0 {
		// 24:00:00 is the end of the day: the next midnight.
		return time.Date(year, time.Month(month), day, 0, 0, 0, 0, loc).AddDate(0, 0, 1).UTC(), nil
	}
	if hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, dateError("time out of range")
	}
	if sec == 60 { // leap second
		sec = 59
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc).UTC(), nil
}

// parseZone reads what follows a date and its time: nothing or "Z" (UTC),
// or an offset "+hh", "+hhmm" or "+hh:mm" (or "-").
func parseZone(rest string) (*time.Location, error) {
	switch {
	case rest == "" || rest == "Z" || rest == "z":
		return time.UTC, nil
	case rest[0] == '+' || rest[0] == '-':
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		z := dateScanner{s: rest[1:]}
		zh, n := z.digits(2)
		if n != 2 {
			return nil, dateError("bad zone offset")
		}
		if z.peek() == ':' {
			z.next()
		}
		zm := 0
		if z.i < len(z.s) {
			if zm, n = z.digits(2); n != 2 || z.i != len(z.s) {
				return nil, dateError("bad zone offset")
			}
		}
		if zh > 14 || zm > 59 {
			return nil, dateError("zone offset out of range")
		}
		return time.FixedZone("", sign*(zh*3600+zm*60)), nil
	}
	return nil, dateError(fmt.Sprintf("unexpected %q", rest))
}

// dateScanner walks a date string byte by byte.
type dateScanner struct {
	s string
	i int
}

func (p *dateScanner) peek() byte { return p.peekAt(0) }

func (p *dateScanner) peekAt(k int) byte {
	if p.i+k < len(p.s) {
		return p.s[p.i+k]
	}
	return 0
}

func (p *dateScanner) next() byte {
	c := p.peek()
	p.i++
	return c
}

// digits reads up to max decimal digits and returns their value and count.
func (p *dateScanner) digits(max int) (int, int) {
	v, n := 0, 0
	for n < max && isDigit(p.peek()) {
		v = v*10 + int(p.next()-'0')
		n++
	}
	return v, n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
