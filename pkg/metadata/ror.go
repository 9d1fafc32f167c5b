package metadata

import (
	"regexp"
	"strings"
)

// RORResolver is the prefix of a ROR IRI.
const RORResolver = "https://ror.org/"

// rorID is a ROR identifier: "0", six characters of Crockford's base 32
// (no i, l, o, u) and a two-digit checksum.
var rorID = regexp.MustCompile(`^0[0-9a-hjkmnp-tv-z]{6}[0-9]{2}$`)

// RORIRI returns the ROR IRI (https://ror.org/0abcdef12) of a ROR given as
// an IRI (http or https, with or without "www.", any letter case) or as a
// bare identifier, and whether s is one.
func RORIRI(s string) (string, bool) {
	id := strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"https://", "http://"} {
		id = strings.TrimPrefix(id, p)
	}
	id = strings.TrimPrefix(id, "www.")
	id = strings.TrimPrefix(id, "ror.org/")
	id = strings.TrimSuffix(id, "/")
	if !rorID.MatchString(id) {
		return "", false
	}
	return RORResolver + id, true
}

// email is a pragmatic form of an e-mail address: a dot-atom local part
// and a DNS domain with at least one dot.
var email = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)

// NormaliseEmail returns an e-mail address given plainly or as a mailto:
// IRI, trimmed, and whether it is one: a dot-atom local part and a domain
// of DNS labels, at most 254 characters. Display names ("Jane
// <jane@example.org>") are not addresses.
func NormaliseEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "mailto:") {
		s = s[7:]
	}
	if len(s) > 254 || !email.MatchString(s) {
		return "", false
	}
	return s, true
}
