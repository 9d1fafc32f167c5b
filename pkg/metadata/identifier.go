package metadata

import "strings"

// Identifier types returned by ClassifyIdentifier (DataCite
// relatedIdentifierType values).
const (
	TypeDOI    = "DOI"
	TypeURL    = "URL"
	TypeHandle = "Handle"
	TypeURN    = "URN"
	TypeARK    = "ARK"
	TypeArXiv  = "arXiv"
	// TypeOAI is the scheme of an OAI-PMH identifier (oai:host:local), an
	// identifier of the canonical dataset that ClassifyIdentifier does not
	// return.
	TypeOAI = "OAI"
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

// DatasetKey returns the identity of a canonical dataset: "doi:"+doi when
// there is a DOI (already normalised: see NormaliseDOI), else
// "src:"+lower-case facility+":"+source identifier.
func DatasetKey(doi, facility, sourceID string) string {
	if doi != "" {
		return "doi:" + doi
	}
	return "src:" + strings.ToLower(facility) + ":" + sourceID
}

// PIDIRI returns the resolvable IRI of a persistent identifier (a DOI in
// any form → https://doi.org/…, a Handle → https://hdl.handle.net/…) or of
// an http(s) URL, and whether s is one of them. Local identifiers
// ("desy_instrument1") are not.
func PIDIRI(s string) (string, bool) {
	id, typ := ClassifyIdentifier(s)
	switch typ {
	case TypeDOI:
		return DOIResolver + id, true
	case TypeHandle:
		return "https://hdl.handle.net/" + id, id != ""
	case TypeURL:
		return id, true
	}
	return "", false
}
