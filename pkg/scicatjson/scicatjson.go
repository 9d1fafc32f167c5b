// Package scicatjson reads SciCat dataset documents (JSON) and maps them to
// the canonical dataset of the pipeline (fairwayv1.Dataset).
//
// Parse accepts the shapes a SciCat dataset document comes in: the REST
// API's (v3 and v4: "pid", ISO 8601 date strings, v4's list fields
// principalInvestigators, instrumentIds, proposalIds and the included
// instruments) and MongoDB extended JSON as in a SciCat seed or dump ("_id",
// {"$date": …} dates). A legacy PublishedData document (doi as "_id"/"doi",
// creator[], title, abstract, publicationYear, pidArray) is read too, so a
// published DOI can be normalised from the same feed. The documents come
// from package scicat's client, verbatim.
//
// Values (DOIs, ORCID iDs, dates, access rights, names) are read with
// package metadata, as the other readers read them.
package scicatjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/panet"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// ErrMalformed is wrapped by every error of Parse. It says what
// scicat.ErrMalformedDataset says of a document the harvester cannot read
// an identifier from, but is another error: this reader does not import
// the REST client (nor the client this reader).
var ErrMalformed = errors.New("scicat: malformed dataset document")

// Dataset is a SciCat dataset (or legacy PublishedData) document. Only the
// fields the mapping uses are kept.
type Dataset struct {
	// ID is the MongoDB "_id" (the pid in a seed, the DOI in PublishedData).
	ID  string `json:"_id"`
	PID string `json:"pid"`
	DOI string `json:"doi"`

	DatasetName string `json:"datasetName"`
	// Title is PublishedData's title.
	Title       string `json:"title"`
	Description string `json:"description"`
	// Abstract and DataDescription are PublishedData's descriptions.
	Abstract        string `json:"abstract"`
	DataDescription string `json:"dataDescription"`

	// Owner is the owner or custodian; several are separated by ";", and
	// OrcidOfOwner then lists their ORCIDs in the same order.
	Owner        string `json:"owner"`
	OrcidOfOwner string `json:"orcidOfOwner"`
	// OwnerEmail and ContactEmail are the owner's and the contact person's
	// e-mail addresses (";"-separated lists in some catalogues).
	OwnerEmail   string `json:"ownerEmail"`
	ContactEmail string `json:"contactEmail"`
	// PrincipalInvestigator (v3, raw datasets), PrincipalInvestigators (v4)
	// and Investigator (v3, derived datasets) name the creators; SciCat
	// allows ";"-separated lists and e-mail addresses here.
	PrincipalInvestigator  string     `json:"principalInvestigator"`
	PrincipalInvestigators stringList `json:"principalInvestigators"`
	Investigator           string     `json:"investigator"`
	// Creator is PublishedData's creator list.
	Creator stringList `json:"creator"`
	// Affiliation is PublishedData's affiliation of its creators (one for
	// all of them).
	Affiliation     string  `json:"affiliation"`
	Publisher       string  `json:"publisher"`
	PublicationYear flexInt `json:"publicationYear"`

	CreationTime Time `json:"creationTime"`
	// StartTime and EndTime bound the data taking of a raw dataset (v4;
	// endTime in v3 too).
	StartTime      Time `json:"startTime"`
	EndTime        Time `json:"endTime"`
	CreatedAt      Time `json:"createdAt"`
	UpdatedAt      Time `json:"updatedAt"`
	RegisteredTime Time `json:"registeredTime"`

	// Type is "raw" or "derived"; ResourceType is PublishedData's.
	Type         string     `json:"type"`
	ResourceType string     `json:"resourceType"`
	Keywords     stringList `json:"keywords"`
	License      string     `json:"license"`
	// IsPublished is nil when the document does not say.
	IsPublished *bool       `json:"isPublished"`
	Techniques  []Technique `json:"techniques"`

	InstrumentID  string     `json:"instrumentId"`
	InstrumentIDs stringList `json:"instrumentIds"`
	// Instruments are the v4 included instruments (?include=instruments);
	// a client may also fill them from the Instrument collection so that the
	// mapping has a name rather than an id.
	Instruments      []Instrument `json:"instruments"`
	CreationLocation string       `json:"creationLocation"`
	ProposalID       string       `json:"proposalId"`
	ProposalIDs      stringList   `json:"proposalIds"`

	// Size is the total size of the dataset's files in bytes,
	// NumberOfFiles their number, DataFormat their format (v3 raw
	// datasets); SizeOfArchive and DownloadLink are PublishedData's.
	Size          flexSize `json:"size"`
	NumberOfFiles flexSize `json:"numberOfFiles"`
	DataFormat    string   `json:"dataFormat"`
	SizeOfArchive flexSize `json:"sizeOfArchive"`
	DownloadLink  string   `json:"downloadLink"`

	InputDatasets       stringList     `json:"inputDatasets"`
	UsedSoftware        stringList     `json:"usedSoftware"`
	Relationships       []Relationship `json:"relationships"`
	PIDArray            stringList     `json:"pidArray"`
	RelatedPublications stringList     `json:"relatedPublications"`
	// URL is PublishedData's landing page.
	URL       string     `json:"url"`
	Status    string     `json:"status"`
	Lifecycle *Lifecycle `json:"datasetlifecycle"`

	// SampleID (v3) and SampleIDs (v4) are the samples measured.
	SampleID  string     `json:"sampleId"`
	SampleIDs stringList `json:"sampleIds"`
	// DatasetPids are the datasets of a v4 PublishedData document, and
	// Metadata its DataCite-like metadata object; Parse copies what the
	// mapping uses from Metadata into the fields above that are empty.
	DatasetPids stringList         `json:"datasetPids"`
	Metadata    *PublishedMetadata `json:"metadata"`
}

