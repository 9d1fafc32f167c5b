package metadata

import (
	"strings"
	"time"
)

// Access rights of a canonical dataset (fairwayv1.Dataset.AccessRights).
const (
	AccessOpen       = "open"
	AccessEmbargoed  = "embargoed"
	AccessRestricted = "restricted"
	AccessClosed     = "closed"
)

// accessStatements maps the spellings of an access statement, lower case
// with everything but letters and digits removed, to an access right: the
// OpenAIRE info:eu-repo/semantics terms, the COAR access-right vocabulary and
// plain words.
var accessStatements = map[string]string{
	"openaccess":         AccessOpen,
	"open":               AccessOpen,
	"public":             AccessOpen,
	"embargoedaccess":    AccessEmbargoed,
	"embargoed":          AccessEmbargoed,
	"embargo":            AccessEmbargoed,
	"restrictedaccess":   AccessRestricted,
	"restricted":         AccessRestricted,
	"closedaccess":       AccessClosed,
	"closed":             AccessClosed,
	"metadataonlyaccess": AccessClosed,
	"metadataonly":       AccessClosed,
}

// coarAccessRights maps the COAR access-right concept ids.
var coarAccessRights = map[string]string{
	"c_abf2": AccessOpen,
	"c_f1cf": AccessEmbargoed,
	"c_16ec": AccessRestricted,
	"c_14cb": AccessClosed,
}

// AccessStatement returns the access right a rights statement states, or ""
// when it states none (a licence, a copyright line). It recognises
// "info:eu-repo/semantics/openAccess" and its embargoed, restricted and
// closed siblings, COAR access-right IRIs
// (http://purl.org/coar/access_right/c_abf2 …), and statements made of these
// words only ("Open Access", "restricted").
func AccessStatement(s string) string {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "info:eu-repo/semantics/"):
		s = s[len("info:eu-repo/semantics/"):]
	case strings.Contains(lower, "purl.org/coar/access_right/"):
		id := lower[strings.LastIndex(lower, "/")+1:]
		return coarAccessRights[id]
	}
	var key []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			key = append(key, c)
		case c >= 'A' && c <= 'Z':
			key = append(key, c+'a'-'A')
		}
	}
	return accessStatements[string(key)]
}

// embargoEndPrefix starts the OpenAIRE embargo end statement
// info:eu-repo/date/embargoEnd/YYYY-MM-DD.
const embargoEndPrefix = "info:eu-repo/date/embargoend/"

// EmbargoEnd returns the date of an OpenAIRE embargo end statement
// (info:eu-repo/date/embargoEnd/2025-01-31) and whether s is one with a
// valid date.
func EmbargoEnd(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) <= len(embargoEndPrefix) || !strings.EqualFold(s[:len(embargoEndPrefix)], embargoEndPrefix) {
		return time.Time{}, false
	}
	t, err := ParseDate(s[len(embargoEndPrefix):])
	return t, err == nil
}

// DecideAccess combines what a record says about access into the access
// right of the canonical dataset, relative to now:
//
//   - an embargo end (availability date) after now means "embargoed" until
//     then, whatever else is stated;
//   - a stated embargo whose end is known and past means "open" (it is over);
//     one without a known end stays "embargoed";
//   - otherwise the stated access right ("open", "restricted", "closed");
//   - otherwise "open" when a licence is given, else "".
//
// It returns the access right and, when embargoed with a known end, the end.
// embargoEnd is the zero time when unknown.
func DecideAccess(stated string, embargoEnd time.Time, hasLicense bool, now time.Time) (string, time.Time) {
	if !embargoEnd.IsZero() && embargoEnd.After(now) {
		return AccessEmbargoed, embargoEnd
	}
	switch {
	case stated == AccessEmbargoed && !embargoEnd.IsZero():
		return AccessOpen, time.Time{}
	case stated != "":
		return stated, time.Time{}
	case hasLicense:
		return AccessOpen, time.Time{}
	}
	return "", time.Time{}
}
