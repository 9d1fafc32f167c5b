// Package feeds is the registry of facility feeds: what a feed is, its
// validation, its storage in a state bucket of the bus (so that a node needs
// no other database), and the check of its source before it is registered
// (Checker).
package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/records"
	"github.com/panosc/fairway/pkg/scicat"
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
	// ErrExists is returned when creating a feed whose id is registered.
	ErrExists = errors.New("feed already registered")
	// ErrConflict is returned when a feed changed while it was updated.
	ErrConflict = errors.New("feed changed concurrently")
	// ErrUndecodable is returned for an entry of the bucket that is not a
	// feed record (written by something else, or damaged).
	ErrUndecodable = errors.New("undecodable feed record")
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// DefaultEvery is the interval between harvests of a feed registered
// without one.
const DefaultEvery = 6 * time.Hour

// Feed is one registered source of dataset metadata.
//
// Its JSON encoding (what the API and the CLI show) never contains Token:
// it says "has_token" instead. The registry stores the token beside it.
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
	// RateLimit is the minimum interval between two requests to the
	// source; 0 means no limit.
	RateLimit Duration `json:"rate_limit,omitempty"`
	// MaxPages, MaxBytes and MaxDuration cap one harvest run of the feed
	// (pages requested, bytes received, time spent harvesting); a run over
	// a cap fails. 0 means the harvester's default (its Config's MaxPages,
	// MaxBytes and MaxDuration); a value replaces that default, larger or
	// smaller, for a feed known to be larger or expected to be smaller.
	MaxPages    int64    `json:"max_pages,omitempty"`
	MaxBytes    int64    `json:"max_bytes,omitempty"`
	MaxDuration Duration `json:"max_duration,omitempty"`
	// Token is the credential sent to the source (a SciCat access token).
	// It is stored in the registry and never encoded with the feed, printed
	// or logged: see Secret.
	Token Secret `json:"-"`
	// Enabled feeds are harvested.
	Enabled bool `json:"enabled"`
	// Source is what the last successful check learnt of the source; nil
	// before the first check.
	Source *SourceInfo `json:"source,omitempty"`
	// Created and Updated are set by the registry.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// SourceInfo is what a check of a feed's source records.
type SourceInfo struct {
	// CheckedAt is when the check ran.
	CheckedAt time.Time `json:"checked_at"`
	// RepositoryName is the name an OAI-PMH repository gives itself.
	RepositoryName string `json:"repository_name,omitempty"`
	// Granularity of the OAI-PMH repository's datestamps: "YYYY-MM-DD" or
	// "YYYY-MM-DDThh:mm:ssZ".
	Granularity string `json:"granularity,omitempty"`
	// EarliestDatestamp of the OAI-PMH repository, as given.
	EarliestDatestamp string `json:"earliest_datestamp,omitempty"`
	// DeletedRecord is the OAI-PMH repository's deletion policy: "no",
	// "transient" or "persistent".
	DeletedRecord string `json:"deleted_record,omitempty"`
	// APIVersion is the SciCat API version that answered: "v4" or "v3".
	APIVersion string `json:"api_version,omitempty"`
}

// MarshalJSON encodes the feed without its token, with "has_token" saying
// whether it has one.
func (f Feed) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		plainFeed
		HasToken bool `json:"has_token"`
	}{plainFeed(f), f.Token != ""})
}

// plainFeed is Feed without its methods, so that it encodes field by field.
type plainFeed Feed