// PublishedMetadata is the part of a v4 PublishedData document's
// "metadata" object the mapping uses. The object is free-form: a value of
// an unexpected type is ignored, not an error.
type PublishedMetadata struct {
	Creators []string
	// Affiliations are the creators' affiliations by lower-case name, when
	// the metadata's creators are objects that give them.
	Affiliations map[string]Affiliation
	// Languages are "language" (a string or a list).
	Languages []string
	// Funding are "fundingReferences" in DataCite's JSON shape.
	Funding         []FundingReference
	Publisher       string
	PublicationYear int
	ResourceType    string
	DataDescription string
	Version         string
	URL             string
	DownloadLink    string
	SizeOfArchive   int64
	NumberOfFiles   int64
}

// UnmarshalJSON implements json.Unmarshaler, leniently.
func (m *PublishedMetadata) UnmarshalJSON(b []byte) error {
	*m = PublishedMetadata{}
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	str := func(k string) string {
		var s string
		if json.Unmarshal(raw[k], &s) == nil {
			return s
		}
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw[k], &named) == nil {
			return named.Name
		}
		return ""
	}
	num := func(k string) int64 {
		var n flexSize
		if json.Unmarshal(raw[k], &n) == nil {
			return int64(n)
		}
		return 0
	}
	m.Publisher, m.ResourceType, m.DataDescription = str("publisher"), str("resourceType"), str("dataDescription")
	m.Version, m.URL, m.DownloadLink = str("version"), str("url"), str("downloadLink")
	m.SizeOfArchive, m.NumberOfFiles = num("sizeOfArchive"), num("numberOfFiles")
	var year flexInt
	if json.Unmarshal(raw["publicationYear"], &year) == nil {
		m.PublicationYear = int(year)
	}
	var creators []json.RawMessage
	if json.Unmarshal(raw["creators"], &creators) != nil {
		json.Unmarshal(raw["creator"], &creators) //nolint:errcheck // absent or not a list: no creators
	}
	for _, c := range creators {
		if n := creatorName(c); n != "" {
			m.Creators = append(m.Creators, n)
			if a, ok := creatorAffiliation(c); ok {
				if m.Affiliations == nil {
					m.Affiliations = map[string]Affiliation{}
				}
				m.Affiliations[strings.ToLower(n)] = a
			}
		}
	}
	var langs stringList
	if json.Unmarshal(raw["language"], &langs) == nil {
		m.Languages = langs
	}
	var funding []json.RawMessage
	if json.Unmarshal(raw["fundingReferences"], &funding) == nil {
		for _, f := range funding {
			var ref FundingReference
			if json.Unmarshal(f, &ref) == nil && ref != (FundingReference{}) {
				m.Funding = append(m.Funding, ref)
			}
		}
	}
	return nil
}

// Affiliation is a creator's affiliation in v4 PublishedData metadata.
type Affiliation struct {
	Name string
	// ROR is the ROR IRI of the affiliation, when it gives one.
	ROR string
}

// FundingReference is a fundingReference of v4 PublishedData metadata,
// in DataCite's JSON shape.
type FundingReference struct {
	FunderName           string `json:"funderName"`
	FunderIdentifier     string `json:"funderIdentifier"`
	FunderIdentifierType string `json:"funderIdentifierType"`
	AwardNumber          string `json:"awardNumber"`
	AwardTitle           string `json:"awardTitle"`
	AwardURI             string `json:"awardUri"`
}

// creatorAffiliation reads the affiliations of a creator object: a string,
// a list of strings, or a list of objects with a name and an
// affiliationIdentifier; several are joined with "; ", the ROR is the
// first that is one.
func creatorAffiliation(b json.RawMessage) (Affiliation, bool) {
	var p struct {
		Affiliation json.RawMessage `json:"affiliation"`
	}
	if json.Unmarshal(b, &p) != nil || len(p.Affiliation) == 0 {
		return Affiliation{}, false
	}
	var list []json.RawMessage
	if json.Unmarshal(p.Affiliation, &list) != nil {
		list = []json.RawMessage{p.Affiliation}
	}
	var a Affiliation
	var names []string
	for _, x := range list {
		var s string
		if json.Unmarshal(x, &s) == nil {
			if s = strings.TrimSpace(s); s != "" {
				names = append(names, s)
			}
			continue
		}
		var o struct {
			Name       string `json:"name"`
			Identifier string `json:"affiliationIdentifier"`
		}
		if json.Unmarshal(x, &o) != nil {
			continue
		}
		if n := strings.TrimSpace(o.Name); n != "" {
			names = append(names, n)
		}
		if a.ROR == "" {
			a.ROR, _ = metadata.RORIRI(o.Identifier)
		}
	}
	a.Name = strings.Join(names, "; ")
	return a, a.Name != "" || a.ROR != ""
}

