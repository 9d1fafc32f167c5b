// Package datacite reads DataCite metadata records and maps them to the
// canonical dataset of the pipeline (fairwayv1.Dataset).
//
// Parse accepts every envelope seen in the wild: a bare <resource> of kernel
// 2, 3 or 4, with the right namespace, a wrong one or none, and the OAI-PMH
// oai_datacite envelope (<oai_datacite><schemaVersion/><datacentreSymbol/>
// <payload><resource>…), with or without namespace prefixes. Elements and
// attributes are matched by local name only, and a prefix declared on an
// ancestor the payload was cut from is not an error.
//
// Values (DOIs, ORCID iDs, dates, access rights, names) are read with
// package metadata, as the other readers read them.
package datacite

import (
	"errors"
	"fmt"
	"strings"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/xmltree"
)

var (
	// ErrMalformed is wrapped by every error of Parse: the payload is not
	// XML, is truncated, or is not DataCite metadata.
	ErrMalformed = errors.New("datacite: malformed metadata")
	// ErrNotDataCite is wrapped (together with ErrMalformed) when the
	// payload is XML whose root element is neither a DataCite <resource> nor
	// an envelope holding one.
	ErrNotDataCite = fmt.Errorf("%w: not DataCite", ErrMalformed)
)

// Resource is a DataCite metadata record. Text values are trimmed with white
// space collapsed (descriptions keep their paragraphs); empty elements are
// dropped.
type Resource struct {
	// SchemaVersion is the kernel version: the oai_datacite envelope's
	// schemaVersion, else the one in the namespace ("4" for
	// http://datacite.org/schema/kernel-4), else "".
	SchemaVersion string
	// Namespace is the namespace the <resource> element declared, if any.
	Namespace string
	// DatacentreSymbol is the oai_datacite envelope's datacentreSymbol.
	DatacentreSymbol string

	Identifier     string
	IdentifierType string

	Creators     []Name
	Contributors []Name
	Titles       []Title
	Publisher    string
	// PublisherIdentifier and PublisherIdentifierScheme are kernel 4.5's
	// publisherIdentifier (a ROR IRI, with scheme "ROR", in practice).
	PublisherIdentifier       string
	PublisherIdentifierScheme string
	// PublicationYear is 0 when absent or not a year; PublicationYearText
	// is the element as written.
	PublicationYear     int
	PublicationYearText string
	// ResourceType is the free-text resource type; ResourceTypeGeneral the
	// controlled one, in canonical spelling when it is a known value.
	ResourceType        string
	ResourceTypeGeneral string
	Subjects            []Subject
	Dates               []Date
	Language            string

	AlternateIdentifiers []AlternateIdentifier
	RelatedIdentifiers   []RelatedIdentifier
	Sizes                []string
	Formats              []string
	Version              string
	RightsList           []Rights
	Descriptions         []Description
	FundingReferences    []FundingReference
	GeoLocations         []GeoLocation
}

// GeoLocation is a geoLocation as written: kernel 3 writes a point as
// "latitude longitude" and a box as "south west north east" in one text,
// kernel 4 in child elements. Every value is a string as given.
type GeoLocation struct {
	Place string
	// PointText is a kernel-3 point; Point a kernel-4 one.
	PointText string
	Point     *Coordinates
	// BoxText is a kernel-3 box; Box a kernel-4 one.
	BoxText string
	Box     *Bounds
	// Polygons are the kernel-4 polygons, each its polygonPoints in order.
	Polygons [][]Coordinates
}

// Coordinates is a pointLongitude and pointLatitude.
type Coordinates struct {
	Longitude, Latitude string
}

// Bounds is a kernel-4 geoLocationBox.
type Bounds struct {
	West, East, South, North string
}

// MaxPolygonPoints bounds the points of one polygon: ToDataset leaves a
// longer one out with a gap, and Parse reads no more than one past it.
const MaxPolygonPoints = 256

// Name is a creator or a contributor.
type Name struct {
	// Name is creatorName or contributorName as written ("Family, Given"
	// by DataCite convention).
	Name string
	// NameType is "Personal", "Organizational" or "".
	NameType   string
	GivenName  string
	FamilyName string
	// ORCID is the first ORCID among NameIdentifiers, as a bare iD
	// (0000-0002-1825-0097), or "".
	ORCID string
	// Email is the first e-mail address among NameIdentifiers (a mailto:
	// IRI, or a value whose scheme is mailto, email or e-mail), or "":
	// DataCite has no e-mail field, and some repositories give a contact
	// person's address so.
	Email           string
	NameIdentifiers []NameIdentifier
	// Affiliations are the affiliation names (or identifiers, when an
	// affiliation has no name).
	Affiliations []string
	// AffiliationROR is the ROR IRI of the first affiliation identified by
	// one (affiliationIdentifier with scheme ROR, or a ror.org IRI), or "".
	AffiliationROR string
	// ContributorType is the contributor's role; "" for creators.
	ContributorType string
}

