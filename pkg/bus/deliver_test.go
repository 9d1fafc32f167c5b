package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// publishCatalogue stores one catalogue message per (key, version).
func publishCatalogue(t *testing.T, b *bus.Bus, key string, version int) {
	t.Helper()
	ev := bus.Event{Stream: bus.Catalogue, Key: key, Hash: key + "#" + strconv.Itoa(version), Payload: []byte(key + " v" + strconv.Itoa(version))}
	if err := b.Publish(context.Background(), "test", ev); err != nil {
		t.Fatal(err)
	}
}

// deliveries records what a delivery handler saw, per key.
type deliveries struct {
	mu       sync.Mutex
	seen     map[string][]string // payloads per key, in the order handled
	attempts map[string]int
	busy     map[string]bool // a key being handled
	overlap  bool            // two messages of one key handled at once
}

func newDeliveries() *deliveries {
	return &deliveries{seen: map[string][]string{}, attempts: map[string]int{}, busy: map[string]bool{}}
}

func (d *deliveries) total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, s := range d.seen {
		n += len(s)
	}
	return n
}

// run starts b.Deliver with h in the background; the returned function
// stops it and waits for it.
func runDeliver(t *testing.T, b *bus.Bus, cfg bus.DeliverConfig, h bus.DeliverHandler) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Deliver(ctx, cfg, h) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Deliver: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliverHandlesEveryMessageInOrderPerKey(t *testing.T) {
	b := testenv.Bus(t)
	const keys, versions = 40, 3
	d := newDeliveries()
	h := func(ctx context.Context, m bus.StoredMessage, attempt int) error {
		key := m.Header.Get(bus.HeaderKey)
		d.mu.Lock()
		if d.busy[key] {
			d.overlap = true
		}
		d.busy[key] = true
		d.mu.Unlock()
		time.Sleep(time.Millisecond)
		d.mu.Lock()
		d.busy[key] = false
		d.seen[key] = append(d.seen[key], string(m.Data))
		d.mu.Unlock()
		return nil
	}
	cfg := bus.DeliverConfig{Stream: bus.Catalogue, Name: bus.DeliveryName("order"), Stage: "push:order", InFlight: 8}
	runDeliver(t, b, cfg, h)
	for v := 1; v <= versions; v++ {
		for k := range keys {
			publishCatalogue(t, b, fmt.Sprintf("10.5072/k%d", k), v)
		}
	}
	// Each key's last version arrives last; earlier ones may have been
	// replaced in the stream before the delivery read them.
	waitFor(t, "every key's last version", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		for k := range keys {
			s := d.seen[fmt.Sprintf("10.5072/k%d", k)]
			if len(s) == 0 || s[len(s)-1] != fmt.Sprintf("10.5072/k%d v%d", k, versions) {
				return false
			}
		}
		return true
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.overlap {
		t.Error("two messages of one key were handled at once")
	}
	for key, s := range d.seen {
		for i := 1; i < len(s); i++ {
			if s[i] <= s[i-1] {
				t.Errorf("%s handled out of order: %v", key, s)
			}
		}
	}
}

func TestDeliverRetriesInPlaceAndDeadLettersWhatIsRefused(t *testing.T) {
	b := testenv.Bus(t)
	d := newDeliveries()
	h := func(ctx context.Context, m bus.StoredMessage, attempt int) error {
		key := m.Header.Get(bus.HeaderKey)
		d.mu.Lock()
		defer d.mu.Unlock()
		d.attempts[key]++
		switch key {
		case "flaky":
			if attempt < 3 {
				return errors.New("destination down")
			}
		case "refused":
			return bus.Permanent(errors.New("422: not a dataset"))
		case "wait":
			if attempt == 1 {
				return bus.RetryAfter(errors.New("429"), 1500*time.Millisecond)
			}
		}
		d.seen[key] = append(d.seen[key], time.Now().Format(time.RFC3339Nano))
		return nil
	}
	cfg := bus.DeliverConfig{Stream: bus.Catalogue, Name: bus.DeliveryName("retry"), Stage: "push:retry", InFlight: 4,
		RetryInitial: 10 * time.Millisecond, RetryMax: 5 * time.Second}
	start := time.Now()
	runDeliver(t, b, cfg, h)
	for _, k := range []string{"ok", "flaky", "refused", "wait"} {
		publishCatalogue(t, b, k, 1)
	}
	waitFor(t, "ok, flaky and wait", func() bool { return d.total() == 3 })
	waitFor(t, "the dead letter", func() bool {
		n, err := b.DeadLetterCount(context.Background(), "push:retry")
		return err == nil && n == 1
	})
	d.mu.Lock()
	if d.attempts["flaky"] != 3 || d.attempts["refused"] != 1 || d.attempts["wait"] != 2 {
		t.Errorf("attempts = %v, want flaky 3, refused 1, wait 2", d.attempts)
	}
	waited, _ := time.Parse(time.RFC3339Nano, d.seen["wait"][0])
	d.mu.Unlock()
	if waited.Sub(start) < 1500*time.Millisecond {
		t.Errorf("the retry came %v after the start, before the Retry-After of 1.5s", waited.Sub(start))
	}
	dls, err := b.DeadLetters(context.Background(), "push:retry", 0)
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters = %v, %v", dls, err)
	}
	if dls[0].Key != "refused" || dls[0].Reason != "422: not a dataset" || string(dls[0].Payload) != "refused v1" {
		t.Errorf("dead letter = key %q reason %q payload %q", dls[0].Key, dls[0].Reason, dls[0].Payload)
	}
	if err := b.Redrive(context.Background(), dls[0]); !errors.Is(err, bus.ErrNotRedrivable) {
		t.Errorf("redrive of a delivery's dead letter = %v, want ErrNotRedrivable (it would rewrite the catalogue)", err)
	}
	waitFor(t, "every message settled", func() bool {
		st, err := b.DeliveryState(context.Background(), bus.Catalogue, cfg.Name)
		return err == nil && st.Pending == 0 && st.InFlight == 0 && st.AckFloor == 4
	})
}

