package readmodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/klauspost/compress/s2"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// The bbolt file beside the index holds the records (bucket records: key →
// stored record), how many live records each facility and technique has
// (bucket counts: countFacility or countTechnique and the value → 8 bytes),
// and what the model knows of itself (bucket meta).
var (
	bucketRecords = []byte("records")
	bucketCounts  = []byte("counts")
	bucketMeta    = []byte("meta")
)

// Prefixes of the keys of the counts bucket.
const (
	countFacility  = 'f'
	countTechnique = 't'
	countQuality   = 'q' // see qualityKey
)

// Keys of the meta bucket (and, metaPosition, of the index's internal
// storage: both commit the position with the data they hold).
var (
	metaSchema   = []byte("schema")   // SchemaVersion, decimal
	metaPosition = []byte("position") // catalogue sequence applied last, 8 bytes big-endian
	metaStream   = []byte("stream")   // the catalogue stream's creation time (RFC 3339, nanoseconds)
	metaSkipped  = []byte("skipped")  // entries skipped because they could not be read, 8 bytes
)

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// counter adds up the changes of a batch to the live counts, then stores
// them in its transaction.
type counter struct {
	b     *bolt.Bucket
	delta map[string]int64
}

func newCounter(b *bolt.Bucket) *counter { return &counter{b: b, delta: map[string]int64{}} }

// add counts r (a live record only) n times more.
func (c *counter) add(r *Record, n int64) {
	if r.Deleted {
		return
	}
	if r.Facility != "" {
		c.delta[string(countFacility)+r.Facility] += n
		c.addQuality(r, n)
	}
	for _, t := range r.Techniques {
		c.delta[string(countTechnique)+t] += n
	}
}

