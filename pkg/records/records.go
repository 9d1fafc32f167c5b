// Package records keeps typed records, one per id, in a state bucket of the
// bus: the storage under the node's registries (feeds, push destinations).
// A Store validates what it stores, stamps when a record was created and
// last updated, refuses an update of a record that changed since it was
// read, and lists the bucket without letting one entry it cannot decode
// hide the others.
package records

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

// Errors are the sentinel errors a Store wraps (with %w), so that callers
// test a store's errors against their own package's sentinels. Each must
// be set.
type Errors struct {
	// NotFound: no record under the id (or the id is no valid id).
	NotFound error
	// Exists: Create found a record under the id.
	Exists error
	// Conflict: the record changed between Update's read and its write.
	Conflict error
	// Invalid: Update's change altered the record's id. (Validate's own
	// errors are returned as they are.)
	Invalid error
	// Undecodable: the entry under the id is not a record of the store
	// (Decode failed, or the record holds another id).
	Undecodable error
}

// Config describes the records of a Store. Every field but Now and Logger
// must be set.
type Config[T any] struct {
	// Noun names one record in messages: "feed", "destination".
	Noun string
	// Prefix starts the messages of the store's own errors (those of the
	// bus, of encoding and decoding), usually the package name: "feeds".
	Prefix string
	// ID returns a record's id, its key in the bucket.
	ID func(T) string
	// ValidID reports whether id can name a record. Get of an invalid id
	// is NotFound; List skips (and logs) a key that is no valid id.
	ValidID func(id string) bool
	// Validate checks a record before it is stored; its error is returned
	// as is (it should wrap Errors.Invalid).
	Validate func(T) error
	// Stamps returns where a record keeps when it was created and last
	// updated; the store sets both.
	Stamps func(*T) (created, updated *time.Time)
	// Encode returns a record as stored, credentials included.
	Encode func(T) ([]byte, error)
	// Decode reads a stored record, credentials included.
	Decode func([]byte) (T, error)
	// Errors are the sentinels the store wraps.
	Errors Errors
	// Now is the clock of the stamps. Default time.Now.
	Now func() time.Time
	// Logger is where List logs the entries it skips. Default
	// slog.Default().
	Logger *slog.Logger
}

// Store keeps records of type T in a state bucket, one key per id. It is
// safe for concurrent use.
type Store[T any] struct {
	kv  *bus.State
	cfg Config[T]
}

// New returns a store of the records cfg describes over kv.
func New[T any](kv *bus.State, cfg Config[T]) *Store[T] {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Store[T]{kv: kv, cfg: cfg}
}

// Put validates and stores r, creating or replacing it: Created is kept
// from the stored record (now if there is none), Updated is now.
func (s *Store[T]) Put(ctx context.Context, r T) (T, error) {
	var zero T
	if err := s.cfg.Validate(r); err != nil {
		return zero, err
	}
	id := s.cfg.ID(r)
	now := s.cfg.Now().UTC()
	created, updated := s.cfg.Stamps(&r)
	if old, err := s.Get(ctx, id); err == nil {
		oldCreated, _ := s.cfg.Stamps(&old)
		*created = *oldCreated
	} else if errors.Is(err, s.cfg.Errors.NotFound) {
		*created = now
	} else {
		return zero, err
	}
	*updated = now
	b, err := s.encode(id, r)
	if err != nil {
		return zero, err
	}
	if _, err := s.kv.Put(ctx, id, b); err != nil {
		return zero, fmt.Errorf("%s: store %s: %w", s.cfg.Prefix, id, err)
	}
	return r, nil
}

// Create validates and stores a new record, created and updated now; it
// fails with Errors.Exists when a record with the same id is stored.
func (s *Store[T]) Create(ctx context.Context, r T) (T, error) {
	var zero T
	if err := s.cfg.Validate(r); err != nil {
		return zero, err
	}
	id := s.cfg.ID(r)
	created, updated := s.cfg.Stamps(&r)
	*created = s.cfg.Now().UTC()
	*updated = *created
	b, err := s.encode(id, r)
	if err != nil {
		return zero, err
	}
	if _, err := s.kv.Create(ctx, id, b); err != nil {
		if errors.Is(err, bus.ErrExists) {
			return zero, fmt.Errorf("%w: %s", s.cfg.Errors.Exists, id)
		}
		return zero, fmt.Errorf("%s: store %s: %w", s.cfg.Prefix, id, err)
	}
	return r, nil
}

