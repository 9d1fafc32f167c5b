package oaiprovider

import (
	"regexp"
	"strings"

	"github.com/panosc/fairway/pkg/panet"
)

// localChar reports whether c may stand for itself in the local part of an
// oai-identifier (the unreserved and reserved characters of its syntax);
// every other byte is percent-encoded.
func localChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'();/?:@&=+$,", c) >= 0
}

const hexDigits = "0123456789ABCDEF"

// escape writes s with the bytes allowed as they are and every other byte
// (mark included) as mark and two hex digits, so that unescape returns s
// exactly.
func escape(s string, allowed func(byte) bool, mark byte) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != mark && allowed(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(mark)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// unescape reverses escape; ok is false for a mark not followed by two hex
// digits or a byte that is not allowed.
func unescape(s string, allowed func(byte) bool, mark byte) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == mark:
			if i+2 >= len(s) {
				return "", false
			}
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi < 0 || lo < 0 {
				return "", false
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 2
		case allowed(c):
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// escapeLocal percent-encodes a dataset key into the local part of an
// oai-identifier: every byte that is not a localChar, "%" included, becomes
// %XX.
func escapeLocal(key string) string { return escape(key, localChar, '%') }

// unescapeLocal decodes the local part of an oai-identifier.
func unescapeLocal(s string) (string, bool) { return unescape(s, localChar, '%') }

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// identifier returns the OAI identifier of a dataset key.
func (p *Provider) identifier(key string) string { return p.idPrefix + escapeLocal(key) }

// datasetKey returns the dataset key an OAI identifier names, and whether it
// is one of this repository's identifiers.
func (p *Provider) datasetKey(id string) (string, bool) {
	if len(id) <= len(p.idPrefix) || !strings.EqualFold(id[:len(p.idPrefix)], p.idPrefix) {
		return "", false
	}
	key, ok := unescapeLocal(id[len(p.idPrefix):])
	return key, ok && key != ""
}

// repositoryIdentifier is the syntax oai-identifier.xsd gives the
// repository identifier: a domain name of at least two labels, each
// starting with a letter.
var repositoryIdentifier = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$`)

// Sets.
const (
	// SetOpenAIRE holds every dataset: OpenAIRE harvests this set.
	SetOpenAIRE = "openaire_data"
	// SetFacility is the parent of the facility sets facility:<name>; it
	// holds every dataset.
	SetFacility = "facility"
	// SetTechnique is the parent of the technique sets technique:<PaNET id>;
	// it holds every dataset tagged with a PaNET technique.
	SetTechnique = "technique"
	// rootTechnique is PaNET's root class: every technique is under it.
	rootTechnique = "PaNET00001"
)

// setChar reports whether c may stand for itself in a setSpec element
// (the OAI-PMH schema's setSpecType).
func setChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!*'()", c) >= 0
}

// escapeSet writes a facility name as a setSpec element: the characters the
// schema allows (but "~") as they are, every other byte as ~XX.
func escapeSet(s string) string { return escape(s, setChar, '~') }

// unescapeSet reverses escapeSet.
func unescapeSet(s string) (string, bool) {
	name, ok := unescape(s, setChar, '~')
	return name, ok && name != ""
}

// setSpecSyntax is the OAI-PMH schema's setSpecType.
var setSpecSyntax = regexp.MustCompile(`^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$`)

// techniqueID is a bare PaNET id.
var techniqueID = regexp.MustCompile(`^PaNET[0-9]{1,12}$`)

// facilitySet returns the setSpec of a facility.
func facilitySet(facility string) string {
	return SetFacility + ":" + escapeSet(strings.ToLower(facility))
}

// techniqueSet returns the setSpec of a PaNET technique IRI, and false for
// an IRI outside PaNET.
func techniqueSet(iri string) (string, bool) {
	id, ok := strings.CutPrefix(iri, panet.Namespace)
	if !ok || !techniqueID.MatchString(id) {
		return "", false
	}
	return SetTechnique + ":" + id, true
}

// setFilter is what a setSpec selects.
type setFilter struct {
	facility, technique string
}

// parseSet returns the filter of a setSpec; known is false for a set the
// repository does not have (its list is empty), err true for one that
// breaks the setSpec syntax.
func parseSet(spec string) (f setFilter, known, bad bool) {
	if !setSpecSyntax.MatchString(spec) {
		return f, false, true
	}
	switch spec {
	case SetOpenAIRE, SetFacility:
		return f, true, false
	case SetTechnique:
		return setFilter{technique: rootTechnique}, true, false
	}
	parent, rest, _ := strings.Cut(spec, ":")
	if rest == "" || strings.Contains(rest, ":") {
		return f, false, false
	}
	switch parent {
	case SetFacility:
		name, ok := unescapeSet(rest)
		if !ok {
			return f, false, false
		}
		return setFilter{facility: name}, true, false
	case SetTechnique:
		if !techniqueID.MatchString(rest) {
			return f, false, false
		}
		return setFilter{technique: rest}, true, false
	}
	return f, false, false
}
