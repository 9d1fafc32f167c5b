package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/metrics"
	"github.com/panosc/fairway/pkg/natsembed"
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
	// Each replay filed the refused key in the dead letters, redrivable
	// to the subject it was read from.
	letters, err := b.DeadLetters(ctx, string(bus.StageEnricher), 0)
	if err != nil || len(letters) != 3 {
		t.Fatalf("dead letters of the enricher: %d, %v; want the refused key once per replay, 3", len(letters), err)
	}
	for _, d := range letters {
		if d.Key != "bad" || d.Subject != bus.Subject(bus.Normalised, "bad") || !strings.Contains(d.Reason, "refused") ||
			d.Headers()[bus.HeaderReplay] == "" || string(d.Payload) != "refuse" || d.Attempts != 1 {
			t.Fatalf("a replay's dead letter: %+v %v", d, d.Headers())
		}
	}
	before, err := b.StreamReader(bus.Normalised).Last(ctx, "bad")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Redrive(ctx, letters[0]); err != nil {
		t.Fatal(err)
	}
	if after, err := b.StreamReader(bus.Normalised).Last(ctx, "bad"); err != nil || after.Sequence <= before.Sequence || string(after.Data) != "refuse" {
		t.Fatalf("the redriven key on its input: %+v, %v", after, err)
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

// obsBus returns a bus on a new embedded server whose observer is a fresh
// metrics registry.
func obsBus(t *testing.T) (*bus.Bus, *metrics.Metrics) {
	t.Helper()
	ns, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	m := metrics.New()
	b, err := bus.Connect(context.Background(), bus.Config{InProcess: ns, Logger: slog.New(slog.DiscardHandler), Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, m
}

// metricValue returns the value of the series name{labels} of reg (0 when
// it is not there).
func metricValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range s.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			return s.GetCounter().GetValue() + s.GetGauge().GetValue()
		}
	}
	return 0
}

