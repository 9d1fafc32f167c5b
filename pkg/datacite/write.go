package datacite

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/panet"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// What the writer writes: DataCite kernel 4 (schema 4.5), and the OAI-PMH
// envelope of DataCite's OAI schema 1.1.
const (
	// Kernel4Namespace is the namespace of a kernel-4 <resource>.
	Kernel4Namespace = "http://datacite.org/schema/kernel-4"
	// Kernel4Schema is the XML schema EncodeResource's output follows.
	Kernel4Schema = "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd"
	// Kernel4Version is the schema version written in the OAI envelope.
	Kernel4Version = "4.5"
	// OAINamespace is the namespace of the oai_datacite envelope.
	OAINamespace = "http://schema.datacite.org/oai/oai-1.1/"
	// OAISchema is the XML schema of the oai_datacite envelope.
	OAISchema = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
	// Unavailable is DataCite's standard value for a mandatory property the
	// metadata does not give.
	Unavailable = "(:unav)"
)

// OpenAIRE's access terms (info:eu-repo-Access-Terms), written as rightsURI.
const (
	EURepoOpen       = "info:eu-repo/semantics/openAccess"
	EURepoEmbargoed  = "info:eu-repo/semantics/embargoedAccess"
	EURepoRestricted = "info:eu-repo/semantics/restrictedAccess"
	EURepoClosed     = "info:eu-repo/semantics/closedAccess"
)

