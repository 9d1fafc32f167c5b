package bus_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// TestSecret asks for one secret from many replicas at once: each gets
// the same bytes, the bucket holds exactly those, and another name is
// another secret.
func TestSecret(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	const replicas = 8
	got := make([][]byte, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = b.Secret(ctx, bus.SecretUsageSessions, 32)
		}()
	}
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if len(got[i]) != 32 || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("replica %d got another secret (%d bytes)", i, len(got[i]))
		}
	}
	e, err := b.State(bus.BucketSecrets).Get(ctx, bus.SecretUsageSessions)
	if err != nil || !bytes.Equal(e.Value, got[0]) {
		t.Fatalf("the bucket holds another secret: %v", err)
	}
	if again, err := b.Secret(ctx, bus.SecretUsageSessions, 32); err != nil || !bytes.Equal(again, got[0]) {
		t.Fatalf("asked again: %v", err)
	}
	if other, err := b.Secret(ctx, "other", 32); err != nil || bytes.Equal(other, got[0]) {
		t.Fatalf("another name shares the secret: %v", err)
	}

	tests := []struct {
		name  string
		setup func() error
		size  int
	}{
		{"too short a size", func() error { return nil }, 8},
		{"a stored secret too short", func() error {
			_, err := b.State(bus.BucketSecrets).Put(ctx, "short", []byte("abc"))
			return err
		}, 32},
	}
	for _, tc := range tests {
		if err := tc.setup(); err != nil {
			t.Fatal(err)
		}
		key := "short"
		if _, err := b.Secret(ctx, key, tc.size); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// TestConnectWithoutNewerBuckets connects a client that does not
// provision (as fairway dlq does) to a node set up before a bucket existed:
// it connects, its other buckets work, and the missing one answers
// ErrNotProvisioned instead of failing the connection or panicking.
func TestConnectWithoutNewerBuckets(t *testing.T) {
	ctx := context.Background()
	ns, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	node, err := bus.Connect(ctx, bus.Config{InProcess: ns, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	if err := node.JetStream().DeleteKeyValue(ctx, string(bus.BucketSecrets)); err != nil {
		t.Fatal(err)
	}
	c, err := bus.Connect(ctx, bus.Config{InProcess: ns, Logger: slog.New(slog.DiscardHandler), SkipProvision: true})
	if err != nil {
		t.Fatalf("connect without the newer bucket: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.State(bus.BucketRequests).Keys(ctx); err != nil {
		t.Errorf("an existing bucket: %v", err)
	}
	if _, err := c.State(bus.BucketSecrets).Get(ctx, bus.SecretUsageSessions); !errors.Is(err, bus.ErrNotProvisioned) {
		t.Errorf("the missing bucket's Get = %v, want ErrNotProvisioned", err)
	}
	if _, err := c.Secret(ctx, bus.SecretUsageSessions, 32); !errors.Is(err, bus.ErrNotProvisioned) {
		t.Errorf("Secret on the missing bucket = %v, want ErrNotProvisioned", err)
	}
}
