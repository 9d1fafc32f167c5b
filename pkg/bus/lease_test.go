package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// TestLease takes a lease on a real embedded JetStream: a second holder is
// refused while the first holds it, the entry names the holder, a release
// frees it at once, and a holder whose entry was taken from it (as when it
// expired and another replica took it) sees its context end.
func TestLease(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	const key = "test.lease"
	actx, releaseA, err := b.Lease(ctx, key, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Lease(ctx, key, "b", nil); !errors.Is(err, bus.ErrExists) {
		t.Fatalf("second holder: %v, want ErrExists", err)
	}
	if e, err := b.State(bus.BucketLeases).Get(ctx, key); err != nil || string(e.Value) != "a" {
		t.Fatalf("lease entry %q, %v; want the holder a", e.Value, err)
	}
	releaseA()
	if actx.Err() == nil {
		t.Fatal("a released lease's context has not ended")
	}
	bctx, releaseB, err := b.Lease(ctx, key, "b", nil)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	// The entry goes, and another holder takes it: b can no longer
	// refresh at its revision, and stops.
	if err := b.State(bus.BucketLeases).Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.State(bus.BucketLeases).Create(ctx, key, []byte("c")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bctx.Done():
	case <-time.After(bus.LeaseTTL/3 + 5*time.Second):
		t.Fatal("a lease taken by another holder did not end its context")
	}
	releaseB()
	// b's release must not remove c's lease.
	if e, err := b.State(bus.BucketLeases).Get(ctx, key); err != nil || string(e.Value) != "c" {
		t.Fatalf("after b's release: %q, %v; want c's lease kept", e.Value, err)
	}
}

// TestLeaseEndsWithItsContext checks that a lease ends with the context it
// was taken with, and that its entry stays until it is released.
func TestLeaseEndsWithItsContext(t *testing.T) {
	b := testenv.Bus(t)
	ctx, cancel := context.WithCancel(context.Background())
	lctx, release, err := b.Lease(ctx, "test.ctx", "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-lctx.Done()
	if _, err := b.State(bus.BucketLeases).Get(context.Background(), "test.ctx"); err != nil {
		t.Fatalf("entry before release: %v", err)
	}
	release()
	if _, err := b.State(bus.BucketLeases).Get(context.Background(), "test.ctx"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("entry after release: %v, want ErrNotFound", err)
	}
}
