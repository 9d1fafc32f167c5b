package readmodel_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/readmodel"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

const panet = "http://purl.org/pan-science/PaNET/"

// ds describes a catalogue entry for a test.
type ds struct {
	key, facility, feed, doi, title, access string
	techniques                              []*fairwayv1.Technique
	deleted                                 bool
	at                                      time.Time
}

// technique returns a PaNET technique with its broader ones.
func technique(id string, broader ...string) *fairwayv1.Technique {
	t := &fairwayv1.Technique{Iri: panet + id, Id: id}
	for _, b := range broader {
		t.Broader = append(t.Broader, panet+b)
	}
	return t
}

var hashes atomic.Uint64

// entry returns the catalogue entry d describes, as the publisher makes it.
func entry(d ds) *fairwayv1.CatalogueEntry {
	if d.at.IsZero() {
		d.at = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	set := &fairwayv1.Dataset{
		Key: d.key, Doi: d.doi, Facility: d.facility, FeedId: d.feed, Title: d.title, Deleted: d.deleted,
		AccessRights: d.access,
	}
	e := &fairwayv1.CatalogueEntry{
		Key: d.key, Deleted: d.deleted, ContentHash: fmt.Sprintf("h%d", hashes.Add(1)),
		PublishedAt: timestamppb.New(d.at),
		Dataset:     &fairwayv1.EnrichedDataset{Dataset: set, Techniques: d.techniques},
	}
	if !d.deleted {
		e.Turtle = "<https://example.org/" + d.key + "> a <http://www.w3.org/ns/dcat#Dataset> ."
	}
	return e
}

// publish writes entries into the catalogue as the publisher does and
// returns the stream's last sequence.
func publish(t testing.TB, b *bus.Bus, entries ...*fairwayv1.CatalogueEntry) uint64 {
	t.Helper()
	ctx := context.Background()
	events := make([]bus.Event, 0, len(entries))
	for _, e := range entries {
		p, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, bus.Event{Stream: bus.Catalogue, Key: e.Key, Hash: e.ContentHash, Payload: p})
	}
	if err := b.PublishBatch(ctx, string(bus.StagePublisher), events); err != nil {
		t.Fatal(err)
	}
	return last(t, b)
}

// publishRaw writes a payload that is not a catalogue entry under key.
func publishRaw(t testing.TB, b *bus.Bus, key string, payload []byte) uint64 {
	t.Helper()
	ev := bus.Event{Stream: bus.Catalogue, Key: key, Hash: fmt.Sprintf("raw%d", hashes.Add(1)), Payload: payload}
	if err := b.Publish(context.Background(), string(bus.StagePublisher), ev); err != nil {
		t.Fatal(err)
	}
	return last(t, b)
}

func last(t testing.TB, b *bus.Bus) uint64 {
	t.Helper()
	seq, err := b.LastSequence(context.Background(), bus.Catalogue)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// running is a model whose Run goes on until stop.
type running struct {
	*readmodel.Model
	stop func()
}

// start opens the model in dir for replica and runs it until the test
// ends or stop is called.
func start(t testing.TB, b *bus.Bus, dir, replica string) *running {
	t.Helper()
	return startWith(t, b, readmodel.Config{Dir: dir, Replica: replica, RetryDelay: 100 * time.Millisecond})
}

// startWith is start with a configuration of the test's own.
func startWith(t testing.TB, b *bus.Bus, cfg readmodel.Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := readmodel.Open(ctx, cfg, b, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	t.Cleanup(stop)
	return &running{Model: m, stop: stop}
}

// caughtUp waits until m applied seq.
func caughtUp(t testing.TB, m *readmodel.Model, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := m.WaitFor(ctx, seq); err != nil {
		t.Fatalf("model at %d, want %d: %v", m.Position(), seq, err)
	}
}

// keys returns the keys of a page's records.
func keys(recs []readmodel.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Key
	}
	return out
}

// all returns the keys of every record matching q, through Each.
func all(t testing.TB, m *readmodel.Model, q readmodel.Query) []string {
	t.Helper()
	var out []string
	err := m.Each(context.Background(), q, func(r readmodel.Record) error {
		out = append(out, r.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
