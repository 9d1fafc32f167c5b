package dublincore

import (
	"slices"
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
//     start and end the sides of the first "Collected" date with a side
//     that parses (a range start/end, or one date for both). Every date
//     that does not parse becomes a gap of the field it was meant for
//     (issued for an untyped date, "dates" for a type with no field:
//     Accepted, Submitted, …). Dates: every date but embargoEnd
//     statements, with its type, read once (metadata.ParseDateRange).
//   - Geo locations: see geoLocations. Languages: every dc:language.
//   - Rights: info:eu-repo/semantics/openAccess, embargoedAccess,
//     restrictedAccess and closedAccess (and COAR terms) state the access;
//     info:eu-repo/date/embargoEnd/YYYY-MM-DD in dc:rights, else in dc:date
//     (as the OpenAIRE guidelines put it), else an "Available" date, is the
//     embargo end (one whose date does not parse is a gap of embargo_until);
//     the first other rights value is the licence, preferring a URL. See
//     metadata.DecideAccess.
//   - Resource type: the first dc:type that is a DataCite resourceTypeGeneral
//     in any case ("text" → "Text"), else the first dc:type.
//   - Relations become related identifiers (see related): OpenAIRE typed
//     relations and dcterms refinements with their relation type, a plain
//     dc:relation with none (Dublin Core has none); an OpenAIRE
//     altIdentifier is an identifier instead. An OpenAIRE grant relation
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
	for _, l := range r.Languages {
		if code, ok := metadata.LanguageCode(l); ok {
			l = code
		}
		if !slices.Contains(d.Languages, l) {
			d.Languages = append(d.Languages, l)
		}
	}
	if len(d.Languages) > 0 {
		d.Language = d.Languages[0]
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
	var dateEmbargo time.Time
	haveCollected := false
	for _, dt := range r.Dates {
		if strings.HasPrefix(strings.ToLower(dt.Value), "info:eu-repo/date/embargoend/") {
			if t, ok := metadata.EmbargoEnd(dt.Value); !ok {
				d.Gaps = append(d.Gaps, metadata.NewGap("embargo_until", dt.Value, metadata.ReasonBadDate))
			} else if dateEmbargo.IsZero() {
				dateEmbargo = t
			}
			continue
		}
		pr := metadata.ParseDateRange(dt.Value)
		td, _ := metadata.TypedDate(dt.Type, dt.Value, "", pr)
		d.Dates = append(d.Dates, td)
		if dt.Type == "Collected" {
			d.Gaps = append(d.Gaps, pr.Gaps(dt.Value, metadata.FieldCollectedStart, metadata.FieldCollectedEnd)...)
			if pr.Valid() && !haveCollected {
				haveCollected = true
				start, end := pr.Bounds()
				d.CollectedStart, d.CollectedEnd = metadata.Timestamp(start), metadata.Timestamp(end)
			}
			continue
		}
		t, err := pr.First()
		if err != nil {
			field, ok := dateFields[dt.Type]
			if !ok {
				field = metadata.FieldDates
			}
			d.Gaps = append(d.Gaps, metadata.NewGap(field, dt.Value, metadata.DateReason(err)))
			continue
		}
		if dt.Type == "Updated" && t.After(modified) {
			modified = t
		}
	}
	d.Modified = metadata.Timestamp(modified)
	d.Created = metadata.Timestamp(r.firstDate("Created"))
	d.Available = metadata.Timestamp(r.firstDate("Available"))

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
			d.Gaps = append(d.Gaps, metadata.NewGap("embargo_until", v, metadata.ReasonBadDate))
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
		if f := grant(rel.Value); f != nil {
			d.Funding = append(d.Funding, f)
		}
		if id, typ, ok := altIdentifier(rel.Value); ok {
			if k := [2]string{id, typ}; !seen[k] {
				seen[k] = true
				d.Identifiers = append(d.Identifiers, &fairwayv1.Identifier{Value: id, Scheme: typ})
			}
			continue
		}
		d.Related = append(d.Related, related(rel))
	}
	d.GeoLocations = r.geoLocations()
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

// dateFields maps date types to the canonical field a date of that type is
// meant for ("" for an untyped date, which the issued date is taken from).
var dateFields = map[string]string{
	"":          "issued",
	"Issued":    "issued",
	"Created":   "created",
	"Available": "available",
	"Updated":   "modified",
}

// identifier returns a dc:identifier in canonical form with its scheme: as
// metadata.ClassifyIdentifier finds it, else by a prefix naming a scheme
// metadata.KnownIdentifierScheme knows ("oai:…", whose prefix is part of
// the identifier; "isbn:…", "issn:…", "pmid:…", whose value follows it).
func identifier(v string) (id, scheme string) {
	id, scheme = metadata.ClassifyIdentifier(v)
	if scheme != "" {
		return id, scheme
	}
	prefix, rest, ok := strings.Cut(id, ":")
	if !ok {
		return id, ""
	}
	scheme, known := metadata.KnownIdentifierScheme(prefix)
	switch {
	case !known:
		return id, ""
	case scheme == metadata.TypeOAI:
		return id, scheme
	case strings.TrimSpace(rest) != "":
		return strings.TrimSpace(rest), scheme
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

// semanticsPrefix starts an OpenAIRE typed relation,
// info:eu-repo/semantics/<relationType>/<scheme>/<identifier>.
const semanticsPrefix = "info:eu-repo/semantics/"

// relationTypes maps DataCite relation types, lower case, to their
// spelling: the relation types of OpenAIRE's typed relations, which are
// DataCite's with a lower-case first letter.
var relationTypes = func() map[string]string {
	m := map[string]string{}
	for _, t := range []string{
		"IsCitedBy", "Cites", "IsSupplementTo", "IsSupplementedBy", "IsContinuedBy", "Continues",
		"IsDescribedBy", "Describes", "HasMetadata", "IsMetadataFor", "HasVersion", "IsVersionOf",
		"IsNewVersionOf", "IsPreviousVersionOf", "IsPartOf", "HasPart", "IsPublishedIn", "IsReferencedBy",
		"References", "IsDocumentedBy", "Documents", "IsCompiledBy", "Compiles", "IsVariantFormOf",
		"IsOriginalFormOf", "IsIdenticalTo", "IsReviewedBy", "Reviews", "IsDerivedFrom", "IsSourceOf",
		"IsRequiredBy", "Requires", "IsObsoletedBy", "Obsoletes", "IsCollectedBy", "Collects",
	} {
		m[strings.ToLower(t)] = t
	}
	return m
}()

// typedRelation reads an OpenAIRE typed relation
// (info:eu-repo/semantics/isSupplementTo/doi/10.1234/x): its relation type
// in DataCite's spelling, the identifier's scheme and the identifier; ok is
// false when v is none.
func typedRelation(v string) (relation, scheme, id string, ok bool) {
	v = strings.TrimSpace(v)
	if len(v) <= len(semanticsPrefix) || !strings.EqualFold(v[:len(semanticsPrefix)], semanticsPrefix) {
		return "", "", "", false
	}
	parts := strings.SplitN(v[len(semanticsPrefix):], "/", 3)
	if len(parts) != 3 || strings.TrimSpace(parts[2]) == "" {
		return "", "", "", false
	}
	rel := strings.ToLower(parts[0])
	if rel == "altidentifier" {
		relation = rel
	} else if relation, ok = relationTypes[rel]; !ok {
		return "", "", "", false
	}
	return relation, metadata.IdentifierScheme(parts[1]), strings.TrimSpace(parts[2]), true
}

// altIdentifier reads OpenAIRE's info:eu-repo/semantics/altIdentifier/<scheme>/<id>:
// another identifier of the dataset itself, not a relation.
func altIdentifier(v string) (id, scheme string, ok bool) {
	rel, scheme, id, ok := typedRelation(v)
	if !ok || rel != "altidentifier" {
		return "", "", false
	}
	if c, typ := metadata.ClassifyIdentifier(id); typ == scheme {
		id = c
	}
	return id, scheme, true
}

// related maps a relation to a related identifier: an OpenAIRE typed
// relation with its relation type and scheme; a dcterms refinement with
// the relation type it names; a plain dc:relation with none, as Dublin
// Core gives none. The identifier is typed by metadata.ClassifyIdentifier
// when the relation does not name its scheme.
func related(rel Relation) *fairwayv1.RelatedIdentifier {
	if relation, scheme, id, ok := typedRelation(rel.Value); ok {
		if c, typ := metadata.ClassifyIdentifier(id); typ == scheme || (scheme == "" && typ != "") {
			id, scheme = c, typ
		}
		return &fairwayv1.RelatedIdentifier{Identifier: id, Type: scheme, Relation: relation}
	}
	id, typ := metadata.ClassifyIdentifier(rel.Value)
	return &fairwayv1.RelatedIdentifier{Identifier: id, Type: typ, Relation: relationRefinements[strings.ToLower(rel.Element)]}
}

// geoLocations reads the places among dcterms:spatial and dc:coverage: a
// DCMI Point (east=…; north=…; name=…) or Box (northlimit=…; …) as a
// point or a box, else the text as the name of a place. A dc:coverage that
// is a date, a period (start=…) or holds digits is no place.
func (r *Record) geoLocations() []*fairwayv1.GeoLocation {
	var out []*fairwayv1.GeoLocation
	add := func(v string, coverage bool) {
		if g, ok := dcmiSpatial(v); ok {
			out = append(out, g)
			return
		}
		lower := strings.ToLower(v)
		if strings.Contains(lower, "=") {
			return // a DCMI encoding that is no valid point or box, or a period
		}
		if coverage && (metadata.ParseDateRange(v).Valid() || strings.ContainsAny(v, "0123456789")) {
			return
		}
		out = append(out, &fairwayv1.GeoLocation{Place: v})
	}
	for _, v := range r.Spatial {
		add(v, false)
	}
	for _, v := range r.Coverages {
		add(v, true)
	}
	return out
}

// dcmiSpatial reads a DCMI Point or Box encoding.
func dcmiSpatial(v string) (*fairwayv1.GeoLocation, bool) {
	if !strings.Contains(v, "=") {
		return nil, false
	}
	kv := map[string]string{}
	for _, part := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(val)
	}
	num := func(k string) (float64, bool) { return metadata.ParseDegrees(kv[k]) }
	g := &fairwayv1.GeoLocation{Place: kv["name"]}
	if e, ok := num("east"); ok {
		if n, ok := num("north"); ok {
			g.Point, _ = metadata.NewGeoPoint(e, n)
		}
	}
	w, ok1 := num("westlimit")
	e, ok2 := num("eastlimit")
	s, ok3 := num("southlimit")
	n, ok4 := num("northlimit")
	if ok1 && ok2 && ok3 && ok4 {
		g.Box, _ = metadata.NewGeoBox(w, e, s, n)
	}
	if g.Point == nil && g.Box == nil {
		return nil, false
	}
	return g, true
}
