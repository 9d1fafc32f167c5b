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
//   - Title, description, publisher, language: the first of each.
//   - Creators and contributors: names as given, split into given and
//     family names when written "Family, Given" (metadata.SplitPersonalName).
//   - Subjects: a PaNET IRI or bare id (PaNET01168) gets scheme "PaNET" and
//     the canonical IRI as value URI; other subjects are plain values.
//   - Dates (metadata.ParseDate, leniently): issued is the first valid
//     "Issued" date, else the first valid untyped date; the publication year
//     is the issued year; modified is the latest "Updated" date.
//   - Rights: info:eu-repo/semantics/openAccess, embargoedAccess,
//     restrictedAccess and closedAccess (and COAR terms) state the access;
//     info:eu-repo/date/embargoEnd/YYYY-MM-DD (else an "Available" date) is
//     the embargo end; the first other rights value is the licence,
//     preferring a URL. See metadata.DecideAccess.
//   - Resource type: the first dc:type that is a DataCite resourceTypeGeneral
//     in any case ("text" → "Text"), else the first dc:type.
//   - Relations become related identifiers typed by
//     metadata.ClassifyIdentifier, with no relation type (Dublin Core has
//     none).
//   - dc:format: one distribution, when given, with the first format that
//     is no media type, the first media type and the first size in bytes
//     ("12 MB") among the values (metadata.FormatAndSize).
func (r *Record) ToDataset(now time.Time) *fairwayv1.Dataset {
	d := &fairwayv1.Dataset{
		Title:       first(r.Titles),
		Description: first(r.Descriptions),
		Publisher:   first(r.Publishers),
		Language:    first(r.Languages),
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
	}
	if f, m, n := metadata.FormatAndSize(r.Formats, nil); f != "" || m != "" || n > 0 {
		d.Distributions = []*fairwayv1.Distribution{{Format: f, MediaType: m, ByteSize: n}}
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

// person maps a creator or contributor name.
func person(name string) *fairwayv1.Person {
	p := &fairwayv1.Person{Name: name}
	if g, f, ok := metadata.SplitPersonalName(name); ok {
		p.GivenName, p.FamilyName = g, f
	}
	return p
}

func first(ss []string) string {
	if len(ss) > 0 {
		return ss[0]
	}
	return ""
}