// NameIdentifier identifies a creator or contributor (ORCID, ISNI, ROR…).
type NameIdentifier struct {
	Value     string
	Scheme    string
	SchemeURI string
}

// Title is one title; Type is "" for the main title, else AlternativeTitle,
// Subtitle, TranslatedTitle or Other.
type Title struct {
	Value string
	Type  string
	Lang  string
}

// Subject is a keyword or classification term.
type Subject struct {
	Value              string
	Scheme             string
	SchemeURI          string
	ValueURI           string
	ClassificationCode string
	Lang               string
}

// Date is a date of the resource's life cycle. Value is as written; Type is
// Issued, Created, Available (the end of an embargo), Updated, Accepted,
// Collected, Copyrighted, Submitted, Valid, Withdrawn or Other.
type Date struct {
	Value       string
	Type        string
	Information string
}

// AlternateIdentifier is another identifier of the same resource.
type AlternateIdentifier struct {
	Value string
	Type  string
}

// RelatedIdentifier links the resource to another one.
type RelatedIdentifier struct {
	Value               string
	Type                string
	RelationType        string
	ResourceTypeGeneral string
}

// Rights is one rights statement: a licence or an access statement.
type Rights struct {
	// Value is the statement's text.
	Value string
	URI   string
	// Identifier is rightsIdentifier, usually an SPDX licence id.
	Identifier       string
	IdentifierScheme string
}

// Description is one description; Type is Abstract, Methods,
// SeriesInformation, TableOfContents, TechnicalInfo or Other.
type Description struct {
	Value string
	Type  string
	Lang  string
}

// FundingReference names a funder and an award.
type FundingReference struct {
	FunderName           string
	FunderIdentifier     string
	FunderIdentifierType string
	AwardNumber          string
	AwardURI             string
	AwardTitle           string
}

// maxEnvelopeDepth bounds how deep below wrapper elements a resource is
// looked for.
const maxEnvelopeDepth = 4

// Parse reads a DataCite record. The payload is the <resource> element, an
// oai_datacite envelope, or a <metadata>/<payload> wrapper holding either.
// Errors wrap ErrMalformed, and ErrNotDataCite when the root element is
// something else.
func Parse(payload []byte) (*Resource, error) {
	root, err := xmltree.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	r := &Resource{}
	res, err := locate(root, r, 0)
	if err != nil {
		return nil, err
	}
	r.read(res)
	return r, nil
}

// locate finds the <resource> element in el, filling the envelope fields
// of r on the way.
func locate(el *xmltree.Element, r *Resource, depth int) (*xmltree.Element, error) {
	switch {
	case el.Is("resource"):
		return el, nil
	case depth >= maxEnvelopeDepth:
	case el.Is("oai_datacite"):
		r.SchemaVersion = el.Child("schemaVersion").Text()
		r.DatacentreSymbol = el.Child("datacentreSymbol").Text()
		if r.DatacentreSymbol == "" {
			r.DatacentreSymbol = el.Child("datacenterSymbol").Text()
		}
		p := el.Child("payload")
		if p == nil {
			return nil, fmt.Errorf("%w: oai_datacite envelope without <payload>", ErrMalformed)
		}
		if res, err := locateIn(p, r, depth); res != nil || err != nil {
			return res, err
		}
		return nil, fmt.Errorf("%w: oai_datacite <payload> without <resource>", ErrMalformed)
	case el.Is("metadata"), el.Is("payload"), el.Is("record"):
		if res, err := locateIn(el, r, depth); res != nil || err != nil {
			return res, err
		}
	}
	return nil, fmt.Errorf("%w: root element <%s>", ErrNotDataCite, el.Name)
}

// locateIn looks for the <resource> among the children of a wrapper. It
// returns nil and no error when no child is DataCite at all, and the error
// of a child that is DataCite but broken.
func locateIn(wrapper *xmltree.Element, r *Resource, depth int) (*xmltree.Element, error) {
	for _, c := range wrapper.Elements() {
		res, err := locate(c, r, depth+1)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, ErrNotDataCite) {
			return nil, err
		}
	}
	return nil, nil
}

