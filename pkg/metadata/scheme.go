package metadata

import "strings"

// identifierSchemes maps folded identifier scheme names to the spelling of
// DataCite's controlled list (relatedIdentifierType), extended with the
// spellings seen in alternateIdentifierType.
var identifierSchemes = map[string]string{
	"doi": TypeDOI, "handle": TypeHandle, "hdl": TypeHandle, "url": TypeURL,
	"urn": TypeURN, "ark": TypeARK, "arxiv": TypeArXiv, "oai": TypeOAI,
	"isbn": "ISBN", "issn": "ISSN", "eissn": "EISSN", "lissn": "LISSN", "istc": "ISTC",
	"igsn": "IGSN", "lsid": "LSID", "pmid": "PMID", "purl": "PURL", "ean13": "EAN13",
	"upc": "UPC", "bibcode": "bibcode", "w3id": "w3id", "rrid": "RRID", "cstr": "CSTR",
	"raid": "RAiD", "swhid": "SWHID",
}

// IdentifierScheme returns the canonical spelling of an identifier scheme
// (DOI, Handle, URL, URN, ARK, ISBN, …), compared case-insensitively and
// ignoring blanks, hyphens and underscores ("doi", "e-ISSN"); a scheme it
// does not know is returned trimmed, as given.
func IdentifierScheme(s string) string {
	if c, ok := KnownIdentifierScheme(s); ok {
		return c
	}
	return strings.TrimSpace(s)
}

// KnownIdentifierScheme returns the canonical spelling of an identifier
// scheme as IdentifierScheme does, and whether the scheme is one it knows.
func KnownIdentifierScheme(s string) (string, bool) {
	s = strings.TrimSpace(s)
	folded := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_':
			return -1
		}
		return r
	}, strings.ToLower(s))
	c, ok := identifierSchemes[folded]
	return c, ok
}
