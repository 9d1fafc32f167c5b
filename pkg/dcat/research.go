package dcat

import (
	"strconv"
	"strings"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/metadata"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Bounds of the research parts of a dataset's description.
const (
	maxFunding   = 64
	maxSamples   = 64
	maxLocations = 64
)

// typedDatePredicates maps the date types with a DCMI term of their own to
// it; dates of the other types (Withdrawn, Other, …) stay in the record.
// Issued, Updated, Available and Collected have their own rendering
// (dct:issued, dct:modified, the embargo's dct:available, dct:temporal).
var typedDatePredicates = map[string]rdf.Predicate{
	"accepted":    dctDateAccepted,
	"submitted":   dctDateSubmitted,
	"copyrighted": dctDateCopyrighted,
	"valid":       dctValid,
}

// typedDates adds dct:created and the first parsed date of each type that
// has a DCMI term (typedDatePredicates).
func (g *graph) typedDates(d *fairwayv1.Dataset) {
	if l, ok := dateLiteral(d.GetCreated()); ok {
		g.add(dctCreated, l)
	}
	done := map[string]bool{}
	for _, td := range d.GetDates() {
		typ := strings.ToLower(strings.TrimSpace(td.GetType()))
		p, ok := typedDatePredicates[typ]
		if !ok || done[typ] {
			continue
		}
		if l, ok := dateLiteral(td.GetTime()); ok {
			done[typ] = true
			g.add(p, l)
		}
	}
}

// spatial adds each geo location as a dct:spatial dct:Location: its place
// as skos:prefLabel, a box as dcat:bbox, a point as dcat:centroid, each a
// WKT literal (gsp:wktLiteral, WGS 84 longitude latitude), as DCAT-AP 3
// and GeoDCAT-AP spell them. A polygon is written as its extent, the
// dcat:bbox of a location without a box: DCAT-AP 3.0.1's shapes
// contradict each other on locn:geometry (a locn:Geometry node in the
// generated shapes, a literal in the HTML edition's), so no output with it
// is valid; the vertices stay in the record.
func (g *graph) spatial(d *fairwayv1.Dataset) {
	for i, loc := range d.GetGeoLocations() {
		if i == maxLocations {
			break
		}
		place, hasPlace := literal(cleanText(loc.GetPlace()))
		box, hasBox := wktBox(loc.GetBox())
		point, hasPoint := wktPoint(loc.GetPoint())
		poly, hasPoly := wktExtent(loc.GetPolygon())
		if !hasPlace && !hasBox && !hasPoint && !hasPoly {
			continue
		}
		n := g.blank("location")
		g.add(dctSpatial, n)
		g.node(n, rdfType, dctLocation)
		if hasPlace {
			g.node(n, skosPrefLabel, place)
		}
		if hasBox {
			g.node(n, dcatBbox, box)
		}
		if hasPoint {
			g.node(n, dcatCentroid, point)
		}
		if hasPoly && !hasBox {
			g.node(n, dcatBbox, poly)
		}
	}
}

// coord writes a longitude latitude pair of WKT.
func coord(b *strings.Builder, lon, lat float64) {
	b.WriteString(strconv.FormatFloat(lon, 'f', -1, 64))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(lat, 'f', -1, 64))
}

// validPoint reports whether a point is one in WGS 84 degrees.
func validPoint(lon, lat float64) bool {
	_, ok := metadata.NewGeoPoint(lon, lat)
	return ok
}

func wktPoint(p *fairwayv1.GeoPoint) (rdf.Literal, bool) {
	if p == nil || !validPoint(p.GetLongitude(), p.GetLatitude()) {
		return rdf.Literal{}, false
	}
	var b strings.Builder
	b.WriteString("POINT(")
	coord(&b, p.GetLongitude(), p.GetLatitude())
	b.WriteString(")")
	return rdf.NewTypedLiteral(b.String(), gspWKTLiteral), true
}

func wktBox(x *fairwayv1.GeoBox) (rdf.Literal, bool) {
	if x == nil {
		return rdf.Literal{}, false
	}
	if _, ok := metadata.NewGeoBox(x.GetWest(), x.GetEast(), x.GetSouth(), x.GetNorth()); !ok {
		return rdf.Literal{}, false
	}
	w, e, s, n := x.GetWest(), x.GetEast(), x.GetSouth(), x.GetNorth()
	var b strings.Builder
	b.WriteString("POLYGON((")
	for i, c := range [][2]float64{{w, s}, {e, s}, {e, n}, {w, n}, {w, s}} {
		if i > 0 {
			b.WriteString(", ")
		}
		coord(&b, c[0], c[1])
	}
	b.WriteString("))")
	return rdf.NewTypedLiteral(b.String(), gspWKTLiteral), true
}

// wktExtent returns the bounding box of a polygon's vertices, as
// wktBox writes boxes. A polygon across the antimeridian gets the box
// of its longitudes as written.
func wktExtent(pts []*fairwayv1.GeoPoint) (rdf.Literal, bool) {
	if len(pts) < 4 {
		return rdf.Literal{}, false
	}
	box := &fairwayv1.GeoBox{West: 180, East: -180, South: 90, North: -90}
	for _, p := range pts {
		if !validPoint(p.GetLongitude(), p.GetLatitude()) {
			return rdf.Literal{}, false
		}
		box.West, box.East = min(box.West, p.GetLongitude()), max(box.East, p.GetLongitude())
		box.South, box.North = min(box.South, p.GetLatitude()), max(box.North, p.GetLatitude())
	}
	return wktBox(box)
}

