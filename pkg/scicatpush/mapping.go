package scicatpush

import (
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/proto/fairwayv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Document is a SciCat v4 dataset as the client sends it (see
// docs/scicat-push.md for where each field comes from).
type Document struct {
	PID          string   `json:"pid,omitempty"`
	Type         string   `json:"type"`
	Owner        string   `json:"owner"`
	OwnerEmail   string   `json:"ownerEmail,omitempty"`
	OrcidOfOwner string   `json:"orcidOfOwner,omitempty"`
	ContactEmail string   `json:"contactEmail"`
	SourceFolder string   `json:"sourceFolder"`
	Size         int64    `json:"size"`
	NumberFiles  int      `json:"numberOfFiles"`
	CreationTime string   `json:"creationTime"`
	DatasetName  string   `json:"datasetName"`
	Description  string   `json:"description,omitempty"`
	Keywords     []string `json:"keywords"`
	License      string   `json:"license,omitempty"`
	IsPublished  bool     `json:"isPublished"`
	OwnerGroup   string   `json:"ownerGroup"`
	AccessGroups []string `json:"accessGroups"`
	// Raw datasets.
	PrincipalInvestigator string `json:"principalInvestigator,omitempty"`
	CreationLocation      string `json:"creationLocation,omitempty"`
	EndTime               string `json:"endTime,omitempty"`
	// Derived datasets.
	Investigator  string   `json:"investigator,omitempty"`
	InputDatasets []string `json:"inputDatasets,omitempty"`
	UsedSoftware  []string `json:"usedSoftware,omitempty"`

	Techniques         []Technique    `json:"techniques"`
	ScientificMetadata map[string]any `json:"scientificMetadata"`
}

// Technique is SciCat's technique of a dataset.
type Technique struct {
	PID  string `json:"pid"`
	Name string `json:"name"`
}

// Dataset types.
const (
	TypeRaw     = "raw"
	TypeDerived = "derived"
)

// UnknownSoftware is the usedSoftware of a derived dataset (SciCat
// requires one; the canonical dataset does not say).
const UnknownSoftware = "not recorded"

// PID returns the SciCat pid of a dataset key: the DOI of a key
// "doi:<doi>" (SciCat v4 accepts a client-chosen pid, slashes included,
// unless the site sets a pid validation regex), else (and for a DOI that
// is not valid UTF-8 or holds control characters) PIDPrefix followed by
// the first 32 hex digits of the SHA-256 of the key. The same key always
// gives the same pid.
func (c *Client) PID(key string) string { return PID(c.cfg.PIDPrefix, key) }

// PID is Client.PID with an explicit prefix.
func PID(prefix, key string) string {
	if doi, ok := strings.CutPrefix(key, "doi:"); ok && doi != "" && utf8.ValidString(doi) &&
		strings.IndexFunc(doi, unicode.IsControl) < 0 {
		return doi
	}
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:16])
}

