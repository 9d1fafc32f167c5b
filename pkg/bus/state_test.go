package bus_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// TestState walks a state bucket through the writes its users make: the
// errors are the bus's sentinels and still the JetStream ones they stand
// for.
func TestState(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	st := b.State(bus.BucketRequests)
	if keys, err := st.Keys(ctx); err != nil || keys != nil {
		t.Fatalf("keys of an empty bucket: %v, %v", keys, err)
	}
	var rev uint64
	steps := []struct {
		name    string
		do      func() error
		wantErr []error
	}{
		{"get a missing key", func() error { _, err := st.Get(ctx, "a"); return err }, []error{bus.ErrNotFound, jetstream.ErrKeyNotFound}},
		{"create", func() (err error) { rev, err = st.Create(ctx, "a", []byte("1")); return err }, nil},
		{"create again", func() error { _, err := st.Create(ctx, "a", []byte("2")); return err }, []error{bus.ErrExists, jetstream.ErrKeyExists}},
		{"update at the revision read", func() (err error) { rev, err = st.Update(ctx, "a", []byte("3"), rev); return err }, nil},
		{"update at an old revision", func() error { _, err := st.Update(ctx, "a", []byte("4"), rev-1); return err }, []error{bus.ErrConflict}},
		{"delete at an old revision", func() error { return st.DeleteAt(ctx, "a", rev-1) }, []error{bus.ErrConflict}},
		{"put", func() error { _, err := st.Put(ctx, "b", []byte("5")); return err }, nil},
		{"delete at the revision read", func() error { return st.DeleteAt(ctx, "a", rev) }, nil},
		{"get a deleted key", func() error { _, err := st.Get(ctx, "a"); return err }, []error{bus.ErrNotFound}},
		{"create a deleted key", func() (err error) { rev, err = st.Create(ctx, "a", []byte("6")); return err }, nil},
		{"delete", func() error { return st.Delete(ctx, "b") }, nil},
	}
	for _, s := range steps {
		err := s.do()
		if s.wantErr == nil && err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		for _, want := range s.wantErr {
			if !errors.Is(err, want) {
				t.Fatalf("%s: err = %v, want %v", s.name, err, want)
			}
		}
		if bus.IsNotFound(err) != errors.Is(err, bus.ErrNotFound) {
			t.Fatalf("%s: IsNotFound(%v) disagrees with ErrNotFound", s.name, err)
		}
	}
	e, err := st.Get(ctx, "a")
	if err != nil || string(e.Value) != "6" || e.Revision != rev || e.Key != "a" {
		t.Fatalf("entry %+v (%v), want value 6 at revision %d", e, err, rev)
	}
	if keys, err := st.Keys(ctx); err != nil || !slices.Equal(keys, []string{"a"}) {
		t.Fatalf("keys %v (%v), want [a]", keys, err)
	}
}

// TestObjects stores, lists and removes objects.
func TestObjects(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	o := b.Objects(bus.ObjectStoreSeen)
	if names, err := o.Names(ctx, ""); err != nil || names != nil {
		t.Fatalf("names in an empty store: %v, %v", names, err)
	}
	if _, err := o.Get(ctx, "f/complete"); !errors.Is(err, bus.ErrNotFound) || !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("get of a missing object: %v", err)
	}
	for _, name := range []string{"f/run/2", "f/run/1", "f/complete", "g/run/1"} {
		if err := o.Put(ctx, name, []byte("data of "+name), "test"); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Put(ctx, "f/run/1", []byte("again"), ""); err != nil {
		t.Fatal(err)
	}
	if got, err := o.Get(ctx, "f/run/1"); err != nil || string(got) != "again" {
		t.Fatalf("get %q (%v), want the second put", got, err)
	}
	if err := o.Delete(ctx, "f/run/2"); err != nil {
		t.Fatal(err)
	}
	if err := o.Delete(ctx, "nope"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("delete of a missing object: %v", err)
	}
	if names, err := o.Names(ctx, "f/run/"); err != nil || !slices.Equal(names, []string{"f/run/1"}) {
		t.Fatalf("names %v (%v), want [f/run/1]", names, err)
	}
	if info, err := b.ObjectStore(bus.ObjectStoreSeen).GetInfo(ctx, "f/complete"); err != nil || info.Description != "test" {
		t.Fatalf("description of f/complete: %+v, %v", info, err)
	}
}
