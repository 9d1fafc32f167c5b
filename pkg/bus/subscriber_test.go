package bus_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// TestStopWhileMessagesFlow stops a stage again and again while its input
// flows (the stop meets messages on their way to the handler, in the
// handler, and being acknowledged): every stop returns, none panics, and
// a last run handles whatever was left, so every message is handled at
// least once and none is lost.
func TestStopWhileMessagesFlow(t *testing.T) {
	b := testenv.Bus(t)
	const n = 600
	events := make([]bus.Event, n)
	for i := range events {
		events[i] = bus.Event{Stream: bus.Raw, Key: fmt.Sprintf("k%d", i), Hash: "h", Payload: []byte("p")}
	}
	if err := b.PublishBatch(context.Background(), "harvester", events); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var handled atomic.Int64
	h := func(ctx context.Context, m *bus.Message) ([]bus.Event, error) {
		time.Sleep(200 * time.Microsecond)
		mu.Lock()
		seen[m.Key]++
		mu.Unlock()
		handled.Add(1)
		return nil, nil
	}
	run := func(until func() bool) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser, Concurrency: 4}, h) }()
		for deadline := time.Now().Add(30 * time.Second); !until(); {
			if time.Now().After(deadline) {
				t.Fatal("the stage handled too little")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(90 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
	for round := range 8 {
		from := handled.Load()
		run(func() bool { return handled.Load() >= from+20 || len(keys(&mu, seen)) == n })
		t.Logf("round %d: %d handled", round, handled.Load())
	}
	run(func() bool { return len(keys(&mu, seen)) == n })
}

func keys(mu *sync.Mutex, m map[string]int) map[string]int {
	mu.Lock()
	defer mu.Unlock()
	return m
}