func TestDeliverStopsGivesBackAndResumes(t *testing.T) {
	b := testenv.Bus(t)
	for k := range 20 {
		publishCatalogue(t, b, fmt.Sprintf("k%d", k), 1)
	}
	cfg := bus.DeliverConfig{Stream: bus.Catalogue, Name: bus.DeliveryName("resume"), Stage: "push:resume", InFlight: 2,
		RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond}
	// A destination that is down: nothing is settled, the delivery lags.
	var mu sync.Mutex
	down := true
	handled := map[string]int{}
	h := func(ctx context.Context, m bus.StoredMessage, attempt int) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("connection refused")
		}
		handled[m.Header.Get(bus.HeaderKey)]++
		return nil
	}
	stop := runDeliver(t, b, cfg, h)
	time.Sleep(300 * time.Millisecond)
	stop()
	st, err := b.DeliveryState(context.Background(), bus.Catalogue, cfg.Name)
	if err != nil || !st.Exists || st.AckFloor != 0 {
		t.Fatalf("after a run against a destination that is down: %+v, %v", st, err)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	runDeliver(t, b, cfg, h)
	waitFor(t, "every key once", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == 20
	})
	waitFor(t, "the ack floor at the end", func() bool {
		st, err := b.DeliveryState(context.Background(), bus.Catalogue, cfg.Name)
		return err == nil && st.AckFloor == 20 && st.Pending == 0
	})
	mu.Lock()
	for k, n := range handled {
		if n != 1 {
			t.Errorf("%s handled %d times", k, n)
		}
	}
	mu.Unlock()
}

func TestResetDeliveryStartsAgain(t *testing.T) {
	b := testenv.Bus(t)
	for k := range 10 {
		publishCatalogue(t, b, fmt.Sprintf("k%d", k), 1)
	}
	cfg := bus.DeliverConfig{Stream: bus.Catalogue, Name: bus.DeliveryName("reset"), Stage: "push:reset", InFlight: 2}
	var mu sync.Mutex
	var seqs []uint64
	h := func(ctx context.Context, m bus.StoredMessage, attempt int) error {
		mu.Lock()
		defer mu.Unlock()
		seqs = append(seqs, m.Sequence)
		return nil
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seqs) }
	stop := runDeliver(t, b, cfg, h)
	waitFor(t, "the first pass", func() bool { return count() == 10 })
	stop()
	if err := b.ResetDelivery(context.Background(), cfg, bus.DeliveryStart{Seq: 7}); err != nil {
		t.Fatal(err)
	}
	st, err := b.DeliveryState(context.Background(), bus.Catalogue, cfg.Name)
	if err != nil || st.Pending != 4 {
		t.Fatalf("after a reset to 7: %+v, %v; want 4 pending", st, err)
	}
	runDeliver(t, b, cfg, h)
	waitFor(t, "the second pass", func() bool { return count() == 14 })
	names, err := b.ConsumerNames(context.Background(), bus.Catalogue)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range names {
		found = found || n == cfg.Name
	}
	if !found {
		t.Errorf("consumers %v lack %s", names, cfg.Name)
	}
}

