package dcat

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// PublishableIRI is the one rule for every value of harvested metadata that
// becomes an IRI of the published RDF (landing pages, access URLs, subject
// IRIs, related identifiers, licences, ORCID iDs, and the node's own IRIs
// too). It returns the IRI to publish and whether s may be published:
//
//   - http and https IRIs with a host, without user information, whose
//     host holds only letters, digits, '-', '.' and '_' (or is a bracketed
//     IPv6 address); the scheme is written in lower case;
//   - urn: with a namespace identifier of 2 to 32 letters, digits and
//     hyphens and a namespace-specific part, published as it is;
//   - doi:10.… and hdl:<prefix>/<suffix>, published as their resolver IRIs
//     https://doi.org/… and https://hdl.handle.net/….
//
// Every other scheme (javascript:, data:, vbscript:, file:, mailto:, ftp:,
// in any letter case) and every relative reference is refused. So is a
// value that is not valid UTF-8 or that holds a space, a control or format
// character (anywhere: a browser would skip a leading one), U+FFFD, any of
// <>"{}|\^` or a '%' not followed by two hex digits. Blanks, tabs and line
// breaks around the value are trimmed. Last, an IRI in one of the
// vocabulary namespaces the Turtle declares as a prefix must have a plain
// local name, since the encoder would write anything else as an invalid
// prefixed name.
func PublishableIRI(s string) (string, bool) {
	i, ok := dataIRI(s)
	if !ok {
		return "", false
	}
	return i.String(), true
}

// known remembers what dataIRI said of the values that recur across
// datasets (PaNET concepts, licences, resolvers): checking an http(s) IRI
// parses it, and every dataset is walked twice (rendered, and scored for
// dropped links). At most knownMax values, of at most knownLen bytes.
var (
	known      sync.Map // string → knownIRI
	knownCount atomic.Int64
)

const (
	knownMax = 8192
	knownLen = 256
)

type knownIRI struct {
	iri rdf.IRI
	ok  bool
}

// dataIRI is PublishableIRI returning the IRI term the encoder writes.
func dataIRI(s string) (rdf.IRI, bool) {
	if len(s) > knownLen {
		return checkIRI(s)
	}
	if k, ok := known.Load(s); ok {
		return k.(knownIRI).iri, k.(knownIRI).ok
	}
	i, ok := checkIRI(s)
	if knownCount.Load() < knownMax {
		if _, loaded := known.LoadOrStore(s, knownIRI{i, ok}); !loaded {
			knownCount.Add(1)
		}
	}
	return i, ok
}

