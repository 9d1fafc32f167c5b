package normaliser_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// memEnv is a normaliser over in-memory stores whose events are stored in
// an in-memory normalised stream, as the router stores them.
type memEnv struct {
	st      *normaliser.Stage
	keys    *memKeys
	owners  *memOwners
	sources *memSources
	stream  *memStream
}

func newMemEnv(t *testing.T) *memEnv {
	t.Helper()
	e := &memEnv{keys: &memKeys{m: map[string]string{}}, owners: &memOwners{m: map[string]bus.Owner{}},
		sources: newMemSources(), stream: newMemStream()}
	st, err := normaliser.NewWithState(normaliser.Config{}, nil, normaliser.Stores{
		Keys: e.keys, Owners: e.owners, Sources: e.sources, Normalised: e.stream,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	return e
}

// events handles r and returns its events, unpublished.
func (e *memEnv) events(t *testing.T, r record) []bus.Event {
	t.Helper()
	evs, err := e.st.Handle(context.Background(), r.message(t))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// handle handles r and stores its events.
func (e *memEnv) handle(t *testing.T, r record) []bus.Event {
	t.Helper()
	evs := e.events(t, r)
	if err := e.stream.publish(evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// last is the dataset of the stream's last message about key.
func (e *memEnv) last(t *testing.T, key string) *fairwayv1.Dataset {
	t.Helper()
	m, err := e.stream.Last(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return mustDataset(t, m.Data)
}

// noDOI is recDC before its DOI was minted: published under a source key.
var noDOI = record{"ESRF", "esrf-dc", "oai-pmh", "oai:esrf:dc:1", "oai_dc",
	strings.Replace(mergeDC, "<dc:identifier>https://doi.org/10.5072/MERGE.1</dc:identifier>", "", 1), false}

const noDOIKey = "src:esrf:oai:esrf:dc:1"

// TestWithdrawalSurvivesFailedPublish: a record whose identity changed
// (a DOI minted) is handled, and the publish of its events fails; handled
// again, it still withdraws its source from the old key, and once that is
// stored, a later record forgets the old key.
func TestWithdrawalSurvivesFailedPublish(t *testing.T) {
	tests := []struct {
		name string
		fail func(e *memEnv, evs []bus.Event) // what happens to the first run's events
	}{
		{"nothing stored (a crash before the publish)", func(*memEnv, []bus.Event) {}},
		{"the old key's publish conflicts", func(e *memEnv, evs []bus.Event) {
			// Another message about the old key lands first.
			m := e.stream.m[noDOIKey]
			seq := m.Sequence
			ev := bus.Event{Stream: bus.Normalised, Key: noDOIKey, Hash: m.Header.Get(bus.HeaderHash), Payload: m.Data, ExpectLast: &seq}
			if err := e.stream.publish([]bus.Event{ev}); err != nil {
				panic(err)
			}
			if err := e.stream.publish(evs); !errors.Is(err, bus.ErrTransient) {
				panic("the publish did not conflict")
			}
		}},
		{"only the old key's event stored", func(e *memEnv, evs []bus.Event) {
			if err := e.stream.publish(evs[:1]); err != nil {
				panic(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMemEnv(t)
			e.handle(t, noDOI)
			e.handle(t, recDataCite)
			evs := e.events(t, recDC)
			if len(evs) != 2 || evs[0].Key != noDOIKey {
				t.Fatalf("first run: %d events", len(evs))
			}
			tt.fail(e, evs)
			// The first run's events are gone: the record comes again.
			e.handle(t, recDC)
			if d := e.last(t, noDOIKey); !d.Deleted {
				t.Fatalf("the old key's dataset is alive with sources %q", sourceFeeds(d))
			}
			if d := e.last(t, mergeKey); len(d.Sources) != 2 {
				t.Errorf("the new key lists %q", sourceFeeds(d))
			}
			// Stored now: the next record emits nothing and forgets the
			// old key.
			if evs := e.handle(t, recDC); len(evs) != 0 {
				t.Errorf("handled a third time: %d events", len(evs))
			}
			if got := e.keys.m[bus.Digest(recDC.feed+"\x00"+recDC.id)]; got != mergeKey {
				t.Errorf("source key entry %q, want %q", got, mergeKey)
			}
		})
	}
}

// legacy returns r's dataset as a version without the sources bucket
// emitted it: no Sources.
func legacy(t *testing.T, r record) *fairwayv1.Dataset {
	t.Helper()
	var raw fairwayv1.RawRecord
	if err := proto.Unmarshal(r.message(t).Payload, &raw); err != nil {
		t.Fatal(err)
	}
	d, err := normaliser.Normalise(&raw, time.Unix(1000, 0).UTC())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sources) != 0 {
		t.Fatalf("Normalise gave sources %v", d.Sources)
	}
	return d
}

// TestLegacyDatasetMerged: a dataset normalised before the sources were
// kept (no entry in the bucket, no Sources on the stream's last message)
// is merged with another feed's record rather than replaced by it, and the
// other feed's deletion keeps it. (A version another feed's record replaced
// before the upgrade is gone: the stream holds the last only.)
func TestLegacyDatasetMerged(t *testing.T) {
	tests := []struct {
		name    string
		steps   []record
		deleted bool
		title   string
		sources []string
	}{
		{name: "another feed's record", steps: []record{recSciCat},
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"}},
		{name: "another feed's deletion", steps: []record{recSciCat.del()},
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1"}},
		{name: "another feed's record, then its deletion", steps: []record{recSciCat, recSciCat.del()},
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1"}},
		{name: "its own feed's deletion", steps: []record{recDataCite.del()}, deleted: true},
		{name: "its own feed again", steps: []record{recDataCite},
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMemEnv(t)
			old := legacy(t, recDataCite)
			b, err := proto.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.stream.publish([]bus.Event{{Stream: bus.Normalised, Key: mergeKey, Hash: old.ContentHash, Payload: b}}); err != nil {
				t.Fatal(err)
			}
			e.owners.m[mergeKey] = bus.Owner{Key: mergeKey, Facility: "ESRF", Feed: recDataCite.feed}
			// Both feeds published it before; the DataCite record came last
			// (the dataset was then the last record's alone).
			for _, r := range []record{recDataCite, recSciCat} {
				e.keys.m[bus.Digest(r.feed+"\x00"+r.id)] = mergeKey
			}
			for _, r := range tt.steps {
				e.handle(t, r)
			}
			d := e.last(t, mergeKey)
			if d.Deleted != tt.deleted {
				t.Fatalf("deleted %t, want %t", d.Deleted, tt.deleted)
			}
			if tt.deleted {
				return
			}
			if d.Title != tt.title || !slices.Equal(sourceFeeds(d), tt.sources) {
				t.Errorf("title %q, sources %q; want %q, %q", d.Title, sourceFeeds(d), tt.title, tt.sources)
			}
		})
	}
}

// TestLegacyDatasetMergedOnBus: the same over a real JetStream, the legacy
// dataset published as the stage published it before (skipping unchanged
// hashes).
func TestLegacyDatasetMergedOnBus(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := busStage(t, b)
	old := legacy(t, recDataCite)
	payload, err := proto.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, string(bus.StageNormaliser), bus.Event{Stream: bus.Normalised, Key: mergeKey, Hash: old.ContentHash, Payload: payload, SkipUnchanged: true}); err != nil {
		t.Fatal(err)
	}
	// SciCat's record was published under the key before, and replaced.
	if _, err := b.State(bus.BucketKeys).Put(ctx, bus.Digest(recSciCat.feed+"\x00"+recSciCat.id), []byte(mergeKey)); err != nil {
		t.Fatal(err)
	}
	if err := handleAndPublish(t, b, st, recSciCat.del()); err != nil {
		t.Fatal(err)
	}
	if d, _ := lastOnBus(t, b, mergeKey); d.Deleted || d.Title != "Powder diffraction of ceria" {
		t.Fatalf("after another feed's deletion: deleted %t, title %q", d.Deleted, d.Title)
	}
	if err := handleAndPublish(t, b, st, recSciCat); err != nil {
		t.Fatal(err)
	}
	if d, _ := lastOnBus(t, b, mergeKey); !slices.Equal(sourceFeeds(d), []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"}) || d.ProposalId != "P-77" {
		t.Fatalf("after another feed's record: sources %q, proposal %q", sourceFeeds(d), d.ProposalId)
	}
}

// TestUnreadableSourcesRepaired: a sources entry that cannot be decoded
// sends the record to the dead letters with the reason; the next record
// of the dataset rebuilds the entry from itself and the stream's last
// message, keeping every source that message lists.
func TestUnreadableSourcesRepaired(t *testing.T) {
	e := newMemEnv(t)
	e.handle(t, recDataCite)
	e.handle(t, recSciCat)
	entry := bus.Digest(mergeKey)
	e.sources.m[entry] = bus.Entry{Key: entry, Value: []byte{0xff, 0xff, 0xff}, Revision: e.sources.m[entry].Revision}

	evs, err := e.st.Handle(context.Background(), recDC.message(t))
	if !errors.Is(err, normaliser.ErrUnreadableSources) || !errors.Is(err, bus.ErrPermanent) || len(evs) != 0 {
		t.Fatalf("unreadable sources: %d events, err %v; want permanent %v", len(evs), err, normaliser.ErrUnreadableSources)
	}
	steps := []struct {
		r       record
		sources []string
		title   string
	}{
		{recDC, []string{"esrf-oai/oai:esrf:1", "esrf-dc/oai:esrf:dc:1", "esrf-scicat/20.500.12269/abc"}, "Powder diffraction of ceria"},
		{recDataCite.del(), []string{"esrf-dc/oai:esrf:dc:1", "esrf-scicat/20.500.12269/abc"}, "Ceria, Dublin Core title"},
		{recSciCat, []string{"esrf-dc/oai:esrf:dc:1", "esrf-scicat/20.500.12269/abc"}, "Ceria, Dublin Core title"},
	}
	for i, s := range steps {
		if _, err := e.st.Handle(context.Background(), s.r.message(t)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		evs, _ := e.st.Handle(context.Background(), s.r.message(t)) // the same, stored this time
		if err := e.stream.publish(evs); err != nil {
			t.Fatal(err)
		}
		if d := e.last(t, mergeKey); d.Deleted || d.Title != s.title || !slices.Equal(sourceFeeds(d), s.sources) {
			t.Errorf("step %d: deleted %t, title %q, sources %q; want %q, %q", i, d.Deleted, d.Title, sourceFeeds(d), s.title, s.sources)
		}
	}
	// SciCat's own version replaced the stand-in: its fields are back.
	if d := e.last(t, mergeKey); d.ProposalId != "P-77" || d.Description != "DC description" {
		t.Errorf("proposal %q, description %q", d.ProposalId, d.Description)
	}
}

// TestUnchangedAgainstStream: whether a merge is emitted is decided by the
// normalised stream's last message, not by the hashes bucket (written after
// the message is stored, so it can lag): a message stored without its hash
// remembered does not make an equal merge pass for unchanged; a dataset that
// changes A, B, then back to A within the dedup window ends as A.
func TestUnchangedAgainstStream(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := busStage(t, b)
	if err := handleAndPublish(t, b, st, recDataCite); err != nil {
		t.Fatal(err)
	}
	want, _ := lastOnBus(t, b, mergeKey)
	// Another emission lands and the hashes bucket does not learn of it
	// (its writer stops between the two).
	other := proto.CloneOf(want)
	other.Title, other.ContentHash = "another merge", "other"
	payload, err := proto.Marshal(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, string(bus.StageNormaliser), bus.Event{Stream: bus.Normalised, Key: mergeKey, Hash: "other", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	if err := handleAndPublish(t, b, st, recDataCite); err != nil {
		t.Fatal(err)
	}
	if d, _ := lastOnBus(t, b, mergeKey); d.ContentHash != want.ContentHash {
		t.Fatalf("the stream ends with %q (hash %s), want the merge %s", d.Title, d.ContentHash, want.ContentHash)
	}
	// A, B, A within the dedup window.
	changed := recDataCite
	changed.payload = strings.Replace(mergeDataCite, "Powder diffraction of ceria", "Ceria, corrected title", 1)
	for _, r := range []record{changed, recDataCite} {
		if err := handleAndPublish(t, b, st, r); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := lastOnBus(t, b, mergeKey); d.Title != "Powder diffraction of ceria" {
		t.Errorf("after A, B, A: title %q", d.Title)
	}
	// Unchanged now: nothing.
	evs, err := st.Handle(ctx, recDataCite.message(t))
	if err != nil || len(evs) != 0 {
		t.Errorf("unchanged: %d events, %v", len(evs), err)
	}
}

// TestUnreadableSourcesRepairedOnBus: the same over a real JetStream (the
// entry removed at its revision, then created again).
func TestUnreadableSourcesRepairedOnBus(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := busStage(t, b)
	for _, r := range []record{recDataCite, recSciCat} {
		if err := handleAndPublish(t, b, st, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.State(bus.BucketSources).Put(ctx, bus.Digest(mergeKey), []byte{0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	if err := handleAndPublish(t, b, st, recDC); !errors.Is(err, normaliser.ErrUnreadableSources) || !errors.Is(err, bus.ErrPermanent) {
		t.Fatalf("unreadable sources: err %v", err)
	}
	if err := handleAndPublish(t, b, st, recDC); err != nil {
		t.Fatal(err)
	}
	if d, _ := lastOnBus(t, b, mergeKey); len(d.Sources) != 3 || d.Title != "Powder diffraction of ceria" {
		t.Fatalf("rebuilt: title %q, sources %q", d.Title, sourceFeeds(d))
	}
	e, err := b.State(bus.BucketSources).Get(ctx, bus.Digest(mergeKey))
	if err != nil {
		t.Fatal(err)
	}
	var stored fairwayv1.SourceVersions
	if err := proto.Unmarshal(e.Value, &stored); err != nil || len(stored.Versions) != 3 {
		t.Fatalf("stored %d versions, %v", len(stored.Versions), err)
	}
}