// creatorName reads a creator of v4 PublishedData metadata: a name, or an
// object with a name or given and family names.
func creatorName(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return strings.TrimSpace(s)
	}
	var p struct {
		Name       string `json:"name"`
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
	}
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	if n := strings.TrimSpace(p.Name); n != "" {
		return n
	}
	return strings.TrimSpace(strings.TrimSpace(p.GivenName) + " " + strings.TrimSpace(p.FamilyName))
}

// fromMetadata fills the fields a v4 PublishedData document keeps in its
// metadata object, where the document leaves them empty.
func (ds *Dataset) fromMetadata() {
	m := ds.Metadata
	if m == nil {
		return
	}
	fill := func(dst *string, v string) {
		if strings.TrimSpace(*dst) == "" {
			*dst = v
		}
	}
	fill(&ds.Publisher, m.Publisher)
	fill(&ds.ResourceType, m.ResourceType)
	fill(&ds.DataDescription, m.DataDescription)
	fill(&ds.URL, m.URL)
	fill(&ds.DownloadLink, m.DownloadLink)
	if len(ds.Creator) == 0 {
		ds.Creator = m.Creators
	}
	if ds.PublicationYear <= 0 && m.PublicationYear > 0 {
		ds.PublicationYear = flexInt(m.PublicationYear)
	}
	if ds.SizeOfArchive == 0 {
		ds.SizeOfArchive = flexSize(m.SizeOfArchive)
	}
	if ds.NumberOfFiles == 0 {
		ds.NumberOfFiles = flexSize(m.NumberOfFiles)
	}
}

// Technique is an experimental technique of a dataset. PID is a PaNET id
// ("PaNET01168") or IRI in practice; Name may be a label or, in older
// catalogues, ";"-joined dotted paths of labels.
type Technique struct {
	PID  string `json:"pid"`
	Name string `json:"name"`
}

// Instrument is an instrument as SciCat's v4 API includes it.
type Instrument struct {
	PID        string `json:"pid"`
	UniqueName string `json:"uniqueName"`
	Name       string `json:"name"`
}

// Relationship is a v4 relationship to another dataset.
type Relationship struct {
	PID          string `json:"pid"`
	Relationship string `json:"relationship"`
}

// Lifecycle is the part of datasetlifecycle the mapping uses.
type Lifecycle struct {
	// DateOfPublishing is the day the dataset is to become public: the end
	// of its embargo.
	DateOfPublishing Time `json:"dateOfPublishing"`
}

// Time is a date in any of SciCat's spellings: an ISO 8601 string, MongoDB
// extended JSON {"$date": "…"} or {"$date": {"$numberLong": "…"}}, or
// milliseconds since the epoch. A value that cannot be read leaves the zero
// time and keeps its text in Raw.
type Time struct {
	time.Time
	// Raw is the text of a value that could not be read as a date.
	Raw string
	// err is why Raw could not be read, when the date parser said.
	err error
}

// reason is the reason of the gap of a date that could not be read.
func (t Time) reason() string {
	if t.err != nil {
		return metadata.DateReason(t.err)
	}
	return metadata.ReasonBadDate
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	*t = Time{}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return err
	}
	if m, ok := v.(map[string]any); ok {
		v = m["$date"]
		if inner, ok := v.(map[string]any); ok {
			v = inner["$numberLong"]
		}
	}
	switch x := v.(type) {
	case nil:
	case string:
		if ms, err := strconv.ParseInt(x, 10, 64); err == nil && len(x) > 8 {
			t.Time = time.UnixMilli(ms).UTC()
		} else if p, err := metadata.ParseDate(x); err == nil {
			t.Time = p
		} else {
			t.Raw, t.err = x, err
		}
	case json.Number:
		if ms, err := x.Int64(); err == nil {
			t.Time = time.UnixMilli(ms).UTC()
		} else {
			t.Raw = x.String()
		}
	default:
		t.Raw = string(b)
	}
	return nil
}

// stringList is a list of strings that also accepts a single string or null.
type stringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = nil
		if strings.TrimSpace(one) != "" {
			*l = stringList{one}
		}
		return nil
	}
	var many []*string
	if err := json.Unmarshal(b, &many); err != nil {
		// encoding/json adds the field name to this error type.
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[[]string]()}
	}
	*l = nil
	for _, s := range many {
		if s != nil && strings.TrimSpace(*s) != "" {
			*l = append(*l, *s)
		}
	}
	return nil
}

// flexInt is an integer that also accepts a numeric string or null; a
// string that is not a number reads as 0.
type flexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	*n = 0
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
	case float64:
		*n = flexInt(x)
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			*n = flexInt(i)
		}
	default:
		// encoding/json adds the field name to this error type.
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[int]()}
	}
	return nil
}

// flexSize is a non-negative count that also accepts a float (2e12 as
// 2000000000000.0), a numeric string or null; anything else, negative or
// beyond 2^63, reads as 0.
type flexSize int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexSize) UnmarshalJSON(b []byte) error {
	*n = 0
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil
		}
		f = p
	case nil:
		return nil
	default:
		// encoding/json adds the field name to this error type.
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[int64]()}
	}
	if f >= 0 && f < math.MaxInt64 {
		*n = flexSize(math.Round(f))
	}
	return nil
}

