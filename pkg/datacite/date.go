package datacite

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidDate is wrapped by the errors of ParseDate.
var ErrInvalidDate = errors.New("datacite: invalid date")

// ParseDate parses a date as metadata records write them, leniently. It is
// the one date parser of the normalisers (DataCite, Dublin Core, SciCat).
// It accepts:
//
//   - YYYY, YYYY-MM, YYYY-MM-DD (one-digit months and days too) and YYYYMMDD;
//   - a time after the date, separated by "T" or a blank: hh:mm, hh:mm:ss,
//     hh:mm:ss.fraction;
//   - a zone: "Z", "+hh:mm", "+hhmm" or "+hh" (or "-"); a missing zone means UTC;
//   - month or day "00", which some feeds write for "unknown": clamped to 01;
//   - a range "start/end" (RKMS-ISO8601, as DataCite allows): the first
//     non-empty side is taken.
//
// The result is in UTC. Anything else, or a date that does not exist
// (2019-02-30), is an error wrapping ErrInvalidDate.
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
	t, err := parseDate(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q: %s", ErrInvalidDate, orig, err)
	}
	return t, nil
}

// dateError is the reason a date is rejected.
type dateError string

// Error implements error.
func (e dateError) Error() string { return string(e) }

func parseDate(s string) (time.Time, error) {
	p := dateScanner{s: s}
	year, n := p.digits(4)
	if n != 4 {
		return time.Time{}, dateError("expected a four-digit year")
	}
	month, day := 1, 1
	hour, minute, sec, nsec := 0, 0, 0, 0
	switch {
	case p.peek() == '-':
		p.next()
		if month, n = p.digits(2); n == 0 {
			return time.Time{}, dateError("expected a month")
		}
		if p.peek() == '-' {
			p.next()
			if day, n = p.digits(2); n == 0 {
				return time.Time{}, dateError("expected a day")
			}
		}
	case isDigit(p.peek()):
		// Basic format YYYYMMDD.
		if month, n = p.digits(2); n != 2 {
			return time.Time{}, dateError("expected a two-digit month")
		}
		if day, n = p.digits(2); n != 2 {
			return time.Time{}, dateError("expected a two-digit day")
		}
	}
	if c := p.peek(); (c == 'T' || c == 't' || c == ' ') && isDigit(p.peekAt(1)) {
		p.next()
		if hour, n = p.digits(2); n == 0 {
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
	loc := time.UTC
	rest := strings.TrimSpace(p.s[p.i:])
	switch {
	case rest == "" || rest == "Z" || rest == "z":
	case rest[0] == '+' || rest[0] == '-':
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		z := dateScanner{s: strings.Replace(rest[1:], ":", "", 1)}
		zh, n := z.digits(2)
		if n != 2 {
			return time.Time{}, dateError("bad zone offset")
		}
		zm := 0
		if z.i < len(z.s) {
			if zm, n = z.digits(2); n != 2 || z.i != len(z.s) {
				return time.Time{}, dateError("bad zone offset")
			}
		}
		if zh > 14 || zm > 59 {
			return time.Time{}, dateError("zone offset out of range")
		}
		loc = time.FixedZone("", sign*(zh*3600+zm*60))
	default:
		return time.Time{}, dateError(fmt.Sprintf("unexpected %q", rest))
	}
	if year == 0 {
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
