package normaliser

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/datacite"
	"github.com/panosc/fairway/pkg/dublincore"
	"github.com/panosc/fairway/pkg/metadata"
	"github.com/panosc/fairway/pkg/scicatjson"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

var (
	// ErrUnsupportedFormat is returned for a metadata format no reader
	// handles.
	ErrUnsupportedFormat = errors.New("normalise: unsupported metadata format")
	// ErrMalformedRecord is returned when the payload cannot be read in its
	// format; the reader's error is wrapped too and says what is wrong.
	ErrMalformedRecord = errors.New("normalise: malformed record")
	// ErrInvalidRecord is returned when the payload can be read but lacks
	// what a dataset must have (a title; a DOI or a source identifier).
	ErrInvalidRecord = errors.New("normalise: invalid record")
)

// Metadata formats, as RawRecord.MetadataFormat spells them. Any format
// whose name contains "datacite" is read as DataCite.
const (
	FormatOAIDataCite = "oai_datacite"
	FormatDataCite    = "datacite"
	FormatOAIDC       = "oai_dc"
	FormatSciCat      = "scicat"
)

// Normalise maps one raw record to a canonical dataset, judging embargoes
// relative to now.
//
// The reader is chosen by raw.MetadataFormat (case-insensitive): any format
// containing "datacite" (oai_datacite, datacite, oai_datacite3, …) is read by
// package datacite, "oai_dc" by package dublincore, "scicat" by package
// scicatjson; anything else is ErrUnsupportedFormat. A payload the reader
// rejects is ErrMalformedRecord; a dataset without a title, or without both
// a DOI and a source identifier (one the harvester derived from the
// content, Provenance.DerivedIdentifier, does not count), is
// ErrInvalidRecord.
//
// The dataset gets facility, feed, source identifier, metadata format and
// (a copy of) the provenance of the raw record, its Key (metadata.DatasetKey)
// and its ContentHash.
//
// A deleted raw record gives a tombstone: Deleted set, the source fields,
// and the key metadata.DatasetKey("", facility, source identifier) — the
// payload of a deletion is empty, so the DOI is unknown here. The normaliser stage must replace that
// key by the one it recorded for the same source identifier when the record
// was last normalised, so that the tombstone withdraws the right dataset.
//
// Normalise is pure: the only clock is now, which decides whether an
// embargo is still running.
func Normalise(raw *fairwayv1.RawRecord, now time.Time) (*fairwayv1.Dataset, error) {
	if raw == nil {
		return nil, fmt.Errorf("%w: no record", ErrMalformedRecord)
	}
	var d *fairwayv1.Dataset
	if raw.GetDeleted() {
		d = &fairwayv1.Dataset{Deleted: true}
	} else {
		var err error
		if d, err = read(raw, now); err != nil {
			return nil, err
		}
	}
	d.Facility = raw.GetFacility()
	d.FeedId = raw.GetFeedId()
	d.SourceIdentifier = raw.GetSourceIdentifier()
	d.MetadataFormat = raw.GetMetadataFormat()
	if p := raw.GetProvenance(); p != nil {
		d.Provenance = proto.CloneOf(p)
	} else {
		d.Provenance = &fairwayv1.Provenance{FeedId: raw.GetFeedId()}
	}
	d.Provenance.SourceDatestamp = raw.GetDatestamp()
	if payload := raw.GetPayload(); len(payload) > 0 {
		sum := sha256.Sum256(payload)
		d.Provenance.RawSha256 = hex.EncodeToString(sum[:])
	}
	if id := d.SourceIdentifier; id != "" && raw.GetSourceKind() == "oai-pmh" && !d.Deleted &&
		!slices.ContainsFunc(d.Identifiers, func(i *fairwayv1.Identifier) bool { return i.GetValue() == id }) {
		d.Identifiers = append(d.Identifiers, &fairwayv1.Identifier{Value: id, Scheme: metadata.TypeOAI})
	}
	d.Key = metadata.DatasetKey(d.Doi, d.Facility, d.SourceIdentifier)
	if !d.Deleted {
		licenceSPDX(d)
	}
	bound(d)
	if !d.Deleted {
		if err := validate(d); err != nil {
			return nil, err
		}
	}
	h, err := contentHashOwned(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	d.ContentHash = h
	return d, nil
}

// ReasonNoSPDX is the reason of the gap of a licence with no SPDX id the
// normaliser recognises.
const ReasonNoSPDX = "no SPDX licence recognised"

// licenceSPDX fills the SPDX id of the licence when the reader has not
// (metadata.SPDXLicense), or says in a gap that there is none.
func licenceSPDX(d *fairwayv1.Dataset) {
	if d.LicenseSpdx != "" || strings.TrimSpace(d.License) == "" {
		return
	}
	if id, ok := metadata.SPDXLicense(d.License); ok {
		d.LicenseSpdx = id
		return
	}
	d.Gaps = append(d.Gaps, metadata.NewGap("license_spdx", d.License, ReasonNoSPDX))
}

// read parses the payload with the reader of its format and maps it.
func read(raw *fairwayv1.RawRecord, now time.Time) (*fairwayv1.Dataset, error) {
	format := strings.ToLower(strings.TrimSpace(raw.GetMetadataFormat()))
	payload := raw.GetPayload()
	switch {
	case strings.Contains(format, "datacite"):
		r, err := datacite.Parse(payload)
		if err != nil {
			return nil, malformed(raw, err)
		}
		return r.ToDataset(now), nil
	case format == FormatOAIDC:
		r, err := dublincore.Parse(payload)
		if err != nil {
			return nil, malformed(raw, err)
		}
		return r.ToDataset(now), nil
	case format == FormatSciCat:
		r, err := scicatjson.Parse(payload)
		if err != nil {
			return nil, malformed(raw, err)
		}
		return r.ToDataset(now), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedFormat, raw.GetMetadataFormat())
}

func malformed(raw *fairwayv1.RawRecord, err error) error {
	return fmt.Errorf("%w: %s record %q: %w", ErrMalformedRecord, raw.GetMetadataFormat(), raw.GetSourceIdentifier(), err)
}

// validate checks what every dataset must have.
func validate(d *fairwayv1.Dataset) error {
	if strings.TrimSpace(d.Title) == "" {
		return fmt.Errorf("%w: %s record %q has no title", ErrInvalidRecord, d.MetadataFormat, d.SourceIdentifier)
	}
	if d.Doi == "" && strings.TrimSpace(d.SourceIdentifier) == "" {
		return fmt.Errorf("%w: %s record has neither a DOI nor a source identifier", ErrInvalidRecord, d.MetadataFormat)
	}
	if d.Doi == "" && d.GetProvenance().GetDerivedIdentifier() {
		// The harvester made the identifier from the content: it changes
		// with every edit, so without a DOI the record has no identity.
		return fmt.Errorf("%w: %s record has no header identifier and no DOI", ErrInvalidRecord, d.MetadataFormat)
	}
	return nil
}

// ContentHash returns the hex SHA-256 of the canonical content of d: its
// deterministic protobuf encoding without Provenance, ContentHash and the
// datestamps of its Sources, the only fields that depend on when and how
// the record was harvested. Two
// harvests of an unchanged record hash the same. It returns "" when d is nil
// or cannot be encoded (a string that is not valid UTF-8), which Normalise
// never produces.
func ContentHash(d *fairwayv1.Dataset) string {
	h, err := contentHash(d)
	if err != nil {
		return ""
	}
	return h
}

// MappingVersion names the version of the mapping from the source formats
// to the canonical dataset. The content hash covers it: after a change of
// the mapping, a replay of the raw stream emits every dataset again, even
// one whose canonical form happens to come out the same.
const MappingVersion = "3"

func contentHash(d *fairwayv1.Dataset) (string, error) {
	return contentHashWith(MappingVersion, d)
}

func contentHashWith(mapping string, d *fairwayv1.Dataset) (string, error) {
	if d == nil {
		return "", errors.New("no dataset")
	}
	c := proto.CloneOf(d)
	c.Provenance = nil
	c.ContentHash = ""
	for _, src := range c.Sources {
		src.Datestamp = "" // when, like provenance, not what
	}
	return encodeHash(mapping, c, d.GetKey())
}

// contentHashOwned is contentHash of a dataset that nothing else holds yet
// (the one Normalise is making): instead of copying the dataset, it blanks
// the fields the hash leaves out while it encodes, and puts them back.
func contentHashOwned(d *fairwayv1.Dataset) (string, error) {
	prov, hash := d.Provenance, d.ContentHash
	var stamps []string
	if len(d.Sources) > 0 {
		stamps = make([]string, len(d.Sources))
		for i, src := range d.Sources {
			stamps[i] = src.GetDatestamp()
			if src != nil {
				src.Datestamp = ""
			}
		}
	}
	d.Provenance, d.ContentHash = nil, ""
	defer func() {
		d.Provenance, d.ContentHash = prov, hash
		for i, src := range d.Sources {
			if src != nil {
				src.Datestamp = stamps[i]
			}
		}
	}()
	return encodeHash(MappingVersion, d, d.GetKey())
}

// encodeHash hashes the mapping version and the deterministic encoding of
// c, the dataset as the hash covers it.
func encodeHash(mapping string, c *fairwayv1.Dataset, key string) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode dataset %s: %w", key, err)
	}
	h := sha256.New()
	h.Write([]byte("mapping " + mapping + "\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}