func (c *counter) store() error {
	for k, d := range c.delta {
		if d == 0 {
			continue
		}
		v := int64(readU64(c.b.Get([]byte(k)))) + d
		var err error
		if v <= 0 {
			err = c.b.Delete([]byte(k))
		} else {
			err = c.b.Put([]byte(k), u64(uint64(v)))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// storedVersion begins every stored record (2: with its quality; 3: the
// entry S2-compressed).
const storedVersion = 3

// maxEntryBytes bounds a stored entry once decoded (the bus's largest
// payload).
const maxEntryBytes = 64 << 20

// errCorrupt says a stored record cannot be read.
var errCorrupt = errors.New("readmodel: stored record unreadable")

// encodeRecord returns the stored form of r with entry, the entry's
// protobuf bytes as published on the stream: a version byte, the
// sequence, the datestamp (Unix seconds), a flag byte, the facility, feed
// and DOI, the techniques, the quality (score, dimensions, failed checks),
// then the entry bytes compressed with S2 (block format; a catalogue entry
// shrinks to about two fifths). Everything a record holds but the entry
// is read without decoding the entry.
func encodeRecord(r *Record, entry []byte) []byte {
	entry = s2.Encode(nil, entry)
	n := 1 + 3*binary.MaxVarintLen64 + 1 + len(r.Facility) + len(r.Feed) + len(r.DOI) + 4*binary.MaxVarintLen64 + r.quality.size() + len(entry)
	for _, t := range r.Techniques {
		n += len(t) + binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, storedVersion)
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendVarint(b, r.Datestamp.Unix())
	var flags byte
	if r.Deleted {
		flags |= 1
	}
	b = append(b, flags)
	for _, s := range []string{r.Facility, r.Feed, r.DOI} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Techniques)))
	for _, t := range r.Techniques {
		b = appendString(b, t)
	}
	b = r.quality.append(b)
	return append(b, entry...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeRecord reads a stored record of key; with entry it decodes the
// entry too.
func decodeRecord(key string, b []byte, entry bool) (Record, error) {
	d := decoder{b: b}
	if v := d.byte(); v != storedVersion {
		return Record{}, fmt.Errorf("%w: %.200s: version %d", errCorrupt, key, v)
	}
	r := Record{Key: key, Seq: d.uvarint()}
	r.Datestamp = time.Unix(d.varint(), 0).UTC()
	r.Deleted = d.byte()&1 != 0
	r.Facility, r.Feed, r.DOI = d.string(), d.string(), d.string()
	if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
		r.Techniques = make([]string, n)
		for i := range r.Techniques {
			r.Techniques[i] = d.string()
		}
	} else if n > 0 {
		d.err = true
	}
	r.quality = d.quality()
	if d.err {
		return Record{}, fmt.Errorf("%w: %.200s", errCorrupt, key)
	}
	if entry {
		r.Entry = new(fairwayv1.CatalogueEntry)
		if n, err := s2.DecodedLen(d.b); err != nil {
			return Record{}, fmt.Errorf("%w: %.200s: %w", errCorrupt, key, err)
		} else if n > maxEntryBytes {
			return Record{}, fmt.Errorf("%w: %.200s: an entry of %d bytes (at most %d)", errCorrupt, key, n, maxEntryBytes)
		}
		raw, err := s2.Decode(nil, d.b)
		if err != nil {
			return Record{}, fmt.Errorf("%w: %.200s: %w", errCorrupt, key, err)
		}
		if err := proto.Unmarshal(raw, r.Entry); err != nil {
			return Record{}, fmt.Errorf("%w: %.200s: %w", errCorrupt, key, err)
		}
	}
	return r, nil
}

// decoder reads the stored form; a read past its end sets err.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// maxKey bounds the dataset key the model indexes: the normaliser builds
// keys from DOIs and source identifiers, which are short; a longer one is
// hostile, and skipped.
const maxKey = 4096

// record returns the record of entry at catalogue sequence seq stored at
// t, and the document the index holds for it.
func record(e *fairwayv1.CatalogueEntry, seq uint64, t time.Time) (Record, document) {
	ds := e.GetDataset().GetDataset()
	stamp := t
	if p := e.GetPublishedAt(); p != nil && p.IsValid() && indexable(p.AsTime()) {
		stamp = p.AsTime()
	}
	r := Record{
		Key:       e.GetKey(),
		Seq:       seq,
		Deleted:   e.GetDeleted(),
		Facility:  strings.ToLower(strings.TrimSpace(ds.GetFacility())),
		Feed:      ds.GetFeedId(),
		DOI:       ds.GetDoi(),
		Datestamp: stamp.UTC().Truncate(time.Second),
		quality:   qualityOf(e.GetDataset()),
	}
	var ids []string
	for _, t := range e.GetDataset().GetTechniques() {
		for _, iri := range append([]string{t.GetIri()}, t.GetBroader()...) {
			if iri == "" || len(iri) > maxKey || len(r.Techniques) >= maxValues {
				continue
			}
			r.Techniques = append(r.Techniques, iri)
			if id := bareID(iri); id != "" {
				ids = append(ids, id)
			}
		}
		if id := normalID(t.GetId()); id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(r.Techniques)
	r.Techniques = slices.Compact(r.Techniques)
	slices.Sort(ids)
	ids = slices.Compact(ids)

	d := document{
		Key:          r.Key,
		Facility:     r.Facility,
		Feed:         r.Feed,
		DOI:          strings.ToLower(r.DOI),
		Technique:    r.Techniques,
		TechniqueID:  ids,
		Datestamp:    r.Datestamp,
		Issued:       IssuedOf(e.GetDataset().GetDataset(), r.Datestamp),
		Seq:          float64(seq),
		Deleted:      r.Deleted,
		AccessRights: ds.GetAccessRights(),
		Title:        bound(ds.GetTitle(), maxTitle),
		Description:  bound(ds.GetDescription(), maxDescription),
	}
	for _, s := range ds.GetSubjects() {
		if s.GetValue() != "" && len(d.Keywords) < maxValues {
			d.Keywords = append(d.Keywords, bound(s.GetValue(), maxTitle))
		}
	}
	for _, p := range ds.GetCreators() {
		name := p.GetName()
		if name == "" {
			name = strings.TrimSpace(p.GetGivenName() + " " + p.GetFamilyName())
		}
		if name != "" && len(d.Creators) < maxValues {
			d.Creators = append(d.Creators, bound(name, maxTitle))
		}
	}
	d.addSearch(e)
	return r, d
}

// What the index takes of one dataset's text (the entry itself is kept
// whole): a hostile entry of megabytes of words must not blow up the index.
const (
	maxTitle       = 4 << 10
	maxDescription = 64 << 10
	maxValues      = 1000 // keywords, creators, techniques
)

// bound returns s cut to at most n bytes, at a character boundary.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// The datetimes the index holds (nanoseconds since 1970 in an int64, as
// bleve bounds them).
var (
	minTime = query.MinRFC3339CompatibleTime
	maxTime = query.MaxRFC3339CompatibleTime
)

// indexable reports whether the index can hold t.
func indexable(t time.Time) bool { return t.After(minTime) && t.Before(maxTime) }

// maxAhead is how far after its datestamp a dataset's date may lie
// (IssuedOf): an embargo's release or a publication year announced ahead.
const maxAhead = 366 * 24 * time.Hour

// IssuedOf returns the date of a dataset as search filters, orders and
// counts it by year: when it was issued, else the first day of its
// publication year, else when it was created, else when it was made
// available, else datestamp (its time in the catalogue). A date the index
// cannot hold is passed over, and so is one more than a year after the
// datestamp (maxAhead): no record changed in its feed a year before the
// dataset it describes was issued, so such a date is an error or a
// facility's attempt to stay at the top of every listing by date. UTC, truncated to the second.
func IssuedOf(ds *fairwayv1.Dataset, datestamp time.Time) time.Time {
	var year *timestamppb.Timestamp
	if y := ds.GetPublicationYear(); y > 0 && y < 10000 {
		year = timestamppb.New(time.Date(int(y), 1, 1, 0, 0, 0, 0, time.UTC))
	}
	latest := datestamp.Add(maxAhead)
	for _, t := range []*timestamppb.Timestamp{ds.GetIssued(), year, ds.GetCreated(), ds.GetAvailable()} {
		if t.IsValid() && indexable(t.AsTime()) && !t.AsTime().After(latest) {
			return t.AsTime().UTC().Truncate(time.Second)
		}
	}
	return datestamp
}

// bareID returns the PaNET id an IRI ends with (PaNET01188 for
// http://purl.org/pan-science/PaNET/PaNET01188), or "".
func bareID(iri string) string {
	i := strings.LastIndexAny(iri, "/#")
	return normalID(iri[i+1:])
}

// normalID returns s as a PaNET id ("PaNET" and digits, whatever the case
// of the letters), or "" when it is not one.
func normalID(s string) string {
	if len(s) <= 5 || !strings.EqualFold(s[:5], "panet") {
		return ""
	}
	for _, c := range s[5:] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return "PaNET" + s[5:]
}
