package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// upper is a stage handler that upper-cases its input; with suffix it
// appends it, standing for a new ontology.
func upper(suffix *atomic.Value) bus.Handler {
	return func(_ context.Context, m *bus.Message) ([]bus.Event, error) {
		if string(m.Payload) == "refuse" {
			return nil, bus.Permanent(errors.New("refused"))
		}
		out := strings.ToUpper(string(m.Payload)) + suffix.Load().(string)
		return []bus.Event{{Stream: bus.Enriched, Key: m.Key, Hash: out, Payload: []byte(out), SkipUnchanged: true}}, nil
	}
}

// TestReplay replays the normalised stream through a handler: every key is
// handled once from its last message, what changed is emitted, a second
// replay emits nothing, a refused key is counted and the replay goes on,
// and a second replica cannot take a replay that one holds.
func TestReplay(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	for i := range 5 {
		// Two versions of each key: only the last is replayed.
		for _, v := range []string{"old", "new"} {
			if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: fmt.Sprint("k", i), Hash: v, Payload: fmt.Appendf(nil, "%s-%d", v, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: "bad", Hash: "x", Payload: []byte("refuse")}); err != nil {
		t.Fatal(err)
	}
	var suffix atomic.Value
	suffix.Store("")
	h := upper(&suffix)
	// The live stage emitted every key already.
	for i := range 5 {
		events, _ := h(ctx, &bus.Message{Key: fmt.Sprint("k", i), Payload: fmt.Appendf(nil, "new-%d", i)})
		if err := b.Publish(ctx, string(bus.StageEnricher), events...); err != nil {
			t.Fatal(err)
		}
	}
	cfg := bus.ReplayerConfig{Stage: bus.StageEnricher, Holder: "test-a"}
	run := func() bus.Replay {
		t.Helper()
		r, err := b.RequestReplay(ctx, bus.StageEnricher, "test", "tester")
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.RunReplay(ctx, cfg, r.ID, h)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := b.ReplayStatus(ctx, bus.StageEnricher, r.ID)
		if err != nil || stored.State != bus.ReplayDone || stored.Emitted != got.Emitted || stored.FinishedAt == nil {
			t.Fatalf("stored replay %+v, %v; want %+v", stored, err, got)
		}
		return got
	}
	if r := run(); r.Read != 6 || r.Total != 6 || r.Emitted != 0 || r.Failed != 1 {
		t.Fatalf("replay with nothing changed: %+v", r)
	}
	suffix.Store("+v2")
	if r := run(); r.Read != 6 || r.Emitted != 5 || r.Failed != 1 || !strings.Contains(r.LastError, "refused") {
		t.Fatalf("replay with a change: %+v", r)
	}
	if r := run(); r.Emitted != 0 {
		t.Fatalf("second replay emitted %d", r.Emitted)
	}
	for i := range 5 {
		m, err := b.LastEntry(ctx, bus.Enriched, fmt.Sprint("k", i))
		if err != nil || string(m.Data) != fmt.Sprintf("NEW-%d+v2", i) {
			t.Fatalf("enriched k%d = %q, %v", i, m.Data, err)
		}
	}

	// A replay held by one replica is not taken by another.
	r, err := b.RequestReplay(ctx, bus.StageEnricher, "held", "tester")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.State(bus.BucketLeases).Create(ctx, "replay.enricher."+r.ID, []byte("other")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RunReplay(ctx, cfg, r.ID, h); !errors.Is(err, bus.ErrExists) {
		t.Fatalf("RunReplay of a held replay: %v, want ErrExists", err)
	}
	if _, err := b.RequestReplay(ctx, bus.StageAnalytics+"x", "", ""); !errors.Is(err, bus.ErrNoInput) {
		t.Fatalf("replay of an unknown stage: %v", err)
	}
	if _, err := b.ReplayStatus(ctx, bus.StageEnricher, "../x"); !bus.IsNotFound(err) {
		t.Fatalf("status of a bad id: %v", err)
	}
	if _, err := b.ReplayStatus(ctx, "enricher.*", r.ID); !bus.IsNotFound(err) {
		t.Fatalf("status of a bad stage: %v", err)
	}
}

// TestReplayNeverOvertakesLiveTraffic writes a newer input message for a
// key while the replay handles its older one (live traffic during a
// replay): the replay must not publish the older version's output, which
// would land after the live stage's output of the newer one.
func TestReplayNeverOvertakesLiveTraffic(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	for i := range 3 {
		if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: fmt.Sprint("k", i), Hash: "v1", Payload: []byte("v1")}); err != nil {
			t.Fatal(err)
		}
	}
	h := func(ctx context.Context, m *bus.Message) ([]bus.Event, error) {
		if m.Key == "k1" && string(m.Payload) == "v1" {
			// The harvest of a newer version arrives meanwhile.
			if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: "k1", Hash: "v2", Payload: []byte("v2")}); err != nil {
				return nil, err
			}
		}
		out := "replayed " + string(m.Payload)
		return []bus.Event{{Stream: bus.Enriched, Key: m.Key, Hash: out, Payload: []byte(out), SkipUnchanged: true}}, nil
	}
	r, err := b.RequestReplay(ctx, bus.StageEnricher, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.RunReplay(ctx, bus.ReplayerConfig{Stage: bus.StageEnricher, Holder: "a"}, r.ID, h)
	if err != nil {
		t.Fatal(err)
	}
	if got.Emitted != 2 || got.Superseded != 1 {
		t.Fatalf("replay %+v; want 2 emitted, 1 superseded", got)
	}
	if _, err := b.LastEntry(ctx, bus.Enriched, "k1"); !bus.IsNotFound(err) {
		t.Fatalf("the older version of k1 was published over the newer: %v", err)
	}
}

// TestRunReplays takes a requested replay in the background, once.
func TestRunReplays(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: "k", Hash: "v1", Payload: []byte("v1")}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	h := func(context.Context, *bus.Message) ([]bus.Event, error) { calls.Add(1); return nil, nil }
	for _, holder := range []string{"a", "b"} {
		go func() {
			_ = b.RunReplays(ctx, bus.ReplayerConfig{Stage: bus.StageEnricher, Holder: holder, Poll: 50 * time.Millisecond}, h)
		}()
	}
	r, err := b.RequestReplay(ctx, bus.StageEnricher, "", "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := b.ReplayStatus(ctx, bus.StageEnricher, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Done() {
			if got.Read != 1 || got.Attempts != 1 {
				t.Fatalf("replay %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay not done: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler called %d times by two replicas; want 1", n)
	}
}
