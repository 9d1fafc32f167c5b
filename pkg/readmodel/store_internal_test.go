package readmodel

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestStoredRecord: a record is stored with its entry compressed and read
// back whole; a stored entry that is not S2, or claims more than the bound
// once decoded, is reported corrupt.
func TestStoredRecord(t *testing.T) {
	e := &fairwayv1.CatalogueEntry{Key: "doi:10.1/a", Turtle: strings.Repeat("<a> <b> \"powder diffraction\" .\n", 200)}
	entry, err := proto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	r := Record{Key: e.Key, Seq: 7, Datestamp: time.Unix(1700000000, 0).UTC(), Facility: "esrf", Feed: "esrf-oai", DOI: "10.1/a", Techniques: []string{"PaNET01188"}}
	stored := encodeRecord(&r, entry)
	if len(stored) > len(entry)/2 {
		t.Errorf("%d bytes stored for an entry of %d", len(stored), len(entry))
	}
	got, err := decodeRecord(e.Key, stored, true)
	if err != nil || !proto.Equal(got.Entry, e) || got.Seq != 7 || got.Facility != "esrf" || got.DOI != "10.1/a" {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if got, err := decodeRecord(e.Key, stored, false); err != nil || got.Entry != nil || got.Feed != "esrf-oai" {
		t.Fatalf("read back without the entry: %+v, %v", got, err)
	}
	head := len(stored) - len(s2.Encode(nil, entry))
	for name, tail := range map[string][]byte{
		"not s2":                {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"past the bound":        {0x81, 0x80, 0x80, 0x20, 0, 0, 0}, // claims 64 MiB and a byte
		"the entry not encoded": entry,
	} {
		bad := append(append([]byte(nil), stored[:head]...), tail...)
		if _, err := decodeRecord(e.Key, bad, true); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: %v, want errCorrupt", name, err)
		}
	}
}

// TestPrepareUndecoded: a catalogue message whose stored bytes the bus could
// not decode removes its key, even when the bytes parse as an entry.
func TestPrepareUndecoded(t *testing.T) {
	entry, err := proto.Marshal(&fairwayv1.CatalogueEntry{Key: "doi:10.1/a"})
	if err != nil {
		t.Fatal(err)
	}
	msg := bus.StoredMessage{Sequence: 4, Data: entry,
		Header: map[string][]string{bus.HeaderKey: {"doi:10.1/a"}, bus.HeaderEncoding: {bus.EncodingS2}}}
	c, err := prepare(msg)
	if err == nil || c.key != "doi:10.1/a" || c.stored != nil {
		t.Fatalf("prepare: %+v, %v; want the change that removes the key, and an error", c, err)
	}
}
