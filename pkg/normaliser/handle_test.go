package normaliser_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// memKeys is an in-memory source-key map.
type memKeys struct {
	m        map[string]string
	puts     int
	get, put error // failures to return
}

func (k *memKeys) Get(_ context.Context, key string) (bus.Entry, error) {
	if k.get != nil {
		return bus.Entry{}, k.get
	}
	v, ok := k.m[key]
	if !ok {
		return bus.Entry{}, fmt.Errorf("key %s: %w", key, bus.ErrNotFound)
	}
	return bus.Entry{Key: key, Value: []byte(v), Revision: 1}, nil
}

func (k *memKeys) Put(_ context.Context, key string, value []byte) (uint64, error) {
	if k.put != nil {
		return 0, k.put
	}
	k.m[key] = string(value)
	k.puts++
	return uint64(k.puts), nil
}

// memOwners is an in-memory ownership record.
type memOwners struct {
	m    map[string]bus.Owner
	fail error
}

func (o *memOwners) Claim(_ context.Context, key, facility, feed string) (bus.Owner, error) {
	if o.fail != nil {
		return bus.Owner{}, o.fail
	}
	if own, ok := o.m[key]; ok {
		return own, nil
	}
	o.m[key] = bus.Owner{Key: key, Facility: facility, Feed: feed}
	return o.m[key], nil
}

func (o *memOwners) Check(_ context.Context, key, facility string) error {
	if o.fail != nil {
		return o.fail
	}
	own, ok := o.m[key]
	if !ok {
		return nil
	}
	return own.Allows(facility)
}

// memSources is an in-memory bucket of sources, revision-checked like the
// bus's.
type memSources struct {
	m   map[string]bus.Entry
	rev uint64
}

func newMemSources() *memSources { return &memSources{m: map[string]bus.Entry{}} }

func (s *memSources) Get(_ context.Context, key string) (bus.Entry, error) {
	e, ok := s.m[key]
	if !ok {
		return bus.Entry{}, fmt.Errorf("key %s: %w", key, bus.ErrNotFound)
	}
	return e, nil
}

func (s *memSources) Create(_ context.Context, key string, value []byte) (uint64, error) {
	if _, ok := s.m[key]; ok {
		return 0, fmt.Errorf("key %s: %w", key, bus.ErrExists)
	}
	s.rev++
	s.m[key] = bus.Entry{Key: key, Value: value, Revision: s.rev}
	return s.rev, nil
}

func (s *memSources) Update(_ context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if e, ok := s.m[key]; !ok || e.Revision != rev {
		return 0, fmt.Errorf("key %s: %w", key, bus.ErrConflict)
	}
	s.rev++
	s.m[key] = bus.Entry{Key: key, Value: value, Revision: s.rev}
	return s.rev, nil
}

func (s *memSources) DeleteAt(_ context.Context, key string, rev uint64) error {
	if e, ok := s.m[key]; !ok || e.Revision != rev {
		return fmt.Errorf("key %s: %w", key, bus.ErrConflict)
	}
	delete(s.m, key)
	return nil
}

// memStream is an in-memory normalised stream: the last message per key,
// stored by publish as the bus stores an event (its ExpectLast checked).
type memStream struct {
	m   map[string]bus.StoredMessage
	seq uint64
}

func newMemStream() *memStream { return &memStream{m: map[string]bus.StoredMessage{}} }

func (s *memStream) Last(_ context.Context, key string) (bus.StoredMessage, error) {
	m, ok := s.m[key]
	if !ok {
		return bus.StoredMessage{}, fmt.Errorf("last of %s: %w", key, bus.ErrNotFound)
	}
	return m, nil
}

// publish stores events one after the other, as the router does, and stops
// at the first whose ExpectLast is not the key's last sequence.
func (s *memStream) publish(events []bus.Event) error {
	for _, ev := range events {
		if ev.ExpectLast != nil && *ev.ExpectLast != s.m[ev.Key].Sequence {
			return bus.Transient(fmt.Errorf("%s: last sequence %d, expected %d", ev.Key, s.m[ev.Key].Sequence, *ev.ExpectLast))
		}
		s.seq++
		s.m[ev.Key] = bus.StoredMessage{
			Subject: bus.Subject(ev.Stream, ev.Key), Sequence: s.seq, Data: ev.Payload,
			Header: nats.Header{bus.HeaderKey: {ev.Key}, bus.HeaderHash: {ev.Hash}},
		}
	}
	return nil
}

// contentHash is the content hash in an event's hash (which also names the
// sequence it follows).
func contentHash(ev bus.Event) string { h, _, _ := strings.Cut(ev.Hash, "@"); return h }

