package datacite

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/panosc/fairway/pkg/panet"
)

// DOIResolver is the resolver prefix of a DOI's landing page.
const DOIResolver = "https://doi.org/"

// doiPrefixes are the ways a DOI is written in the wild, lower case; urlForm
// says whether what follows is URL-encoded.
var doiPrefixes = [...]struct {
	prefix  string
	urlForm bool
}{
	{"https://doi.org/", true},
	{"http://doi.org/", true},
	{"https://dx.doi.org/", true},
	{"http://dx.doi.org/", true},
	{"https://www.doi.org/", true},
	{"http://www.doi.org/", true},
	{"doi.org/", true},
	{"dx.doi.org/", true},
	{"info:doi/", false},
	{"urn:doi:", false},
	{"doi:", false},
}

// doiSyntax is a DOI without resolver: "10." registrant code "/" suffix.
var doiSyntax = regexp.MustCompile(`^10\.[0-9]{2,}(?:\.[0-9]+)*/\S+$`)

// NormaliseDOI returns the DOI in s lower-cased and without resolver or
// scheme prefix, and whether s is a DOI at all. It accepts a bare DOI
// (10.5072/abc), resolver URLs (https://doi.org/…, http://dx.doi.org/…,
// URL-encoded or not) and the "doi:", "info:doi/" and "urn:doi:" forms.
func NormaliseDOI(s string) (string, bool) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	for _, p := range doiPrefixes {
		if strings.HasPrefix(lower, p.prefix) {
			s = strings.TrimSpace(s[len(p.prefix):])
			if p.urlForm {
				if i := strings.IndexAny(s, "?#"); i >= 0 {
					s = s[:i]
				}
				if u, err := url.PathUnescape(s); err == nil {
					s = u
				}
			}
			break
		}
	}
	if !doiSyntax.MatchString(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

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
	if len(digits) != 16 || !orcidChecksumOK(digits) {
		return "", false
	}
	d := string(digits)
	return d[0:4] + "-" + d[4:8] + "-" + d[8:12] + "-" + d[12:16], true
}

// orcidChecksumOK checks the ISO 7064 11-2 check digit of 16 ORCID characters.
func orcidChecksumOK(d []byte) bool {
	total := 0
	for _, c := range d[:15] {
		total = (total + int(c-'0')) * 2
	}
	r := (12 - total%11) % 11
	want := byte('0' + r)
	if r == 10 {
		want = 'X'
	}
	return d[15] == want
}

// Identifier types returned by ClassifyIdentifier (DataCite
// relatedIdentifierType values).
const (
	TypeDOI    = "DOI"
	TypeURL    = "URL"
	TypeHandle = "Handle"
	TypeURN    = "URN"
	TypeARK    = "ARK"
	TypeArXiv  = "arXiv"
)

// ClassifyIdentifier recognises the kind of a free-form identifier and
// returns it in canonical form with its DataCite identifier type: a DOI in
// any form (normalised as NormaliseDOI does), a Handle ("hdl:" or
// hdl.handle.net), an http(s) URL, a URN, an ARK or an arXiv id. For anything
// else it returns the trimmed input and an empty type.
func ClassifyIdentifier(s string) (id, typ string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	if doi, ok := NormaliseDOI(s); ok {
		return doi, TypeDOI
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "hdl:"):
		return strings.TrimSpace(s[4:]), TypeHandle
	case strings.HasPrefix(lower, "https://hdl.handle.net/"), strings.HasPrefix(lower, "http://hdl.handle.net/"):
		return s[strings.Index(lower, "handle.net/")+len("handle.net/"):], TypeHandle
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return s, TypeURL
	case strings.HasPrefix(lower, "urn:"):
		return s, TypeURN
	case strings.HasPrefix(lower, "ark:"):
		return s, TypeARK
	case strings.HasPrefix(lower, "arxiv:"):
		return strings.TrimSpace(s[len("arxiv:"):]), TypeArXiv
	}
	return s, ""
}

// PaNETScheme is the subject scheme name of PaNET techniques.
const PaNETScheme = "PaNET"

// panetTerm matches a PaNET class IRI (http or https, with or without the
// ".owl#" form) or a bare id, capturing the digits.
var panetTerm = regexp.MustCompile(`(?i)^(?:https?://purl\.org/pan-science/PaNET/(?:PaNET\.owl#)?)?PaNET([0-9]{5,})$`)

// PaNETIRI returns the canonical PaNET class IRI
// (http://purl.org/pan-science/PaNET/PaNET01168) of a term written as an IRI
// or as a bare id (PaNET01168), and whether the term is one.
func PaNETIRI(term string) (string, bool) {
	m := panetTerm.FindStringSubmatch(strings.TrimSpace(term))
	if m == nil {
		return "", false
	}
	return panet.Namespace + "PaNET" + m[1], true
}
