package datacite

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/panet"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Date types used by the mapping.
const (
	DateIssued    = "Issued"
	DateCreated   = "Created"
	DateAvailable = "Available"
	DateUpdated   = "Updated"
	DateCollected = "Collected"
)

// Contributor types used by the mapping.
const (
	// ContributorContact is the contributorType of a contact person.
	ContributorContact = "ContactPerson"
	// ContributorProjectLeader is the contributorType of the head of the
	// project: the principal investigator.
	ContributorProjectLeader = "ProjectLeader"
)

// ToDataset maps the record to a canonical dataset, judging embargoes
// relative to now. It fills the descriptive fields only; identity, source
// and provenance fields are the caller's (see package normaliser).
//
//   - DOI: the identifier (or a DOI alternate identifier), lower case
//     without resolver; landing page https://doi.org/<doi>.
//   - Title: the first title without titleType, else the first title.
//     Description: the first Abstract, else the first description.
//   - Creators and contributors become Persons: the ORCID as a bare iD,
//     affiliations joined with "; ", and given and family names split from
//     "Family, Given" when the record does not give them and the name is not
//     an organisation's.
//   - Issued: the first valid Issued date, else 1 January of
//     publicationYear; publication year: publicationYear, else the issued
//     year. Modified: the latest Updated date.
//   - Access: see metadata.DecideAccess; the Available date is the embargo
//     end, and rights statements that are access statements
//     (metadata.AccessStatement) give the stated access. The licence is the
//     first other rights entry: its rightsURI, else its rightsIdentifier
//     (SPDX), else its text.
//   - Subjects keep scheme, scheme URI and value URI; a PaNET IRI or bare
//     id without a value URI gets the canonical PaNET IRI and scheme.
//   - Resource type: resourceTypeGeneral, else the free-text resourceType.
//   - Instrument, best effort: the value of the first subject whose scheme
//     names an instrument or a beamline; else the first related identifier
//     that is an instrument (resourceTypeGeneral "Instrument", relation
//     "IsCollectedBy", or a PIDINST w3id.org/pidinst IRI). DataCite has no
//     instrument field before kernel 4.4, so records without such hints get
//     none. Instrument PID: that related identifier, when it is a DOI,
//     a handle or a URL (PIDINST's rule: relationType IsCollectedBy).
//   - Publisher ROR: publisherIdentifier (kernel 4.5) when it is a ROR id;
//     a person's affiliation ROR: the first affiliationIdentifier that is
//     one.
//   - Contacts: the contributors of type ContactPerson, by name, with the
//     e-mail address given as a mailto: name identifier (DataCite has no
//     e-mail field); that address is the contributor's too.
//   - Collection period: the first Collected date, an RKMS-ISO 8601 range
//     "start/end" (either side may be open) or a single date (start and
//     end alike).
//   - Distribution: one, when the record states formats or sizes: the
//     first format that is no media type, the first media type among the
//     formats, and the first size in bytes (metadata.FormatAndSize; "15
//     files" is not). DataCite XML has no content URL.
//   - Proposal: the first alternate identifier whose type names a proposal.
//   - Titles and descriptions: every one, in order, with its xml:lang and
//     its titleType or descriptionType as given.
//   - Identifiers: the identifier, then every alternate identifier, each
//     with its scheme in canonical spelling (metadata.IdentifierScheme;
//     guessed from the value by metadata.ClassifyIdentifier when the type
//     is missing; an unknown one kept as given); a DOI lower case without
//     resolver, a handle without hdl: or resolver; duplicates dropped.
//   - Version: version. Formats: every format, as given, duplicates dropped.
//     File count and byte size: the first size that counts files
//     (metadata.FileCount) and the first in bytes (metadata.ByteSize).
//   - Funding: every fundingReference; a Crossref Funder ID (a DOI, or the
//     bare number) as a https://doi.org/10.13039/… IRI, a ROR id as its IRI,
//     any other funder identifier as given.
//   - Created: the first valid Created date; available: the first valid
//     Available date (the start of a range).
//   - Principal investigator: the first ProjectLeader contributor that is
//     not an organisation. DataCite has no principal-investigator role;
//     ProjectLeader ("head of the project team") is what says it. A
//     ContactPerson is a contact, not the investigator, and stays in
//     contacts only.
//   - Samples, best effort (DataCite has no sample field): the subjects
//     whose scheme names a sample (by name), and the related identifiers of
//     type IGSN (by id).
//   - Gaps: every Issued, Created, Available, Updated or Collected date
//     that does not parse (each side of a Collected range on its own), a
//     publicationYear that is no year, a size that is neither bytes nor
//     files, a date of another type that does not parse (field "dates"),
//     and a geo location that cannot be read; the value cut at
//     metadata.MaxGapValue bytes.
//   - Dates: every date, of every type, in order, read once
//     (metadata.ParseDateRange) with its dateType and dateInformation.
//   - Geo locations: every geoLocation's place, point, box and polygons
//     (kernel 3's "lat long" texts and kernel 4's elements), in WGS 84
//     degrees; a polygon of more than MaxPolygonPoints points is left out.
//   - Licence SPDX id: of the rights entry that is the licence, its
//     rightsIdentifier, else its rightsURI, else its text, when
//     metadata.SPDXLicense recognises one. Languages: language.
func (r *Resource) ToDataset(now time.Time) *fairwayv1.Dataset {
	d := &fairwayv1.Dataset{
		Doi:         r.DOI(),
		Title:       r.Title(),
		Description: r.Description(),
		Publisher:   r.Publisher,
		Language:    r.Language,
	}
	if d.Doi != "" {
		d.LandingPage = metadata.DOIResolver + d.Doi
	} else if strings.EqualFold(r.IdentifierType, metadata.TypeURL) {
		d.LandingPage = r.Identifier
	}
	for _, c := range r.Creators {
		d.Creators = append(d.Creators, c.person())
	}
	for _, c := range r.Contributors {
		d.Contributors = append(d.Contributors, c.person())
	}

	dates := r.parseDates()
	issued := dates.first(DateIssued)
	year := r.PublicationYear
	if issued.IsZero() && year > 0 {
		issued = time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	if year == 0 && !issued.IsZero() {
		year = issued.Year()
	}
	d.PublicationYear = int32(year)
	d.Issued = metadata.Timestamp(issued)
	d.Modified = metadata.Timestamp(dates.latest(DateUpdated))

	stated, license, spdx := "", "", ""
	for _, rt := range r.RightsList {
		if a := metadata.AccessStatement(rt.URI); a != "" {
			stated = cmp.Or(stated, a)
			continue
		}
		candidate := cmp.Or(rt.URI, rt.Identifier, rt.Value)
		if a := metadata.AccessStatement(rt.Value); a != "" {
			// "Open Access" with a licence URI states both.
			stated = cmp.Or(stated, a)
			candidate = cmp.Or(rt.URI, rt.Identifier)
		}
		if license == "" && candidate != "" {
			license = candidate
			spdx = rt.spdx()
		}
	}
	access, until := metadata.DecideAccess(stated, dates.first(DateAvailable), license != "", now)
	d.License, d.AccessRights, d.EmbargoUntil = license, access, metadata.Timestamp(until)
	d.LicenseSpdx = spdx

	for _, s := range r.Subjects {
		d.Subjects = append(d.Subjects, s.subject())
	}
	d.ResourceType = cmp.Or(r.ResourceTypeGeneral, r.ResourceType)
	for _, ri := range r.RelatedIdentifiers {
		id := ri.Value
		if strings.EqualFold(ri.Type, metadata.TypeDOI) {
			if doi, ok := metadata.NormaliseDOI(id); ok {
				id = doi
			}
		}
		d.Related = append(d.Related, &fairwayv1.RelatedIdentifier{Identifier: id, Type: ri.Type, Relation: ri.RelationType})
	}
	d.Instrument, d.InstrumentPid = r.instrument()
	d.PublisherRor, _ = metadata.RORIRI(r.PublisherIdentifier)
	for _, c := range r.Contributors {
		if strings.EqualFold(c.ContributorType, ContributorContact) && strings.TrimSpace(c.Name) != "" {
			d.Contacts = append(d.Contacts, &fairwayv1.Contact{Name: c.Name, Email: c.Email})
		}
	}
	d.CollectedStart, d.CollectedEnd = dates.collected()
	if f, m, n := metadata.FormatAndSize(r.Formats, r.Sizes); f != "" || m != "" || n > 0 {
		d.Distributions = []*fairwayv1.Distribution{{Format: f, MediaType: m, ByteSize: n}}
	}
	for _, a := range r.AlternateIdentifiers {
		if strings.Contains(strings.ToLower(a.Type), "proposal") {
			d.ProposalId = a.Value
			break
		}
	}

	for _, t := range r.Titles {
		d.Titles = append(d.Titles, &fairwayv1.LangText{Value: t.Value, Lang: t.Lang, Type: t.Type})
	}
	for _, x := range r.Descriptions {
		d.Descriptions = append(d.Descriptions, &fairwayv1.LangText{Value: x.Value, Lang: x.Lang, Type: x.Type})
	}
	d.Identifiers = r.identifiers()
	d.Version = r.Version
	d.Formats = r.formats()
	for _, f := range r.FundingReferences {
		d.Funding = append(d.Funding, f.funding())
	}
	d.Created = metadata.Timestamp(dates.first(DateCreated))
	d.Available = metadata.Timestamp(dates.first(DateAvailable))
	d.PrincipalInvestigator = r.principalInvestigator()
	d.Samples = r.samples()
	d.Gaps = r.gaps(dates)
	for _, pd := range dates {
		td, _ := metadata.TypedDate(pd.Type, pd.Value, pd.Information, pd.r)
		d.Dates = append(d.Dates, td)
	}
	var geoGaps []*fairwayv1.Gap
	d.GeoLocations, geoGaps = r.geoLocations()
	d.Gaps = append(d.Gaps, geoGaps...)
	if l := strings.TrimSpace(r.Language); l != "" {
		d.Languages = []string{l}
	}
	for _, s := range r.Sizes {
		if n, ok := metadata.FileCount(s); ok {
			d.FileCount = n
			break
		}
	}
	for _, s := range r.Sizes {
		if n, ok := metadata.ByteSize(s); ok {
			d.ByteSize = n
			break
		}
	}
	return d
}

// identifiers implements the identifiers rule of ToDataset.
func (r *Resource) identifiers() []*fairwayv1.Identifier {
	var out []*fairwayv1.Identifier
	seen := map[[2]string]bool{}
	add := func(value, typ string) {
		value = strings.TrimSpace(value)
		if value == "" {
			return
		}
		scheme := metadata.IdentifierScheme(typ)
		if scheme == "" {
			_, scheme = metadata.ClassifyIdentifier(value)
		}
		switch scheme {
		case metadata.TypeDOI:
			if doi, ok := metadata.NormaliseDOI(value); ok {
				value = doi
			}
		case metadata.TypeHandle:
			if id, typ := metadata.ClassifyIdentifier(value); typ == metadata.TypeHandle && id != "" {
				value = id
			}
		}
		k := [2]string{value, scheme}
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, &fairwayv1.Identifier{Value: value, Scheme: scheme})
	}
	add(r.Identifier, r.IdentifierType)
	for _, a := range r.AlternateIdentifiers {
		add(a.Value, a.Type)
	}
	return out
}

