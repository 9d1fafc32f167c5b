package metadata

import (
	"regexp"
	"strings"
)

// ORCIDResolver is the prefix of an ORCID iD's IRI.
const ORCIDResolver = "https://orcid.org/"

// orcidPrefixes are the ways an ORCID iD is prefixed in the wild, lower case.
var orcidPrefixes = [...]string{
	"https://orcid.org/", "http://orcid.org/", "https://www.orcid.org/", "http://www.orcid.org/",
	"https://sandbox.orcid.org/", "orcid.org/", "orcid:", "orcid ",
}

// NormaliseORCID returns the bare ORCID iD in s (0000-0002-1825-0097) and
// whether s holds a valid one. It accepts the orcid.org URL forms, an
// "orcid:" prefix, and the sixteen characters with or without hyphens; the
// ISO 7064 11-2 check digit must match.
func NormaliseORCID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	for _, p := range orcidPrefixes {
		if strings.HasPrefix(lower, p) {
			s = strings.TrimSpace(s[len(p):])
			break
		}
	}
	s = strings.TrimRight(s, "/")
	var digits []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digits = append(digits, c)
		case (c == 'X' || c == 'x') && len(digits) == 15:
			digits = append(digits, 'X')
		case c == '-' || c == ' ':
		default:
			return "", false
		}
	}
	if len(digits) != 16 || !orcidChecksumOK(string(digits)) {
		return "", false
	}
	d := string(digits)
	return d[0:4] + "-" + d[4:8] + "-" + d[8:12] + "-" + d[12:16], true
}

// canonicalORCIDForm is an ORCID iD in its canonical form, upper case.
var canonicalORCIDForm = regexp.MustCompile(`^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$`)

// canonicalORCID returns the iD in s, upper-cased, when s is an ORCID iD in
// its canonical form (0000-0002-1825-0097, with a lower-case x too), bare
// or after the first of prefixes it starts with (in any letter case);
// blanks around s are ignored.
func canonicalORCID(s string, prefixes ...string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, p := range prefixes {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
			break
		}
	}
	s = strings.ToUpper(s)
	return s, canonicalORCIDForm.MatchString(s)
}

// ValidORCID reports whether s is an ORCID iD in its canonical form
// (0000-0002-1825-0097), bare or as an http(s)://orcid.org/ URL, whose
// check digit (ISO 7064 MOD 11-2) is right. Unlike NormaliseORCID it
// judges how the iD is written: sixteen characters without hyphens, or an
// "orcid:" prefix, are not valid.
func ValidORCID(s string) bool {
	id, ok := canonicalORCID(s, "https://orcid.org/", "http://orcid.org/")
	return ok && orcidChecksumOK(id[0:4]+id[5:9]+id[10:14]+id[15:19])
}

// ORCIDIRI returns the https://orcid.org/ IRI of an ORCID iD written in its
// canonical form (0000-0002-1825-0097) — bare, as an http(s)://orcid.org/
// URL or after "orcid:" — and whether s is one. The check digit is not
// checked: a renderer publishes the iD a record gives, and ValidORCID
// judges it.
func ORCIDIRI(s string) (string, bool) {
	id, ok := canonicalORCID(s, "https://orcid.org/", "http://orcid.org/", "orcid:")
	if !ok {
		return "", false
	}
	return ORCIDResolver + id, true
}

// ORCIDCheckDigit returns the ISO 7064 MOD 11-2 check character ('0'–'9' or
// 'X') of the fifteen base digits of an ORCID iD, and false when base is not
// fifteen decimal digits.
func ORCIDCheckDigit(base string) (byte, bool) {
	if len(base) != 15 {
		return 0, false
	}
	total := 0
	for i := 0; i < len(base); i++ {
		if !isDigit(base[i]) {
			return 0, false
		}
		total = (total + int(base[i]-'0')) * 2
	}
	r := (12 - total%11) % 11
	if r == 10 {
		return 'X', true
	}
	return byte('0' + r), true
}

// orcidChecksumOK checks the check character of the 16 characters of an
// ORCID iD without hyphens.
func orcidChecksumOK(d string) bool {
	want, ok := ORCIDCheckDigit(d[:15])
	return ok && d[15] == want
}