func TestDeliveryName(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"eosc", "push-eosc"},
		{"daphne_1", "push-daphne_1"},
		{"a.b", "push-" + bus.Digest("a.b")},
		{"", "push-" + bus.Digest("")},
	} {
		if got := bus.DeliveryName(tc.id); got != tc.want {
			t.Errorf("DeliveryName(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestDeliverConfigValidate(t *testing.T) {
	ok := bus.DeliverConfig{Stream: bus.Catalogue, Name: "push-x", Stage: "push:x"}
	for _, tc := range []struct {
		name string
		mod  func(*bus.DeliverConfig)
	}{
		{"no stream", func(c *bus.DeliverConfig) { c.Stream = "" }},
		{"bad name", func(c *bus.DeliverConfig) { c.Name = "push.x" }},
		{"no stage", func(c *bus.DeliverConfig) { c.Stage = "" }},
		{"in flight", func(c *bus.DeliverConfig) { c.InFlight = 5000 }},
		{"negative retry", func(c *bus.DeliverConfig) { c.RetryMax = -1 }},
		{"short ack wait", func(c *bus.DeliverConfig) { c.AckWait = time.Second }},
	} {
		c := ok
		tc.mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate passed", tc.name)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestDeliverKeepsSlowHandlersAndWaitingMessagesAlive(t *testing.T) {
	b := testenv.Bus(t)
	publishCatalogue(t, b, "slow", 1)
	for k := range 10 {
		publishCatalogue(t, b, fmt.Sprintf("other%d", k), 1)
	}
	var mu sync.Mutex
	calls := map[string]int{}
	h := func(ctx context.Context, m bus.StoredMessage, attempt int) error {
		key := m.Header.Get(bus.HeaderKey)
		mu.Lock()
		calls[key]++
		mu.Unlock()
		if key == "slow" {
			select { // a push that outlasts the ack wait
			case <-time.After(5 * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	cfg := bus.DeliverConfig{Stream: bus.Catalogue, Name: bus.DeliveryName("slow"), Stage: "push:slow", InFlight: 2, AckWait: 3 * time.Second}
	runDeliver(t, b, cfg, h)
	waitFor(t, "both settled", func() bool {
		st, err := b.DeliveryState(context.Background(), bus.Catalogue, cfg.Name)
		return err == nil && st.AckFloor == 11 && st.InFlight == 0
	})
	time.Sleep(time.Second) // a copy delivered again would be handled by now
	mu.Lock()
	defer mu.Unlock()
	for key, n := range calls {
		if n != 1 {
			t.Errorf("%s handled %d times: a message in a handler past the ack wait was delivered again", key, n)
		}
	}
	if len(calls) != 11 {
		t.Errorf("handled %d keys, want 11", len(calls))
	}
}

func TestDeliverEndsWhenItsConsumerIsRemoved(t *testing.T) {
	b := testenv.Bus(t)
	publishCatalogue(t, b, "k", 1)
	cfg := bus.DeliverConfig{Stream: bus.Catalogue, Name: bus.DeliveryName("gone"), Stage: "push:gone", InFlight: 2}
	handled := make(chan struct{}, 10)
	h := func(ctx context.Context, m bus.StoredMessage, attempt int) error {
		handled <- struct{}{}
		return nil
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- b.Deliver(ctx, cfg, h) }()
	<-handled
	if err := b.DeleteConsumer(ctx, bus.Catalogue, cfg.Name); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, bus.ErrDeliveryGone) {
			t.Errorf("Deliver = %v, want ErrDeliveryGone", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Deliver went on after its consumer was removed")
	}
}
