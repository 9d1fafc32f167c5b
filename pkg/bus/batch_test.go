package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// TestRunBatches runs a batch stage whose destination is down at first:
// the stage lags (nothing acknowledged), then catches up with every
// message handled once, and the one message at fault is found by splitting
// its batch and dead-lettered, not redrivable.
func TestRunBatches(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	const n = 10
	for i := range n {
		payload := fmt.Sprintf("m%d", i)
		if i == 5 {
			payload = "bad"
		}
		if err := b.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: fmt.Sprintf("k%d", i), Hash: payload, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	var up atomic.Bool
	var failures atomic.Int64
	var mu sync.Mutex
	handled := map[string]int{}
	seqs := map[string]uint64{}
	h := func(_ context.Context, msgs []bus.StoredMessage) error {
		if !up.Load() {
			return errors.New("destination down")
		}
		for _, m := range msgs {
			if string(m.Data) == "bad" {
				return bus.Permanent(errors.New("bad entry"))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			handled[string(m.Data)]++
			seqs[string(m.Data)] = m.Sequence
		}
		return nil
	}
	cfg := bus.BatchConfig{
		Stage: bus.StageAnalytics, Size: 4, Wait: 100 * time.Millisecond, RetryDelay: 100 * time.Millisecond,
		OnFailure: func(_ context.Context, size int, err error) {
			if size > 0 && err != nil {
				failures.Add(1)
			}
		},
	}
	done := make(chan error, 1)
	go func() { done <- b.RunBatches(ctx, cfg, h) }()

	cons, err := b.JetStream().Consumer(ctx, string(bus.Catalogue), string(bus.StageAnalytics))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 0 || failures.Load() == 0 {
		t.Fatalf("while the destination is down: ack floor %d, %d failures reported", info.AckFloor.Stream, failures.Load())
	}

	up.Store(true)
	waitMsgs(t, b, bus.DeadLetters, 1)
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream == n && info.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ack floor %d, %d pending; want %d, 0", info.AckFloor.Stream, info.NumAckPending, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	for i := range n {
		p := fmt.Sprintf("m%d", i)
		if i == 5 {
			if handled["bad"] != 0 {
				t.Errorf("the message at fault was handled")
			}
			continue
		}
		if handled[p] != 1 || seqs[p] != uint64(i+1) {
			t.Errorf("%s handled %d times, at sequence %d; want once, at %d", p, handled[p], seqs[p], i+1)
		}
	}
	mu.Unlock()

	letters, err := b.DeadLetters(ctx, string(bus.StageAnalytics), 0)
	if err != nil || len(letters) != 1 {
		t.Fatalf("dead letters %+v, %v", letters, err)
	}
	d := letters[0]
	if string(d.Payload) != "bad" || d.Stage != "analytics" || d.Attempts != 1 || !strings.Contains(d.Reason, "bad entry") {
		t.Errorf("dead letter %+v", d)
	}
	if err := b.Redrive(ctx, d); !errors.Is(err, bus.ErrNotRedrivable) {
		t.Errorf("redrive of a batch stage's dead letter: %v, want ErrNotRedrivable", err)
	}
	raw := testenv.Messages(t, b, bus.DeadLetters)
	if got := raw[0].Headers().Get(bus.HeaderSourceSubject); got != bus.Subject(bus.Catalogue, "k5") {
		t.Errorf("source subject %q, want %q", got, bus.Subject(bus.Catalogue, "k5"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunBatchesUnknownStage(t *testing.T) {
	b := testenv.Bus(t)
	err := b.RunBatches(context.Background(), bus.BatchConfig{Stage: "nope"}, func(context.Context, []bus.StoredMessage) error { return nil })
	if !errors.Is(err, bus.ErrUnknownStage) {
		t.Fatalf("err = %v, want ErrUnknownStage", err)
	}
}

// TestRunBatchesWaitsLongerAfterEachFailure keeps a batch stage's
// destination down: the waits between attempts grow from RetryDelay to
// MaxRetryDelay and stay there.
func TestRunBatchesWaitsLongerAfterEachFailure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	if err := b.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: "k", Hash: "h", Payload: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		calls []time.Time
	)
	const attempts = 7
	h := func(context.Context, []bus.StoredMessage) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		if len(calls) <= attempts {
			return errors.New("destination down")
		}
		return nil
	}
	cfg := bus.BatchConfig{Stage: bus.StageAnalytics, Size: 1, Wait: 50 * time.Millisecond,
		RetryDelay: 50 * time.Millisecond, MaxRetryDelay: 400 * time.Millisecond, OnFailure: func(context.Context, int, error) {}}
	done := make(chan error, 1)
	go func() { done <- b.RunBatches(ctx, cfg, h) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if n > attempts {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts in 20s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	gaps := make([]time.Duration, 0, attempts)
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].Sub(calls[i-1]))
	}
	// Expected about 50, 100, 200, 400, 400, 400 ms (±20%), plus fetches.
	if gaps[0] > 250*time.Millisecond || gaps[3] < 300*time.Millisecond || gaps[3] < 2*gaps[0] {
		t.Errorf("waits %v do not grow from 50ms to 400ms", gaps)
	}
	for _, g := range gaps {
		if g > 1500*time.Millisecond {
			t.Errorf("waits %v exceed the maximum of 400ms by far", gaps)
			break
		}
	}
}

// TestBatchConsumersHaveTheirOwnAckPendingLimit: the analytics writer's
// consumers get Topology.BatchMaxAckPending, every other stage
// MaxAckPending, defaults and set values alike, and the server holds the
// limit the topology gives.
func TestBatchConsumersHaveTheirOwnAckPendingLimit(t *testing.T) {
	cases := []struct {
		name  string
		topo  bus.Topology
		stage int
		batch int
	}{
		{name: "defaults", topo: bus.Topology{}, stage: 2048, batch: 20000},
		{name: "set", topo: bus.Topology{MaxAckPending: 100, BatchMaxAckPending: 50000}, stage: 100, batch: 50000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, spec := range bus.Consumers {
				want := c.stage
				if bus.BatchStage(spec.Stage) {
					want = c.batch
				}
				if got := c.topo.ConsumerConfig(spec).MaxAckPending; got != want {
					t.Errorf("%s: max ack pending %d, want %d", spec.Stage, got, want)
				}
			}
		})
	}
	for _, s := range []bus.Stage{bus.StageAnalytics, bus.StageAnalyticsUsage} {
		if !bus.BatchStage(s) {
			t.Errorf("%s is not a batch stage", s)
		}
	}
	if bus.BatchStage(bus.StageNormaliser) || bus.BatchStage(bus.StagePublisher) {
		t.Error("a stage of the pipeline counted as a batch stage")
	}
	if err := (bus.Topology{BatchMaxAckPending: -1}).Validate(); err == nil {
		t.Error("a negative BatchMaxAckPending validated")
	}
	b := testenv.Bus(t)
	info, err := b.JetStream().Consumer(context.Background(), string(bus.Catalogue), string(bus.StageAnalytics))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.MaxAckPending; got != 20000 {
		t.Errorf("the server holds max ack pending %d for the writer's consumer, want 20000", got)
	}
}