// checkIRI applies the publishing rule to s.
func checkIRI(s string) (rdf.IRI, bool) {
	s = strings.Trim(s, " \t\r\n")
	if s == "" || !saneIRIText(s) {
		return rdf.IRI{}, false
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || !schemePattern.MatchString(s[:colon]) {
		return rdf.IRI{}, false
	}
	scheme, rest := strings.ToLower(s[:colon]), s[colon+1:]
	var out string
	switch scheme {
	case "http", "https":
		if !httpIRI(s) {
			return rdf.IRI{}, false
		}
		out = scheme + ":" + rest
	case "urn":
		if !urnPattern.MatchString(rest) {
			return rdf.IRI{}, false
		}
		out = scheme + ":" + rest
	case "doi":
		doi, ok := metadata.LooseDOI("doi:" + rest)
		if !ok {
			return rdf.IRI{}, false
		}
		out = DOIIRI(doi)
	case "hdl":
		if !handlePattern.MatchString(rest) {
			return rdf.IRI{}, false
		}
		out = handleResolver + rest
	default:
		return rdf.IRI{}, false
	}
	i, err := rdf.NewIRI(out)
	if err != nil {
		return rdf.IRI{}, false
	}
	if ns, local := i.Split(); prefixes[ns] != "" && !plainLocal(local) {
		return rdf.IRI{}, false
	}
	return i, true
}

const handleResolver = "https://hdl.handle.net/"

var (
	schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)
	// urnPattern is what follows "urn:": a namespace identifier and a
	// namespace-specific string (RFC 8141).
	urnPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:.+$`)
	// handlePattern is what follows "hdl:": a naming authority and a local
	// name.
	handlePattern = regexp.MustCompile(`^[0-9]+(\.[0-9A-Za-z]+)*/.+$`)
)

// saneIRIText reports whether s is valid UTF-8 without the characters an
// IRI may not hold: spaces, controls, format characters (bidirectional
// overrides, zero-width ones), U+FFFD, <>"{}|\^` and broken
// percent-escapes.
func saneIRIText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i, r := range s {
		switch {
		case r <= 0x20 || r == 0x7f || r == utf8.RuneError:
			return false
		case r < utf8.RuneSelf && strings.IndexByte("<>\"{}|^`\\", byte(r)) >= 0:
			return false
		case r == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
		case r >= utf8.RuneSelf && (unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)):
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// httpIRI reports whether s, whose scheme is http or https, names a host:
// "//" and an authority without user information, whose host is a DNS
// name (letters of any script, digits, '-', '.', '_') or a bracketed IPv6
// address.
func httpIRI(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if host == "" {
		return false
	}
	if strings.HasPrefix(u.Host, "[") {
		return net.ParseIP(host) != nil
	}
	named := false
	for _, r := range host {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			named = true
		case r == '-' || r == '.' || r == '_':
		default:
			return false
		}
	}
	return named
}

// looksLikeIRI reports whether a value is given as an IRI: once control
// and format characters are taken out (as a browser skips tabs and line
// breaks, and as a literal of the value would lose them) and spaces
// trimmed, a scheme, a colon and something other than a blank. A licence
// or an identifier that looks like one but that PublishableIRI refuses is
// dropped, not published as text.
func looksLikeIRI(s string) bool {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, validUTF8(s))
	s = strings.TrimSpace(s)
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || colon == len(s)-1 || !schemePattern.MatchString(s[:colon]) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[colon+1:])
	return !unicode.IsSpace(r)
}