// read fills r from a <resource> element.
func (r *Resource) read(res *xmltree.Element) {
	r.Namespace = res.Space
	if r.SchemaVersion == "" {
		if i := strings.LastIndex(r.Namespace, "kernel-"); i >= 0 {
			r.SchemaVersion = strings.TrimRight(r.Namespace[i+len("kernel-"):], "/")
		}
	}
	id := res.Child("identifier")
	r.Identifier, r.IdentifierType = id.Text(), id.Attr("identifierType")

	for _, c := range res.Child("creators").Children("creator") {
		if n := readName(c, "creatorName"); !n.empty() {
			r.Creators = append(r.Creators, n)
		}
	}
	for _, c := range res.Child("contributors").Children("contributor") {
		n := readName(c, "contributorName")
		n.ContributorType = c.Attr("contributorType")
		if !n.empty() {
			r.Contributors = append(r.Contributors, n)
		}
	}
	for _, t := range res.Child("titles").Children("title") {
		if v := t.Text(); v != "" {
			r.Titles = append(r.Titles, Title{Value: v, Type: t.Attr("titleType"), Lang: t.Attr("lang")})
		}
	}
	pub := res.Child("publisher")
	r.Publisher = pub.Text()
	r.PublisherIdentifier, r.PublisherIdentifierScheme = pub.Attr("publisherIdentifier"), pub.Attr("publisherIdentifierScheme")
	r.PublicationYearText = res.Child("publicationYear").Text()
	r.PublicationYear = leadingYear(r.PublicationYearText)
	rt := res.Child("resourceType")
	r.ResourceType = rt.Text()
	r.ResourceTypeGeneral = rt.Attr("resourceTypeGeneral")
	if t, ok := metadata.ResourceTypeGeneral(r.ResourceTypeGeneral); ok {
		r.ResourceTypeGeneral = t
	}
	for _, s := range res.Child("subjects").Children("subject") {
		sub := Subject{
			Value: s.Text(), Scheme: s.Attr("subjectScheme"), SchemeURI: s.Attr("schemeURI"),
			ValueURI: s.Attr("valueURI"), ClassificationCode: s.Attr("classificationCode"), Lang: s.Attr("lang"),
		}
		if sub.Value != "" || sub.ValueURI != "" {
			r.Subjects = append(r.Subjects, sub)
		}
	}
	for _, d := range res.Child("dates").Children("date") {
		if v := d.Text(); v != "" {
			r.Dates = append(r.Dates, Date{Value: v, Type: d.Attr("dateType"), Information: d.Attr("dateInformation")})
		}
	}
	r.Language = res.Child("language").Text()
	for _, a := range res.Child("alternateIdentifiers").Children("alternateIdentifier") {
		if v := a.Text(); v != "" {
			r.AlternateIdentifiers = append(r.AlternateIdentifiers, AlternateIdentifier{Value: v, Type: a.Attr("alternateIdentifierType")})
		}
	}
	for _, a := range res.Child("relatedIdentifiers").Children("relatedIdentifier") {
		if v := a.Text(); v != "" {
			r.RelatedIdentifiers = append(r.RelatedIdentifiers, RelatedIdentifier{
				Value: v, Type: a.Attr("relatedIdentifierType"), RelationType: a.Attr("relationType"),
				ResourceTypeGeneral: a.Attr("resourceTypeGeneral"),
			})
		}
	}
	for _, s := range res.Child("sizes").Children("size") {
		if v := s.Text(); v != "" {
			r.Sizes = append(r.Sizes, v)
		}
	}
	for _, f := range res.Child("formats").Children("format") {
		if v := f.Text(); v != "" {
			r.Formats = append(r.Formats, v)
		}
	}
	r.Version = res.Child("version").Text()
	for _, x := range res.Child("rightsList").Children("rights") {
		rt := Rights{Value: x.Text(), URI: x.Attr("rightsURI"), Identifier: x.Attr("rightsIdentifier"), IdentifierScheme: x.Attr("rightsIdentifierScheme")}
		if rt.Value != "" || rt.URI != "" || rt.Identifier != "" {
			r.RightsList = append(r.RightsList, rt)
		}
	}
	for _, d := range res.Child("descriptions").Children("description") {
		if v := d.Block(); v != "" {
			r.Descriptions = append(r.Descriptions, Description{Value: v, Type: d.Attr("descriptionType"), Lang: d.Attr("lang")})
		}
	}
	for _, g := range res.Child("geoLocations").Children("geoLocation") {
		if gl := readGeoLocation(g); gl.Place != "" || gl.PointText != "" || gl.Point != nil || gl.BoxText != "" || gl.Box != nil || len(gl.Polygons) > 0 {
			r.GeoLocations = append(r.GeoLocations, gl)
		}
	}
	for _, f := range res.Child("fundingReferences").Children("fundingReference") {
		fid := f.Child("funderIdentifier")
		aw := f.Child("awardNumber")
		ref := FundingReference{
			FunderName: f.Child("funderName").Text(), FunderIdentifier: fid.Text(), FunderIdentifierType: fid.Attr("funderIdentifierType"),
			AwardNumber: aw.Text(), AwardURI: aw.Attr("awardURI"), AwardTitle: f.Child("awardTitle").Text(),
		}
		if ref != (FundingReference{}) {
			r.FundingReferences = append(r.FundingReferences, ref)
		}
	}
}