// TestRunBatchesHandlesBatchesInOrder: with the next batch fetched while
// one is handled, batches are still handled one at a time, every message
// once, in stream order.
func TestRunBatchesHandlesBatchesInOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testenv.Bus(t)
	const n = 60
	events := make([]bus.Event, n)
	for i := range events {
		events[i] = bus.Event{Stream: bus.Catalogue, Key: fmt.Sprintf("k%d", i), Hash: "h", Payload: []byte{byte(i)}}
	}
	if err := b.PublishBatch(ctx, "publisher", events); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		seqs    []uint64
		running atomic.Int32
		overlap atomic.Bool
	)
	h := func(_ context.Context, msgs []bus.StoredMessage) error {
		if running.Add(1) > 1 {
			overlap.Store(true)
		}
		defer running.Add(-1)
		time.Sleep(5 * time.Millisecond) // the next fetch runs meanwhile
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			seqs = append(seqs, m.Sequence)
		}
		return nil
	}
	done := make(chan error, 1)
	go func() {
		done <- b.RunBatches(ctx, bus.BatchConfig{Stage: bus.StageAnalytics, Size: 7, Wait: 50 * time.Millisecond}, h)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := len(seqs)
		mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages handled", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if overlap.Load() {
		t.Error("two batches were handled at once")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("sequences handled %v, want 1 to %d in order", seqs, n)
		}
	}
}

// TestRunBatchesTellsRowsAndDeadLetters: the rows a batch handler notes
// are what the metrics count (not its messages), and a message at fault
// that the stage dead-letters counts among the stage's dead letters.
func TestRunBatchesTellsRowsAndDeadLetters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, m := obsBus(t)
	const n = 6
	for i := range n {
		payload := fmt.Sprintf("m%d", i)
		if i == 3 {
			payload = "bad"
		}
		if err := b.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: fmt.Sprintf("k%d", i), Hash: payload, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	var written atomic.Int64
	h := func(ctx context.Context, msgs []bus.StoredMessage) error {
		for _, m := range msgs {
			if string(m.Data) == "bad" {
				return bus.Permanent(errors.New("bad entry"))
			}
		}
		// Three rows a message, in two inserts.
		bus.NoteRows(ctx, len(msgs))
		bus.NoteRows(ctx, 2*len(msgs))
		written.Add(int64(len(msgs)))
		return nil
	}
	go func() {
		_ = b.RunBatches(ctx, bus.BatchConfig{Stage: bus.StageAnalytics, Size: n, Wait: 100 * time.Millisecond, RetryDelay: 50 * time.Millisecond}, h)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for written.Load() < n-1 || metricValue(t, m, "fairway_stage_messages_dead_lettered_total", map[string]string{"stage": "analytics"}) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages written", written.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := metricValue(t, m, "fairway_batch_rows_total", map[string]string{"stage": "analytics"}); v != 3*(n-1) {
		t.Errorf("rows counted %v, want %d", v, 3*(n-1))
	}
	if v := metricValue(t, m, "fairway_stage_messages_dead_lettered_total", map[string]string{"stage": "analytics"}); v != 1 {
		t.Errorf("dead letters counted %v, want 1", v)
	}
}