// principalInvestigator adds the principal investigator as a
// prov:qualifiedAttribution: a prov:Attribution whose prov:agent is the
// person (the ORCID IRI when known, a foaf:Person named as creators are)
// and whose dcat:hadRole is the INSPIRE role principalInvestigator, as
// GeoDCAT-AP qualifies the parties responsible for a dataset.
func (g *graph) principalInvestigator(d *fairwayv1.Dataset) {
	p := d.GetPrincipalInvestigator()
	if p == nil {
		return
	}
	agent, ok := g.agent(p)
	if !ok {
		return
	}
	a := g.blank("attribution")
	g.add(provQualifiedAttribution, a)
	g.node(a, rdfType, provAttribution)
	g.node(a, provAgent, agent)
	g.node(a, dcatHadRole, rolePrincipalInvestigator)
}

// agent describes a person as a foaf:Agent (and foaf:Person): the ORCID
// IRI when known, else a blank node, with foaf:name and given and family
// names; false when the person has no name.
func (g *graph) agent(p *fairwayv1.Person) (node, bool) {
	name := firstText(p.GetName(), strings.TrimSpace(p.GetGivenName()+" "+p.GetFamilyName()))
	nameLit, ok := literal(name)
	if !ok {
		return nil, false
	}
	orcidIRI, _ := metadata.ORCIDIRI(p.GetOrcid())
	if orcid, ok := dataIRI(orcidIRI); ok {
		if g.once(orcid) {
			g.describePerson(orcid, p, nameLit)
		}
		return orcid, true
	}
	b := g.blank("agent")
	g.describePerson(b, p, nameLit)
	return b, true
}

// describePerson adds a person's types and names.
func (g *graph) describePerson(n rdf.Subject, p *fairwayv1.Person, name rdf.Literal) {
	g.node(n, rdfType, foafAgent)
	g.node(n, rdfType, foafPerson)
	g.node(n, foafName, name)
	if l, ok := literal(p.GetGivenName()); ok {
		g.node(n, foafGivenName, l)
	}
	if l, ok := literal(p.GetFamilyName()); ok {
		g.node(n, foafFamilyName, l)
	}
}

// funding adds each grant as frapo:isFundedBy a frapo:Grant (its award
// IRI when it has one, else a blank node) with its number
// (frapo:hasGrantNumber), its title (dct:title) and the funder that
// awarded it (frapo:isAwardedBy a frapo:FundingAgency: its ROR or Crossref
// Funder IRI when given, a foaf:Organization with foaf:name when named), as
// the DataCite profile of DCAT-AP (CiteDCAT-AP) takes FRAPO for funding.
func (g *graph) funding(d *fairwayv1.Dataset) {
	for i, f := range d.GetFunding() {
		if i == maxFunding {
			break
		}
		number, hasNumber := literal(cleanText(f.GetAwardNumber()))
		title, hasTitle := literal(cleanText(f.GetAwardTitle()))
		funderName, hasFunderName := literal(cleanText(f.GetFunderName()))
		funderIRI, hasFunderIRI := dataIRI(strings.TrimSpace(f.GetFunderId()))
		if hasFunderIRI && !looksLikeIRI(f.GetFunderId()) {
			hasFunderIRI = false
		}
		if !hasNumber && !hasTitle && !hasFunderName && !hasFunderIRI {
			continue
		}
		var grant node
		if iri, ok := dataIRI(strings.TrimSpace(f.GetAwardUri())); ok && looksLikeIRI(f.GetAwardUri()) {
			grant = iri
		} else {
			grant = g.blank("grant")
		}
		g.add(frapoIsFundedBy, grant)
		g.node(grant, rdfType, frapoGrant)
		if hasNumber {
			g.node(grant, frapoHasGrantNumber, number)
		}
		if hasTitle {
			g.node(grant, dctTitle, title)
		}
		if !hasFunderName && !hasFunderIRI {
			continue
		}
		var funder node
		if hasFunderIRI {
			funder = funderIRI
		} else {
			funder = g.blank("funder")
		}
		g.node(grant, frapoIsAwardedBy, funder)
		if hasFunderIRI && !g.once(funderIRI) {
			continue
		}
		g.node(funder, rdfType, frapoFundingAgency)
		if hasFunderName {
			g.organisation(funder, funderName)
		}
	}
}

// samples adds the samples measured to the activity that generated the
// data: each a prov:Entity the activity prov:used, with its name as
// rdfs:label and its id as dct:identifier. DCAT-AP has no sample class.
func (g *graph) samples(a node, d *fairwayv1.Dataset) {
	for i, s := range d.GetSamples() {
		if i == maxSamples {
			break
		}
		name, hasName := literal(cleanText(s.GetName()))
		id, hasID := literal(cleanText(s.GetId()))
		if !hasName && !hasID {
			continue
		}
		n := g.blank("sample")
		g.node(a, provUsed, n)
		g.node(n, rdfType, provEntity)
		if hasName {
			g.node(n, rdfsLabel, name)
		} else {
			g.node(n, rdfsLabel, mustLiteral("Sample "+cleanText(s.GetId())))
		}
		if hasID {
			g.node(n, dctIdentifier, id)
		}
	}
}