// languageTag is the syntax of xs:language, which <language> holds.
var languageTag = regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$`)

// ErrNoIdentifier is returned for a dataset that has neither a DOI nor
// anything else DataCite's identifier can hold (see WriteOptions.URL).
var ErrNoIdentifier = errors.New("datacite: dataset has no identifier to write")

// WriteOptions completes what a dataset alone does not tell the writer.
// The zero value is usable.
type WriteOptions struct {
	// URL identifies a dataset without DOI, as identifierType URL: the node
	// gives the dataset's IRI on the node, which dereferences. When empty,
	// such a dataset is identified by its landing page, else by its source
	// identifier when that is a Handle, URL, URN or ARK, else not at all
	// (ErrNoIdentifier).
	URL string
	// Now decides whether an embargo has ended (an ended one is written as
	// open access). Default time.Now.
	Now func() time.Time
}

// EncodeResource writes ds as a DataCite kernel-4 <resource> (schema 4.5,
// as the OpenAIRE Guidelines for Data Archives use it), with the PaNET
// techniques as subjects, with the zero WriteOptions. See
// EncodeResourceWith.
func EncodeResource(w io.Writer, ds *fairwayv1.Dataset, techniques []*fairwayv1.Technique) error {
	return EncodeResourceWith(w, ds, techniques, WriteOptions{})
}

// EncodeResourceWith writes ds as a DataCite kernel-4 <resource>:
//
//   - identifier: the DOI; without one, WriteOptions.URL (identifierType
//     URL), else the landing page, else a typed source identifier.
//   - creators and contributors: names, given and family names, ORCID as
//     nameIdentifier, each affiliation (split at "; ") with its ROR when
//     there is one; contributors keep their DataCite contributorType (Other
//     when their role is not one); contacts are ContactPerson contributors;
//     e-mail addresses are mailto: name identifiers (DataCite has no e-mail
//     field). A dataset without creators gets one named Unavailable.
//   - titles, publisher (with its ROR), publicationYear (else the year of
//     issue, of modification, of the harvest), resourceType (Dataset unless
//     the dataset names another resourceTypeGeneral), language (when it is
//     a language tag), descriptions (Abstract).
//   - subjects: the dataset's, then each PaNET technique not already
//     among them (label, scheme PaNET, schemeURI, valueURI), and the
//     instrument name (subjectScheme Instrument).
//   - dates: Issued, Updated, Available (end of an embargo), Collected
//     (start/end).
//   - alternateIdentifiers: the landing page (URL), the source identifier
//     and the proposal (type Proposal).
//   - relatedIdentifiers: the related identifiers with their DataCite
//     relation (References when the relation is not one), and the
//     instrument's PID (IsCollectedBy, resourceTypeGeneral Instrument).
//   - sizes (bytes) and formats of the distributions.
//   - rightsList: the access right as OpenAIRE asks it
//     (info:eu-repo/semantics/openAccess …; an embargo that ended at Now is
//     open), then the licence with its rightsURI when known.
//
// Text is escaped; characters XML cannot hold become U+FFFD.
func EncodeResourceWith(w io.Writer, ds *fairwayv1.Dataset, techniques []*fairwayv1.Technique, opts WriteOptions) error {
	r, err := resourceOf(ds, techniques, opts)
	if err != nil {
		return err
	}
	return encode(w, r)
}

// EncodeOAIDataCite writes the oai_datacite envelope of DataCite's OAI
// schema 1.1 (schemaVersion, datacentreSymbol, payload) around ds's
// <resource>, as OAI-PMH providers disseminate metadataPrefix
// oai_datacite. symbol is the datacentre symbol (Unavailable when empty).
func EncodeOAIDataCite(w io.Writer, symbol string, ds *fairwayv1.Dataset, techniques []*fairwayv1.Technique, opts WriteOptions) error {
	r, err := resourceOf(ds, techniques, opts)
	if err != nil {
		return err
	}
	env := xOAIDataCite{
		XSI: xsiNamespace, SchemaLocation: OAINamespace + " " + OAISchema,
		SchemaVersion: Kernel4Version, Symbol: cmp.Or(strings.TrimSpace(symbol), Unavailable),
	}
	env.Payload.Resource = r
	return encode(w, env)
}

func encode(w io.Writer, v any) error {
	enc := xml.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("datacite: write: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("datacite: write: %w", err)
	}
	return nil
}

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

type xOAIDataCite struct {
	XMLName        xml.Name `xml:"http://schema.datacite.org/oai/oai-1.1/ oai_datacite"`
	XSI            string   `xml:"xmlns:xsi,attr"`
	SchemaLocation string   `xml:"xsi:schemaLocation,attr"`
	SchemaVersion  string   `xml:"schemaVersion"`
	Symbol         string   `xml:"datacentreSymbol"`
	Payload        struct {
		Resource *xResource
	} `xml:"payload"`
}

type xResource struct {
	XMLName        xml.Name `xml:"http://datacite.org/schema/kernel-4 resource"`
	XSI            string   `xml:"xmlns:xsi,attr,omitempty"`
	SchemaLocation string   `xml:"xsi:schemaLocation,attr,omitempty"`
	Identifier     xTyped   `xml:"identifier"`
	Creators       []xName  `xml:"creators>creator"`
	Titles         []string `xml:"titles>title"`
	Publisher      struct {
		Value      string `xml:",chardata"`
		Identifier string `xml:"publisherIdentifier,attr,omitempty"`
		Scheme     string `xml:"publisherIdentifierScheme,attr,omitempty"`
		SchemeURI  string `xml:"schemeURI,attr,omitempty"`
	} `xml:"publisher"`
	PublicationYear string `xml:"publicationYear,omitempty"`
	ResourceType    struct {
		Value   string `xml:",chardata"`
		General string `xml:"resourceTypeGeneral,attr"`
	} `xml:"resourceType"`
	Subjects             []xSubject     `xml:"subjects>subject,omitempty"`
	Contributors         []xContributor `xml:"contributors>contributor,omitempty"`
	Dates                []xDate        `xml:"dates>date,omitempty"`
	Language             string         `xml:"language,omitempty"`
	AlternateIdentifiers []xAlternate   `xml:"alternateIdentifiers>alternateIdentifier,omitempty"`
	RelatedIdentifiers   []xRelated     `xml:"relatedIdentifiers>relatedIdentifier,omitempty"`
	Sizes                []string       `xml:"sizes>size,omitempty"`
	Formats              []string       `xml:"formats>format,omitempty"`
	Rights               []xRights      `xml:"rightsList>rights,omitempty"`
	Descriptions         []xDescription `xml:"descriptions>description,omitempty"`
}

type xTyped struct {
	Value string `xml:",chardata"`
	Type  string `xml:"identifierType,attr"`
}

type xName struct {
	Name struct {
		Value    string `xml:",chardata"`
		NameType string `xml:"nameType,attr,omitempty"`
	} `xml:"creatorName"`
	xPerson
}

type xContributor struct {
	Type string `xml:"contributorType,attr"`
	Name struct {
		Value    string `xml:",chardata"`
		NameType string `xml:"nameType,attr,omitempty"`
	} `xml:"contributorName"`
	xPerson
}

type xPerson struct {
	GivenName       string            `xml:"givenName,omitempty"`
	FamilyName      string            `xml:"familyName,omitempty"`
	NameIdentifiers []xNameIdentifier `xml:"nameIdentifier,omitempty"`
	Affiliations    []xAffiliation    `xml:"affiliation,omitempty"`
}

type xNameIdentifier struct {
	Value     string `xml:",chardata"`
	Scheme    string `xml:"nameIdentifierScheme,attr"`
	SchemeURI string `xml:"schemeURI,attr,omitempty"`
}

type xAffiliation struct {
	Value      string `xml:",chardata"`
	Identifier string `xml:"affiliationIdentifier,attr,omitempty"`
	Scheme     string `xml:"affiliationIdentifierScheme,attr,omitempty"`
	SchemeURI  string `xml:"schemeURI,attr,omitempty"`
}

type xSubject struct {
	Value     string `xml:",chardata"`
	Scheme    string `xml:"subjectScheme,attr,omitempty"`
	SchemeURI string `xml:"schemeURI,attr,omitempty"`
	ValueURI  string `xml:"valueURI,attr,omitempty"`
}

type xDate struct {
	Value string `xml:",chardata"`
	Type  string `xml:"dateType,attr"`
}

type xAlternate struct {
	Value string `xml:",chardata"`
	Type  string `xml:"alternateIdentifierType,attr"`
}

type xRelated struct {
	Value        string `xml:",chardata"`
	Type         string `xml:"relatedIdentifierType,attr"`
	Relation     string `xml:"relationType,attr"`
	ResourceType string `xml:"resourceTypeGeneral,attr,omitempty"`
}

type xRights struct {
	Value string `xml:",chardata"`
	URI   string `xml:"rightsURI,attr,omitempty"`
}

type xDescription struct {
	Value string `xml:",chardata"`
	Type  string `xml:"descriptionType,attr"`
}

// contributorTypes are DataCite's contributorType values (kernel 4.5), by
// their lower-case spelling.
var contributorTypes = canonical("ContactPerson", "DataCollector", "DataCurator", "DataManager", "Distributor",
	"Editor", "HostingInstitution", "Producer", "ProjectLeader", "ProjectManager", "ProjectMember",
	"RegistrationAgency", "RegistrationAuthority", "RelatedPerson", "Researcher", "ResearchGroup",
	"RightsHolder", "Sponsor", "Supervisor", "Translator", "WorkPackageLeader", "Other")

// relationTypes are DataCite's relationType values (kernel 4.5).
var relationTypes = canonical("IsCitedBy", "Cites", "IsSupplementTo", "IsSupplementedBy", "IsContinuedBy",
	"Continues", "IsDescribedBy", "Describes", "HasMetadata", "IsMetadataFor", "HasVersion", "IsVersionOf",
	"IsNewVersionOf", "IsPreviousVersionOf", "IsPartOf", "HasPart", "IsPublishedIn", "IsReferencedBy",
	"References", "IsDocumentedBy", "Documents", "IsCompiledBy", "Compiles", "IsVariantFormOf",
	"IsOriginalFormOf", "IsIdenticalTo", "IsReviewedBy", "Reviews", "IsDerivedFrom", "IsSourceOf",
	"IsRequiredBy", "Requires", "IsObsoletedBy", "Obsoletes", "IsCollectedBy", "Collects")

// identifierTypes are DataCite's relatedIdentifierType values.
var identifierTypes = canonical("ARK", "arXiv", "bibcode", "CSTR", "DOI", "EAN13", "EISSN", "Handle", "IGSN",
	"ISBN", "ISSN", "ISTC", "LISSN", "LSID", "PMID", "PURL", "RRID", "UPC", "URL", "URN", "w3id")

func canonical(values ...string) map[string]string {
	m := make(map[string]string, len(values))
	for _, v := range values {
		m[strings.ToLower(v)] = v
	}
	return m
}

func lookup(m map[string]string, s string) (string, bool) {
	v, ok := m[strings.ToLower(strings.TrimSpace(s))]
	return v, ok
}

// resourceOf maps ds to the kernel-4 resource.
func resourceOf(ds *fairwayv1.Dataset, techniques []*fairwayv1.Technique, opts WriteOptions) (*xResource, error) {
	if ds == nil {
		return nil, ErrNoIdentifier
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	r := &xResource{XSI: xsiNamespace, SchemaLocation: Kernel4Namespace + " " + Kernel4Schema}
	doi, hasDOI := metadata.NormaliseDOI(ds.GetDoi())
	landing := httpURL(ds.GetLandingPage())
	switch {
	case hasDOI:
		r.Identifier = xTyped{Value: doi, Type: metadata.TypeDOI}
	case httpURL(opts.URL) != "":
		r.Identifier = xTyped{Value: opts.URL, Type: metadata.TypeURL}
	case landing != "":
		r.Identifier = xTyped{Value: landing, Type: metadata.TypeURL}
	default:
		id, typ := metadata.ClassifyIdentifier(ds.GetSourceIdentifier())
		switch typ {
		case metadata.TypeHandle, metadata.TypeURL, metadata.TypeURN, metadata.TypeARK:
			r.Identifier = xTyped{Value: id, Type: typ}
		default:
			return nil, fmt.Errorf("%w: %s", ErrNoIdentifier, ds.GetKey())
		}
	}

	for _, p := range ds.GetCreators() {
		var c xName
		c.Name.Value, c.Name.NameType, c.xPerson = personOf(p)
		if c.Name.Value != "" {
			r.Creators = append(r.Creators, c)
		}
	}
	if len(r.Creators) == 0 {
		var c xName
		c.Name.Value = Unavailable
		r.Creators = append(r.Creators, c)
	}
	r.Titles = []string{cmp.Or(strings.TrimSpace(ds.GetTitle()), doi, ds.GetSourceIdentifier(), ds.GetKey())}
	r.Publisher.Value = cmp.Or(strings.TrimSpace(ds.GetPublisher()), strings.TrimSpace(ds.GetFacility()), Unavailable)
	if ror := ds.GetPublisherRor(); strings.HasPrefix(ror, "https://ror.org/") {
		r.Publisher.Identifier, r.Publisher.Scheme, r.Publisher.SchemeURI = ror, "ROR", "https://ror.org"
	}
	if y := publicationYear(ds); y > 0 {
		r.PublicationYear = strconv.Itoa(y)
	}
	general, ok := metadata.ResourceTypeGeneral(ds.GetResourceType())
	if !ok {
		general = "Dataset"
	}
	r.ResourceType.General = general
	r.ResourceType.Value = cmp.Or(strings.TrimSpace(ds.GetResourceType()), general)

	r.Subjects = subjectsOf(ds, techniques)
	for _, p := range ds.GetContributors() {
		var c xContributor
		c.Name.Value, c.Name.NameType, c.xPerson = personOf(p)
		if c.Name.Value == "" {
			continue
		}
		c.Type = "Other"
		if t, ok := lookup(contributorTypes, p.GetRole()); ok {
			c.Type = t
		}
		r.Contributors = append(r.Contributors, c)
	}
	for _, k := range ds.GetContacts() {
		if name := strings.TrimSpace(k.GetName()); name != "" {
			var c xContributor
			c.Type, c.Name.Value = ContributorContact, name
			c.NameIdentifiers = appendEmail(nil, k.GetEmail())
			r.Contributors = append(r.Contributors, c)
		}
	}

	r.Dates = datesOf(ds)
	if l := strings.TrimSpace(ds.GetLanguage()); languageTag.MatchString(l) {
		r.Language = l
	}
	if landing != "" && landing != r.Identifier.Value {
		r.AlternateIdentifiers = append(r.AlternateIdentifiers, xAlternate{Value: landing, Type: metadata.TypeURL})
	}
	if src := strings.TrimSpace(ds.GetSourceIdentifier()); src != "" && src != r.Identifier.Value && src != landing {
		id, typ := metadata.ClassifyIdentifier(src)
		r.AlternateIdentifiers = append(r.AlternateIdentifiers, xAlternate{Value: id, Type: cmp.Or(typ, "Local")})
	}
	if p := strings.TrimSpace(ds.GetProposalId()); p != "" {
		r.AlternateIdentifiers = append(r.AlternateIdentifiers, xAlternate{Value: p, Type: "Proposal"})
	}
	r.RelatedIdentifiers = relatedOf(ds)
	for _, d := range ds.GetDistributions() {
		if d.GetByteSize() > 0 {
			r.Sizes = append(r.Sizes, strconv.FormatInt(d.GetByteSize(), 10)+" bytes")
		}
		for _, f := range []string{d.GetMediaType(), d.GetFormat()} {
			if f = strings.TrimSpace(f); f != "" && !slices.Contains(r.Formats, f) {
				r.Formats = append(r.Formats, f)
			}
		}
	}
	r.Rights = rightsOf(ds, now())
	if d := strings.TrimSpace(ds.GetDescription()); d != "" {
		r.Descriptions = []xDescription{{Value: d, Type: "Abstract"}}
	}
	return r, nil
}

// personOf maps a creator or contributor: its name, name type and the rest.
func personOf(p *fairwayv1.Person) (string, string, xPerson) {
	given, family := strings.TrimSpace(p.GetGivenName()), strings.TrimSpace(p.GetFamilyName())
	name := strings.TrimSpace(p.GetName())
	if name == "" {
		switch {
		case family != "" && given != "":
			name = family + ", " + given
		default:
			name = cmp.Or(family, given)
		}
	}
	out := xPerson{GivenName: given, FamilyName: family}
	nameType := ""
	if given != "" || family != "" {
		nameType = "Personal"
	}
	if orcid, ok := metadata.NormaliseORCID(p.GetOrcid()); ok {
		out.NameIdentifiers = append(out.NameIdentifiers, xNameIdentifier{Value: orcid, Scheme: "ORCID", SchemeURI: "https://orcid.org"})
		nameType = "Personal"
	}
	out.NameIdentifiers = appendEmail(out.NameIdentifiers, p.GetEmail())
	var affs []string
	for _, a := range strings.Split(p.GetAffiliation(), "; ") {
		if a = strings.TrimSpace(a); a != "" {
			affs = append(affs, a)
		}
	}
	ror := p.GetAffiliationRor()
	if !strings.HasPrefix(ror, "https://ror.org/") {
		ror = ""
	}
	for _, a := range affs {
		x := xAffiliation{Value: a}
		if ror != "" && len(affs) == 1 {
			x.Identifier, x.Scheme, x.SchemeURI = ror, "ROR", "https://ror.org"
		}
		out.Affiliations = append(out.Affiliations, x)
	}
	if len(affs) == 0 && ror != "" {
		out.Affiliations = append(out.Affiliations, xAffiliation{Identifier: ror, Scheme: "ROR", SchemeURI: "https://ror.org"})
	}
	return name, nameType, out
}

// appendEmail adds an e-mail address as a mailto: name identifier (DataCite
// has no e-mail field; the reader takes it back from there).
func appendEmail(ids []xNameIdentifier, email string) []xNameIdentifier {
	if e, ok := metadata.NormaliseEmail(email); ok {
		ids = append(ids, xNameIdentifier{Value: "mailto:" + e, Scheme: "mailto"})
	}
	return ids
}

// subjectsOf returns the dataset's subjects, its techniques not among them
// and its instrument name.
func subjectsOf(ds *fairwayv1.Dataset, techniques []*fairwayv1.Technique) []xSubject {
	var out []xSubject
	seen := map[string]bool{}
	for _, s := range ds.GetSubjects() {
		v := strings.TrimSpace(s.GetValue())
		if v == "" {
			continue
		}
		out = append(out, xSubject{Value: v, Scheme: s.GetScheme(), SchemeURI: s.GetSchemeUri(), ValueURI: s.GetValueUri()})
		if u := s.GetValueUri(); u != "" {
			seen[u] = true
		}
	}
	for _, t := range techniques {
		iri := t.GetIri()
		if iri == "" || seen[iri] {
			continue
		}
		seen[iri] = true
		out = append(out, xSubject{Value: cmp.Or(t.GetLabel(), t.GetId(), iri), Scheme: panet.Scheme, SchemeURI: panet.Namespace, ValueURI: iri})
	}
	if in := strings.TrimSpace(ds.GetInstrument()); in != "" {
		out = append(out, xSubject{Value: in, Scheme: "Instrument"})
	}
	return out
}

// datesOf returns the dates of the dataset's life cycle.
func datesOf(ds *fairwayv1.Dataset) []xDate {
	var out []xDate
	add := func(typ string, ts *timestamppb.Timestamp) {
		if v := dateText(ts); v != "" {
			out = append(out, xDate{Value: v, Type: typ})
		}
	}
	add(DateIssued, ds.GetIssued())
	add(DateUpdated, ds.GetModified())
	add(DateAvailable, ds.GetEmbargoUntil())
	typ := DateCollected
	start, end := dateText(ds.GetCollectedStart()), dateText(ds.GetCollectedEnd())
	switch {
	case start != "" && end != "":
		out = append(out, xDate{Value: start + "/" + end, Type: typ})
	case start != "" || end != "":
		out = append(out, xDate{Value: start + end, Type: typ})
	}
	return out
}

// dateText writes a date: YYYY-MM-DD at midnight UTC, else to the second.
func dateText(ts *timestamppb.Timestamp) string {
	if ts == nil || !ts.IsValid() {
		return ""
	}
	t := ts.AsTime().UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return ""
	}
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}

func publicationYear(ds *fairwayv1.Dataset) int {
	if y := int(ds.GetPublicationYear()); y > 0 && y <= 9999 {
		return y
	}
	for _, ts := range []*timestamppb.Timestamp{ds.GetIssued(), ds.GetModified(), ds.GetProvenance().GetHarvestedAt()} {
		if ts != nil && ts.IsValid() {
			if y := ts.AsTime().Year(); y > 0 && y <= 9999 {
				return y
			}
		}
	}
	return 0
}

// relatedOf returns the related identifiers and the instrument's PID.
func relatedOf(ds *fairwayv1.Dataset) []xRelated {
	var out []xRelated
	for _, rel := range ds.GetRelated() {
		id, typ := metadata.ClassifyIdentifier(rel.GetIdentifier())
		if t, ok := lookup(identifierTypes, rel.GetType()); ok && typ != metadata.TypeDOI {
			typ = t
		}
		if id == "" || typ == "" {
			continue
		}
		relation, ok := lookup(relationTypes, rel.GetRelation())
		if !ok {
			relation = "References"
		}
		out = append(out, xRelated{Value: id, Type: typ, Relation: relation})
	}
	if pid := strings.TrimSpace(ds.GetInstrumentPid()); pid != "" {
		if id, typ := metadata.ClassifyIdentifier(pid); typ != "" {
			out = append(out, xRelated{Value: id, Type: typ, Relation: "IsCollectedBy", ResourceType: "Instrument"})
		}
	}
	return out
}

// rightsOf returns the access right as an info:eu-repo term and the licence.
func rightsOf(ds *fairwayv1.Dataset, now time.Time) []xRights {
	var out []xRights
	switch metadata.AccessStatement(ds.GetAccessRights()) {
	case metadata.AccessOpen:
		out = append(out, xRights{Value: "Open Access", URI: EURepoOpen})
	case metadata.AccessEmbargoed:
		if e := ds.GetEmbargoUntil(); e != nil && e.IsValid() && !now.Before(e.AsTime()) {
			out = append(out, xRights{Value: "Open Access", URI: EURepoOpen})
		} else {
			out = append(out, xRights{Value: "Embargoed Access", URI: EURepoEmbargoed})
		}
	case metadata.AccessRestricted:
		out = append(out, xRights{Value: "Restricted Access", URI: EURepoRestricted})
	case metadata.AccessClosed:
		out = append(out, xRights{Value: "Closed Access", URI: EURepoClosed})
	}
	if l := strings.TrimSpace(ds.GetLicense()); l != "" {
		switch {
		case httpURL(l) != "":
			out = append(out, xRights{Value: l, URI: l})
		default:
			iri, _ := metadata.KnownLicense(l)
			out = append(out, xRights{Value: l, URI: iri})
		}
	}
	return out
}

// httpURL returns s trimmed when it is an http(s) URL, else "".
func httpURL(s string) string {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	if (strings.HasPrefix(l, "https://") && len(s) > len("https://")) || (strings.HasPrefix(l, "http://") && len(s) > len("http://")) {
		if !strings.ContainsAny(s, " \t\r\n") {
			return s
		}
	}
	return ""
}
