package samplefeed

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/metadata"
)

// Corpus defaults.
const (
	// DefaultDeletedEvery is the DeletedEvery that NewCorpus sets.
	DefaultDeletedEvery = 17
	// DefaultStep is the datestamp spacing used when Corpus.Step is zero.
	DefaultStep = 10 * time.Second
	// DOIPrefix is DataCite's test prefix, used for every generated DOI.
	DOIPrefix = "10.5072"
	// IdentifierPrefix prefixes the DOI in OAI identifiers.
	IdentifierPrefix = "oai:sample.fairway:"
	// EmbargoPercent is the share of records under embargo.
	EmbargoPercent = 20
)

// DefaultBaseDate is the datestamp of record 0 when Corpus.BaseDate is zero.
var DefaultBaseDate = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Corpus is a deterministic, virtual collection of photon/neutron datasets:
// record i is generated from (Seed, i) on demand, so a corpus of any size costs
// no memory. Datestamps increase strictly with i.
//
// A Corpus either belongs to one facility (Facility set to its slug) or, with
// Facility empty, cycles through Facilities: record i belongs to
// Facilities[i % len(Facilities)].
type Corpus struct {
	// Seed selects the generated content.
	Seed int64
	// Size is the number of records, >= 0.
	Size int
	// DeletedEvery makes every Nth record (i % N == N-1) a deleted record;
	// 0 means none. NewCorpus sets DefaultDeletedEvery (17).
	DeletedEvery int
	// Facility is the slug of the only facility of the corpus (see
	// Facilities); empty cycles through all of them.
	Facility string
	// BaseDate is the datestamp of record 0, truncated to the second.
	// Zero means DefaultBaseDate (2025-01-01T00:00:00Z).
	BaseDate time.Time
	// Step is the interval between the datestamps of consecutive records, a
	// whole number of seconds. Zero means DefaultStep (10s).
	Step time.Duration
}

// NewCorpus returns a corpus of size records over all facilities, with
// DeletedEvery set to DefaultDeletedEvery and the default dates.
func NewCorpus(seed int64, size int) Corpus {
	return Corpus{Seed: seed, Size: size, DeletedEvery: DefaultDeletedEvery}
}

// Validate reports an invalid field.
func (c Corpus) Validate() error {
	if c.Size < 0 {
		return errors.New("samplefeed: corpus Size must not be negative")
	}
	if c.DeletedEvery < 0 {
		return errors.New("samplefeed: corpus DeletedEvery must not be negative")
	}
	if c.Facility != "" {
		if _, ok := FacilityBySlug(c.Facility); !ok {
			return fmt.Errorf("samplefeed: unknown facility %q", c.Facility)
		}
	}
	if c.Step < 0 || c.Step%time.Second != 0 {
		return fmt.Errorf("samplefeed: corpus Step %v is not a whole number of seconds", c.Step)
	}
	return nil
}

func (c Corpus) base() time.Time {
	if c.BaseDate.IsZero() {
		return DefaultBaseDate
	}
	return c.BaseDate.UTC().Truncate(time.Second)
}

func (c Corpus) step() time.Duration {
	if c.Step == 0 {
		return DefaultStep
	}
	return c.Step
}

// Facilities returns the facilities of the corpus: the one named by
// c.Facility, or all of them.
func (c Corpus) Facilities() []Facility {
	if c.Facility != "" {
		if f, ok := FacilityBySlug(c.Facility); ok {
			return []Facility{f}
		}
	}
	return Facilities
}

// FacilityOf returns the facility of record i.
func (c Corpus) FacilityOf(i int) Facility {
	fs := c.Facilities()
	n := len(fs)
	return fs[((i%n)+n)%n]
}

// Datestamp returns the datestamp of record i.
func (c Corpus) Datestamp(i int) time.Time {
	return c.base().Add(time.Duration(i) * c.step())
}

// Deleted reports whether record i is a deleted record.
func (c Corpus) Deleted(i int) bool {
	return c.DeletedEvery > 0 && i%c.DeletedEvery == c.DeletedEvery-1
}

