// Package feeds is the registry of facility feeds, kept in a JetStream KV
// bucket so that a node needs no other database.
package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Kinds of feed.
const (
	KindOAIPMH = "oai-pmh"
	KindSciCat = "scicat"
)

var (
	// ErrNotFound is returned for a feed id that is not registered.
	ErrNotFound = errors.New("feed not found")
	// ErrInvalid wraps every validation failure.
	ErrInvalid = errors.New("invalid feed")
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Feed is one registered source of dataset metadata.
type Feed struct {
	// ID is the feed's unique, lower-case name (a-z, 0-9, -, _).
	ID string `json:"id"`
	// Facility that publishes the feed (e.g. "ESRF").
	Facility string `json:"facility"`
	// Kind is "oai-pmh" or "scicat".
	Kind string `json:"kind"`
	// URL is the OAI-PMH base URL or the SciCat API URL.
	URL string `json:"url"`
	// Format is the OAI-PMH metadataPrefix (oai_datacite, oai_dc).
	Format string `json:"format,omitempty"`
	// Set restricts an OAI-PMH harvest to one setSpec.
	Set string `json:"set,omitempty"`
	// Every is the interval between harvests; 0 means harvest once.
	Every Duration `json:"every,omitempty"`
	// Enabled feeds are harvested.
	Enabled bool `json:"enabled"`
	// Created and Updated are set by the registry.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Duration is a time.Duration written as "6h" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Validate checks the feed's fields.
func (f Feed) Validate() error {
	if !idPattern.MatchString(f.ID) {
		return fmt.Errorf("%w: id %q: use 1-63 of a-z 0-9 - _", ErrInvalid, f.ID)
	}
	if f.Facility == "" {
		return fmt.Errorf("%w: %s: facility is required", ErrInvalid, f.ID)
	}
	switch f.Kind {
	case KindOAIPMH:
		if f.Format == "" {
			return fmt.Errorf("%w: %s: an oai-pmh feed needs a metadata format", ErrInvalid, f.ID)
		}
	case KindSciCat:
	default:
		return fmt.Errorf("%w: %s: kind %q: want oai-pmh or scicat", ErrInvalid, f.ID, f.Kind)
	}
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %s: url %q: want an http or https URL", ErrInvalid, f.ID, f.URL)
	}
	if f.Every < 0 {
		return fmt.Errorf("%w: %s: negative interval", ErrInvalid, f.ID)
	}
	return nil
}

// Registry stores feeds in a KV bucket.
type Registry struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// NewRegistry returns a registry over kv.
func NewRegistry(kv jetstream.KeyValue) *Registry {
	return &Registry{kv: kv, now: time.Now}
}

// Put validates and stores f, creating or replacing it.
func (r *Registry) Put(ctx context.Context, f Feed) (Feed, error) {
	if err := f.Validate(); err != nil {
		return Feed{}, err
	}
	now := r.now().UTC()
	if old, err := r.Get(ctx, f.ID); err == nil {
		f.Created = old.Created
	} else if errors.Is(err, ErrNotFound) {
		f.Created = now
	} else {
		return Feed{}, err
	}
	f.Updated = now
	b, err := json.Marshal(f)
	if err != nil {
		return Feed{}, fmt.Errorf("feeds: encode %s: %w", f.ID, err)
	}
	if _, err := r.kv.Put(ctx, f.ID, b); err != nil {
		return Feed{}, fmt.Errorf("feeds: store %s: %w", f.ID, err)
	}
	return f, nil
}

// Get returns the feed with id, or ErrNotFound.
func (r *Registry) Get(ctx context.Context, id string) (Feed, error) {
	e, err := r.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Feed{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Feed{}, fmt.Errorf("feeds: get %s: %w", id, err)
	}
	var f Feed
	if err := json.Unmarshal(e.Value(), &f); err != nil {
		return Feed{}, fmt.Errorf("feeds: decode %s: %w", id, err)
	}
	return f, nil
}

// List returns every feed, ordered by id.
func (r *Registry) List(ctx context.Context) ([]Feed, error) {
	keys, err := r.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("feeds: list: %w", err)
	}
	var out []Feed
	for k := range keys.Keys() {
		f, err := r.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // removed while listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Delete removes the feed with id.
func (r *Registry) Delete(ctx context.Context, id string) error {
	if _, err := r.Get(ctx, id); err != nil {
		return err
	}
	if err := r.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("feeds: delete %s: %w", id, err)
	}
	return nil
}