// record is how a feed is stored: its fields and its token.
type record struct {
	plainFeed
	Token string `json:"token,omitempty"`
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

var facilityPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// ValidFacility checks a facility name: 1-64 letters, digits, spaces and
// . _ - (no colon: facility names are part of dataset keys,
// src:<facility>:<identifier>). The node compares facility names without
// regard to case.
func ValidFacility(name string) error {
	if name == "" {
		return errors.New("facility is required")
	}
	if !facilityPattern.MatchString(name) {
		return fmt.Errorf("facility %.80q: use 1-64 of A-Z a-z 0-9 space . _ -, starting with a letter or digit", name)
	}
	return nil
}

// Validate checks the feed's fields.
func (f Feed) Validate() error {
	if !idPattern.MatchString(f.ID) {
		return fmt.Errorf("%w: id %q: use 1-63 of a-z 0-9 - _", ErrInvalid, f.ID)
	}
	if err := ValidFacility(f.Facility); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, f.ID, err)
	}
	switch f.Kind {
	case KindOAIPMH:
		if f.Format == "" {
			return fmt.Errorf("%w: %s: an oai-pmh feed needs a metadata format", ErrInvalid, f.ID)
		}
	case KindSciCat:
		if _, err := scicat.ParseCollection(f.Format); err != nil {
			return fmt.Errorf("%w: %s: a scicat feed's format is datasets (the default) or publisheddata, not %q", ErrInvalid, f.ID, f.Format)
		}
	default:
		return fmt.Errorf("%w: %s: kind %q: want oai-pmh or scicat", ErrInvalid, f.ID, f.Kind)
	}
	u, err := url.Parse(f.URL)
	if err != nil {
		return fmt.Errorf("%w: %s: url: %v", ErrInvalid, f.ID, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %s: url %q: want an http or https URL", ErrInvalid, f.ID, u.Redacted())
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s: url: put credentials in the feed's token, not in its URL", ErrInvalid, f.ID)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%w: %s: url %q has a fragment", ErrInvalid, f.ID, f.URL)
	}
	if f.Every < 0 {
		return fmt.Errorf("%w: %s: negative interval", ErrInvalid, f.ID)
	}
	if f.RateLimit < 0 {
		return fmt.Errorf("%w: %s: negative rate limit", ErrInvalid, f.ID)
	}
	if f.MaxPages < 0 || f.MaxBytes < 0 || f.MaxDuration < 0 {
		return fmt.Errorf("%w: %s: negative cap (max_pages, max_bytes, max_duration; 0 means the harvester's default)", ErrInvalid, f.ID)
	}
	return nil
}

// Registry stores feeds in a KV bucket, one key per feed id.
type Registry struct {
	log   *slog.Logger
	store *records.Store[Feed]
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

// NewRegistry returns a registry over kv (the bucket bus.BucketFeeds).
func NewRegistry(kv *bus.State, opts ...RegistryOption) *Registry {
	r := &Registry{log: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	r.store = records.New(kv, records.Config[Feed]{
		Noun:     "feed",
		Prefix:   "feeds",
		ID:       func(f Feed) string { return f.ID },
		ValidID:  idPattern.MatchString,
		Validate: Feed.Validate,
		Stamps:   func(f *Feed) (*time.Time, *time.Time) { return &f.Created, &f.Updated },
		Encode:   encode,
		Decode:   decode,
		Errors: records.Errors{NotFound: ErrNotFound, Exists: ErrExists, Conflict: ErrConflict,
			Invalid: ErrInvalid, Undecodable: ErrUndecodable},
		Logger: r.log,
	})
	return r
}

// Put validates and stores f, creating or replacing it.
func (r *Registry) Put(ctx context.Context, f Feed) (Feed, error) { return r.store.Put(ctx, f) }

// Create validates and stores a new feed; it fails with ErrExists when a
// feed with the same id is registered.
func (r *Registry) Create(ctx context.Context, f Feed) (Feed, error) { return r.store.Create(ctx, f) }

// Update changes the feed with id: change receives the stored feed and
// edits it in place; the result is validated and stored only if nobody
// stored the feed in between (ErrConflict otherwise). An error from change
// is returned as is and nothing is stored. The id cannot change.
func (r *Registry) Update(ctx context.Context, id string, change func(*Feed) error) (Feed, error) {
	return r.store.Update(ctx, id, change)
}

// Get returns the feed with id, or ErrNotFound.
func (r *Registry) Get(ctx context.Context, id string) (Feed, error) { return r.store.Get(ctx, id) }

// List returns every feed, ordered by id. An entry of the bucket that is
// not a feed (a key that is no feed id, a value that is no feed record) is
// logged and skipped: one bad entry does not hide every feed.
func (r *Registry) List(ctx context.Context) ([]Feed, error) { return r.store.List(ctx) }

// Delete removes the feed with id.
func (r *Registry) Delete(ctx context.Context, id string) error { return r.store.Delete(ctx, id) }

// encode returns f as stored: its fields and its token.
func encode(f Feed) ([]byte, error) {
	return json.Marshal(record{plainFeed: plainFeed(f), Token: string(f.Token)})
}

// decode reads a stored feed, token included.
func decode(b []byte) (Feed, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Feed{}, err
	}
	f := Feed(rec.plainFeed)
	f.Token = Secret(rec.Token)
	return f, nil
}
