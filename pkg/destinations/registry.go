package destinations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
)

// record is how a destination is stored: its fields and, beside them, its
// credentials (which Destination's JSON never holds).
type record struct {
	plain
	APIKey      string `json:"api_key,omitempty"`
	BearerToken string `json:"bearer_token,omitempty"`
	Password    string `json:"password,omitempty"`
}

// Registry stores destinations in a KV bucket (bus.BucketDestinations),
// one key per destination id.
type Registry struct {
	kv  *bus.State
	log *slog.Logger
	now func() time.Time
}

// RegistryOption tunes a Registry.
type RegistryOption func(*Registry)

// WithLogger sets where the registry logs the entries it skips. Default
// slog.Default().
func WithLogger(log *slog.Logger) RegistryOption {
	return func(r *Registry) {
		if log != nil {
			r.log = log
		}
	}
}

// NewRegistry returns a registry over kv (the bucket
// bus.BucketDestinations).
func NewRegistry(kv *bus.State, opts ...RegistryOption) *Registry {
	r := &Registry{kv: kv, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Put validates and stores d, creating or replacing it (Created is kept
// from the stored destination).
func (r *Registry) Put(ctx context.Context, d Destination) (Destination, error) {
	if err := d.Validate(); err != nil {
		return Destination{}, err
	}
	now := r.now().UTC()
	if old, err := r.Get(ctx, d.ID); err == nil {
		d.Created = old.Created
	} else if errors.Is(err, ErrNotFound) {
		d.Created = now
	} else {
		return Destination{}, err
	}
	d.Updated = now
	b, err := encode(d)
	if err != nil {
		return Destination{}, err
	}
	if _, err := r.kv.Put(ctx, d.ID, b); err != nil {
		return Destination{}, fmt.Errorf("destinations: store %s: %w", d.ID, err)
	}
	return d, nil
}

// Create validates and stores a new destination; it fails with ErrExists
// when one with the same id is registered.
func (r *Registry) Create(ctx context.Context, d Destination) (Destination, error) {
	if err := d.Validate(); err != nil {
		return Destination{}, err
	}
	d.Created = r.now().UTC()
	d.Updated = d.Created
	b, err := encode(d)
	if err != nil {
		return Destination{}, err
	}
	if _, err := r.kv.Create(ctx, d.ID, b); err != nil {
		if errors.Is(err, bus.ErrExists) {
			return Destination{}, fmt.Errorf("%w: %s", ErrExists, d.ID)
		}
		return Destination{}, fmt.Errorf("destinations: store %s: %w", d.ID, err)
	}
	return d, nil
}

// Update changes the destination with id: change receives the stored
// destination and edits it in place; the result is validated and stored
// only if nobody stored the destination in between (ErrConflict
// otherwise). An error from change is returned as is and nothing is
// stored. The id cannot change.
func (r *Registry) Update(ctx context.Context, id string, change func(*Destination) error) (Destination, error) {
	d, rev, err := r.get(ctx, id)
	if err != nil {
		return Destination{}, err
	}
	created := d.Created
	if err := change(&d); err != nil {
		return Destination{}, err
	}
	if d.ID != id {
		return Destination{}, fmt.Errorf("%w: %s: the id of a destination cannot change", ErrInvalid, id)
	}
	if err := d.Validate(); err != nil {
		return Destination{}, err
	}
	d.Created, d.Updated = created, r.now().UTC()
	b, err := encode(d)
	if err != nil {
		return Destination{}, err
	}
	if _, err := r.kv.Update(ctx, id, b, rev); err != nil {
		if errors.Is(err, bus.ErrConflict) {
			return Destination{}, fmt.Errorf("%w: %s", ErrConflict, id)
		}
		return Destination{}, fmt.Errorf("destinations: store %s: %w", id, err)
	}
	return d, nil
}

// Get returns the destination with id, credentials included, or
// ErrNotFound.
func (r *Registry) Get(ctx context.Context, id string) (Destination, error) {
	d, _, err := r.get(ctx, id)
	return d, err
}

func (r *Registry) get(ctx context.Context, id string) (Destination, uint64, error) {
	if !ValidID(id) {
		return Destination{}, 0, fmt.Errorf("%w: %.80q", ErrNotFound, id)
	}
	e, err := r.kv.Get(ctx, id)
	if errors.Is(err, bus.ErrNotFound) {
		return Destination{}, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Destination{}, 0, fmt.Errorf("destinations: get %s: %w", id, err)
	}
	var rec record
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		// The decoder's message names a field or an offset, never a value.
		return Destination{}, 0, fmt.Errorf("destinations: %w under %s: %w", ErrUndecodable, id, err)
	}
	if rec.ID != id {
		return Destination{}, 0, fmt.Errorf("destinations: %w under %s: it holds destination %.80q", ErrUndecodable, id, rec.ID)
	}
	d := Destination(rec.plain)
	d.APIKey, d.BearerToken, d.Password = feeds.Secret(rec.APIKey), feeds.Secret(rec.BearerToken), feeds.Secret(rec.Password)
	return d, e.Revision, nil
}

func encode(d Destination) ([]byte, error) {
	b, err := json.Marshal(record{plain: plain(d), APIKey: d.APIKey.Reveal(), BearerToken: d.BearerToken.Reveal(), Password: d.Password.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("destinations: encode %s: %w", d.ID, err)
	}
	return b, nil
}

// List returns every destination, ordered by id. An entry of the bucket
// that is not a destination (a key that is no destination id, a value that
// is no destination record) is logged and skipped: one bad entry does not
// hide every destination.
func (r *Registry) List(ctx context.Context) ([]Destination, error) {
	keys, err := r.kv.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("destinations: list: %w", err)
	}
	var out []Destination
	for _, k := range keys {
		if !ValidID(k) {
			r.log.Warn("destination registry: skipping an entry whose key is no destination id", "key", k)
			continue
		}
		d, err := r.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // removed while listing
		}
		if errors.Is(err, ErrUndecodable) {
			r.log.Warn("destination registry: skipping an entry that is no destination record", "key", k, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Delete removes the destination with id.
func (r *Registry) Delete(ctx context.Context, id string) error {
	if _, err := r.Get(ctx, id); err != nil {
		return err
	}
	if err := r.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("destinations: delete %s: %w", id, err)
	}
	return nil
}
