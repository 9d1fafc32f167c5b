package dublincore

import (
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/panet"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// ToDataset maps the record to a canonical dataset, judging embargoes
// relative to now. It fills the descriptive fields only; identity, source
// and provenance fields are the caller's (see package normaliser).
//
//   - DOI: the first dc:identifier that is a DOI in any form (doi.org URL,
//     "doi:", "info:doi/", bare 10.x/…). Landing page: https://doi.org/<doi>,
//     else the first http(s) identifier.
//   - Title, description, publisher: the first of each. Titles and
//     descriptions: every one, with its xml:lang as given and its type
//     (AlternativeTitle for dcterms:alternative, Abstract for
//     dcterms:abstract, TableOfContents for dcterms:tableOfContents).
//   - Language: the first dc:language as an ISO 639-1 code when
//     metadata.LanguageCode recognises it ("eng" → "en"), else as given.
//   - Identifiers: every dc:identifier, once, with its scheme: DOI, Handle,
//     URL, URN, ARK, arXiv as metadata.ClassifyIdentifier finds them (a DOI
//     or Handle in its canonical form), OAI for "oai:…", ISBN, ISSN and
//     PMID for "isbn:…", "issn:…", "pmid:…" (the value after the prefix);
//     no scheme when none is recognisable.
//   - Creators and contributors: names as given, split into given and
//     family names when written "Family, Given" (metadata.SplitPersonalName).
//   - Subjects: a PaNET IRI or bare id (PaNET01168) gets scheme "PaNET" and
//     the canonical IRI as value URI; other subjects are plain values.
//   - Dates (metadata.ParseDate, leniently): issued is the first valid
//     "Issued" date, else the first valid untyped date; the publication year
//     is the issued year; modified is the latest "Updated" date; created and
//     available the first valid "Created" and "Available" dates; collected
//     start and end the sides of the first valid "Collected" date (a range
//     start/end, or one date for both). Every date that does not parse
//     becomes a gap of the field it was meant for (issued for an untyped
//     date, "dates" for a type with no field: Accepted, Submitted, …).
//   - Rights: info:eu-repo/semantics/openAccess, embargoedAccess,
//     restrictedAccess and closedAccess (and COAR terms) state the access;
//     info:eu-repo/date/embargoEnd/YYYY-MM-DD in dc:rights, else in dc:date
//     (as the OpenAIRE guidelines put it), else an "Available" date, is the
//     embargo end (one whose date does not parse is a gap of embargo_until);
//     the first other rights value is the licence, preferring a URL. See
//     metadata.DecideAccess.
//   - Resource type: the first dc:type that is a DataCite resourceTypeGeneral
//     in any case ("text" → "Text"), else the first dc:type.
//   - Relations become related identifiers typed by
//     metadata.ClassifyIdentifier, with no relation type (Dublin Core has
//     none). An OpenAIRE grant relation
//     (info:eu-repo/grantAgreement/EC/FP7/123456/EU/Title/ACRONYM) is also
//     a funding: funder, award number, award title (else the acronym).
//   - dc:source: a related identifier typed the same way, with relation
//     IsDerivedFrom (DCMI: "a related resource from which the described
//     resource is derived").
//   - dc:format: one distribution, when given, with the first format that
//     is no media type, the first media type and the first size in bytes
//     ("12 MB") among the values (metadata.FormatAndSize). Formats: every
//     dc:format value, once, but sizes; byte size: the size of the
//     distribution.
func (r *Record) ToDataset(now time.Time) *fairwayv1.Dataset {
	d := &fairwayv1.Dataset{
		Title:       firstText(r.Titles),
		Description: firstText(r.Descriptions),
		Publisher:   first(r.Publishers),
		Language:    first(r.Languages),
	}
	if code, ok := metadata.LanguageCode(d.Language); ok {
		d.Language = code
	}
	for _, t := range r.Titles {
		d.Titles = append(d.Titles, &fairwayv1.LangText{Value: t.Value, Lang: t.Lang, Type: t.Type})
	}
	for _, t := range r.Descriptions {
		d.Descriptions = append(d.Descriptions, &fairwayv1.LangText{Value: t.Value, Lang: t.Lang, Type: t.Type})
	}
	seen := map[[2]string]bool{}
	for _, v := range r.Identifiers {
		id, scheme := identifier(v)
		if k := [2]string{id, scheme}; id != "" && !seen[k] {
			seen[k] = true
			d.Identifiers = append(d.Identifiers, &fairwayv1.Identifier{Value: id, Scheme: scheme})
		}
	}
	for _, id := range r.Identifiers {
		if doi, ok := metadata.NormaliseDOI(id); ok {
			d.Doi = doi
			break
		}
	}
	if d.Doi != "" {
		d.LandingPage = metadata.DOIResolver + d.Doi
	} else {
		for _, id := range r.Identifiers {
			if _, typ := metadata.ClassifyIdentifier(id); typ == metadata.TypeURL {
				d.LandingPage = id
				break
			}
		}
	}
	for _, c := range r.Creators {
		d.Creators = append(d.Creators, person(c))
	}
	for _, c := range r.Contributors {
		d.Contributors = append(d.Contributors, person(c))
	}
	for _, s := range r.Subjects {
		sub := &fairwayv1.Subject{Value: s}
		if iri, ok := panet.TermIRI(s); ok {
			sub.Scheme, sub.SchemeUri, sub.ValueUri = panet.Scheme, panet.Namespace, iri
		}
		d.Subjects = append(d.Subjects, sub)
	}

	issued := r.firstDate("Issued")
	if issued.IsZero() {
		issued = r.firstDate("")
	}
	if !issued.IsZero() {
		d.Issued = metadata.Timestamp(issued)
		d.PublicationYear = int32(issued.Year())
	}
	var modified time.Time
	for _, dt := range r.Dates {
		if dt.Type == "Updated" {
			if t, err := metadata.ParseDate(dt.Value); err == nil && t.After(modified) {
				modified = t
			}
		}
	}
	d.Modified = metadata.Timestamp(modified)
	d.Created = metadata.Timestamp(r.firstDate("Created"))
	d.Available = metadata.Timestamp(r.firstDate("Available"))
	var dateEmbargo time.Time
	haveCollected := false
	for _, dt := range r.Dates {
		if strings.HasPrefix(strings.ToLower(dt.Value), "info:eu-repo/date/embargoend/") {
			if t, ok := metadata.EmbargoEnd(dt.Value); !ok {
				d.Gaps = append(d.Gaps, metadata.NewGap("embargo_until", dt.Value, notADate))
			} else if dateEmbargo.IsZero() {
				dateEmbargo = t
			}
			continue
		}
		if dt.Type == "Collected" {
			start, end, ok := collected(d, dt.Value)
			if ok && !haveCollected {
				haveCollected = true
				d.CollectedStart, d.CollectedEnd = metadata.Timestamp(start), metadata.Timestamp(end)
			}
			continue
		}
		if _, err := metadata.ParseDate(dt.Value); err != nil {
			field, ok := dateFields[dt.Type]
			reason := notADate
			if !ok {
				field, reason = "dates", notADate+" ("+dt.Type+")"
			}
			d.Gaps = append(d.Gaps, metadata.NewGap(field, dt.Value, reason))
		}
	}

	var stated, license, textLicense string
	var embargoEnd time.Time
	for _, v := range r.Rights {
		if a := metadata.AccessStatement(v); a != "" {
			if stated == "" {
				stated = a
			}
			continue
		}
		if t, ok := metadata.EmbargoEnd(v); ok {
			if embargoEnd.IsZero() {
				embargoEnd = t
			}
			continue
		}
		if strings.HasPrefix(strings.ToLower(v), "info:eu-repo/date/embargoend/") {
			d.Gaps = append(d.Gaps, metadata.NewGap("embargo_until", v, notADate))
			continue
		}
		if strings.HasPrefix(strings.ToLower(v), "info:eu-repo/") {
			continue // another OpenAIRE statement, not a licence
		}
		if _, typ := metadata.ClassifyIdentifier(v); typ == metadata.TypeURL {
			if license == "" {
				license = v
			}
		} else if textLicense == "" {
			textLicense = v
		}
	}
	if license == "" {
		license = textLicense
	}
	if embargoEnd.IsZero() {
		embargoEnd = dateEmbargo
	}
	if embargoEnd.IsZero() {
		embargoEnd = r.firstDate("Available")
	}
	access, until := metadata.DecideAccess(stated, embargoEnd, license != "", now)
	d.License, d.AccessRights, d.EmbargoUntil = license, access, metadata.Timestamp(until)

	for _, t := range r.Types {
		if g, ok := metadata.ResourceTypeGeneral(t); ok {
			d.ResourceType = g
			break
		}
	}
	if d.ResourceType == "" {
		d.ResourceType = first(r.Types)
	}
	for _, rel := range r.Relations {
		id, typ := metadata.ClassifyIdentifier(rel)
		d.Related = append(d.Related, &fairwayv1.RelatedIdentifier{Identifier: id, Type: typ})
		if f := grant(rel); f != nil {
			d.Funding = append(d.Funding, f)
		}
	}
	for _, src := range r.Sources {
		id, typ := metadata.ClassifyIdentifier(src)
		d.Related = append(d.Related, &fairwayv1.RelatedIdentifier{Identifier: id, Type: typ, Relation: "IsDerivedFrom"})
	}
	if f, m, n := metadata.FormatAndSize(r.Formats, nil); f != "" || m != "" || n > 0 {
		d.Distributions = []*fairwayv1.Distribution{{Format: f, MediaType: m, ByteSize: n}}
		d.ByteSize = n
	}
	formats := map[string]bool{}
	for _, f := range r.Formats {
		if _, ok := metadata.ByteSize(f); ok && strings.ContainsAny(f, "0123456789") {
			continue // a size (see metadata.FormatAndSize)
		}
		if !formats[f] {
			formats[f] = true
			d.Formats = append(d.Formats, f)
		}
	}
	return d
}

// firstDate returns the first valid date of the given type ("" for untyped),
// or the zero time.
func (r *Record) firstDate(typ string) time.Time {
	for _, dt := range r.Dates {
		if dt.Type == typ {
			if t, err := metadata.ParseDate(dt.Value); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// notADate is the reason of the gap of a date that does not parse.
const notADate = "not a date"

// dateFields maps date types to the canonical field a date of that type is
// meant for ("" for an untyped date, which the issued date is taken from).
var dateFields = map[string]string{
	"":          "issued",
	"Issued":    "issued",
	"Created":   "created",
	"Available": "available",
	"Updated":   "modified",
}

// collected reads a Collected date, a range start/end (either side may be
// empty) or one date for both ends, adding to d a gap for each side that
// does not parse. ok is whether some side is given and every side given
// parses.
func collected(d *fairwayv1.Dataset, v string) (start, end time.Time, ok bool) {
	s, e, isRange := strings.Cut(v, "/")
	if !isRange {
		e = s
	}
	s, e = strings.TrimSpace(s), strings.TrimSpace(e)
	if s == "" && e == "" {
		d.Gaps = append(d.Gaps, metadata.NewGap("collected_start", v, notADate))
		return start, end, false
	}
	ok = true
	var err error
	if s != "" {
		if start, err = metadata.ParseDate(s); err != nil {
			d.Gaps = append(d.Gaps, metadata.NewGap("collected_start", v, notADate))
			ok = false
		}
	}
	if e != "" && (isRange || ok) {
		if end, err = metadata.ParseDate(e); err != nil {
			d.Gaps = append(d.Gaps, metadata.NewGap("collected_end", v, notADate))
			ok = false
		}
	}
	return start, end, ok
}

// identifierPrefixes are the prefixes of free-form identifiers that name
// their scheme, beyond those metadata.ClassifyIdentifier knows.
var identifierPrefixes = []struct{ prefix, scheme string }{
	{"oai:", "OAI"},
	{"isbn:", "ISBN"},
	{"issn:", "ISSN"},
	{"pmid:", "PMID"},
}

// identifier returns a dc:identifier in canonical form with its scheme.
func identifier(v string) (id, scheme string) {
	id, scheme = metadata.ClassifyIdentifier(v)
	if scheme != "" {
		return id, scheme
	}
	lower := strings.ToLower(id)
	for _, p := range identifierPrefixes {
		if strings.HasPrefix(lower, p.prefix) {
			if p.scheme == "OAI" {
				return id, p.scheme // the prefix is part of an OAI identifier
			}
			if rest := strings.TrimSpace(id[len(p.prefix):]); rest != "" {
				return rest, p.scheme
			}
		}
	}
	return id, ""
}

// grantPrefix starts an OpenAIRE grant agreement relation.
const grantPrefix = "info:eu-repo/grantagreement/"

// grant reads an OpenAIRE grant agreement relation
// (info:eu-repo/grantAgreement/Funder/Programme/ProjectID/Jurisdiction/Title/Acronym,
// the last parts optional), or returns nil when rel is none.
func grant(rel string) *fairwayv1.Funding {
	rel = strings.TrimSpace(rel)
	if len(rel) <= len(grantPrefix) || !strings.EqualFold(rel[:len(grantPrefix)], grantPrefix) {
		return nil
	}
	parts := strings.SplitN(rel[len(grantPrefix):], "/", 6)
	part := func(i int) string {
		if i < len(parts) {
			return strings.TrimSpace(parts[i])
		}
		return ""
	}
	f := &fairwayv1.Funding{FunderName: part(0), AwardNumber: part(2), AwardTitle: part(4)}
	if f.AwardTitle == "" {
		f.AwardTitle = part(5)
	}
	if f.FunderName == "" && f.AwardNumber == "" {
		return nil
	}
	return f
}

// person maps a creator or contributor name.
func person(name string) *fairwayv1.Person {
	p := &fairwayv1.Person{Name: name}
	if g, f, ok := metadata.SplitPersonalName(name); ok {
		p.GivenName, p.FamilyName = g, f
	}
	return p
}

func firstText(ts []Text) string {
	if len(ts) > 0 {
		return ts[0].Value
	}
	return ""
}

func first(ss []string) string {
	if len(ss) > 0 {
		return ss[0]
	}
	return ""
}