// plainLocal reports whether a local name needs no escaping in Turtle.
func plainLocal(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case (r >= '0' && r <= '9') || r == '-':
			if i == 0 && r == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Fields of a dataset whose values become IRIs, as DroppedIRI names them.
const (
	FieldLandingPage = "landing_page"
	FieldSubjectURI  = "subjects.value_uri"
	FieldRelated     = "related.identifier"
	FieldLicense     = "license"
	FieldORCID       = "creators.orcid"
	// FieldPublisherROR, FieldInstrumentPID and FieldDistributionURL are
	// the publisher's ROR, the instrument's PID, and a distribution's
	// download or access URL.
	FieldPublisherROR    = "publisher_ror"
	FieldInstrumentPID   = "instrument_pid"
	FieldDistributionURL = "distributions.url"
)

// DroppedIRI is a value of a dataset's metadata given as an IRI that
// PublishableIRI refuses: the rendering leaves it out.
type DroppedIRI struct {
	// Field is where the value was (FieldLandingPage, FieldSubjectURI,
	// FieldRelated, FieldLicense, FieldORCID, FieldPublisherROR,
	// FieldInstrumentPID or FieldDistributionURL).
	Field string
	// Value is the value as harvested.
	Value string
}

// DroppedIRIs returns the values of e's dataset that DatasetTurtle leaves
// out because they are given as IRIs that cannot be published, in the
// order the rendering meets them, each field and value once. It makes the
// rendering's decisions about every value that may be given as an IRI
// (landing page, publisher ROR, creators' ORCID iDs, subject IRIs, related
// identifiers, instrument PID, licence, distribution URLs), in its order,
// without building the graph; TestDroppedIRIsAgreeWithRendering holds the
// two together, and the options of the node do not change what is dropped,
// so the quality score and the catalogue agree.
func DroppedIRIs(e *fairwayv1.EnrichedDataset) []DroppedIRI {
	d := e.GetDataset()
	if d == nil || d.GetDeleted() {
		return nil
	}
	var l dropList
	// As graph.dataset, in its order.
	l.fromFeed(FieldLandingPage, d.GetLandingPage(), d.GetLandingPage())
	if _, ok := literal(firstText(d.GetPublisher(), d.GetFacility())); ok { // graph.publisher
		ror, isROR := metadata.RORIRI(d.GetPublisherRor())
		if strings.TrimSpace(d.GetPublisherRor()) != "" && !isROR {
			l.drop(FieldPublisherROR, d.GetPublisherRor())
		}
		l.fromFeed(FieldPublisherROR, d.GetPublisherRor(), ror)
	}
	for _, p := range d.GetCreators() { // graph.creator
		if _, ok := literal(firstText(p.GetName(), strings.TrimSpace(p.GetGivenName()+" "+p.GetFamilyName()))); !ok {
			continue
		}
		orcidIRI, _ := metadata.ORCIDIRI(p.GetOrcid())
		if _, ok := dataIRI(orcidIRI); !ok && looksLikeIRI(p.GetOrcid()) {
			l.drop(FieldORCID, p.GetOrcid())
		}
	}
	for _, s := range d.GetSubjects() { // graph.subjects
		l.fromFeed(FieldSubjectURI, s.GetValueUri(), strings.TrimSpace(s.GetValueUri()))
	}
	for _, r := range d.GetRelated() {
		l.fromFeed(FieldRelated, r.GetIdentifier(), RelatedIRI(r))
	}
	l.fromFeed(FieldInstrumentPID, d.GetInstrumentPid(), instrumentIRI(d.GetInstrumentPid())) // graph.activity
	if licenceDropped(d) {                                                                    // graph.distributions: its licence first
		l.drop(FieldLicense, d.GetLicense())
	}
	for i, x := range d.GetDistributions() {
		if i == maxDistributions {
			break
		}
		l.fromFeed(FieldDistributionURL, x.GetDownloadUrl(), x.GetDownloadUrl())
		l.fromFeed(FieldDistributionURL, x.GetAccessUrl(), x.GetAccessUrl())
	}
	return l
}

// licenceDropped reports whether graph.licence leaves d's licence out as an
// IRI that cannot be published.
func licenceDropped(d *fairwayv1.Dataset) bool {
	lic := strings.TrimSpace(validUTF8(d.GetLicense()))
	if lic == "" {
		return false
	}
	if _, ok := metadata.SPDXLicenseIRI(d.GetLicenseSpdx()); ok {
		return false
	}
	if iri, ok := LicenseIRI(lic); ok {
		if _, ok := dataIRI(iri); ok {
			return false
		}
	}
	return looksLikeIRI(lic)
}

// dropList is the list of values left out, each field and value once.
type dropList []DroppedIRI

// fromFeed turns a value of the harvested metadata into an IRI. candidate
// is what the value resolves to (the value itself, or an IRI built from an
// identifier); "" when the value is not given as an IRI. A candidate that
// cannot be published is recorded as dropped, under field and the value.
func (l *dropList) fromFeed(field, value, candidate string) (rdf.IRI, bool) {
	if strings.TrimSpace(candidate) == "" {
		return rdf.IRI{}, false
	}
	i, ok := dataIRI(candidate)
	if !ok {
		l.drop(field, value)
	}
	return i, ok
}

// drop records a value left out of the rendering.
func (l *dropList) drop(field, value string) {
	d := DroppedIRI{Field: field, Value: value}
	if !slices.Contains(*l, d) {
		*l = append(*l, d)
	}
}

// fromFeed is dropList.fromFeed over the graph's list.
func (g *graph) fromFeed(field, value, candidate string) (rdf.IRI, bool) {
	return g.dropped.fromFeed(field, value, candidate)
}

// drop records a value left out of the rendering.
func (g *graph) drop(field, value string) { g.dropped.drop(field, value) }
