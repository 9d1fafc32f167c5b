package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/publisher"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// memCatalogue is an in-memory live catalogue: last holds the entry Last
// returns for each key; scan, when set, is what Each sees (an older view:
// a version written after the scan), else Each sees last, by sequence.
type memCatalogue struct {
	last map[string]bus.StoredMessage
	scan []bus.StoredMessage
	fail error // returned by Last
}

func (c *memCatalogue) Last(_ context.Context, key string) (bus.StoredMessage, error) {
	if c.fail != nil {
		return bus.StoredMessage{}, c.fail
	}
	m, ok := c.last[key]
	if !ok {
		return bus.StoredMessage{}, fmt.Errorf("entry of %s: %w", key, bus.ErrNotFound)
	}
	return m, nil
}

func (c *memCatalogue) Each(_ context.Context, fn func(*fairwayv1.CatalogueEntry) error) error {
	msgs := c.scan
	if msgs == nil {
		for _, m := range c.last {
			msgs = append(msgs, m)
		}
		slices.SortFunc(msgs, func(a, b bus.StoredMessage) int { return int(a.Sequence) - int(b.Sequence) })
	}
	for _, m := range msgs {
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &e); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return nil
}

// held returns the stored catalogue entry of e, rendered at publishedAt
// (zero: none), at stream sequence seq.
func held(t *testing.T, e *fairwayv1.EnrichedDataset, publishedAt time.Time, seq uint64) bus.StoredMessage {
	t.Helper()
	entry := &fairwayv1.CatalogueEntry{Key: e.Dataset.Key, Deleted: e.Dataset.Deleted, Dataset: e, ContentHash: "held"}
	if !publishedAt.IsZero() {
		entry.PublishedAt = timestamppb.New(publishedAt)
	}
	return bus.StoredMessage{Subject: bus.Subject(bus.Catalogue, e.Dataset.Key), Sequence: seq, Data: mustMarshal(t, entry)}
}

func harvestedAt(e *fairwayv1.EnrichedDataset, sec int64) *fairwayv1.EnrichedDataset {
	e.Dataset.Provenance = &fairwayv1.Provenance{HarvestedAt: timestamppb.New(time.Unix(sec, 0))}
	return e
}

// TestHandleAgainstTheCatalogue calls the publisher's handler without a
// server, over an in-memory catalogue: a version harvested before the one
// the catalogue holds is dropped, every other is rendered and stored only
// over the entry it was checked against.
func TestHandleAgainstTheCatalogue(t *testing.T) {
	const key = "doi:10.1/x"
	unavailable := errors.New("catalogue unavailable")
	tests := []struct {
		name    string
		held    *bus.StoredMessage // nil: the catalogue holds nothing
		fail    error
		in      *fairwayv1.EnrichedDataset
		want    string // the title rendered; "": nothing
		wantSeq uint64
		wantErr error
	}{
		{name: "a dataset the catalogue does not hold", in: harvestedAt(enriched(key, "First", false), 1000), want: "First"},
		{name: "a newer version", held: ptr(held(t, harvestedAt(enriched(key, "Old", false), 1000), time.Time{}, 7)),
			in: harvestedAt(enriched(key, "New", false), 2000), want: "New", wantSeq: 7},
		{name: "an older version is dropped", held: ptr(held(t, harvestedAt(enriched(key, "New", false), 2000), time.Time{}, 7)),
			in: harvestedAt(enriched(key, "Old", false), 1000)},
		{name: "a version without a harvest date", held: ptr(held(t, harvestedAt(enriched(key, "New", false), 2000), time.Time{}, 7)),
			in: enriched(key, "Undated", false), want: "Undated", wantSeq: 7},
		{name: "a withdrawal of a newer version", held: ptr(held(t, harvestedAt(enriched(key, "Old", false), 1000), time.Time{}, 3)),
			in: harvestedAt(enriched(key, "Gone", true), 2000), want: "Gone", wantSeq: 3},
		{name: "an unreadable entry is replaced", held: &bus.StoredMessage{Sequence: 9, Data: []byte{0xff, 0xff}},
			in: harvestedAt(enriched(key, "Fresh", false), 1000), want: "Fresh", wantSeq: 9},
		{name: "the catalogue cannot be read", fail: unavailable, in: enriched(key, "Any", false), wantErr: bus.ErrTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := &memCatalogue{last: map[string]bus.StoredMessage{}, fail: tt.fail}
			if tt.held != nil {
				cat.last[key] = *tt.held
			}
			st, err := publisher.NewWithCatalogue(publisher.Config{BaseURL: "http://node.test"}, nil, cat, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := st.Handle(context.Background(), &bus.Message{Payload: mustMarshal(t, tt.in)})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, unavailable) {
					t.Fatalf("err = %v, want %v wrapping %v", err, tt.wantErr, unavailable)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(evs) != 0 {
					t.Fatalf("a stale version emitted %d events", len(evs))
				}
				return
			}
			if len(evs) != 1 || evs[0].Stream != bus.Catalogue || evs[0].Key != key || !evs[0].SkipUnchanged {
				t.Fatalf("events %+v", evs)
			}
			if got := expectLast(evs[0]); got != strconv.FormatUint(tt.wantSeq, 10) {
				t.Errorf("stored over sequence %s, want %d", got, tt.wantSeq)
			}
			var e fairwayv1.CatalogueEntry
			if err := proto.Unmarshal(evs[0].Payload, &e); err != nil {
				t.Fatal(err)
			}
			if e.Dataset.Dataset.Title != tt.want || e.Deleted != tt.in.Dataset.Deleted || evs[0].Hash != e.ContentHash {
				t.Errorf("entry %q (deleted %v, hash %s), event hash %s", e.Dataset.Dataset.Title, e.Deleted, e.ContentHash, evs[0].Hash)
			}
		})
	}
}