const (
	handleDataCite = `<resource xmlns="http://datacite.org/schema/kernel-4">
  <identifier identifierType="DOI">10.5072/HANDLE.1</identifier>
  <creators><creator><creatorName>Doe, Jane</creatorName></creator></creators>
  <titles><title>Powder diffraction</title></titles>
  <publisher>ESRF</publisher><publicationYear>2024</publicationYear>
  <resourceType resourceTypeGeneral="Dataset">Dataset</resourceType>
</resource>`
	handleDC     = `<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>No DOI yet</dc:title></oai_dc:dc>`
	handleDOIKey = "doi:10.5072/handle.1"
	handleSrcKey = "src:esrf:oai:esrf:1"
)

// sourceKey is the entry of the source-key map for a record of feed f1.
func sourceKey(id string) string { return bus.Digest("f1\x00" + id) }

// TestHandleTable calls the normaliser's handler without a server, over
// in-memory keys and owners: what it emits, what it remembers, and which
// errors are permanent (dead letters) or transient (wait and come again).
func TestHandleTable(t *testing.T) {
	unavailable := errors.New("bucket unavailable")
	type event struct {
		key     string
		deleted bool
	}
	tests := []struct {
		name      string
		payload   []byte // the raw record; nil: built from format and metadata
		format    string
		metadata  string
		facility  string // default ESRF
		deleted   bool
		keys      map[string]string // the source-key map before
		owners    map[string]string // key → facility before
		keysFail  *memKeys          // failures of the source-key map
		ownerFail error
		want      []event
		wantKeys  map[string]string // the source-key map after; nil: as before
		wantOwner map[string]string // key → facility after; nil: as before
		wantErr   []error
	}{
		{
			name: "a new record is claimed and remembered", format: "oai_datacite", metadata: handleDataCite,
			want:      []event{{handleDOIKey, false}},
			wantKeys:  map[string]string{sourceKey("oai:esrf:1"): handleDOIKey},
			wantOwner: map[string]string{handleDOIKey: "ESRF"},
		},
		{
			name: "a known record is not remembered again", format: "oai_datacite", metadata: handleDataCite,
			keys:   map[string]string{sourceKey("oai:esrf:1"): handleDOIKey},
			owners: map[string]string{handleDOIKey: "ESRF"},
			want:   []event{{handleDOIKey, false}},
		},
		{
			name: "a record without a DOI gets a source key", format: "oai_dc", metadata: handleDC,
			want:      []event{{handleSrcKey, false}},
			wantKeys:  map[string]string{sourceKey("oai:esrf:1"): handleSrcKey},
			wantOwner: map[string]string{handleSrcKey: "ESRF"},
		},
		{
			name: "a DOI minted later withdraws the source key", format: "oai_datacite", metadata: handleDataCite,
			keys:   map[string]string{sourceKey("oai:esrf:1"): handleSrcKey},
			owners: map[string]string{handleSrcKey: "ESRF"},
			want:   []event{{handleSrcKey, true}, {handleDOIKey, false}},
			// The old key is kept until its withdrawal is seen stored.
			wantKeys:  map[string]string{sourceKey("oai:esrf:1"): `{"key":"` + handleDOIKey + `","withdraw":["` + handleSrcKey + `"]}`},
			wantOwner: map[string]string{handleSrcKey: "ESRF", handleDOIKey: "ESRF"},
		},
		{
			name: "the old key transferred away is not withdrawn", format: "oai_datacite", metadata: handleDataCite,
			keys:      map[string]string{sourceKey("oai:esrf:1"): handleSrcKey},
			owners:    map[string]string{handleSrcKey: "ILL"},
			want:      []event{{handleDOIKey, false}},
			wantKeys:  map[string]string{sourceKey("oai:esrf:1"): handleDOIKey},
			wantOwner: map[string]string{handleSrcKey: "ILL", handleDOIKey: "ESRF"},
		},
		{
			name: "a deletion finds the key it was published under", deleted: true,
			keys:   map[string]string{sourceKey("oai:esrf:1"): handleDOIKey},
			owners: map[string]string{handleDOIKey: "ESRF"},
			want:   []event{{handleDOIKey, true}},
		},
		{
			name: "a deletion of a record never seen", deleted: true,
			want: []event{{handleSrcKey, true}},
		},
		{
			name: "another facility's record is refused", format: "oai_datacite", metadata: handleDataCite, facility: "ILL",
			owners:  map[string]string{handleDOIKey: "ESRF"},
			wantErr: []error{bus.ErrPermanent, bus.ErrForeignDataset},
		},
		{
			name: "another facility's deletion is refused", deleted: true, facility: "ILL",
			keys:    map[string]string{sourceKey("oai:esrf:1"): handleDOIKey},
			owners:  map[string]string{handleDOIKey: "ESRF"},
			wantErr: []error{bus.ErrPermanent, bus.ErrForeignDataset},
		},
		{
			name: "the owner is matched without regard to case", format: "oai_datacite", metadata: handleDataCite, facility: "esrf",
			owners:   map[string]string{handleDOIKey: "ESRF"},
			want:     []event{{handleDOIKey, false}},
			wantKeys: map[string]string{sourceKey("oai:esrf:1"): handleDOIKey},
		},
		{
			name: "not a raw record", payload: []byte{0xff, 0xff, 0xff},
			wantErr: []error{bus.ErrPermanent},
		},
		{
			name: "a broken record", format: "oai_datacite", metadata: "<resource><titles><title>broken",
			wantErr: []error{bus.ErrPermanent},
		},
		{
			name: "an unknown format", format: "marcxml", metadata: "<record/>",
			wantErr: []error{bus.ErrPermanent},
		},
		{
			name: "the source-key map cannot be read", format: "oai_datacite", metadata: handleDataCite,
			keysFail: &memKeys{get: unavailable},
			wantErr:  []error{bus.ErrTransient, unavailable},
		},
		{
			name: "the source-key map cannot be written", format: "oai_datacite", metadata: handleDataCite,
			keysFail: &memKeys{put: unavailable},
			wantErr:  []error{bus.ErrTransient, unavailable},
		},
		{
			name: "the ownership record cannot be read", format: "oai_datacite", metadata: handleDataCite,
			ownerFail: unavailable,
			wantErr:   []error{unavailable},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := &memKeys{m: maps.Clone(tt.keys)}
			if keys.m == nil {
				keys.m = map[string]string{}
			}
			if tt.keysFail != nil {
				keys.get, keys.put = tt.keysFail.get, tt.keysFail.put
			}
			owners := &memOwners{m: map[string]bus.Owner{}, fail: tt.ownerFail}
			for k, f := range tt.owners {
				owners.m[k] = bus.Owner{Key: k, Facility: f}
			}
			st, err := normaliser.NewWithState(normaliser.Config{}, nil, normaliser.Stores{Keys: keys, Owners: owners, Sources: newMemSources(), Normalised: newMemStream()}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			payload := tt.payload
			if payload == nil {
				facility := tt.facility
				if facility == "" {
					facility = "ESRF"
				}
				payload, err = proto.Marshal(&fairwayv1.RawRecord{
					FeedId: "f1", Facility: facility, SourceKind: "oai-pmh", SourceIdentifier: "oai:esrf:1",
					MetadataFormat: tt.format, Payload: []byte(tt.metadata), Deleted: tt.deleted,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			events, err := st.Handle(context.Background(), &bus.Message{Key: "f1:oai:esrf:1", Payload: payload})
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("err = %v, want %v", err, want)
					}
				}
				if len(events) != 0 {
					t.Errorf("a failed record emitted %d events", len(events))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []event
			for _, ev := range events {
				var ds fairwayv1.Dataset
				if err := proto.Unmarshal(ev.Payload, &ds); err != nil {
					t.Fatal(err)
				}
				if ev.Stream != bus.Normalised || ev.SkipUnchanged || ev.ExpectLast == nil || ev.Key != ds.Key || contentHash(ev) != ds.ContentHash {
					t.Errorf("event %+v for dataset %s (hash %s)", ev, ds.Key, ds.ContentHash)
				}
				if ds.Deleted && ds.ContentHash != "deleted" {
					t.Errorf("tombstone of %s with hash %q", ds.Key, ds.ContentHash)
				}
				got = append(got, event{ds.Key, ds.Deleted})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
			wantKeys := tt.wantKeys
			if wantKeys == nil {
				wantKeys = tt.keys
				if keys.puts != 0 {
					t.Errorf("%d writes to the source-key map, want none", keys.puts)
				}
			}
			if !maps.Equal(keys.m, wantKeys) && len(keys.m)+len(wantKeys) > 0 {
				t.Errorf("source keys %v, want %v", keys.m, wantKeys)
			}
			wantOwner := tt.wantOwner
			if wantOwner == nil {
				wantOwner = tt.owners
			}
			gotOwner := map[string]string{}
			for k, own := range owners.m {
				gotOwner[k] = own.Facility
			}
			if !maps.Equal(gotOwner, wantOwner) && len(gotOwner)+len(wantOwner) > 0 {
				t.Errorf("owners %v, want %v", gotOwner, wantOwner)
			}
		})
	}
}