// Document maps a canonical dataset and its PaNET techniques to the
// SciCat dataset Upsert sends.
func (c *Client) Document(ds *fairwayv1.Dataset, techniques []*fairwayv1.Technique) (Document, error) {
	if ds.GetKey() == "" {
		return Document{}, ErrNoKey
	}
	d := Document{
		PID:          c.PID(ds.GetKey()),
		Type:         TypeRaw,
		OwnerGroup:   c.cfg.OwnerGroup,
		AccessGroups: append([]string{}, c.cfg.AccessGroups...),
		IsPublished:  true,
		DatasetName:  first(ds.GetTitle(), ds.GetDoi(), ds.GetSourceIdentifier(), ds.GetKey()),
		Description:  ds.GetDescription(),
		License:      ds.GetLicense(),
		Keywords:     []string{},
		Techniques:   []Technique{},
	}
	facility := first(ds.GetFacility(), "unknown")

	// People.
	var contactName, contactEmail string
	for _, ct := range ds.GetContacts() {
		if contactName == "" {
			contactName = strings.TrimSpace(ct.GetName())
		}
		if contactEmail == "" && plausibleEmail(ct.GetEmail()) {
			contactEmail = strings.TrimSpace(ct.GetEmail())
		}
	}
	var creator *fairwayv1.Person
	for _, p := range ds.GetCreators() {
		if creator == nil && personName(p) != "" {
			creator = p
		}
		if contactEmail == "" && plausibleEmail(p.GetEmail()) {
			contactEmail = strings.TrimSpace(p.GetEmail())
		}
	}
	d.Owner = first(contactName, personName(creator), facility)
	d.OwnerEmail = contactEmail
	if contactName == "" && creator != nil {
		d.OrcidOfOwner = creator.GetOrcid()
	}
	d.ContactEmail = first(contactEmail, c.cfg.ContactEmail)
	pi := first(personName(creator), d.Owner)

	// Where and when.
	d.SourceFolder = strings.TrimRight(c.cfg.SourceFolder, "/") + "/" + folderName(facility)
	d.CreationTime = creationTime(ds)
	for _, dist := range ds.GetDistributions() {
		d.NumberFiles++
		d.Size += max(dist.GetByteSize(), 0)
	}

	// Raw or derived.
	var inputs []string
	for _, r := range ds.GetRelated() {
		if strings.EqualFold(r.GetRelation(), "IsDerivedFrom") && r.GetIdentifier() != "" {
			inputs = append(inputs, r.GetIdentifier())
		}
	}
	if len(inputs) > 0 {
		d.Type = TypeDerived
		d.Investigator = pi
		d.InputDatasets = inputs
		d.UsedSoftware = []string{UnknownSoftware}
	} else {
		d.PrincipalInvestigator = pi
		d.CreationLocation = first(ds.GetInstrument(), facility)
		if t := ds.GetCollectedEnd(); t != nil {
			d.EndTime = t.AsTime().UTC().Format(time.RFC3339)
		}
	}

	// Keywords and techniques.
	seen := map[string]bool{}
	addKeyword := func(k string) {
		k = strings.TrimSpace(k)
		if k != "" && !seen[strings.ToLower(k)] {
			seen[strings.ToLower(k)] = true
			d.Keywords = append(d.Keywords, k)
		}
	}
	var techIRIs []string
	for _, t := range techniques {
		if t.GetIri() == "" {
			continue
		}
		techIRIs = append(techIRIs, t.GetIri())
		d.Techniques = append(d.Techniques, Technique{PID: t.GetIri(), Name: first(t.GetLabel(), t.GetId(), t.GetIri())})
		addKeyword(t.GetLabel())
	}
	for _, s := range ds.GetSubjects() {
		addKeyword(s.GetValue())
	}

	// What SciCat has no field for.
	iri, err := dcat.DatasetIRI(ds, dcat.Options{BaseURL: c.cfg.NodeBaseURL})
	if err != nil {
		return Document{}, err
	}
	meta := map[string]any{
		"dcatIri":     iri,
		"fairwayKey":  ds.GetKey(),
		"facility":    facility,
		"contentHash": ds.GetContentHash(),
	}
	set := func(k, v string) {
		if v != "" {
			meta[k] = v
		}
	}
	set("doi", ds.GetDoi())
	set("landingPage", ds.GetLandingPage())
	set("accessRights", ds.GetAccessRights())
	set("instrument", ds.GetInstrument())
	set("instrumentPid", ds.GetInstrumentPid())
	set("proposalId", ds.GetProposalId())
	set("publisher", ds.GetPublisher())
	if t := ds.GetCollectedStart(); t != nil {
		meta["collectedStart"] = t.AsTime().UTC().Format(time.RFC3339)
	}
	if t := ds.GetCollectedEnd(); t != nil {
		meta["collectedEnd"] = t.AsTime().UTC().Format(time.RFC3339)
	}
	if t := ds.GetEmbargoUntil(); t != nil {
		meta["embargoUntil"] = t.AsTime().UTC().Format(time.RFC3339)
	}
	if len(techIRIs) > 0 {
		meta["panetTechniques"] = techIRIs
	}
	var dists []map[string]any
	for _, dist := range ds.GetDistributions() {
		m := map[string]any{}
		for k, v := range map[string]string{
			"downloadUrl": dist.GetDownloadUrl(), "accessUrl": dist.GetAccessUrl(),
			"title": dist.GetTitle(), "format": dist.GetFormat(), "mediaType": dist.GetMediaType(),
		} {
			if v != "" {
				m[k] = v
			}
		}
		if dist.GetByteSize() > 0 {
			m["byteSize"] = dist.GetByteSize()
		}
		dists = append(dists, m)
	}
	if len(dists) > 0 {
		meta["distributions"] = dists
	}
	d.ScientificMetadata = meta
	return d, nil
}

// creationTime is when the data was complete: the end of collection, its
// start, the issue date, the modification date, 1 January of the
// publication year, else the Unix epoch (SciCat requires one).
func creationTime(ds *fairwayv1.Dataset) string {
	for _, t := range []*timestamppb.Timestamp{ds.GetCollectedEnd(), ds.GetCollectedStart(), ds.GetIssued(), ds.GetModified()} {
		if t != nil && t.IsValid() {
			return t.AsTime().UTC().Format(time.RFC3339)
		}
	}
	if y := ds.GetPublicationYear(); y > 0 && y < 10000 {
		return time.Date(int(y), 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	return time.Unix(0, 0).UTC().Format(time.RFC3339)
}

func personName(p *fairwayv1.Person) string {
	if p == nil {
		return ""
	}
	if n := strings.TrimSpace(p.GetName()); n != "" {
		return n
	}
	return strings.TrimSpace(strings.TrimSpace(p.GetGivenName()) + " " + strings.TrimSpace(p.GetFamilyName()))
}

// folderName makes a facility name one path segment.
func folderName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return first(strings.Trim(b.String(), "-."), "unknown")
}

// plausibleEmail accepts a bare address with a dotted domain, as SciCat's
// IsEmail validator wants.
func plausibleEmail(s string) bool {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	dom := s[at+1:]
	return strings.Contains(dom, ".") && !strings.HasSuffix(dom, ".") && !strings.HasPrefix(dom, ".")
}

func first(xs ...string) string {
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			return x
		}
	}
	return ""
}
