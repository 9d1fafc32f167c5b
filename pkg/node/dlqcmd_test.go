package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// TestDeadLettersCommand lists a dead letter through `fairway dlq list` and
// sends it back with `fairway dlq redrive`, against a real NATS server.
func TestDeadLettersCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ns, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Connect(ctx, bus.Config{InProcess: ns, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	handled := make(chan string, 4)
	var fixed atomic.Bool
	go func() {
		_ = b.Run(ctx, bus.RunConfig{Stage: bus.StageEnricher}, func(_ context.Context, m *bus.Message) ([]bus.Event, error) {
			if !fixed.Load() {
				return nil, bus.Permanent(errors.New("no technique table"))
			}
			handled <- m.Key
			return nil, nil
		})
	}()
	if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: "doi:10.1/x", Hash: "h", Payload: []byte("ds")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		letters, err := b.DeadLetters(ctx, "", 0)
		if err == nil && len(letters) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter: %v %v", letters, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	run := func(args ...string) string {
		t.Helper()
		cmd := DeadLettersCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(args, "--nats", "nats://"+addr))
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("dlq %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	out := run("list", "--stage", "enricher")
	if !strings.Contains(out, "doi:10.1/x") || !strings.Contains(out, "no technique table") || !strings.Contains(out, "enricher") {
		t.Fatalf("list output:\n%s", out)
	}
	fixed.Store(true)
	if out := run("redrive"); !strings.Contains(out, "redriven: 1, left: 0") {
		t.Fatalf("redrive output:\n%s", out)
	}
	select {
	case key := <-handled:
		if key != "doi:10.1/x" {
			t.Fatalf("redriven key %q", key)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the redriven message was not handled")
	}
	if out := run("list"); strings.Contains(out, "doi:10.1/x") {
		t.Fatalf("dead letter still listed:\n%s", out)
	}
}
