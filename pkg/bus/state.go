package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// State is one of the node's KV buckets of state (the feed registry, the
// harvest checkpoints, requests and leases, the source-key map, the
// ownership record): values under keys, each write numbered by a revision,
// so that a writer can change a value only if nobody wrote it since it read
// it. In the leases bucket (BucketLeases) an entry expires LeaseTTL after
// its last write: Create takes a lease, Update at the revision held
// refreshes it, DeleteAt releases it.
type State struct {
	name Bucket
	kv   jetstream.KeyValue
}

// Entry is the value of a key and the revision that wrote it.
type Entry struct {
	// Key the value is stored under.
	Key string
	// Value stored.
	Value []byte
	// Revision of the write that stored it.
	Revision uint64
}

// State returns one of the topology's KV buckets.
func (b *Bus) State(name Bucket) *State { return &State{name: name, kv: b.bucket[name]} }

// Get returns the entry of key, or an error satisfying
// errors.Is(err, ErrNotFound).
func (s *State) Get(ctx context.Context, key string) (Entry, error) {
	if err := s.absent(); err != nil {
		return Entry{}, err
	}
	e, err := s.kv.Get(ctx, key)
	if err != nil {
		return Entry{}, s.fail("get", err)
	}
	return Entry{Key: e.Key(), Value: e.Value(), Revision: e.Revision()}, nil
}

// Put stores value under key, whatever was there, and returns the new
// revision.
func (s *State) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := s.absent(); err != nil {
		return 0, err
	}
	rev, err := s.kv.Put(ctx, key, value)
	return rev, s.fail("put", err)
}

// Create stores value under key if the key holds nothing (or was deleted),
// and returns the new revision; otherwise the error satisfies
// errors.Is(err, ErrExists).
func (s *State) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := s.absent(); err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, key, value)
	return rev, s.fail("create", err)
}

// Update stores value under key if rev is still the key's last revision,
// and returns the new revision; otherwise the error satisfies
// errors.Is(err, ErrConflict).
func (s *State) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := s.absent(); err != nil {
		return 0, err
	}
	next, err := s.kv.Update(ctx, key, value, rev)
	return next, s.fail("update", err)
}

// Delete removes key, whatever its revision.
func (s *State) Delete(ctx context.Context, key string) error {
	if err := s.absent(); err != nil {
		return err
	}
	return s.fail("delete", s.kv.Delete(ctx, key))
}

// DeleteAt removes key if rev is still its last revision; otherwise the
// error satisfies errors.Is(err, ErrConflict).
func (s *State) DeleteAt(ctx context.Context, key string, rev uint64) error {
	if err := s.absent(); err != nil {
		return err
	}
	return s.fail("delete", s.kv.Delete(ctx, key, jetstream.LastRevision(rev)))
}

// Keys returns every key the bucket holds, sorted (none for an empty
// bucket).
func (s *State) Keys(ctx context.Context) ([]string, error) {
	if err := s.absent(); err != nil {
		return nil, err
	}
	keys, err := s.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail("keys", err)
	}
	return keys, nil
}

// KeysMatching returns the keys that match filter (a subject-style pattern:
// "d.eosc.*", "d.>"), in no set order.
func (s *State) KeysMatching(ctx context.Context, filter string) ([]string, error) {
	if err := s.absent(); err != nil {
		return nil, err
	}
	lister, err := s.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, s.fail("keys", err)
	}
	defer func() { _ = lister.Stop() }()
	seen := map[string]bool{}
	var keys []string
	for k := range lister.Keys() {
		if !seen[k] { // a key written while listing may come twice
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if err := ctx.Err(); err != nil { // the list was cut short
		return nil, s.fail("keys", err)
	}
	return keys, nil
}

// Purge removes key and every earlier revision of it.
func (s *State) Purge(ctx context.Context, key string) error {
	if err := s.absent(); err != nil {
		return err
	}
	return s.fail("purge", s.kv.Purge(ctx, key))
}

// absent reports a bucket the bus did not open (see ErrNotProvisioned).
func (s *State) absent() error {
	if s.kv == nil {
		return fmt.Errorf("bus: %s: %w", s.name, ErrNotProvisioned)
	}
	return nil
}

// fail marks a bucket error with the bus's sentinel for it.
func (s *State) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("bus: %s: %s: %w", s.name, op, err)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return mark(ErrNotFound, err)
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return mark(ErrConflict, err)
	case errors.Is(err, jetstream.ErrKeyExists):
		return mark(ErrExists, err)
	}
	return err
}
