package dcat

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// LicenseIRI returns the IRI of a licence given as an IRI that
// PublishableIRI accepts or as a well-known name or SPDX id (CC0-1.0,
// CC-BY-4.0, "CC BY 4.0", MIT…: metadata.KnownLicense), and whether it
// found one.
func LicenseIRI(licence string) (string, bool) {
	l := strings.TrimSpace(licence)
	if l == "" {
		return "", false
	}
	if iri, ok := PublishableIRI(l); ok {
		return iri, true
	}
	return metadata.KnownLicense(l)
}

// LanguageIRI maps a language code (en, en-GB, eng, ger) or English name to
// its EU language table IRI
// (http://publications.europa.eu/resource/authority/language/ENG), and
// reports whether it could.
func LanguageIRI(lang string) (string, bool) {
	code, ok := metadata.EULanguageCode(lang)
	if !ok {
		return "", false
	}
	return LanguageAuthority + "/" + code, true
}

// AccessRightsIRI maps a dataset's access rights to the EU access-right
// table: "open" is PUBLIC, "restricted" RESTRICTED, "closed" NON_PUBLIC,
// and "embargoed" NON_PUBLIC until its embargo date, PUBLIC from then on
// (at now). The other spellings of an access statement
// (metadata.AccessStatement: info:eu-repo/semantics terms, COAR IRIs) and
// the table's own "non_public" are understood too. It returns "" when the
// access rights are unknown.
func AccessRightsIRI(d *fairwayv1.Dataset, now time.Time) string {
	a := strings.TrimSpace(d.GetAccessRights())
	switch metadata.AccessStatement(a) {
	case metadata.AccessOpen:
		return AccessPublic
	case metadata.AccessRestricted:
		return AccessRestricted
	case metadata.AccessClosed:
		return AccessNonPublic
	case metadata.AccessEmbargoed:
		if e := d.GetEmbargoUntil(); e != nil && e.IsValid() && !now.Before(e.AsTime()) {
			return AccessPublic
		}
		return AccessNonPublic
	}
	switch strings.TrimPrefix(strings.ToLower(a), "info:eu-repo/semantics/") {
	case "non_public", "non-public":
		return AccessNonPublic
	}
	return ""
}

// relationPredicate maps a DataCite relation type to a Dublin Core term:
// publications about the dataset become dct:isReferencedBy.
func relationPredicate(relation string) rdf.Predicate {
	switch strings.ToLower(strings.TrimSpace(relation)) {
	case "iscitedby", "isreferencedby", "issupplementto", "isdocumentedby", "isdescribedby", "isreviewedby":
		return dctIsReferencedBy
	case "cites", "references":
		return dctReferences
	case "ispartof":
		return dctIsPartOf
	case "haspart":
		return dctHasPart
	case "isversionof":
		return dctIsVersionOf
	}
	return dctRelation
}

// RelatedIRI resolves a related identifier to the IRI to publish, for
// PublishableIRI to check: DOIs to https://doi.org/, handles to
// https://hdl.handle.net/, arXiv and PubMed ids to their pages; an
// identifier of type URL, URI, URN or PURL, or one given as an IRI
// (looksLikeIRI), as it is. Other identifiers (a bare ISBN) give "". Pages
// and answers that link a related work use it too, so that they link what
// the DCAT-AP rendering publishes.
func RelatedIRI(r *fairwayv1.RelatedIdentifier) string {
	id := strings.TrimSpace(r.GetIdentifier())
	if id == "" {
		return ""
	}
	if doi, ok := metadata.LooseDOI(id); ok {
		return DOIIRI(doi)
	}
	switch strings.ToLower(strings.TrimSpace(r.GetType())) {
	case "handle":
		return "https://hdl.handle.net/" + escapeIRI(strings.TrimPrefix(id, "hdl:"))
	case "arxiv":
		return "https://arxiv.org/abs/" + escapeIRI(strings.TrimPrefix(strings.ToLower(id), "arxiv:"))
	case "pmid":
		return "https://pubmed.ncbi.nlm.nih.gov/" + escapeIRI(id) + "/"
	}
	switch strings.ToLower(strings.TrimSpace(r.GetType())) {
	case "url", "uri", "urn", "purl":
		return id
	}
	if looksLikeIRI(id) {
		return id
	}
	return ""
}

// DOIIRI returns the resolver IRI of a DOI, as the DCAT-AP rendering links
// it: the DOI escaped by EscapeIRIPath, so that a DOI of the old SICI kind
// (with '<', '#' or spaces) links to itself.
func DOIIRI(doi string) string { return metadata.DOIResolver + EscapeIRIPath(doi) }

// EscapeIRIPath escapes s to stand in an IRI's path and come back whole
// when the path is unescaped: what escapeIRI encodes, and what would end
// the path, '#' and '?' (the DOI Handbook asks for a DOI's encoded; left,
// the resolver would be sent a shorter DOI). Slashes stay.
func EscapeIRIPath(s string) string { return pathEnds.Replace(escapeIRI(s)) }

// pathEnds encodes the characters that end an IRI's path.
var pathEnds = strings.NewReplacer("#", "%23", "?", "%3F")

// escapeIRI percent-encodes the characters an IRI may not hold (those
// saneIRIText refuses, and '%' itself), leaving every other character as
// is, so that an IRI built from an identifier is always publishable.
func escapeIRI(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '%' || !saneIRIText(s[i:i+n]) {
			for _, c := range []byte(s[i : i+n]) {
				b.WriteByte('%')
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
