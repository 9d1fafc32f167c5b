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

// TestReplayFilters replays with each filter after a change: only the keys
// the filter selects are handed to the handler and emit their new output,
// a dry run counts them and emits nothing, and a replay by feed of a
// stage that cannot tell feeds fails.
func TestReplayFilters(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	// Keys k0..k5; k0..k2 from feed a (facility A), k3..k5 from feed b
	// (facility B): the payload says which.
	for i := range 6 {
		feed := "a"
		if i >= 3 {
			feed = "b"
		}
		if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: fmt.Sprint("k", i), Hash: "h", Payload: fmt.Appendf(nil, "%s-%d", feed, i)}); err != nil {
			t.Fatal(err)
		}
	}
	middle := time.Now()
	origin := func(m bus.StoredMessage) (string, string) {
		feed, _, _ := strings.Cut(string(m.Data), "-")
		return feed, strings.ToUpper(feed)
	}
	var suffix atomic.Value
	suffix.Store("")
	h := upper(&suffix)
	cfg := bus.ReplayerConfig{Stage: bus.StageEnricher, Holder: "test", Origin: origin}
	run := func(f bus.ReplayFilter, dry bool) bus.Replay {
		t.Helper()
		r, err := b.RequestStageReplay(ctx, bus.ReplayRequest{Stage: bus.StageEnricher, Filter: f, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.RunReplay(ctx, cfg, r.ID, h)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// The live stage emitted every key.
	run(bus.ReplayFilter{}, false)
	cases := []struct {
		name    string
		filter  bus.ReplayFilter
		matched uint64
	}{
		{"every key", bus.ReplayFilter{}, 6},
		{"feed a", bus.ReplayFilter{Feed: "a"}, 3},
		{"facility B", bus.ReplayFilter{Facility: "B"}, 3},
		{"unknown feed", bus.ReplayFilter{Feed: "c"}, 0},
		{"sequences 2 to 4", bus.ReplayFilter{SinceSeq: 2, UntilSeq: 4}, 3},
		{"from sequence 5", bus.ReplayFilter{SinceSeq: 5}, 2},
		{"since a time after every message", bus.ReplayFilter{Since: middle}, 0},
		{"until a time after every message", bus.ReplayFilter{Until: middle}, 6},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := run(c.filter, true); r.Matched != c.matched || r.Emitted != 0 || r.Read != 6 || !r.DryRun {
				t.Fatalf("dry run: %+v, want %d matched", r, c.matched)
			}
			suffix.Store(fmt.Sprint("+v", i))
			if r := run(c.filter, false); r.Matched != c.matched || r.Emitted != c.matched {
				t.Fatalf("replay after a change: %d matched, %d emitted; want %d, %d", r.Matched, r.Emitted, c.matched, c.matched)
			}
			if r := run(c.filter, false); r.Emitted != 0 {
				t.Fatalf("second replay emitted %d", r.Emitted)
			}
		})
	}
	// The last change reached only what its filter selected: k0 was last
	// replayed by "until a time", k3 too.
	m, err := b.LastEntry(ctx, bus.Enriched, "k0")
	if err != nil || string(m.Data) != fmt.Sprintf("A-0+v%d", len(cases)-1) {
		t.Fatalf("k0 = %q, %v", m.Data, err)
	}

	for _, bad := range []bus.ReplayFilter{
		{Feed: "a", Facility: "A"}, {SinceSeq: 5, UntilSeq: 4}, {Since: middle, Until: middle.Add(-time.Second)}, {Feed: strings.Repeat("f", 300)},
	} {
		if _, err := b.RequestStageReplay(ctx, bus.ReplayRequest{Stage: bus.StageEnricher, Filter: bad}); err == nil {
			t.Errorf("replay with filter %+v accepted", bad)
		}
	}
	r, err := b.RequestStageReplay(ctx, bus.ReplayRequest{Stage: bus.StageEnricher, Filter: bus.ReplayFilter{Feed: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.RunReplay(ctx, bus.ReplayerConfig{Stage: bus.StageEnricher, Holder: "test"}, r.ID, h); !errors.Is(err, bus.ErrNoOrigin) {
		t.Fatalf("replay by feed without Origin: %v", err)
	}
}

// TestDeadLetterFilters dead-letters records of two feeds with two
// reasons, then walks, shows and purges them by filter; a redrive that
// fails again keeps the earlier failure.
func TestDeadLetterFilters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	var fixed atomic.Bool
	h := func(_ context.Context, m *bus.Message) ([]bus.Event, error) {
		if strings.HasPrefix(string(m.Payload), "bad") {
			return nil, bus.Permanent(errors.New("unreadable"))
		}
		if !fixed.Load() {
			return nil, bus.Permanent(errors.New("Mapping gap"))
		}
		return nil, nil
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser}, h) }()
	for i, rec := range []struct{ key, payload string }{{"fa:1", "bad"}, {"fa:2", "gap"}, {"fb:1", "bad"}, {"fb:2", "gap"}, {"fb:3", "gap"}} {
		if err := b.Publish(ctx, "harvester", bus.Event{Stream: bus.Raw, Key: rec.key, Hash: fmt.Sprint(i), Payload: []byte(rec.payload)}); err != nil {
			t.Fatal(err)
		}
	}
	waitMsgs(t, b, bus.DeadLetters, 5)
	count := func(f bus.DeadLetterFilter) (n int, seqs []uint64) {
		t.Helper()
		if err := b.EachDeadLetter(ctx, f, func(d bus.DeadLetter) error {
			n++
			seqs = append(seqs, d.Seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n, seqs
	}
	all, seqs := count(bus.DeadLetterFilter{})
	cases := []struct {
		name string
		f    bus.DeadLetterFilter
		want int
	}{
		{"all", bus.DeadLetterFilter{}, 5},
		{"stage", bus.DeadLetterFilter{Stage: "normaliser"}, 5},
		{"another stage", bus.DeadLetterFilter{Stage: "enricher"}, 0},
		{"feed", bus.DeadLetterFilter{Feed: "fb"}, 3},
		{"error, any case", bus.DeadLetterFilter{Error: "mapping GAP"}, 3},
		{"feed and error", bus.DeadLetterFilter{Feed: "fa", Error: "unreadable"}, 1},
		{"since the future", bus.DeadLetterFilter{Since: time.Now().Add(time.Hour)}, 0},
		{"until the past", bus.DeadLetterFilter{Until: time.Now().Add(-time.Hour)}, 0},
		{"a time range around now", bus.DeadLetterFilter{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)}, 5},
		{"after the second", bus.DeadLetterFilter{After: seqs[1]}, 3},
	}
	if all != 5 {
		t.Fatalf("%d dead letters", all)
	}
	for _, c := range cases {
		if n, _ := count(c.f); n != c.want {
			t.Errorf("%s: %d dead letters, want %d", c.name, n, c.want)
		}
	}
	// Redriven while the cause is not fixed, fb:2 fails again.
	_, gaps := count(bus.DeadLetterFilter{Feed: "fb", Error: "gap"})
	d, err := b.DeadLetter(ctx, gaps[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Redrive(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeadLetter(ctx, gaps[0]); !bus.IsNotFound(err) {
		t.Fatalf("redriven dead letter still there: %v", err)
	}
	var again bus.DeadLetter
	for deadline := time.Now().Add(10 * time.Second); again.Seq == 0; time.Sleep(20 * time.Millisecond) {
		_ = b.EachDeadLetter(ctx, bus.DeadLetterFilter{After: seqs[len(seqs)-1]}, func(d bus.DeadLetter) error { again = d; return nil })
		if time.Now().After(deadline) {
			t.Fatal("the redriven record did not fail again")
		}
	}
	if h := again.History(); len(h) != 2 || h[0].Reason != d.Reason || h[1].Reason != d.Reason || h[0].Time.After(h[1].Time) || again.Key != d.Key {
		t.Fatalf("history %+v of %+v", h, again)
	}
	// Purge by filter.
	_, bad := count(bus.DeadLetterFilter{Error: "unreadable"})
	for _, s := range bad {
		if err := b.PurgeDeadLetter(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PurgeDeadLetter(ctx, bad[0]); !bus.IsNotFound(err) {
		t.Fatalf("purge of a purged dead letter: %v", err)
	}
	if n, _ := count(bus.DeadLetterFilter{}); n != 3 {
		t.Fatalf("%d dead letters after the purge, want 3", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