// readGeoLocation reads a geoLocation element of any kernel.
func readGeoLocation(g *xmltree.Element) GeoLocation {
	gl := GeoLocation{Place: g.Child("geoLocationPlace").Text()}
	coords := func(el *xmltree.Element) Coordinates {
		return Coordinates{Longitude: el.Child("pointLongitude").Text(), Latitude: el.Child("pointLatitude").Text()}
	}
	if p := g.Child("geoLocationPoint"); p != nil {
		if c := coords(p); c != (Coordinates{}) {
			gl.Point = &c
		} else {
			gl.PointText = p.Text()
		}
	}
	if b := g.Child("geoLocationBox"); b != nil {
		bb := Bounds{
			West: b.Child("westBoundLongitude").Text(), East: b.Child("eastBoundLongitude").Text(),
			South: b.Child("southBoundLatitude").Text(), North: b.Child("northBoundLatitude").Text(),
		}
		if bb != (Bounds{}) {
			gl.Box = &bb
		} else {
			gl.BoxText = b.Text()
		}
	}
	for _, poly := range g.Children("geoLocationPolygon") {
		var pts []Coordinates
		for _, p := range poly.Children("polygonPoint") {
			if len(pts) > MaxPolygonPoints {
				break
			}
			pts = append(pts, coords(p))
		}
		if len(pts) > 0 {
			gl.Polygons = append(gl.Polygons, pts)
		}
	}
	return gl
}

// readName reads a creator or contributor element; nameElem is creatorName
// or contributorName.
func readName(el *xmltree.Element, nameElem string) Name {
	ne := el.Child(nameElem)
	if ne == nil {
		ne = el.Child("name") // seen in hand-made records
	}
	n := Name{
		Name: ne.Text(), NameType: ne.Attr("nameType"),
		GivenName: el.Child("givenName").Text(), FamilyName: el.Child("familyName").Text(),
	}
	for _, id := range el.Children("nameIdentifier") {
		ni := NameIdentifier{Value: id.Text(), Scheme: id.Attr("nameIdentifierScheme"), SchemeURI: id.Attr("schemeURI")}
		if ni.Value == "" {
			continue
		}
		n.NameIdentifiers = append(n.NameIdentifiers, ni)
		if n.ORCID == "" && (strings.EqualFold(ni.Scheme, "ORCID") || strings.Contains(strings.ToLower(ni.SchemeURI+ni.Value), "orcid.org")) {
			n.ORCID, _ = metadata.NormaliseORCID(ni.Value)
		}
		if n.Email == "" && (strings.HasPrefix(strings.ToLower(ni.Value), "mailto:") || isEmailScheme(ni.Scheme)) {
			n.Email, _ = metadata.NormaliseEmail(ni.Value)
		}
	}
	for _, a := range el.Children("affiliation") {
		v, id := a.Text(), a.Attr("affiliationIdentifier")
		if v == "" {
			v = id
		}
		if v != "" {
			n.Affiliations = append(n.Affiliations, v)
		}
		if n.AffiliationROR == "" && (strings.EqualFold(a.Attr("affiliationIdentifierScheme"), "ROR") || strings.Contains(strings.ToLower(id), "ror.org/")) {
			n.AffiliationROR, _ = metadata.RORIRI(id)
		}
	}
	return n
}

// isEmailScheme reports whether a nameIdentifierScheme names e-mail.
func isEmailScheme(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mailto", "email", "e-mail":
		return true
	}
	return false
}

func (n Name) empty() bool {
	return n.Name == "" && n.GivenName == "" && n.FamilyName == "" && len(n.NameIdentifiers) == 0
}

// leadingYear returns the four-digit year s starts with, or 0.
func leadingYear(s string) int {
	if len(s) < 4 {
		return 0
	}
	y := 0
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		y = y*10 + int(s[i]-'0')
	}
	if len(s) > 4 && s[4] >= '0' && s[4] <= '9' {
		return 0
	}
	return y
}