// TestEndedEmbargoes finds, without a server, the catalogue entries whose
// embargo ended after they were rendered.
func TestEndedEmbargoes(t *testing.T) {
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	before, after := end.Add(-24*time.Hour), end.Add(24*time.Hour)
	embargoed := func(key string, until time.Time, deleted bool) *fairwayv1.EnrichedDataset {
		e := enriched(key, "Embargoed "+key, deleted)
		e.Dataset.EmbargoUntil = timestamppb.New(until)
		e.Dataset.AccessRights = "embargoed"
		return e
	}
	unavailable := errors.New("catalogue unavailable")
	tests := []struct {
		name    string
		last    []bus.StoredMessage
		scan    []bus.StoredMessage // nil: as last
		fail    error
		want    []string // keys rendered again
		wantSeq []uint64
		wantErr error
	}{
		{name: "an empty catalogue"},
		{name: "an embargo that runs", last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", now.Add(time.Hour), false), before, 1)}},
		{name: "an embargo that ended after rendering", last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, false), before, 4)},
			want: []string{"doi:10.1/a"}, wantSeq: []uint64{4}},
		{name: "an entry never stamped", last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, false), time.Time{}, 4)},
			want: []string{"doi:10.1/a"}, wantSeq: []uint64{4}},
		{name: "an entry rendered after the end", last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, false), after, 4)}},
		{name: "a withdrawn dataset", last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, true), before, 4)}},
		{name: "no embargo", last: []bus.StoredMessage{held(t, enriched("doi:10.1/a", "Open", false), before, 4)}},
		{name: "rendered again since the scan",
			scan: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, false), before, 4)},
			last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, false), after, 6)}},
		{name: "withdrawn since the scan",
			scan: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, false), before, 4)},
			last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, true), after, 6)}},
		{name: "several, in catalogue order", last: []bus.StoredMessage{
			held(t, embargoed("doi:10.1/b", end, false), before, 8),
			held(t, embargoed("doi:10.1/a", end, false), before, 2),
			held(t, embargoed("doi:10.1/c", now.Add(time.Hour), false), before, 9),
		}, want: []string{"doi:10.1/a", "doi:10.1/b"}, wantSeq: []uint64{2, 8}},
		{name: "the entry cannot be read again", last: []bus.StoredMessage{held(t, embargoed("doi:10.1/a", end, false), before, 4)},
			fail: unavailable, wantErr: unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := &memCatalogue{last: map[string]bus.StoredMessage{}, scan: tt.scan, fail: tt.fail}
			for _, m := range tt.last {
				var e fairwayv1.CatalogueEntry
				if err := proto.Unmarshal(m.Data, &e); err != nil {
					t.Fatal(err)
				}
				cat.last[e.Key] = m
			}
			st, err := publisher.NewWithCatalogue(publisher.Config{BaseURL: "http://node.test", Now: func() time.Time { return now }}, nil, cat, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := st.EndedEmbargoes(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var keys []string
			var seqs []uint64
			for _, ev := range evs {
				var e fairwayv1.CatalogueEntry
				if err := proto.Unmarshal(ev.Payload, &e); err != nil {
					t.Fatal(err)
				}
				if ev.Stream != bus.Catalogue || ev.Key != e.Key || !e.PublishedAt.AsTime().Equal(now) ||
					!strings.Contains(e.Turtle, "access-right/PUBLIC") {
					t.Errorf("event %s: entry published %v, public %v", ev.Key, e.PublishedAt.AsTime(), strings.Contains(e.Turtle, "access-right/PUBLIC"))
				}
				seq, _ := strconv.ParseUint(expectLast(ev), 10, 64)
				keys, seqs = append(keys, ev.Key), append(seqs, seq)
			}
			if !slices.Equal(keys, tt.want) || !slices.Equal(seqs, tt.wantSeq) {
				t.Errorf("rendered again %v at %v, want %v at %v", keys, seqs, tt.want, tt.wantSeq)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// expectLast returns the catalogue sequence an event is conditional on, as
// the header the bus sends spells it ("" when unconditional).
func expectLast(ev bus.Event) string {
	if ev.ExpectLast == nil {
		return ""
	}
	return strconv.FormatUint(*ev.ExpectLast, 10)
}