// formats returns the formats without blanks and duplicates.
func (r *Resource) formats() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range r.Formats {
		if f = strings.TrimSpace(f); f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// crossrefFunderPrefix is the DOI prefix of the Crossref Funder Registry.
const crossrefFunderPrefix = "10.13039/"

// funding maps a fundingReference.
func (f FundingReference) funding() *fairwayv1.Funding {
	id := f.FunderIdentifier
	typ := strings.ToLower(f.FunderIdentifierType)
	switch {
	case strings.Contains(typ, "crossref"):
		if doi, ok := metadata.NormaliseDOI(id); ok {
			id = metadata.DOIResolver + doi
		} else if isDigits(id) {
			id = metadata.DOIResolver + crossrefFunderPrefix + id
		}
	case typ == "ror" || strings.Contains(strings.ToLower(id), "ror.org/"):
		if iri, ok := metadata.RORIRI(id); ok {
			id = iri
		}
	}
	return &fairwayv1.Funding{
		FunderName: f.FunderName, FunderId: id, FunderIdType: f.FunderIdentifierType,
		AwardNumber: f.AwardNumber, AwardTitle: f.AwardTitle, AwardUri: f.AwardURI,
	}
}

func isDigits(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// principalInvestigator implements the principal-investigator rule of
// ToDataset.
func (r *Resource) principalInvestigator() *fairwayv1.Person {
	for _, c := range r.Contributors {
		if strings.EqualFold(c.ContributorType, ContributorProjectLeader) && !strings.EqualFold(c.NameType, "Organizational") {
			return c.person()
		}
	}
	return nil
}

// samples implements the samples rule of ToDataset.
func (r *Resource) samples() []*fairwayv1.Sample {
	var out []*fairwayv1.Sample
	for _, s := range r.Subjects {
		if strings.Contains(strings.ToLower(s.Scheme), "sample") && s.Value != "" {
			out = append(out, &fairwayv1.Sample{Name: s.Value})
		}
	}
	for _, ri := range r.RelatedIdentifiers {
		if strings.EqualFold(ri.Type, "IGSN") {
			out = append(out, &fairwayv1.Sample{Id: ri.Value})
		}
	}
	return out
}

// dateFields maps the date types read into a field of their own to that
// field.
var dateFields = map[string]string{
	"issued": "issued", "created": "created", "available": "available", "updated": "modified",
}

// parsedDate is a date of the record, read once.
type parsedDate struct {
	Date
	r metadata.DateRange
}

// parsedDates are the dates of a record in its order.
type parsedDates []parsedDate

// parseDates reads every date of the record once.
func (r *Resource) parseDates() parsedDates {
	out := make(parsedDates, len(r.Dates))
	for i, dt := range r.Dates {
		out[i] = parsedDate{Date: dt, r: metadata.ParseDateRange(dt.Value)}
	}
	return out
}

// first returns the first valid date of the given type (the first side of
// a range), or the zero time.
func (ds parsedDates) first(typ string) time.Time {
	for _, d := range ds {
		if strings.EqualFold(d.Type, typ) {
			if t, err := d.r.First(); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// latest returns the latest valid date of the given type, or the zero time.
func (ds parsedDates) latest(typ string) time.Time {
	var latest time.Time
	for _, d := range ds {
		if strings.EqualFold(d.Type, typ) {
			if t, err := d.r.First(); err == nil && t.After(latest) {
				latest = t
			}
		}
	}
	return latest
}

// collected returns the collection period of the first Collected date
// that has a valid side.
func (ds parsedDates) collected() (start, end *timestamppb.Timestamp) {
	for _, d := range ds {
		if strings.EqualFold(d.Type, DateCollected) && d.r.Valid() {
			s, e := d.r.Bounds()
			return metadata.Timestamp(s), metadata.Timestamp(e)
		}
	}
	return nil, nil
}

// gaps implements the gaps rule of ToDataset.
func (r *Resource) gaps(dates parsedDates) []*fairwayv1.Gap {
	var out []*fairwayv1.Gap
	if r.PublicationYearText != "" && r.PublicationYear == 0 {
		out = append(out, metadata.NewGap("publication_year", r.PublicationYearText, "not a four-digit year"))
	}
	for _, dt := range dates {
		typ := strings.ToLower(dt.Type)
		if typ == "collected" {
			out = append(out, dt.r.Gaps(dt.Value, metadata.FieldCollectedStart, metadata.FieldCollectedEnd)...)
			continue
		}
		if _, err := dt.r.First(); err != nil {
			field, ok := dateFields[typ]
			if !ok {
				field = metadata.FieldDates
			}
			out = append(out, metadata.NewGap(field, dt.Value, metadata.DateReason(err)))
		}
	}
	for _, s := range r.Sizes {
		if _, ok := metadata.ByteSize(s); ok {
			continue
		}
		if _, ok := metadata.FileCount(s); !ok {
			out = append(out, metadata.NewGap("byte_size", s, "not a size in bytes or a number of files"))
		}
	}
	return out
}

// spdx returns the SPDX id of a rights entry: its rightsIdentifier when
// that is one, else what its rightsURI or its text name.
func (rt Rights) spdx() string {
	for _, v := range []string{rt.Identifier, rt.URI, rt.Value} {
		if id, ok := metadata.SPDXLicense(v); ok {
			return id
		}
	}
	return ""
}

// geoLocations implements the geo-location rule of ToDataset.
func (r *Resource) geoLocations() ([]*fairwayv1.GeoLocation, []*fairwayv1.Gap) {
	var out []*fairwayv1.GeoLocation
	var gaps []*fairwayv1.Gap
	bad := func(v, why string) {
		gaps = append(gaps, metadata.NewGap(metadata.FieldGeoLocations, v, why))
	}
	for _, g := range r.GeoLocations {
		loc := &fairwayv1.GeoLocation{Place: g.Place}
		switch {
		case g.Point != nil:
			if p, ok := point(g.Point.Longitude, g.Point.Latitude); ok {
				loc.Point = p
			} else {
				bad(g.Point.Longitude+" "+g.Point.Latitude, "not a point (longitude, latitude in degrees)")
			}
		case g.PointText != "":
			if f := strings.Fields(g.PointText); len(f) == 2 {
				loc.Point, _ = point(f[1], f[0])
			}
			if loc.Point == nil {
				bad(g.PointText, "not a point (latitude longitude in degrees)")
			}
		}
		switch {
		case g.Box != nil:
			if b, ok := box(g.Box.West, g.Box.East, g.Box.South, g.Box.North); ok {
				loc.Box = b
			} else {
				bad(strings.Join([]string{g.Box.West, g.Box.East, g.Box.South, g.Box.North}, " "), "not a box (west, east, south, north in degrees)")
			}
		case g.BoxText != "":
			if f := strings.Fields(g.BoxText); len(f) == 4 {
				loc.Box, _ = box(f[1], f[3], f[0], f[2])
			}
			if loc.Box == nil {
				bad(g.BoxText, "not a box (south west north east in degrees)")
			}
		}
		var polygons [][]*fairwayv1.GeoPoint
		for _, poly := range g.Polygons {
			if len(poly) > MaxPolygonPoints {
				bad(poly[0].Longitude+" "+poly[0].Latitude+" …", fmt.Sprintf("polygon of more than %d points left out", MaxPolygonPoints))
				continue
			}
			var pts []*fairwayv1.GeoPoint
			for _, c := range poly {
				p, ok := point(c.Longitude, c.Latitude)
				if !ok {
					pts = nil
					bad(c.Longitude+" "+c.Latitude, "polygon with a vertex that is not a point left out")
					break
				}
				pts = append(pts, p)
			}
			if pts == nil {
				continue
			}
			if closed, ok := metadata.ClosePolygon(pts); ok {
				polygons = append(polygons, closed)
			} else {
				bad(poly[0].Longitude+" "+poly[0].Latitude, "polygon of fewer than three vertices left out")
			}
		}
		if len(polygons) > 0 {
			loc.Polygon = polygons[0]
		}
		if loc.Place != "" || loc.Point != nil || loc.Box != nil || loc.Polygon != nil {
			out = append(out, loc)
		}
		for _, more := range polygons[min(1, len(polygons)):] {
			out = append(out, &fairwayv1.GeoLocation{Place: g.Place, Polygon: more})
		}
	}
	return out, gaps
}

// point reads a point from its longitude and latitude.
func point(lon, lat string) (*fairwayv1.GeoPoint, bool) {
	x, ok1 := metadata.ParseDegrees(lon)
	y, ok2 := metadata.ParseDegrees(lat)
	if !ok1 || !ok2 {
		return nil, false
	}
	return metadata.NewGeoPoint(x, y)
}

// box reads a box from its bounds.
func box(w, e, s, n string) (*fairwayv1.GeoBox, bool) {
	var v [4]float64
	for i, x := range []string{w, e, s, n} {
		f, ok := metadata.ParseDegrees(x)
		if !ok {
			return nil, false
		}
		v[i] = f
	}
	return metadata.NewGeoBox(v[0], v[1], v[2], v[3])
}

// DOI returns the record's DOI, lower case without resolver: the identifier
// when it is a DOI (whatever identifierType says, when that is empty), else
// the first DOI among the alternate identifiers; "" when there is none.
func (r *Resource) DOI() string {
	if r.IdentifierType == "" || strings.EqualFold(r.IdentifierType, metadata.TypeDOI) {
		if doi, ok := metadata.NormaliseDOI(r.Identifier); ok {
			return doi
		}
	}
	for _, a := range r.AlternateIdentifiers {
		if strings.EqualFold(a.Type, metadata.TypeDOI) {
			if doi, ok := metadata.NormaliseDOI(a.Value); ok {
				return doi
			}
		}
	}
	return ""
}

// Title returns the main title: the first title without titleType, else the
// first title, else "".
func (r *Resource) Title() string {
	for _, t := range r.Titles {
		if t.Type == "" {
			return t.Value
		}
	}
	if len(r.Titles) > 0 {
		return r.Titles[0].Value
	}
	return ""
}

// Description returns the first Abstract, else the first description, else "".
func (r *Resource) Description() string {
	for _, d := range r.Descriptions {
		if strings.EqualFold(d.Type, "Abstract") {
			return d.Value
		}
	}
	if len(r.Descriptions) > 0 {
		return r.Descriptions[0].Value
	}
	return ""
}

// instrument implements the best-effort instrument and instrument PID
// rules of ToDataset.
func (r *Resource) instrument() (name, pid string) {
	for _, s := range r.Subjects {
		scheme := strings.ToLower(s.Scheme)
		if (strings.Contains(scheme, "instrument") || strings.Contains(scheme, "beamline")) && s.Value != "" {
			name = s.Value
			break
		}
	}
	for _, ri := range r.RelatedIdentifiers {
		if strings.EqualFold(ri.ResourceTypeGeneral, "Instrument") || strings.EqualFold(ri.RelationType, "IsCollectedBy") ||
			strings.Contains(strings.ToLower(ri.Value), "w3id.org/pidinst") {
			id := ri.Value
			if doi, ok := metadata.NormaliseDOI(ri.Value); ok && strings.EqualFold(ri.Type, metadata.TypeDOI) {
				id = doi
			}
			if name == "" {
				name = id
			}
			pid, _ = metadata.PIDIRI(ri.Value)
			break
		}
	}
	return name, pid
}

// person maps a creator or contributor.
func (n Name) person() *fairwayv1.Person {
	p := &fairwayv1.Person{
		Name: n.Name, GivenName: n.GivenName, FamilyName: n.FamilyName, Orcid: n.ORCID,
		Affiliation: strings.Join(n.Affiliations, "; "), Role: n.ContributorType, AffiliationRor: n.AffiliationROR,
		Email: n.Email,
	}
	if p.GivenName == "" && p.FamilyName == "" && !strings.EqualFold(n.NameType, "Organizational") {
		if g, f, ok := metadata.SplitPersonalName(p.Name); ok {
			p.GivenName, p.FamilyName = g, f
		}
	}
	if p.Name == "" {
		switch {
		case p.FamilyName != "" && p.GivenName != "":
			p.Name = p.FamilyName + ", " + p.GivenName
		default:
			p.Name = cmp.Or(p.FamilyName, p.GivenName)
		}
	}
	return p
}

// subject maps a subject, recognising PaNET terms.
func (s Subject) subject() *fairwayv1.Subject {
	out := &fairwayv1.Subject{Value: s.Value, Scheme: s.Scheme, SchemeUri: s.SchemeURI, ValueUri: s.ValueURI}
	if out.Value == "" {
		out.Value = s.ValueURI
	}
	if out.ValueUri == "" {
		if iri, ok := panet.TermIRI(s.Value); ok {
			out.ValueUri = iri
			if out.Scheme == "" {
				out.Scheme, out.SchemeUri = panet.Scheme, panet.Namespace
			}
		}
	}
	return out
}
