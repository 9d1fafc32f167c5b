package oaipmh

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Granularities an OAI-PMH repository may declare in Identify.
const (
	GranularityDay     = "YYYY-MM-DD"
	GranularitySeconds = "YYYY-MM-DDThh:mm:ssZ"
)

// ParseDate parses a date as found in OAI-PMH responses and metadata,
// leniently. It accepts:
//
//   - YYYY, YYYY-MM and YYYY-MM-DD;
//   - a time after the date, separated by "T" or a space: hh:mm, hh:mm:ss or
//     hh:mm:ss with a fraction;
//   - an optional zone: "Z", "z", "+hh:mm", "+hhmm", "+hh" (or "-"), also
//     directly after a date without time;
//   - month or day "00", which some feeds emit for "unknown": clamped to 01.
//
// A missing zone means UTC. The result is always in UTC. Surrounding
// whitespace is ignored. Out-of-range values (month 13, day 32, Feb 30, hour 24
// except 24:00:00) are errors.
func ParseDate(s string) (time.Time, error) {
	orig := s
	s = strings.TrimSpace(s)
	fail := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("oaipmh: invalid date %q: %s", orig, why)
	}
	num := func(n int) (int, bool) {
		if len(s) < n {
			return 0, false
		}
		v := 0
		for i := 0; i < n; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		s = s[n:]
		return v, true
	}
	year, ok := num(4)
	if !ok {
		return fail("expected a four-digit year")
	}
	month, day := 1, 1
	hour, minute, sec, nsec := 0, 0, 0, 0
	if strings.HasPrefix(s, "-") && len(s) >= 3 && isDigit(s[1]) {
		s = s[1:]
		if month, ok = num(2); !ok {
			return fail("expected a two-digit month")
		}
		if strings.HasPrefix(s, "-") && len(s) >= 3 && isDigit(s[1]) {
			s = s[1:]
			if day, ok = num(2); !ok {
				return fail("expected a two-digit day")
			}
			if len(s) > 0 && (s[0] == 'T' || s[0] == 't' || s[0] == ' ') {
				s = strings.TrimLeft(s[1:], " ")
				if hour, ok = num(2); !ok {
					return fail("expected a two-digit hour")
				}
				if !strings.HasPrefix(s, ":") {
					return fail("expected ':' after the hour")
				}
				s = s[1:]
				if minute, ok = num(2); !ok {
					return fail("expected two-digit minutes")
				}
				if strings.HasPrefix(s, ":") {
					s = s[1:]
					if sec, ok = num(2); !ok {
						return fail("expected two-digit seconds")
					}
					if strings.HasPrefix(s, ".") || strings.HasPrefix(s, ",") {
						s = s[1:]
						j := 0
						for j < len(s) && isDigit(s[j]) {
							j++
						}
						if j == 0 {
							return fail("expected digits after the decimal point")
						}
						frac := s[:j]
						if len(frac) > 9 {
							frac = frac[:9]
						}
						f, _ := strconv.Atoi(frac)
						for k := len(frac); k < 9; k++ {
							f *= 10
						}
						nsec = f
						s = s[j:]
					}
				}
			}
		}
	}
	loc := time.UTC
	s = strings.TrimLeft(s, " ")
	switch {
	case s == "":
	case s == "Z" || s == "z":
	case s[0] == '+' || s[0] == '-':
		sign := 1
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
		zh, ok := num(2)
		if !ok {
			return fail("bad zone offset")
		}
		zm := 0
		if strings.HasPrefix(s, ":") {
			s = s[1:]
		}
		if s != "" {
			if zm, ok = num(2); !ok || s != "" {
				return fail("bad zone offset")
			}
		}
		if zh > 14 || zm > 59 {
			return fail("zone offset out of range")
		}
		loc = time.FixedZone("", sign*(zh*3600+zm*60))
	default:
		return fail(fmt.Sprintf("unexpected trailing %q", s))
	}
	if month == 0 {
		month = 1
	}
	if day == 0 {
		day = 1
	}
	if month > 12 {
		return fail("month out of range")
	}
	if day > daysIn(time.Month(month), year) {
		return fail("day out of range")
	}
	if hour == 24 && minute == 0 && sec == 0 && nsec == 0 {
		// 24:00:00 is the end of the day: the next midnight.
		t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, loc).AddDate(0, 0, 1)
		return t.UTC(), nil
	}
	if hour > 23 || minute > 59 || sec > 60 {
		return fail("time out of range")
	}
	if sec == 60 { // leap second
		sec = 59
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc).UTC(), nil
}

// FormatDate formats t for the from/until arguments of a repository with the
// given granularity (as declared by Identify). Anything but GranularityDay
// formats to seconds, in UTC.
func FormatDate(t time.Time, granularity string) string {
	if strings.TrimSpace(granularity) == GranularityDay {
		return t.UTC().Format("2006-01-02")
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