// TestReplayBacksOffThenFails replays through a handler whose events
// cannot be published (a stream that does not exist): each attempt fails,
// the replay waits longer after each, stops as failed after MaxFailures
// with its error, and is counted; retried once the cause is gone, it runs
// to the end and publishes everything.
func TestReplayBacksOffThenFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, m := obsBus(t)
	for i := range 3 {
		if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: fmt.Sprint("k", i), Hash: "v1", Payload: []byte("v1")}); err != nil {
			t.Fatal(err)
		}
	}
	var broken atomic.Bool
	broken.Store(true)
	var starts []time.Time
	var mu sync.Mutex
	h := func(_ context.Context, msg *bus.Message) ([]bus.Event, error) {
		stream := bus.Enriched
		if broken.Load() {
			stream = "FAIRWAY_NOWHERE"
			if msg.Key == "k0" {
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
			}
		}
		return []bus.Event{{Stream: stream, Key: msg.Key, Hash: "out", Payload: []byte("out"), SkipUnchanged: true}}, nil
	}
	cfg := bus.ReplayerConfig{Stage: bus.StageEnricher, Holder: "a", Poll: 20 * time.Millisecond,
		RetryDelay: 100 * time.Millisecond, MaxRetryDelay: time.Second, MaxFailures: 3}
	go func() { _ = b.RunReplays(ctx, cfg, h) }()
	r, err := b.RequestReplay(ctx, bus.StageEnricher, "", "")
	if err != nil {
		t.Fatal(err)
	}
	sawRetrying := false
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := b.ReplayStatus(ctx, bus.StageEnricher, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == bus.ReplayRetrying {
			sawRetrying = got.RetryAt != nil && got.LastError != ""
		}
		if got.Done() {
			r = got
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay not ended: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.State != bus.ReplayFailed || r.Failures != 3 || r.Attempts != 3 || r.FinishedAt == nil || !strings.Contains(r.LastError, "FAIRWAY_NOWHERE") || !sawRetrying {
		t.Fatalf("replay whose publishes fail: %+v (retrying seen: %v)", r, sawRetrying)
	}
	mu.Lock()
	if len(starts) != 3 {
		t.Fatalf("%d attempts, want 3", len(starts))
	}
	first, second := starts[1].Sub(starts[0]), starts[2].Sub(starts[1])
	mu.Unlock()
	// 100ms then 200ms, each ±20%.
	if first < 80*time.Millisecond || second < 160*time.Millisecond || second <= first {
		t.Fatalf("waits between attempts %v then %v: not growing from the retry delay", first, second)
	}
	if v := metricValue(t, m, "fairway_replay_attempts_failed_total", map[string]string{"stage": "enricher"}); v != 2 {
		t.Errorf("failed attempts counted %v, want 2", v)
	}
	if v := metricValue(t, m, "fairway_replays_total", map[string]string{"stage": "enricher", "state": "failed"}); v != 1 {
		t.Errorf("failed replays counted %v, want 1", v)
	}
	// A failed replay is not taken again by itself.
	time.Sleep(300 * time.Millisecond)
	if got, _ := b.ReplayStatus(ctx, bus.StageEnricher, r.ID); got.Attempts != 3 {
		t.Fatalf("a failed replay was taken again: %+v", got)
	}
	if _, err := b.RetryReplay(ctx, bus.StageEnricher, "nope-1"); !bus.IsNotFound(err) {
		t.Fatalf("retry of no replay: %v", err)
	}

	// Fixed and retried, it runs to the end.
	broken.Store(false)
	if _, err := b.RetryReplay(ctx, bus.StageEnricher, r.ID); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		got, err := b.ReplayStatus(ctx, bus.StageEnricher, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Done() {
			r = got
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retried replay not done: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.State != bus.ReplayDone || r.Emitted != 3 || r.Failures != 0 || r.Attempts != 4 {
		t.Fatalf("retried replay: %+v", r)
	}
	if _, err := b.RetryReplay(ctx, bus.StageEnricher, r.ID); !errors.Is(err, bus.ErrNotRetryable) {
		t.Fatalf("retry of a replay done: %v", err)
	}
	for _, c := range []struct {
		outcome string
		want    float64
	}{{"changed", 3}} {
		if v := metricValue(t, m, "fairway_replay_keys_total", map[string]string{"stage": "enricher", "outcome": c.outcome}); v != c.want {
			t.Errorf("replayed keys %s: %v, want %v", c.outcome, v, c.want)
		}
	}
	if v := metricValue(t, m, "fairway_replay_keys_read", map[string]string{"stage": "enricher"}); v != 3 {
		t.Errorf("replay progress %v, want 3", v)
	}
	if v := metricValue(t, m, "fairway_replay_events_total", map[string]string{"stage": "enricher"}); v != 3 {
		t.Errorf("replayed events %v, want 3", v)
	}
}

// TestReplayDeadLettersWhatItsHandlerRefuses: a permanent refusal is
// dead-lettered at once, an unmarked error after the key's retries, and a
// transient one stops the attempt (nothing dead-lettered); keys the filter
// leaves out are skipped, not dead-lettered. The dead letters count in the
// stage's dead-letter metric.
func TestReplayDeadLettersWhatItsHandlerRefuses(t *testing.T) {
	ctx := context.Background()
	b, m := obsBus(t)
	for _, k := range []string{"ok", "refused", "flaky", "broken"} {
		if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: k, Hash: "v1", Payload: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	var flaky, transient atomic.Int32
	h := func(_ context.Context, msg *bus.Message) ([]bus.Event, error) {
		switch msg.Key {
		case "refused":
			return nil, bus.Permanent(errors.New("owned by ESRF"))
		case "flaky":
			if flaky.Add(1) <= 2 {
				return nil, errors.New("hiccup")
			}
		case "broken":
			return nil, errors.New("always broken")
		case "ok":
			if transient.Add(1) == 1 {
				return nil, bus.Transient(errors.New("KV away"))
			}
		}
		return []bus.Event{{Stream: bus.Enriched, Key: msg.Key, Hash: "out", Payload: []byte("out"), SkipUnchanged: true}}, nil
	}
	cfg := bus.ReplayerConfig{Stage: bus.StageEnricher, Holder: "a", KeyRetries: 3}
	r, err := b.RequestReplay(ctx, bus.StageEnricher, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// The first attempt stops at "ok", transiently: nothing refused.
	if got, err := b.RunReplay(ctx, cfg, r.ID, h); err == nil || got.State != bus.ReplayRetrying || !errors.Is(err, bus.ErrTransient) {
		t.Fatalf("attempt with a transient failure: %+v, %v", got, err)
	}
	if n, _ := b.DeadLetterCount(ctx, string(bus.StageEnricher)); n != 0 {
		t.Fatalf("%d dead letters after a transient failure", n)
	}
	got, err := b.RunReplay(ctx, cfg, r.ID, h)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bus.ReplayDone || got.Read != 4 || got.Failed != 2 || got.Emitted != 2 || got.Failures != 0 {
		t.Fatalf("replay: %+v", got)
	}
	letters, err := b.DeadLetters(ctx, string(bus.StageEnricher), 0)
	if err != nil || len(letters) != 2 {
		t.Fatalf("dead letters %v, %v", letters, err)
	}
	reasons := map[string]string{}
	for _, d := range letters {
		reasons[d.Key] = d.Reason
	}
	if !strings.Contains(reasons["refused"], "owned by ESRF") || !strings.Contains(reasons["broken"], "always broken") {
		t.Fatalf("dead letters' reasons: %v", reasons)
	}
	if v := metricValue(t, m, "fairway_stage_messages_dead_lettered_total", map[string]string{"stage": "enricher"}); v != 2 {
		t.Errorf("dead-letter metric %v, want 2", v)
	}

	// A filter that selects nothing refuses nothing.
	r, err = b.RequestStageReplay(ctx, bus.ReplayRequest{Stage: bus.StageEnricher, Filter: bus.ReplayFilter{SinceSeq: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.RunReplay(ctx, cfg, r.ID, h); err != nil || got.Matched != 0 || got.Failed != 0 {
		t.Fatalf("filtered replay: %+v, %v", got, err)
	}
	if n, _ := b.DeadLetterCount(ctx, string(bus.StageEnricher)); n != 2 {
		t.Fatalf("%d dead letters after a filtered replay, want 2", n)
	}
	if v := metricValue(t, m, "fairway_replay_keys_total", map[string]string{"stage": "enricher", "outcome": "skipped"}); v != 4 {
		t.Errorf("skipped keys %v, want 4", v)
	}
}