// Update changes the record with id: change receives the stored record and
// edits it in place; the result is validated and stored only if nobody
// stored the record in between (Errors.Conflict otherwise). An error from
// change is returned as is and nothing is stored. The id cannot change
// (Errors.Invalid), nor Created; Updated is now.
func (s *Store[T]) Update(ctx context.Context, id string, change func(*T) error) (T, error) {
	var zero T
	r, rev, err := s.get(ctx, id)
	if err != nil {
		return zero, err
	}
	c, _ := s.cfg.Stamps(&r)
	was := *c
	if err := change(&r); err != nil {
		return zero, err
	}
	if s.cfg.ID(r) != id {
		return zero, fmt.Errorf("%w: %s: the id of a %s cannot change", s.cfg.Errors.Invalid, id, s.cfg.Noun)
	}
	if err := s.cfg.Validate(r); err != nil {
		return zero, err
	}
	created, updated := s.cfg.Stamps(&r)
	*created, *updated = was, s.cfg.Now().UTC()
	b, err := s.encode(id, r)
	if err != nil {
		return zero, err
	}
	if _, err := s.kv.Update(ctx, id, b, rev); err != nil {
		if errors.Is(err, bus.ErrConflict) {
			return zero, fmt.Errorf("%w: %s", s.cfg.Errors.Conflict, id)
		}
		return zero, fmt.Errorf("%s: store %s: %w", s.cfg.Prefix, id, err)
	}
	return r, nil
}

// Get returns the record with id, credentials included; Errors.NotFound
// when there is none, Errors.Undecodable when the entry under id is not a
// record of the store.
func (s *Store[T]) Get(ctx context.Context, id string) (T, error) {
	r, _, err := s.get(ctx, id)
	return r, err
}

// get is Get with the revision of the entry.
func (s *Store[T]) get(ctx context.Context, id string) (T, uint64, error) {
	var zero T
	if !s.cfg.ValidID(id) {
		return zero, 0, fmt.Errorf("%w: %.80q", s.cfg.Errors.NotFound, id)
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, bus.ErrNotFound) {
		return zero, 0, fmt.Errorf("%w: %s", s.cfg.Errors.NotFound, id)
	}
	if err != nil {
		return zero, 0, fmt.Errorf("%s: get %s: %w", s.cfg.Prefix, id, err)
	}
	r, err := s.cfg.Decode(e.Value)
	if err != nil {
		return zero, 0, fmt.Errorf("%s: %w under %s: %w", s.cfg.Prefix, s.cfg.Errors.Undecodable, id, err)
	}
	if got := s.cfg.ID(r); got != id {
		return zero, 0, fmt.Errorf("%s: %w under %s: it holds %s %.80q", s.cfg.Prefix, s.cfg.Errors.Undecodable, id, s.cfg.Noun, got)
	}
	return r, e.Revision, nil
}

func (s *Store[T]) encode(id string, r T) ([]byte, error) {
	b, err := s.cfg.Encode(r)
	if err != nil {
		return nil, fmt.Errorf("%s: encode %s: %w", s.cfg.Prefix, id, err)
	}
	return b, nil
}

// List returns every record, ordered by id. An entry of the bucket that is
// not a record (a key that is no valid id, a value that is no record of
// the store) is logged and skipped: one bad entry does not hide the
// others. A record removed while listing is left out.
func (s *Store[T]) List(ctx context.Context) ([]T, error) {
	keys, err := s.kv.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: list: %w", s.cfg.Prefix, err)
	}
	var out []T
	for _, k := range keys {
		if !s.cfg.ValidID(k) {
			s.cfg.Logger.Warn(s.cfg.Noun+" registry: skipping an entry whose key is no "+s.cfg.Noun+" id", "key", k)
			continue
		}
		r, err := s.Get(ctx, k)
		if errors.Is(err, s.cfg.Errors.NotFound) {
			continue // removed while listing
		}
		if errors.Is(err, s.cfg.Errors.Undecodable) {
			s.cfg.Logger.Warn(s.cfg.Noun+" registry: skipping an entry that is no "+s.cfg.Noun+" record", "key", k, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(s.cfg.ID(a), s.cfg.ID(b)) })
	return out, nil
}

// Delete removes the record with id: Errors.NotFound when there is none,
// Errors.Undecodable when the entry under id is not a record of the store
// (which it leaves in place).
func (s *Store[T]) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("%s: delete %s: %w", s.cfg.Prefix, id, err)
	}
	return nil
}
