package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// stallingServer connects in-process to ns through connections whose
// reads can be held back: what the server sends waits, as it does on a
// loaded machine where the client's read loop does not get its turn.
type stallingServer struct {
	ns   *server.Server
	gate sync.RWMutex // held (Lock) while reads stall
}

func (s *stallingServer) InProcessConn() (net.Conn, error) {
	c, err := s.ns.InProcessConn()
	if err != nil {
		return nil, err
	}
	return &stallingConn{Conn: c, gate: &s.gate}, nil
}

type stallingConn struct {
	net.Conn
	gate *sync.RWMutex
}

func (c *stallingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	// Bytes read while the reads stall are handed on once they resume.
	c.gate.RLock()
	c.gate.RUnlock()
	return n, err
}

// TestRunBatchesLosesNothingWhenDeliveryStalls holds back what the server
// sends to a batch stage for longer than a batch's wait while messages
// arrive for it: once the reads resume, every message must be handled at
// once, on its first delivery, not after its AckWait ran out. (With a
// Fetch per batch, the client gave the fetch up on its own timer and
// dropped what the server had delivered to it meanwhile: those messages
// came back only after AckWait, as in the 61 s iterations of
// BenchmarkWriter.)
func TestRunBatchesLosesNothingWhenDeliveryStalls(t *testing.T) {
	const ackWait = 6 * time.Second
	ns, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	topology := bus.Topology{AckWait: ackWait}
	stalling := &stallingServer{ns: ns}
	b, err := bus.Connect(context.Background(), bus.Config{InProcess: stalling, Logger: slog.New(slog.DiscardHandler), Topology: topology})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	// The messages come from a connection of their own, which never
	// stalls.
	pub, err := bus.Connect(context.Background(), bus.Config{InProcess: ns, Logger: slog.New(slog.DiscardHandler), Topology: topology})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	handled := map[string]int{}
	h := func(_ context.Context, msgs []bus.StoredMessage) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			handled[string(m.Data)]++
		}
		return nil
	}
	cfg := bus.BatchConfig{Stage: bus.StageAnalytics, Size: 100, Wait: 200 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- b.RunBatches(ctx, cfg, h) }()
	time.Sleep(500 * time.Millisecond) // the stage is fetching

	const n = 50
	stalling.gate.Lock()
	for i := range n {
		payload := fmt.Sprintf("m%d", i)
		if err := pub.Publish(ctx, "publisher", bus.Event{Stream: bus.Catalogue, Key: fmt.Sprintf("k%d", i), Hash: payload, Payload: []byte(payload)}); err != nil {
			stalling.gate.Unlock()
			t.Fatal(err)
		}
	}
	// Longer than a batch's wait and the client's own timer of a fetch
	// (its wait plus a second), shorter than the AckWait.
	time.Sleep(cfg.Wait + 2*time.Second)
	stalling.gate.Unlock()

	deadline := time.Now().Add(ackWait / 3)
	for {
		mu.Lock()
		got := len(handled)
		mu.Unlock()
		if got == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	got := len(handled)
	mu.Unlock()
	if got != n {
		t.Fatalf("%d of %d messages handled within %s of the reads resuming: the others wait for their AckWait (%s)", got, n, ackWait/3, ackWait)
	}
	// Nothing comes a second time either.
	time.Sleep(ackWait + time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, c := range handled {
		if c != 1 {
			t.Errorf("%s handled %d times", k, c)
		}
	}
}