// jsonKind names the kind of a JSON value for an error message.
func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// Parse reads one SciCat dataset document (a JSON object). Errors wrap
// ErrMalformed: not JSON, not an object, a field of the wrong type, or an
// object with neither an identifier nor a name.
func Parse(payload []byte) (*Dataset, error) {
	b := bytes.TrimSpace(payload)
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("%w: want a JSON object", ErrMalformed)
	}
	var ds Dataset
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if ds.PID == "" && ds.ID == "" && ds.DOI == "" && ds.DatasetName == "" && ds.Title == "" {
		return nil, fmt.Errorf("%w: no pid, _id, doi, datasetName or title", ErrMalformed)
	}
	ds.fromMetadata()
	return &ds, nil
}

// Relation types the mapping gives to SciCat links (DataCite relationType
// values).
const (
	RelationIsDerivedFrom  = "IsDerivedFrom"
	RelationIsCompiledBy   = "IsCompiledBy"
	RelationHasPart        = "HasPart"
	RelationIsSupplementTo = "IsSupplementTo"
)

// RoleOwner is the role given to an owner who is not also a creator.
const RoleOwner = "ContactPerson"

// SourceID returns the dataset's identifier at the source: pid, else _id.
func (ds *Dataset) SourceID() string {
	return metadata.FirstNonBlank(ds.PID, ds.ID)
}