// DeletedCount returns the number of deleted records in the corpus.
func (c Corpus) DeletedCount() int {
	if c.DeletedEvery <= 0 {
		return 0
	}
	return c.Size / c.DeletedEvery
}

// DOI returns the DOI of record i, e.g. "10.5072/esrf.42".
func (c Corpus) DOI(i int) string {
	return DOIPrefix + "/" + c.FacilityOf(i).Slug + "." + strconv.Itoa(i)
}

// Identifier returns the OAI identifier of record i.
func (c Corpus) Identifier(i int) string { return IdentifierPrefix + c.DOI(i) }

// IndexOf returns the index of the record with the given OAI identifier, and
// false when the identifier does not belong to the corpus.
func (c Corpus) IndexOf(identifier string) (int, bool) {
	doi, ok := strings.CutPrefix(identifier, IdentifierPrefix+DOIPrefix+"/")
	if !ok {
		return 0, false
	}
	dot := strings.LastIndexByte(doi, '.')
	if dot < 0 {
		return 0, false
	}
	num := doi[dot+1:]
	if num == "" || (len(num) > 1 && num[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= c.Size || c.FacilityOf(i).Slug != doi[:dot] {
		return 0, false
	}
	return i, true
}

// Subject is a DataCite subject.
type Subject struct {
	// Value is the subject text.
	Value string
	// Scheme is the subjectScheme attribute ("PaNET", "Instrument"); empty
	// for a free keyword.
	Scheme string
	// SchemeURI is the schemeURI attribute; may be empty.
	SchemeURI string
	// ValueURI is the valueURI attribute (a full PaNET IRI); may be empty.
	ValueURI string
}

// Creator is a dataset creator.
type Creator struct {
	// GivenName is the creator's given name.
	GivenName string
	// FamilyName is the creator's family name.
	FamilyName string
	// ORCID is the ORCID iD in the "0000-0002-1825-0097" form (check digit
	// valid); empty when the creator has none (about 15%).
	ORCID string
	// Affiliation is the facility's full name.
	Affiliation string
}

// RelatedIdentifier is a DataCite related identifier.
type RelatedIdentifier struct {
	// Identifier is the related identifier, e.g. a DOI without prefix URL.
	Identifier string
	// IdentifierType is the relatedIdentifierType, e.g. "DOI".
	IdentifierType string
	// RelationType is "IsCitedBy" or "IsSupplementTo".
	RelationType string
}

// SampleRecord is one generated dataset. For a deleted record only Index,
// Identifier, DOI, Datestamp, Deleted and Facility are set.
type SampleRecord struct {
	// Index is the record's position i in the corpus.
	Index int
	// Identifier is the OAI identifier: IdentifierPrefix + DOI.
	Identifier string
	// DOI is "10.5072/<facility slug>.<i>".
	DOI string
	// Datestamp is the OAI datestamp; it increases with Index.
	Datestamp time.Time
	// Deleted marks a deleted record (header only).
	Deleted bool
	// Facility is the publishing facility.
	Facility Facility

	// Instrument is the instrument (beamline) name, e.g. "ID02".
	Instrument string
	// Techniques are the techniques of the dataset (1 or 2): the ground truth
	// a technique tagger should find from Subjects, Title and Description.
	Techniques []Technique
	// Subjects hold the techniques in one of three forms each (PaNET subject
	// with valueURI, bare PaNET id, free-text label or acronym), followed by
	// free keywords and the instrument.
	Subjects []Subject
	// Sample is the sample description used in the title, e.g. "lysozyme crystals".
	Sample string
	// Title is "<technique> of <sample>[ <condition>] at <instrument>".
	Title string
	// Description is a two- or three-sentence abstract.
	Description string
	// Creators are the 1 to 4 creators.
	Creators []Creator
	// PublicationYear is the year of Issued.
	PublicationYear int
	// Created is the date the data were collected (DataCite date type Created).
	Created time.Time
	// Issued is the publication date (DataCite date type Issued), the day of
	// Datestamp.
	Issued time.Time
	// EmbargoEnd is the end of the embargo (DataCite date type Available);
	// zero for open-access records.
	EmbargoEnd time.Time
	// RelatedPublication is a publication citing or supplemented by the
	// dataset (about 35% of records); nil otherwise.
	RelatedPublication *RelatedIdentifier
	// ProposalID is the beamtime proposal, e.g. "ESRF-241234".
	ProposalID string
	// Size is the human-readable data volume, e.g. "12.4 GB".
	Size string
	// CollectedEnd is the last day of data collection, which began on
	// Created (DataCite date type Collected, "Created/CollectedEnd").
	CollectedEnd time.Time
	// Format is the data format's name and MediaType its media type:
	// NeXus/HDF5 (MediaTypeHDF5) mostly, TIFF image stacks (image/tiff) for
	// every fourth record.
	Format, MediaType string
	// Contact is whom to ask about the dataset: the facility's data office.
	Contact Contact
}

// MediaTypeHDF5 is the media type of the corpus' data files.
const MediaTypeHDF5 = "application/x-hdf5"

// Contact is a contact point: a name and an e-mail address (at a
// subdomain of example.org, reserved for examples).
type Contact struct {
	Name  string
	Email string
}

// Embargoed reports whether the record is under embargo.
func (r SampleRecord) Embargoed() bool { return !r.EmbargoEnd.IsZero() }

// rng is a SplitMix64 generator: small, fast and good enough for fake data.
type rng struct{ s uint64 }

func newRNG(seed int64, i int) rng {
	r := rng{s: uint64(seed)*0x9E3779B97F4A7C15 ^ 0xD1B54A32D192ED03}
	r.s ^= r.next() + uint64(i)*0xBF58476D1CE4E5B9
	return r
}

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// intn returns a number in [0, n) for n > 0.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// chance returns true with the given percentage.
func (r *rng) chance(percent int) bool { return r.intn(100) < percent }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// Record returns record i (0 <= i < Size; other values still yield a
// deterministic record). The result depends only on the corpus fields and i.
func (c Corpus) Record(i int) SampleRecord {
	fac := c.FacilityOf(i)
	doi := c.DOI(i)
	rec := SampleRecord{
		Index:      i,
		Identifier: IdentifierPrefix + doi,
		DOI:        doi,
		Datestamp:  c.Datestamp(i),
		Deleted:    c.Deleted(i),
		Facility:   fac,
	}
	if rec.Deleted {
		return rec
	}
	r := newRNG(c.Seed, i)

	inst := pick(&r, fac.Instruments)
	rec.Instrument = inst.Name
	first := inst.Techniques[r.intn(len(inst.Techniques))]
	ids := []string{first}
	if len(inst.Techniques) > 1 && r.chance(40) {
		second := inst.Techniques[r.intn(len(inst.Techniques))]
		if second != first {
			ids = append(ids, second)
		}
	}
	for _, id := range ids {
		if t, ok := TechniqueByID(id); ok {
			rec.Techniques = append(rec.Techniques, t)
		}
	}
	primary := rec.Techniques[0]

	smp := pick(&r, samples)
	rec.Sample = smp.name
	cond := ""
	if r.chance(40) {
		cond = " " + pick(&r, conditions)
	}
	rec.Title = primary.Display + " of " + smp.name + cond + " at " + inst.Name

	rec.Issued = time.Date(rec.Datestamp.Year(), rec.Datestamp.Month(), rec.Datestamp.Day(), 0, 0, 0, 0, time.UTC)
	rec.Created = rec.Issued.AddDate(0, 0, -(30 + r.intn(700)))
	rec.PublicationYear = rec.Issued.Year()
	if r.chance(EmbargoPercent) {
		rec.EmbargoEnd = rec.Issued.AddDate(2+r.intn(3), 0, r.intn(365))
	}
	rec.ProposalID = fmt.Sprintf("%s-%02d%04d", strings.ReplaceAll(fac.Acronym, " ", ""), rec.Created.Year()%100, r.intn(10000))
	rec.Size = fmt.Sprintf("%d.%d GB", 1+r.intn(900), r.intn(10))

	// 1 to 4 creators, fewer more often: 40%, 30%, 20%, 10%.
	nCreators := 1
	switch k := r.intn(10); {
	case k >= 9:
		nCreators = 4
	case k >= 7:
		nCreators = 3
	case k >= 4:
		nCreators = 2
	}
	for k := 0; k < nCreators; k++ {
		cr := Creator{GivenName: pick(&r, givenNames), FamilyName: pick(&r, familyNames), Affiliation: fac.Name}
		if r.chance(85) {
			cr.ORCID = randomORCID(&r)
		}
		rec.Creators = append(rec.Creators, cr)
	}

	for _, t := range rec.Techniques {
		switch r.intn(3) {
		case 0:
			rec.Subjects = append(rec.Subjects, Subject{Value: t.Label, Scheme: "PaNET", SchemeURI: PaNETBase, ValueURI: t.IRI()})
		case 1:
			rec.Subjects = append(rec.Subjects, Subject{Value: t.ID})
		default:
			v := t.Display
			if t.Acronym != "" && r.chance(50) {
				v = t.Acronym
			}
			rec.Subjects = append(rec.Subjects, Subject{Value: v})
		}
	}
	kw := smp.keywords
	if r.chance(50) {
		kw = kw[:1]
	}
	for _, k := range kw {
		rec.Subjects = append(rec.Subjects, Subject{Value: k})
	}
	probe := "synchrotron radiation"
	if primary.Probe == "neutron" {
		probe = "neutron scattering"
	} else if fac.Slug == "euxfel" {
		probe = "free-electron laser"
	}
	rec.Subjects = append(rec.Subjects, Subject{Value: probe})
	rec.Subjects = append(rec.Subjects, Subject{Value: fac.Acronym + " " + inst.Name, Scheme: "Instrument"})

	if r.chance(35) {
		rel := "IsCitedBy"
		if r.chance(50) {
			rel = "IsSupplementTo"
		}
		rec.RelatedPublication = &RelatedIdentifier{
			Identifier:     fmt.Sprintf("%s/pub.%s.%d", DOIPrefix, fac.Slug, 100000+r.intn(900000)),
			IdentifierType: "DOI",
			RelationType:   rel,
		}
	}

	var d strings.Builder
	d.Grow(600)
	fmt.Fprintf(&d, "This dataset contains %s from %s measurements on %s%s at the %s instrument of %s, proposal %s.",
		pick(&r, dataContents), primary.Label, smp.name, cond, inst.Name, fac.Acronym, rec.ProposalID)
	acr := ""
	if primary.Acronym != "" {
		acr = " by " + primary.Acronym
	}
	fmt.Fprintf(&d, " The experiment was designed %s%s, with %d hours of beamtime.", pick(&r, purposes), acr, 8+r.intn(9)*8)
	switch {
	case rec.Embargoed():
		fmt.Fprintf(&d, " The data are under embargo until %s, in accordance with the %s data policy.", rec.EmbargoEnd.Format("2006-01-02"), fac.Acronym)
	case len(rec.Techniques) > 1:
		fmt.Fprintf(&d, " Complementary %s data were recorded during the same experiment.", rec.Techniques[1].Label)
	}
	rec.Description = d.String()

	// Derived from the index, not drawn, so that the values drawn above stay
	// those of earlier versions of the corpus.
	rec.CollectedEnd = rec.Created.AddDate(0, 0, 1+i%3)
	rec.Format, rec.MediaType = "NeXus/HDF5", MediaTypeHDF5
	if i%4 == 3 {
		rec.Format, rec.MediaType = "TIFF", "image/tiff"
	}
	rec.Contact = Contact{Name: fac.Acronym + " data office", Email: "dataoffice@" + fac.Slug + ".example.org"}
	return rec
}

// randomORCID returns a random ORCID iD in the 0000-0001 to 0000-0003 blocks,
// with a correct check digit.
func randomORCID(r *rng) string {
	var digits [15]byte
	copy(digits[:], "0000000")
	digits[7] = byte('1' + r.intn(3))
	for k := 8; k < 15; k++ {
		digits[k] = byte('0' + r.intn(10))
	}
	check, _ := metadata.ORCIDCheckDigit(string(digits[:]))
	s := string(digits[:]) + string(check)
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}
