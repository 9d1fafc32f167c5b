package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// loopbackServer starts a NATS server listening on a free loopback port,
// whose clients need the user and password of creds (generated when
// missing), with its store in dir.
func loopbackServer(t *testing.T, dir, addr, creds string) *server.Server {
	t.Helper()
	ns, err := natsembed.Start(natsembed.Config{StoreDir: dir, Listen: addr, CredentialsFile: creds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// connectLoopback connects a bus to addr over TCP with the credentials of
// the file creds.
func connectLoopback(t *testing.T, addr, creds string) *bus.Bus {
	t.Helper()
	c, err := natsembed.ReadCredentials(creds)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(context.Background(), bus.Config{URL: "nats://" + addr, Options: []nats.Option{c.Option()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func notLost(t *testing.T, b *bus.Bus) {
	t.Helper()
	if err := b.Err(); err != nil {
		t.Fatalf("the bus reports its connection lost: %v", err)
	}
}

// TestStageStartedWhileServerAway: a stage that starts while the server
// has shut down (its connections cannot be opened: refused, or closed by
// a server on its way down) waits for the server, as the bus's connection
// reconnects to it, and handles messages once it is back; nothing is lost.
// This was TestReadyzFollowsNATS's flake: a stage dialling its subscriber
// while the test stopped NATS failed, and the node stopped.
func TestStageStartedWhileServerAway(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	creds := filepath.Join(dir, "creds")
	ns := loopbackServer(t, filepath.Join(dir, "nats"), addr, creds)
	b := connectLoopback(t, addr, creds)
	ns.Shutdown()
	ns.WaitForShutdown()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := func(ctx context.Context, m *bus.Message) ([]bus.Event, error) {
		return []bus.Event{{Stream: bus.Normalised, Key: m.Key, Hash: "n", Payload: m.Payload}}, nil
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser}, h) }()
	select {
	case err := <-done:
		t.Fatalf("the stage ended while the server was away: %v", err)
	case <-time.After(2 * time.Second):
	}
	notLost(t, b)

	loopbackServer(t, filepath.Join(dir, "nats"), addr, creds)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The bus's connection reconnects within its reconnect wait.
		err := b.Publish(ctx, "harvester", bus.Event{Stream: bus.Raw, Key: "k", Hash: "h", Payload: []byte("raw")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the server came back: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitMsgs(t, b, bus.Normalised, 1)
	notLost(t, b)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestAuthorisationRefusedIsLost: a server that comes back refusing the
// bus's credentials is no drop to wait for: the bus reports its connection
// lost with the authorisation error, and a stage started then fails at
// once instead of waiting.
func TestAuthorisationRefusedIsLost(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	creds := filepath.Join(dir, "creds")
	ns := loopbackServer(t, filepath.Join(dir, "nats"), addr, creds)
	b := connectLoopback(t, addr, creds)
	ns.Shutdown()
	ns.WaitForShutdown()
	// The same store and address; another password.
	loopbackServer(t, filepath.Join(dir, "nats"), addr, filepath.Join(dir, "other-creds"))

	select {
	case <-b.Lost():
	case <-time.After(30 * time.Second):
		t.Fatal("a connection refused by the server's authorisation is not reported lost")
	}
	if err := b.Err(); !errors.Is(err, bus.ErrConnectionLost) || !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("Err() = %v, want ErrConnectionLost with nats.ErrAuthorization", err)
	}
	start := time.Now()
	err := b.Run(context.Background(), bus.RunConfig{Stage: bus.StageNormaliser}, func(context.Context, *bus.Message) ([]bus.Event, error) { return nil, nil })
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("Run = %v, want nats.ErrAuthorization", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Run waited %s on an authorisation error", d)
	}
}