// ToDataset maps the document to a canonical dataset, judging embargoes
// relative to now. It fills the descriptive fields only; identity, source
// and provenance fields are the caller's (see package normaliser).
//
//   - DOI: "doi", else the pid or _id when it is a DOI (PublishedData, or a
//     catalogue minting DOIs as pids). Landing page: https://doi.org/<doi>,
//     else PublishedData's url.
//   - Title: datasetName, else title. Description: description, else
//     abstract, else dataDescription.
//   - Creators: principalInvestigators, principalInvestigator, investigator
//     and PublishedData's creator (";"-separated lists split, e-mail
//     addresses and "et al." dropped, duplicates merged); when there are
//     none, the owners. A creator who is an owner gets the owner's ORCID
//     (orcidOfOwner, position for position). Owners who are not creators
//     are contributors with role ContactPerson.
//   - Issued: datasetlifecycle.dateOfPublishing (the day the dataset
//     becomes public), else creationTime, else PublishedData's
//     registeredTime; 1 January of publicationYear instead
//     when there is a publicationYear the date does not fall in. Publication
//     year: publicationYear, else the issued year. Modified: updatedAt.
//   - Access: datasetlifecycle.dateOfPublishing is the embargo end;
//     isPublished true (or PublishedData status "registered" or "public")
//     states "open", isPublished false (or status "private") "restricted"
//     (see metadata.DecideAccess). Licence: license.
//   - Subjects: keywords; techniques become PaNET subjects (scheme
//     "PaNET", value URI http://purl.org/pan-science/PaNET/<id>) when their
//     pid is a PaNET id or IRI, with the technique's label as value (the
//     last label of the first path when the name is a dotted label path).
//   - Resource type: "Dataset" (or PublishedData's resourceType when it is a
//     DataCite resourceTypeGeneral).
//   - Instrument: the name of the first included instrument, else
//     instrumentId / instrumentIds[0], else the last segment of
//     creationLocation (/PSI/SLS/TOMCAT → TOMCAT).
//   - Related: inputDatasets (IsDerivedFrom), usedSoftware (IsCompiledBy),
//     v4 relationships (as given), pidArray (HasPart) and the DOIs or URLs
//     found in relatedPublications (IsSupplementTo). Sample ids are local
//     to the catalogue and are not mapped.
//   - Instrument PID: the first included instrument's pid, else
//     instrumentId / instrumentIds[0], when it is a DOI, a handle or a URL
//     (metadata.PIDIRI); local ids ("desy_instrument1") are not PIDs.
//   - Proposal: proposalId, else proposalIds[0].
//   - Contacts: contactEmail (named after the owner whose ownerEmail it
//     is, else after the address), then the owners' ownerEmail; addresses
//     that are not valid (metadata.NormaliseEmail) are dropped.
//   - Collection period: startTime and endTime; for a raw dataset without
//     them, creationTime (when its files were written) ends it.
//   - Distribution: one, when the document gives a size (size, else
//     PublishedData's sizeOfArchive, in bytes), a number of files, a
//     dataFormat or PublishedData's downloadLink (an http(s) URL, the
//     download URL). sourceFolder is a path on the facility's storage and
//     is not published.
//   - Titles: datasetName (the main title), then PublishedData's title
//     (AlternativeTitle when it differs). Descriptions: description (no
//     type), abstract (Abstract), dataDescription (Other), duplicates
//     merged. SciCat gives no languages.
//   - Identifiers: the DOI (scheme DOI), then the pid, else _id (scheme
//     PID) unless it is that DOI.
//   - Version: the version of a v4 PublishedData metadata object. A
//     dataset's "version" is the version of SciCat's API that wrote it
//     and is not mapped.
//   - Created: creationTime. Available: datasetlifecycle.dateOfPublishing.
//   - Principal investigator: principalInvestigator, else
//     principalInvestigators[0]: the first name in it, with the first
//     e-mail address in it ("Name; mail", "Name <mail>" or a bare
//     address); a PI who is an owner gets the owner's ORCID and, when the
//     field gives none, the owner's e-mail address. investigator (of a
//     derived dataset: who analysed the data) is not a PI.
//   - Samples: sampleId and v4 sampleIds, as ids.
//   - File count: numberOfFiles. Byte size: size, else sizeOfArchive.
//     Formats: dataFormat.
//   - Gaps: every date above (creationTime, startTime, endTime,
//     updatedAt, registeredTime, dateOfPublishing) that is given but
//     cannot be read, with the canonical field it was meant for (created,
//     collected_start, collected_end, modified, issued, available) and
//     its text.
//   - Affiliations of the creators: v4 PublishedData metadata's per
//     creator (with the ROR of an affiliationIdentifier), else legacy
//     PublishedData's affiliation for all of them. Languages and funding:
//     v4 PublishedData metadata's language and fundingReferences. A
//     dataset's version (the API's) and scientificMetadata (free-form)
//     are not mapped.
//
// A v4 PublishedData document ("doi", "datasetPids", "metadata") reads as
// the legacy one: datasetPids as pidArray, and its metadata object's
// creators, publisher, publicationYear, resourceType, dataDescription,
// url, downloadLink, sizeOfArchive and numberOfFiles where the document
// itself does not give them.
func (ds *Dataset) ToDataset(now time.Time) *fairwayv1.Dataset {
	d := &fairwayv1.Dataset{
		Title:       strings.TrimSpace(metadata.FirstNonBlank(ds.DatasetName, ds.Title)),
		Description: strings.TrimSpace(metadata.FirstNonBlank(ds.Description, ds.Abstract, ds.DataDescription)),
		Publisher:   strings.TrimSpace(ds.Publisher),
		License:     strings.TrimSpace(ds.License),
	}
	for _, cand := range []string{ds.DOI, ds.PID, ds.ID} {
		if doi, ok := metadata.NormaliseDOI(cand); ok {
			d.Doi = doi
			break
		}
	}
	if d.Doi != "" {
		d.LandingPage = metadata.DOIResolver + d.Doi
	} else if _, typ := metadata.ClassifyIdentifier(ds.URL); typ == metadata.TypeURL {
		d.LandingPage = strings.TrimSpace(ds.URL)
	}
	d.Creators, d.Contributors = ds.people()
	ds.affiliations(d.Creators)

	var published Time
	if ds.Lifecycle != nil {
		published = ds.Lifecycle.DateOfPublishing
	}
	issued := published.Time
	if issued.IsZero() {
		issued = ds.CreationTime.Time
	}
	if issued.IsZero() {
		issued = ds.RegisteredTime.Time
	}
	year := int(ds.PublicationYear)
	if year > 0 && (issued.IsZero() || issued.Year() != year) {
		issued = time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	if year <= 0 && !issued.IsZero() {
		year = issued.Year()
	}
	d.PublicationYear = int32(year)
	d.Issued = metadata.Timestamp(issued)
	d.Modified = metadata.Timestamp(ds.UpdatedAt.Time)

	stated := ""
	switch {
	case ds.IsPublished != nil && *ds.IsPublished:
		stated = metadata.AccessOpen
	case ds.IsPublished != nil:
		stated = metadata.AccessRestricted
	case strings.EqualFold(ds.Status, "registered"), strings.EqualFold(ds.Status, "public"):
		stated = metadata.AccessOpen
	case strings.EqualFold(ds.Status, "private"):
		stated = metadata.AccessRestricted
	}
	var embargoEnd time.Time
	if ds.Lifecycle != nil {
		embargoEnd = ds.Lifecycle.DateOfPublishing.Time
	}
	access, until := metadata.DecideAccess(stated, embargoEnd, d.License != "", now)
	d.AccessRights, d.EmbargoUntil = access, metadata.Timestamp(until)

	for _, k := range ds.Keywords {
		if k = strings.TrimSpace(k); k != "" {
			d.Subjects = append(d.Subjects, &fairwayv1.Subject{Value: k})
		}
	}
	for _, t := range ds.Techniques {
		if s := t.subject(); s != nil {
			d.Subjects = append(d.Subjects, s)
		}
	}
	d.ResourceType = "Dataset"
	if g, ok := metadata.ResourceTypeGeneral(ds.ResourceType); ok {
		d.ResourceType = g
	}
	d.Instrument = ds.instrument()
	d.InstrumentPid = ds.instrumentPID()
	d.Related = ds.related()
	d.ProposalId = strings.TrimSpace(ds.ProposalID)
	if d.ProposalId == "" && len(ds.ProposalIDs) > 0 {
		d.ProposalId = strings.TrimSpace(ds.ProposalIDs[0])
	}
	d.Contacts = ds.contacts()
	d.CollectedStart = metadata.Timestamp(ds.StartTime.Time)
	end := ds.EndTime.Time
	if end.IsZero() && ds.StartTime.IsZero() && strings.EqualFold(ds.Type, "raw") {
		end = ds.CreationTime.Time
	}
	d.CollectedEnd = metadata.Timestamp(end)
	if x := ds.distribution(); x != nil {
		d.Distributions = []*fairwayv1.Distribution{x}
	}

	d.Titles = ds.titles()
	d.Descriptions = ds.descriptions()
	d.Identifiers = ds.identifiers(d.Doi)
	if ds.Metadata != nil {
		d.Version = strings.TrimSpace(ds.Metadata.Version)
	}
	d.Created = metadata.Timestamp(ds.CreationTime.Time)
	d.Available = metadata.Timestamp(published.Time)
	d.PrincipalInvestigator = ds.principalInvestigator()
	d.Samples = ds.samples()
	d.FileCount = int64(ds.NumberOfFiles)
	d.ByteSize = int64(ds.Size)
	if d.ByteSize == 0 {
		d.ByteSize = int64(ds.SizeOfArchive)
	}
	if f := strings.TrimSpace(ds.DataFormat); f != "" {
		d.Formats = []string{f}
	}
	d.Gaps = ds.gaps()
	if ds.Metadata != nil {
		for _, l := range ds.Metadata.Languages {
			if l = strings.TrimSpace(l); l == "" {
				continue
			}
			if code, ok := metadata.LanguageCode(l); ok {
				l = code
			}
			if !slices.Contains(d.Languages, l) {
				d.Languages = append(d.Languages, l)
			}
		}
		for _, f := range ds.Metadata.Funding {
			d.Funding = append(d.Funding, f.funding())
		}
	}
	if len(d.Languages) > 0 {
		d.Language = d.Languages[0]
	}
	return d
}

// affiliations gives the creators the affiliations the document states:
// v4 PublishedData metadata's per creator, else PublishedData's one
// affiliation for all creators.
func (ds *Dataset) affiliations(creators []*fairwayv1.Person) {
	common := strings.TrimSpace(ds.Affiliation)
	for _, p := range creators {
		if ds.Metadata != nil {
			if a, ok := ds.Metadata.Affiliations[strings.ToLower(p.Name)]; ok {
				p.Affiliation, p.AffiliationRor = a.Name, a.ROR
				continue
			}
		}
		if common != "" {
			p.Affiliation = common
		}
	}
}

// funding maps a fundingReference: a Crossref Funder ID or ROR id as its
// IRI, any other identifier as given.
func (f FundingReference) funding() *fairwayv1.Funding {
	out := &fairwayv1.Funding{
		FunderName: strings.TrimSpace(f.FunderName), FunderId: strings.TrimSpace(f.FunderIdentifier),
		FunderIdType: strings.TrimSpace(f.FunderIdentifierType), AwardNumber: strings.TrimSpace(f.AwardNumber),
		AwardTitle: strings.TrimSpace(f.AwardTitle), AwardUri: strings.TrimSpace(f.AwardURI),
	}
	if iri, ok := metadata.RORIRI(out.FunderId); ok {
		out.FunderId = iri
	} else if doi, ok := metadata.NormaliseDOI(out.FunderId); ok {
		out.FunderId = metadata.DOIResolver + doi
	}
	return out
}

// Description types (DataCite descriptionType values) of the
// descriptions a SciCat document gives besides the plain description.
const (
	DescriptionAbstract = "Abstract"
	DescriptionOther    = "Other"
)

// TitleAlternative is the type of PublishedData's title when the document
// also has a datasetName (DataCite titleType AlternativeTitle).
const TitleAlternative = "AlternativeTitle"

// SchemePID is the identifier scheme of a SciCat pid.
const SchemePID = "PID"

// titles implements the titles rule of ToDataset.
func (ds *Dataset) titles() []*fairwayv1.LangText {
	var out []*fairwayv1.LangText
	seen := map[string]bool{}
	for _, t := range []struct{ value, typ string }{{ds.DatasetName, ""}, {ds.Title, TitleAlternative}} {
		v := strings.TrimSpace(t.value)
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		typ := t.typ
		if len(out) == 0 {
			typ = ""
		}
		out = append(out, &fairwayv1.LangText{Value: v, Type: typ})
	}
	return out
}

// descriptions implements the descriptions rule of ToDataset.
func (ds *Dataset) descriptions() []*fairwayv1.LangText {
	var out []*fairwayv1.LangText
	seen := map[string]bool{}
	for _, t := range []struct{ value, typ string }{
		{ds.Description, ""}, {ds.Abstract, DescriptionAbstract}, {ds.DataDescription, DescriptionOther},
	} {
		if v := strings.TrimSpace(t.value); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, &fairwayv1.LangText{Value: v, Type: t.typ})
		}
	}
	return out
}

