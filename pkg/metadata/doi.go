package metadata

import (
	"net/url"
	"regexp"
	"strings"
)

// DOIResolver is the resolver prefix of a DOI's landing page.
const DOIResolver = "https://doi.org/"

// doiPrefix is a way a DOI is prefixed in the wild.
type doiPrefix struct {
	// prefix is the prefix in lower case.
	prefix string
	// resolver marks a doi.org URL: what follows is URL-encoded and may
	// carry a query or a fragment.
	resolver bool
	// loose marks the prefixes LooseDOI strips too.
	loose bool
}

// doiPrefixes are the ways a DOI is prefixed in the wild, in the order they
// are tried.
var doiPrefixes = [...]doiPrefix{
	{"https://doi.org/", true, true},
	{"http://doi.org/", true, true},
	{"https://dx.doi.org/", true, true},
	{"http://dx.doi.org/", true, true},
	{"https://www.doi.org/", true, false},
	{"http://www.doi.org/", true, false},
	{"doi.org/", true, false},
	{"dx.doi.org/", true, false},
	{"info:doi/", false, false},
	{"urn:doi:", false, false},
	{"doi:", false, true},
}

// doiRegistrant is the start of a DOI: "10." and the registrant code.
const doiRegistrant = `10\.[0-9]{2,}(?:\.[0-9]+)*`

var (
	// doiSyntax is a DOI without resolver: "10." registrant code "/" suffix.
	doiSyntax = regexp.MustCompile(`^` + doiRegistrant + `/\S+$`)
	// doiInText is a DOI inside a free text: its suffix ends at a blank, a
	// quote or an angle bracket.
	doiInText = regexp.MustCompile(doiRegistrant + `/[^\s"'<>]+`)
	// looseDOISyntax is what LooseDOI takes for a DOI: "10.", digits and
	// dots, "/" and anything.
	looseDOISyntax = regexp.MustCompile(`^10\.[0-9][0-9.]*/.+$`)
)

// cutDOIPrefix trims blanks around s and removes the first of doiPrefixes
// that s starts with, in any letter case (with loose, only those LooseDOI
// strips). It returns what follows the prefix, the prefix, and whether
// there was one.
func cutDOIPrefix(s string, loose bool) (string, doiPrefix, bool) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	for _, p := range doiPrefixes {
		if (p.loose || !loose) && strings.HasPrefix(lower, p.prefix) {
			return s[len(p.prefix):], p, true
		}
	}
	return s, doiPrefix{}, false
}

// NormaliseDOI returns the DOI in s lower-cased and without resolver or
// scheme prefix, and whether s is a DOI at all. It accepts a bare DOI
// (10.5072/abc), resolver URLs (https://doi.org/…, http://dx.doi.org/…,
// URL-encoded or not) and the "doi:", "info:doi/" and "urn:doi:" forms.
// This is the DOI that identifies a canonical dataset.
func NormaliseDOI(s string) (string, bool) {
	s, p, _ := cutDOIPrefix(s, false)
	s = strings.TrimSpace(s)
	if p.resolver {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	if !doiSyntax.MatchString(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// LooseDOI returns the DOI in s as it is written (letter case kept), and
// whether s holds one by a looser rule than NormaliseDOI's, for a renderer
// that publishes whatever DOI a dataset carries: "10.", digits and dots,
// "/" and a suffix of any characters, bare or after "doi:" or an http(s)
// doi.org or dx.doi.org URL (then URL-decoded, query and fragment kept).
// It returns "" and false for anything else.
func LooseDOI(s string) (string, bool) {
	s, _, prefixed := cutDOIPrefix(s, true)
	if prefixed {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	if !looseDOISyntax.MatchString(s) {
		return "", false
	}
	return s, true
}

// FindDOI returns the first DOI inside a free text, such as a citation
// ("J. Doe, Nature 5 (2019), doi:10.1038/xyz."), normalised as NormaliseDOI
// does, and whether there is one. A DOI's suffix ends at a blank, a quote
// or an angle bracket, and loses the punctuation that closes a sentence or
// a bracket (".,;)]").
func FindDOI(text string) (string, bool) {
	for _, m := range doiInText.FindAllString(text, -1) {
		if doi, ok := NormaliseDOI(strings.TrimRight(m, ".,;)]")); ok {
			return doi, true
		}
	}
	return "", false
}
