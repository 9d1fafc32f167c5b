package normaliser_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/normaliser"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const mergeKey = "doi:10.5072/merge.1"

// record is one raw record of a feed of a facility.
type record struct {
	facility, feed, kind, id, format, payload string
	deleted                                   bool
}

var (
	recDataCite = record{"ESRF", "esrf-oai", "oai-pmh", "oai:esrf:1", "oai_datacite", mergeDataCite, false}
	recSciCat   = record{"ESRF", "esrf-scicat", "scicat", "20.500.12269/abc", "scicat", mergeSciCat, false}
	recDC       = record{"ESRF", "esrf-dc", "oai-pmh", "oai:esrf:dc:1", "oai_dc", mergeDC, false}
)

func (r record) del() record { r.deleted, r.payload = true, ""; return r }

func (r record) message(t testing.TB) *bus.Message { return r.messageAt(t, 0) }

// messageAt is r's message harvested at sec (Unix seconds; 0: without
// provenance).
func (r record) messageAt(t testing.TB, sec int64) *bus.Message {
	t.Helper()
	var p *fairwayv1.Provenance
	if sec != 0 {
		p = &fairwayv1.Provenance{FeedId: r.feed, HarvestedAt: timestamppb.New(time.Unix(sec, 0))}
	}
	b, err := proto.Marshal(&fairwayv1.RawRecord{
		FeedId: r.feed, Facility: r.facility, SourceKind: r.kind, SourceIdentifier: r.id, Datestamp: "2026-11-30",
		MetadataFormat: r.format, Payload: []byte(r.payload), Deleted: r.deleted, Provenance: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &bus.Message{Key: r.feed + ":" + r.id, Payload: b}
}

func memStage(t *testing.T, cfg normaliser.Config) *normaliser.Stage {
	t.Helper()
	st, _ := memStageSources(t, cfg)
	return st
}

// memStageSources is memStage and its sources.
func memStageSources(t *testing.T, cfg normaliser.Config) (*normaliser.Stage, *memSources) {
	t.Helper()
	sources := newMemSources()
	st, err := normaliser.NewWithState(cfg, nil, normaliser.Stores{
		Keys: &memKeys{m: map[string]string{}}, Owners: &memOwners{m: map[string]bus.Owner{}}, Sources: sources, Normalised: newMemStream(),
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return st, sources
}

// lastDataset returns the dataset of the last event about key.
func lastDataset(t testing.TB, events []bus.Event, key string) *fairwayv1.Dataset {
	t.Helper()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Key != key {
			continue
		}
		var d fairwayv1.Dataset
		if err := proto.Unmarshal(events[i].Payload, &d); err != nil {
			t.Fatal(err)
		}
		if contentHash(events[i]) != d.ContentHash {
			t.Errorf("event hash %s, dataset hash %s", events[i].Hash, d.ContentHash)
		}
		return &d
	}
	t.Fatalf("no event about %s", key)
	return nil
}

// TestHandleSources runs sequences of records through the handler over
// in-memory stores: what the dataset lists and says after each sequence.
func TestHandleSources(t *testing.T) {
	changed := recDataCite
	changed.payload = strings.Replace(mergeDataCite, "Powder diffraction of ceria", "Ceria, corrected title", 1)
	foreign := recSciCat
	foreign.facility, foreign.feed = "ILL", "ill-scicat"
	tests := []struct {
		name       string
		maxSources int
		steps      []record
		failAt     int   // index of the step that fails (with wantErr); -1: none
		wantErr    error // and bus.ErrPermanent
		deleted    bool
		title      string
		sources    []string
	}{
		{name: "SciCat then DataCite", steps: []record{recSciCat, recDataCite}, failAt: -1,
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"}},
		{name: "the same record twice is one source", steps: []record{recDataCite, recDataCite}, failAt: -1,
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1"}},
		{name: "a changed record replaces its own version", steps: []record{recDataCite, recSciCat, changed}, failAt: -1,
			title: "Ceria, corrected title", sources: []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"}},
		{name: "a deletion in one feed keeps the dataset", steps: []record{recDataCite, recSciCat, recDataCite.del()}, failAt: -1,
			title: "ceria run 12", sources: []string{"esrf-scicat/20.500.12269/abc"}},
		{name: "a deletion in every feed tombstones it", steps: []record{recDataCite, recSciCat, recSciCat.del(), recDataCite.del()}, failAt: -1,
			deleted: true},
		{name: "a source deleted twice", steps: []record{recDataCite, recSciCat, recSciCat.del(), recSciCat.del()}, failAt: -1,
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1"}},
		{name: "a source back after its deletion", steps: []record{recDataCite, recDataCite.del(), recSciCat, recDataCite}, failAt: -1,
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"}},
		{name: "another facility's record is refused", steps: []record{recDataCite, foreign}, failAt: 1, wantErr: bus.ErrForeignDataset,
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1"}},
		{name: "a source over the cap is refused", maxSources: 2, steps: []record{recDataCite, recSciCat, recDC}, failAt: 2,
			wantErr: normaliser.ErrTooManySources,
			title:   "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1", "esrf-scicat/20.500.12269/abc"}},
		{name: "under the cap a third source is taken", maxSources: 3, steps: []record{recDataCite, recSciCat, recDC}, failAt: -1,
			title: "Powder diffraction of ceria", sources: []string{"esrf-oai/oai:esrf:1", "esrf-dc/oai:esrf:dc:1", "esrf-scicat/20.500.12269/abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memStage(t, normaliser.Config{MaxSources: tt.maxSources})
			var all []bus.Event
			for i, r := range tt.steps {
				evs, err := st.Handle(context.Background(), r.message(t))
				if i == tt.failAt {
					if !errors.Is(err, tt.wantErr) || !errors.Is(err, bus.ErrPermanent) {
						t.Fatalf("step %d: err %v, want %v, permanent", i, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				all = append(all, evs...)
			}
			d := lastDataset(t, all, mergeKey)
			if d.Deleted != tt.deleted {
				t.Fatalf("deleted %t, want %t", d.Deleted, tt.deleted)
			}
			if tt.deleted {
				return
			}
			if d.Title != tt.title {
				t.Errorf("title %q, want %q", d.Title, tt.title)
			}
			if got := sourceFeeds(d); !slices.Equal(got, tt.sources) {
				t.Errorf("sources %q, want %q", got, tt.sources)
			}
			for _, s := range d.Sources {
				if s.Datestamp != "2026-11-30" || s.ContentHash == "" || s.SourceKind == "" {
					t.Errorf("source %v lacks its datestamp, hash or kind", s)
				}
			}
		})
	}
}

// TestHandleOrderIndependent: whatever order three feeds' records arrive
// in, the last dataset emitted is the same, byte for byte.
func TestHandleOrderIndependent(t *testing.T) {
	recs := []record{recDataCite, recSciCat, recDC}
	orders := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	var want []byte
	for _, order := range orders {
		st := memStage(t, normaliser.Config{})
		var last bus.Event
		for _, i := range order {
			evs, err := st.Handle(context.Background(), recs[i].message(t))
			if err != nil {
				t.Fatal(err)
			}
			last = evs[len(evs)-1]
		}
		if want == nil {
			want = last.Payload
		} else if !proto.Equal(mustDataset(t, last.Payload), mustDataset(t, want)) {
			t.Errorf("order %v gives another dataset", order)
		}
	}
}

func mustDataset(t testing.TB, b []byte) *fairwayv1.Dataset {
	t.Helper()
	var d fairwayv1.Dataset
	if err := proto.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// busStage returns a normaliser over the real stores of b.
func busStage(t testing.TB, b *bus.Bus) *normaliser.Stage {
	t.Helper()
	st, err := normaliser.New(normaliser.Config{}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// handleAndPublish handles r and stores its events as the router does.
func handleAndPublish(t testing.TB, b *bus.Bus, st *normaliser.Stage, r record) error {
	t.Helper()
	evs, err := st.Handle(context.Background(), r.message(t))
	if err != nil {
		return err
	}
	return b.Publish(context.Background(), string(bus.StageNormaliser), evs...)
}

func lastOnBus(t testing.TB, b *bus.Bus, key string) (*fairwayv1.Dataset, uint64) {
	t.Helper()
	m, err := b.LastEntry(context.Background(), bus.Normalised, key)
	if err != nil {
		t.Fatal(err)
	}
	return mustDataset(t, m.Data), m.Sequence
}

// TestSourcesOnBus runs the handler over a real embedded JetStream (the
// sources bucket, the normalised stream, its unchanged-record memory): two
// feeds' records merge into one dataset, records handled again unchanged
// emit nothing, a deletion in one feed keeps the dataset and the deletion in
// both tombstones it.
func TestSourcesOnBus(t *testing.T) {
	b := testenv.Bus(t)
	st := busStage(t, b)
	for _, r := range []record{recSciCat, recDataCite} {
		if err := handleAndPublish(t, b, st, r); err != nil {
			t.Fatal(err)
		}
	}
	d, seq := lastOnBus(t, b, mergeKey)
	if got := sourceFeeds(d); len(got) != 2 || d.Title != "Powder diffraction of ceria" || d.ProposalId != "P-77" {
		t.Fatalf("merged dataset %q, proposal %q, sources %q", d.Title, d.ProposalId, got)
	}
	// The sources bucket holds both versions, the merge of which is what
	// was emitted.
	e, err := b.State(bus.BucketSources).Get(context.Background(), bus.Digest(mergeKey))
	if err != nil {
		t.Fatal(err)
	}
	var stored fairwayv1.SourceVersions
	if err := proto.Unmarshal(e.Value, &stored); err != nil {
		t.Fatal(err)
	}
	if m := normaliser.Merge(stored.Versions); len(stored.Versions) != 2 || m.ContentHash != d.ContentHash {
		t.Fatalf("%d versions stored, merged hash %s, emitted %s", len(stored.Versions), m.ContentHash, d.ContentHash)
	}
	// Both records again, in the other order: nothing new.
	for _, r := range []record{recDataCite, recSciCat} {
		if err := handleAndPublish(t, b, st, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, again := lastOnBus(t, b, mergeKey); again != seq {
		t.Errorf("unchanged records emitted the dataset again (sequence %d, was %d)", again, seq)
	}
	if err := handleAndPublish(t, b, st, recDataCite.del()); err != nil {
		t.Fatal(err)
	}
	if d, _ := lastOnBus(t, b, mergeKey); d.Deleted || !slices.Equal(sourceFeeds(d), []string{"esrf-scicat/20.500.12269/abc"}) || d.Title != "ceria run 12" {
		t.Fatalf("after one deletion: deleted %t, title %q, sources %q", d.Deleted, d.Title, sourceFeeds(d))
	}
	if err := handleAndPublish(t, b, st, recSciCat.del()); err != nil {
		t.Fatal(err)
	}
	if d, _ := lastOnBus(t, b, mergeKey); !d.Deleted {
		t.Fatal("both sources deleted, and the dataset is not a tombstone")
	}
	if _, err := b.State(bus.BucketSources).Get(context.Background(), bus.Digest(mergeKey)); !errors.Is(err, bus.ErrNotFound) {
		t.Errorf("the sources of a tombstone are kept: %v", err)
	}
}

// feedRecord is the DataCite record of the dataset in feed i of ESRF.
func feedRecord(i int) record {
	return record{"ESRF", fmt.Sprintf("esrf-feed-%04d", i), "oai-pmh", fmt.Sprintf("oai:esrf:%d", i), "oai_datacite", mergeDataCite, false}
}

// TestConcurrentSourcesOnBus: two replicas, four handlers each, handle the
// records of twelve feeds about one key at once; no update of the sources
// is lost.
func TestConcurrentSourcesOnBus(t *testing.T) {
	b := testenv.Bus(t)
	replicas := []*normaliser.Stage{busStage(t, b), busStage(t, b)}
	const feeds = 12
	var wg sync.WaitGroup
	errs := make(chan error, feeds)
	work := make(chan int)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := replicas[w%2].Handle(context.Background(), feedRecord(i).message(t)); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range feeds {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs, err := replicas[0].Handle(context.Background(), feedRecord(0).message(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := lastDataset(t, evs, mergeKey); len(d.Sources) != feeds {
		t.Errorf("%d sources after %d feeds published: %q", len(d.Sources), feeds, sourceFeeds(d))
	}
}

// TestHostileFeedsOnBus: a thousand feeds of one facility claim one key;
// the dataset keeps DefaultMaxSources of them and every other record is
// refused for good (the router dead-letters it), so the sources stay
// bounded.
func TestHostileFeedsOnBus(t *testing.T) {
	b := testenv.Bus(t)
	st := busStage(t, b)
	const feeds = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused, other := 0, []error{}
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := st.Handle(context.Background(), feedRecord(i).message(t))
				mu.Lock()
				switch {
				case err == nil:
				case errors.Is(err, normaliser.ErrTooManySources) && errors.Is(err, bus.ErrPermanent):
					refused++
				default:
					other = append(other, err)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range feeds {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("%d unexpected errors, first %v", len(other), other[0])
	}
	if refused != feeds-normaliser.DefaultMaxSources {
		t.Errorf("%d records refused, want %d", refused, feeds-normaliser.DefaultMaxSources)
	}
	e, err := b.State(bus.BucketSources).Get(context.Background(), bus.Digest(mergeKey))
	if err != nil {
		t.Fatal(err)
	}
	var stored fairwayv1.SourceVersions
	if err := proto.Unmarshal(e.Value, &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored.Versions) != normaliser.DefaultMaxSources || len(e.Value) > normaliser.MaxSourcesBytes {
		t.Errorf("%d versions in %d bytes stored", len(stored.Versions), len(e.Value))
	}
	t.Logf("%d sources kept in %d bytes, %d refused", len(stored.Versions), len(e.Value), refused)
}

// TestStaleMergeIsRefusedOnBus: a merge computed before another source's
// was emitted is not stored over it; handled again, the record emits
// nothing new, as the dataset already holds both sources.
func TestStaleMergeIsRefusedOnBus(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := busStage(t, b)
	stale, err := st.Handle(ctx, recDataCite.message(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := handleAndPublish(t, b, st, recSciCat); err != nil {
		t.Fatal(err)
	}
	_, seq := lastOnBus(t, b, mergeKey)
	if err := b.Publish(ctx, string(bus.StageNormaliser), stale...); !errors.Is(err, bus.ErrTransient) {
		t.Fatalf("the stale merge was stored over the newer one (err %v)", err)
	}
	if err := handleAndPublish(t, b, st, recDataCite); err != nil {
		t.Fatal(err)
	}
	d, again := lastOnBus(t, b, mergeKey)
	if len(d.Sources) != 2 || again != seq {
		t.Errorf("%d sources, sequence %d (was %d)", len(d.Sources), again, seq)
	}
}

// TestRunMergesOnBus runs the stage (its router, two handlers) on a real
// JetStream: a SciCat and a DataCite record of one DOI become one dataset
// with both sources, and a foreign facility's record is dead-lettered.
func TestRunMergesOnBus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	st := busStage(t, b)
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	foreign := recDC
	foreign.facility, foreign.feed = "ILL", "ill-dc"
	var events []bus.Event
	for _, r := range []record{recSciCat, recDataCite} {
		events = append(events, bus.Event{Stream: bus.Raw, Key: r.feed + ":" + r.id, Hash: r.feed, Payload: r.message(t).Payload})
	}
	if err := b.Publish(ctx, "harvester", events...); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := b.LastEntry(ctx, bus.Normalised, mergeKey)
		if err == nil && len(mustDataset(t, m.Data).Sources) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dataset with both sources (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := b.Publish(ctx, "harvester", bus.Event{Stream: bus.Raw, Key: "ill", Hash: "ill", Payload: foreign.message(t).Payload}); err != nil {
		t.Fatal(err)
	}
	letters := waitFor(t, b, bus.DeadLetters, 1)
	if reason := letters[0].Headers().Get(bus.HeaderReason); !strings.Contains(reason, "another facility") {
		t.Errorf("dead letter reason %q", reason)
	}
	if d, _ := lastOnBus(t, b, mergeKey); len(d.Sources) != 2 || d.Facility != "ESRF" {
		t.Errorf("after the foreign record: %d sources, facility %s", len(d.Sources), d.Facility)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// TestMergeProvenance: the merge a record causes is never harvested before
// that record, nor before the sources it keeps (the publisher drops a
// version harvested before the one it holds).
func TestMergeProvenance(t *testing.T) {
	type step struct {
		r   record
		sec int64
	}
	tests := []struct {
		name  string
		steps []step
		want  int64
	}{
		{"a source harvested earlier, handled later", []step{{recDataCite, 500}, {recSciCat, 200}}, 500},
		{"a source harvested later", []step{{recDataCite, 200}, {recSciCat, 500}}, 500},
		{"a deletion of the source harvested last", []step{{recDataCite, 200}, {recSciCat, 500}, {recSciCat.del(), 700}}, 700},
		{"a deletion without provenance keeps the sources' latest", []step{{recDataCite, 200}, {recSciCat, 500}, {recSciCat.del(), 0}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memStage(t, normaliser.Config{})
			var all []bus.Event
			for _, s := range tt.steps {
				evs, err := st.Handle(context.Background(), s.r.messageAt(t, s.sec))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, evs...)
			}
			d := lastDataset(t, all, mergeKey)
			if got := d.GetProvenance().GetHarvestedAt().AsTime().Unix(); got != tt.want {
				t.Errorf("merge harvested at %d, want %d", got, tt.want)
			}
		})
	}
}

// BenchmarkHandleOnBus handles records of new DOIs, alternately from a
// DataCite and a SciCat feed, over the stores of a real embedded JetStream
// (without publishing): what a record costs with its sources.
func BenchmarkHandleOnBus(b *testing.B) {
	bb := testenv.Bus(b)
	st := busStage(b, bb)
	var msgs []*bus.Message
	for i := range 2000 {
		r := recDataCite
		if i%2 == 1 {
			r = recSciCat
		}
		r.payload = strings.Replace(r.payload, "MERGE.1", fmt.Sprintf("MERGE.%d", i/2), 1)
		r.id = fmt.Sprintf("%s-%d", r.id, i/2)
		msgs = append(msgs, r.message(b))
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if _, err := st.Handle(context.Background(), msgs[n%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// TestHandleIdentityChange: a record that gets a DOI moves its source from
// its source key to the DOI's dataset; refused there (the cap), it stays
// where it was.
func TestHandleIdentityChange(t *testing.T) {
	noDOI := record{"ESRF", "esrf-dc", "oai-pmh", "oai:esrf:dc:1", "oai_dc",
		strings.Replace(mergeDC, "<dc:identifier>https://doi.org/10.5072/MERGE.1</dc:identifier>", "", 1), false}
	const srcKey = "src:esrf:oai:esrf:dc:1"
	tests := []struct {
		name       string
		maxSources int
		wantErr    error
		wantSrc    bool // the source key's dataset is still alive
	}{
		{name: "moved", wantSrc: false},
		{name: "refused by the new key", maxSources: 2, wantErr: normaliser.ErrTooManySources, wantSrc: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, sources := memStageSources(t, normaliser.Config{MaxSources: tt.maxSources})
			var all []bus.Event
			for _, r := range []record{noDOI, recDataCite, recSciCat} {
				evs, err := st.Handle(context.Background(), r.message(t))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, evs...)
			}
			evs, err := st.Handle(context.Background(), recDC.message(t))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(evs) != 0 {
					t.Fatalf("err %v, %d events; want %v", err, len(evs), tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			all = append(all, evs...)
			if d := lastDataset(t, all, srcKey); d.Deleted == tt.wantSrc {
				t.Errorf("source key deleted %t", d.Deleted)
			}
			// Handled again: the same outcome (nothing half done).
			evs, err = st.Handle(context.Background(), recDC.message(t))
			if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
				t.Fatalf("again: %v", err)
			}
			if tt.wantErr == nil {
				// Nothing of the first run was stored (this stage's stream
				// is never published to): the withdrawal comes again.
				if d := lastDataset(t, evs, srcKey); !d.Deleted {
					t.Errorf("again: the source key's dataset is emitted alive")
				}
			}
			all = append(all, evs...)
			if d := lastDataset(t, all, srcKey); d.Deleted == tt.wantSrc {
				t.Errorf("again: source key deleted %t", d.Deleted)
			}
			if _, kept := sources.m[bus.Digest(srcKey)]; kept != tt.wantSrc {
				t.Errorf("the source key's sources kept %t, want %t", kept, tt.wantSrc)
			}
			want := 2
			if tt.wantErr == nil {
				want = 3
			}
			if d := lastDataset(t, all, mergeKey); len(d.Sources) != want {
				t.Errorf("DOI dataset lists %q", sourceFeeds(d))
			}
		})
	}
}