// identifiers implements the identifiers rule of ToDataset.
func (ds *Dataset) identifiers(doi string) []*fairwayv1.Identifier {
	var out []*fairwayv1.Identifier
	if doi != "" {
		out = append(out, &fairwayv1.Identifier{Value: doi, Scheme: metadata.TypeDOI})
	}
	for _, cand := range []string{ds.PID, ds.ID} {
		pid := strings.TrimSpace(cand)
		if pid == "" {
			continue
		}
		if d, ok := metadata.NormaliseDOI(pid); ok && d == doi {
			continue
		}
		out = append(out, &fairwayv1.Identifier{Value: pid, Scheme: SchemePID})
		break
	}
	return out
}

// principalInvestigator implements the principal investigator rule of
// ToDataset.
func (ds *Dataset) principalInvestigator() *fairwayv1.Person {
	field := ds.PrincipalInvestigator
	if strings.TrimSpace(field) == "" && len(ds.PrincipalInvestigators) > 0 {
		field = ds.PrincipalInvestigators[0]
	}
	var name, mail string
	for _, e := range splitList(field) {
		if addr, ok := metadata.NormaliseEmail(e); ok {
			if mail == "" {
				mail = addr
			}
		} else if i, j := strings.IndexByte(e, '<'), strings.LastIndexByte(e, '>'); i >= 0 && j > i {
			// "Jane Doe <jane@example.org>"
			if addr, ok := metadata.NormaliseEmail(e[i+1 : j]); ok && mail == "" {
				mail = addr
			}
			if n := strings.TrimSpace(e[:i]); n != "" && name == "" {
				name = n
			}
		} else if name == "" && isPersonName(e) {
			name = e
		}
		if name != "" && mail != "" {
			break
		}
	}
	if name == "" && mail == "" {
		return nil
	}
	p := &fairwayv1.Person{Name: metadata.FirstNonBlank(name, mail), Email: mail}
	owners, orcids, mails := splitList(ds.Owner), splitList(ds.OrcidOfOwner), splitList(ds.OwnerEmail)
	for i, o := range owners {
		if name == "" || !strings.EqualFold(o, name) {
			continue
		}
		if i < len(orcids) {
			if id, ok := metadata.NormaliseORCID(orcids[i]); ok {
				p.Orcid = id
			}
		}
		if i < len(mails) && p.Email == "" {
			if addr, ok := metadata.NormaliseEmail(mails[i]); ok {
				p.Email = addr
			}
		}
		break
	}
	if name != "" {
		if g, f, ok := metadata.SplitPersonalName(name); ok {
			p.GivenName, p.FamilyName = g, f
		}
	}
	return p
}

