package node

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// runUntilReady runs the node of cfg (whose Ready channel it needs) and
// waits until it is ready, failing the test if it stops or takes more than a
// minute. It returns the node's context and a stop function, which the
// caller defers: it ends the node and reports an error Run returned.
func runUntilReady(t *testing.T, cfg Config, log *slog.Logger) (context.Context, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, log) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	}
	select {
	case <-cfg.Ready:
	case err := <-done:
		cancel()
		t.Fatalf("node did not start: %v", err)
	case <-time.After(60 * time.Second):
		stop()
		t.Fatal("node not ready after 60s")
	}
	return ctx, stop
}
