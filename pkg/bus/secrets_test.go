package bus_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
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