// samples implements the samples rule of ToDataset.
func (ds *Dataset) samples() []*fairwayv1.Sample {
	var out []*fairwayv1.Sample
	seen := map[string]bool{}
	for _, id := range append([]string{ds.SampleID}, ds.SampleIDs...) {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, &fairwayv1.Sample{Id: id})
		}
	}
	return out
}

// gaps implements the gaps rule of ToDataset: the dates the mapping uses
// that could not be read.
func (ds *Dataset) gaps() []*fairwayv1.Gap {
	var out []*fairwayv1.Gap
	dates := []struct {
		field string
		t     Time
	}{
		{"created", ds.CreationTime},
		{"collected_start", ds.StartTime},
		{"collected_end", ds.EndTime},
		{"modified", ds.UpdatedAt},
		{"issued", ds.RegisteredTime},
	}
	if ds.Lifecycle != nil {
		dates = append(dates, struct {
			field string
			t     Time
		}{"available", ds.Lifecycle.DateOfPublishing})
	}
	for _, x := range dates {
		if x.t.IsZero() && strings.TrimSpace(x.t.Raw) != "" {
			out = append(out, metadata.NewGap(x.field, x.t.Raw, x.t.reason()))
		}
	}
	return out
}

// instrumentPID implements the instrument PID rule of ToDataset.
func (ds *Dataset) instrumentPID() string {
	cands := make([]string, 0, 2+len(ds.InstrumentIDs))
	for _, in := range ds.Instruments {
		cands = append(cands, in.PID)
	}
	cands = append(cands, ds.InstrumentID)
	cands = append(cands, ds.InstrumentIDs...)
	for _, c := range cands {
		if iri, ok := metadata.PIDIRI(c); ok {
			return iri
		}
	}
	return ""
}

// contacts implements the contact rule of ToDataset.
func (ds *Dataset) contacts() []*fairwayv1.Contact {
	owners, ownerMails := splitList(ds.Owner), splitList(ds.OwnerEmail)
	nameOf := map[string]string{}
	for i, m := range ownerMails {
		if addr, ok := metadata.NormaliseEmail(m); ok && i < len(owners) && isPersonName(owners[i]) {
			nameOf[strings.ToLower(addr)] = owners[i]
		}
	}
	var out []*fairwayv1.Contact
	seen := map[string]bool{}
	for _, m := range append(splitList(ds.ContactEmail), ownerMails...) {
		addr, ok := metadata.NormaliseEmail(m)
		if !ok || seen[strings.ToLower(addr)] {
			continue
		}
		seen[strings.ToLower(addr)] = true
		out = append(out, &fairwayv1.Contact{Name: metadata.FirstNonBlank(nameOf[strings.ToLower(addr)], addr), Email: addr})
	}
	return out
}

// distribution implements the distribution rule of ToDataset.
func (ds *Dataset) distribution() *fairwayv1.Distribution {
	x := &fairwayv1.Distribution{ByteSize: int64(ds.Size), Format: strings.TrimSpace(ds.DataFormat)}
	if x.ByteSize == 0 {
		x.ByteSize = int64(ds.SizeOfArchive)
	}
	if m, ok := metadata.MediaType(x.Format); ok {
		x.MediaType = m
	}
	if _, typ := metadata.ClassifyIdentifier(ds.DownloadLink); typ == metadata.TypeURL {
		x.DownloadUrl = strings.TrimSpace(ds.DownloadLink)
	}
	if n := int64(ds.NumberOfFiles); n > 0 {
		x.Title = fmt.Sprintf("%d files", n)
		if n == 1 {
			x.Title = "1 file"
		}
	}
	if x.ByteSize == 0 && x.Format == "" && x.DownloadUrl == "" && x.Title == "" {
		return nil
	}
	return x
}

