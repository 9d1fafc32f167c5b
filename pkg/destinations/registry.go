package destinations

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/records"
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
	log   *slog.Logger
	store *records.Store[Destination]
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
	r := &Registry{log: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	r.store = records.New(kv, records.Config[Destination]{
		Noun:     "destination",
		Prefix:   "destinations",
		ID:       func(d Destination) string { return d.ID },
		ValidID:  ValidID,
		Validate: Destination.Validate,
		Stamps:   func(d *Destination) (*time.Time, *time.Time) { return &d.Created, &d.Updated },
		Encode:   encode,
		Decode:   decode,
		Errors: records.Errors{NotFound: ErrNotFound, Exists: ErrExists, Conflict: ErrConflict,
			Invalid: ErrInvalid, Undecodable: ErrUndecodable},
		Logger: r.log,
	})
	return r
}

// Put validates and stores d, creating or replacing it (Created is kept
// from the stored destination).
func (r *Registry) Put(ctx context.Context, d Destination) (Destination, error) {
	return r.store.Put(ctx, d)
}

// Create validates and stores a new destination; it fails with ErrExists
// when one with the same id is registered.
func (r *Registry) Create(ctx context.Context, d Destination) (Destination, error) {
	return r.store.Create(ctx, d)
}

// Update changes the destination with id: change receives the stored
// destination and edits it in place; the result is validated and stored
// only if nobody stored the destination in between (ErrConflict
// otherwise). An error from change is returned as is and nothing is
// stored. The id cannot change.
func (r *Registry) Update(ctx context.Context, id string, change func(*Destination) error) (Destination, error) {
	return r.store.Update(ctx, id, change)
}

// Get returns the destination with id, credentials included, or
// ErrNotFound.
func (r *Registry) Get(ctx context.Context, id string) (Destination, error) {
	return r.store.Get(ctx, id)
}

// List returns every destination, ordered by id. An entry of the bucket
// that is not a destination (a key that is no destination id, a value that
// is no destination record) is logged and skipped: one bad entry does not
// hide every destination.
func (r *Registry) List(ctx context.Context) ([]Destination, error) { return r.store.List(ctx) }

// Delete removes the destination with id.
func (r *Registry) Delete(ctx context.Context, id string) error { return r.store.Delete(ctx, id) }

// encode returns d as stored: its fields and its credentials.
func encode(d Destination) ([]byte, error) {
	return json.Marshal(record{plain: plain(d), APIKey: d.APIKey.Reveal(), BearerToken: d.BearerToken.Reveal(), Password: d.Password.Reveal()})
}

// decode reads a stored destination, credentials included. The decoder's
// message names a field or an offset, never a value.
func decode(b []byte) (Destination, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Destination{}, err
	}
	d := Destination(rec.plain)
	d.APIKey, d.BearerToken, d.Password = feeds.Secret(rec.APIKey), feeds.Secret(rec.BearerToken), feeds.Secret(rec.Password)
	return d, nil
}
