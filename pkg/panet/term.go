package panet

import (
	"regexp"
	"strings"
)

// Scheme is the subject scheme name of PaNET techniques in a canonical
// dataset.
const Scheme = "PaNET"

// term matches a PaNET class IRI (http or https, with or without the
// ".owl#" form) or a bare id, capturing the digits.
var term = regexp.MustCompile(`(?i)^(?:https?://purl\.org/pan-science/PaNET/(?:PaNET\.owl#)?)?PaNET([0-9]{5,})$`)

// TermIRI returns the canonical PaNET class IRI
// (http://purl.org/pan-science/PaNET/PaNET01168) of a subject value written
// as an IRI or as a bare id (PaNET01168), and whether the value is one. It
// needs no ontology: the readers use it to mark PaNET subjects, and the
// enricher's Matcher decides which are techniques.
func TermIRI(value string) (string, bool) {
	m := term.FindStringSubmatch(strings.TrimSpace(value))
	if m == nil {
		return "", false
	}
	return Namespace + "PaNET" + m[1], true
}