// people returns the creators and the contributors.
func (ds *Dataset) people() (creators, contributors []*fairwayv1.Person) {
	owners := splitList(ds.Owner)
	orcids := splitList(ds.OrcidOfOwner)
	orcidOf := map[string]string{}
	for i, o := range owners {
		if i < len(orcids) {
			if id, ok := metadata.NormaliseORCID(orcids[i]); ok {
				orcidOf[strings.ToLower(o)] = id
			}
		}
	}
	var names []string
	names = append(names, ds.PrincipalInvestigators...)
	names = append(names, ds.PrincipalInvestigator, ds.Investigator)
	names = append(names, ds.Creator...)
	seen := map[string]bool{}
	add := func(list *[]*fairwayv1.Person, name, role string) {
		key := strings.ToLower(name)
		if seen[key] {
			return
		}
		seen[key] = true
		p := &fairwayv1.Person{Name: name, Orcid: orcidOf[key], Role: role}
		if g, f, ok := metadata.SplitPersonalName(name); ok {
			p.GivenName, p.FamilyName = g, f
		}
		*list = append(*list, p)
	}
	for _, field := range names {
		for _, n := range splitList(field) {
			if isPersonName(n) {
				add(&creators, n, "")
			}
		}
	}
	if len(creators) == 0 {
		for _, o := range owners {
			if isPersonName(o) {
				add(&creators, o, "")
			}
		}
	}
	for _, o := range owners {
		if isPersonName(o) {
			add(&contributors, o, RoleOwner)
		}
	}
	return creators, contributors
}

// isPersonName reports whether a creator entry is a name, not an e-mail
// address or an "et al.".
func isPersonName(s string) bool {
	if s == "" || (strings.Contains(s, "@") && !strings.Contains(s, " ")) {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "al.", "et al.", "et al", "al", "et. al.":
		return false
	}
	return true
}

// subject maps a technique: a PaNET subject when its pid is a PaNET term,
// else a plain subject (with the pid as value URI when it is a URL).
func (t Technique) subject() *fairwayv1.Subject {
	pid := strings.TrimSpace(t.PID)
	label := techniqueLabel(t.Name)
	if iri, ok := panet.TermIRI(pid); ok {
		return &fairwayv1.Subject{Value: metadata.FirstNonBlank(label, pid), Scheme: panet.Scheme, SchemeUri: panet.Namespace, ValueUri: iri}
	}
	if label == "" && pid == "" {
		return nil
	}
	s := &fairwayv1.Subject{Value: metadata.FirstNonBlank(label, pid)}
	if _, typ := metadata.ClassifyIdentifier(pid); typ == metadata.TypeURL {
		s.ValueUri = pid
	}
	return s
}

// techniqueLabel returns a technique's label. Older SciCat catalogues store
// the PaNET class paths ("photon_and_neutron_technique.….x-ray_diffraction;…")
// as the name: then the last label of the first path, with "_" as blanks.
func techniqueLabel(name string) string {
	name = strings.TrimSpace(name)
	if strings.ContainsAny(name, " \t\n") && !strings.Contains(name, ";") {
		return name
	}
	path := strings.TrimSpace(strings.SplitN(name, ";", 2)[0])
	if strings.ContainsAny(path, " \t\n") || !strings.Contains(path, ".") {
		return strings.Join(strings.Fields(path), " ")
	}
	last := path[strings.LastIndex(path, ".")+1:]
	return strings.ReplaceAll(last, "_", " ")
}

// instrument implements the instrument rule of ToDataset.
func (ds *Dataset) instrument() string {
	for _, in := range ds.Instruments {
		if n := strings.TrimSpace(metadata.FirstNonBlank(in.Name, in.UniqueName, in.PID)); n != "" {
			return n
		}
	}
	if id := strings.TrimSpace(ds.InstrumentID); id != "" {
		return id
	}
	for _, id := range ds.InstrumentIDs {
		if id = strings.TrimSpace(id); id != "" {
			return id
		}
	}
	segs := strings.FieldsFunc(ds.CreationLocation, func(r rune) bool { return r == '/' })
	if len(segs) > 0 {
		return strings.TrimSpace(segs[len(segs)-1])
	}
	return ""
}

// embeddedURL finds a URL inside a citation text (that holds no DOI: see
// metadata.FindDOI).
var embeddedURL = regexp.MustCompile(`https?://[^\s"'<>]+`)

// related implements the related-identifier rule of ToDataset.
func (ds *Dataset) related() []*fairwayv1.RelatedIdentifier {
	var out []*fairwayv1.RelatedIdentifier
	seen := map[[2]string]bool{}
	add := func(raw, relation string) {
		id, typ := metadata.ClassifyIdentifier(raw)
		if id == "" || seen[[2]string{id, relation}] {
			return
		}
		seen[[2]string{id, relation}] = true
		out = append(out, &fairwayv1.RelatedIdentifier{Identifier: id, Type: typ, Relation: relation})
	}
	for _, id := range ds.InputDatasets {
		add(id, RelationIsDerivedFrom)
	}
	for _, id := range ds.UsedSoftware {
		add(id, RelationIsCompiledBy)
	}
	for _, r := range ds.Relationships {
		add(r.PID, strings.TrimSpace(r.Relationship))
	}
	for _, id := range ds.PIDArray {
		add(id, RelationHasPart)
	}
	for _, id := range ds.DatasetPids {
		add(id, RelationHasPart)
	}
	for _, cite := range ds.RelatedPublications {
		if doi, ok := metadata.FindDOI(cite); ok {
			add(doi, RelationIsSupplementTo)
		} else if m := embeddedURL.FindString(cite); m != "" {
			add(strings.TrimRight(m, ".,;)]"), RelationIsSupplementTo)
		}
	}
	return out
}

// splitList splits a ";"-separated SciCat list, trimming and dropping empty
// entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
