// Package normaliser is the stage that turns raw harvested records into
// canonical datasets (see Normalise for the formats).
package normaliser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Config configures the normaliser stage.
type Config struct {
	// Concurrency is how many records are normalised at once. Default 2.
	Concurrency int
}

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c Config) Validate() error {
	if c.Concurrency < 0 {
		return errors.New("normaliser: negative concurrency")
	}
	return nil
}

// MaxKeyBytes bounds a dataset key ("doi:"+DOI, or "src:"+facility+":"+
// source identifier); a record whose key is longer goes to the dead letters.
const MaxKeyBytes = 2048

// ErrKeyTooLong is the reason of a record whose key is over MaxKeyBytes.
var ErrKeyTooLong = errors.New("dataset key too long")

// Stage is the normaliser.
type Stage struct {
	cfg    Config
	bus    *bus.Bus
	keys   Keys
	owners Owners
	log    *slog.Logger
	now    func() time.Time
}

// New returns the normaliser stage over the bus's source-key map
// (bus.BucketKeys) and ownership record.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Stage, error) {
	return NewWithState(cfg, b, b.State(bus.BucketKeys), b.Owners(), log)
}

// NewWithState returns the normaliser stage over keys and owners of the
// caller's choosing. Handle needs nothing else: with in-memory ones and a
// nil bus, a table test calls it without a server (Run needs the bus).
func NewWithState(cfg Config, b *bus.Bus, keys Keys, owners Owners, log *slog.Logger) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Stage{cfg: cfg, bus: b, keys: keys, owners: owners, log: log, now: time.Now}, nil
}

// Run consumes raw records until ctx ends.
func (s *Stage) Run(ctx context.Context) error {
	return s.bus.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser, Concurrency: s.cfg.Concurrency}, s.Handle)
}

// Handle turns one raw record into a canonical dataset event (or a
// tombstone for a deletion). A record it cannot read is a permanent error:
// it goes to the dead letters with the reason.
func (s *Stage) Handle(ctx context.Context, m *bus.Message) ([]bus.Event, error) {
	var raw fairwayv1.RawRecord
	if err := proto.Unmarshal(m.Payload, &raw); err != nil {
		return nil, bus.Permanent(fmt.Errorf("normaliser: not a raw record: %w", err))
	}
	ds, err := Normalise(&raw, s.now().UTC())
	if err != nil {
		return nil, bus.Permanent(fmt.Errorf("normaliser: %s %.200s: %w", raw.FeedId, raw.SourceIdentifier, err))
	}
	if len(ds.Key) > MaxKeyBytes {
		return nil, bus.Permanent(fmt.Errorf("%w: %s: key of %d bytes (at most %d): %.200s…", ErrKeyTooLong, raw.FeedId, len(ds.Key), MaxKeyBytes, ds.Key))
	}
	sourceKey := bus.Digest(raw.FeedId + "\x00" + raw.SourceIdentifier)
	var previous string
	if e, err := s.keys.Get(ctx, sourceKey); err == nil {
		previous = string(e.Value)
	} else if !errors.Is(err, bus.ErrNotFound) {
		return nil, bus.Transient(fmt.Errorf("normaliser: key of %.200s: %w", raw.SourceIdentifier, err))
	}
	var events []bus.Event
	if raw.Deleted {
		if previous != "" {
			ds.Key = previous
		}
		ds.ContentHash = "deleted"
		// A facility withdraws only its own datasets.
		if err := s.owners.Check(ctx, ds.Key, raw.Facility); err != nil {
			return nil, refused(&raw, err)
		}
	} else {
		// The facility whose feed first publishes a key owns it; another
		// facility's record for it is refused.
		own, err := s.owners.Claim(ctx, ds.Key, raw.Facility, raw.FeedId)
		if err != nil {
			return nil, err
		}
		if err := own.Allows(raw.Facility); err != nil {
			return nil, refused(&raw, err)
		}
		if previous != "" && previous != ds.Key {
			// The record's identity changed (a DOI minted after the first
			// harvest): the dataset under its old key is withdrawn, unless
			// it has been transferred to another facility meanwhile.
			if err := s.owners.Check(ctx, previous, raw.Facility); err == nil {
				old, err := tombstone(&raw, ds, previous)
				if err != nil {
					return nil, err
				}
				events = append(events, old)
			} else if !errors.Is(err, bus.ErrForeignDataset) {
				return nil, err
			}
		}
		if previous != ds.Key {
			if _, err := s.keys.Put(ctx, sourceKey, []byte(ds.Key)); err != nil {
				return nil, bus.Transient(fmt.Errorf("normaliser: remember key of %.200s: %w", raw.SourceIdentifier, err))
			}
		}
	}
	b, err := proto.Marshal(ds)
	if err != nil {
		return nil, bus.Permanent(fmt.Errorf("normaliser: encode %s: %w", ds.Key, err))
	}
	return append(events, bus.Event{Stream: bus.Normalised, Key: ds.Key, Hash: ds.ContentHash, Payload: b, SkipUnchanged: true}), nil
}

// refused is the permanent error of a record about another facility's
// dataset: it goes to the dead letters with the owner named.
func refused(raw *fairwayv1.RawRecord, err error) error {
	return bus.Permanent(fmt.Errorf("normaliser: feed %s, record %.200s: %w", raw.FeedId, raw.SourceIdentifier, err))
}

// tombstone returns the deletion of the dataset a record was published as
// under key.
func tombstone(raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string) (bus.Event, error) {
	t := &fairwayv1.Dataset{
		Key: key, Deleted: true, ContentHash: "deleted", SourceIdentifier: raw.SourceIdentifier,
		Facility: ds.Facility, FeedId: ds.FeedId, MetadataFormat: ds.MetadataFormat, Provenance: ds.Provenance,
	}
	b, err := proto.Marshal(t)
	if err != nil {
		return bus.Event{}, bus.Permanent(fmt.Errorf("normaliser: encode tombstone of %s: %w", key, err))
	}
	return bus.Event{Stream: bus.Normalised, Key: key, Hash: t.ContentHash, Payload: b, SkipUnchanged: true}, nil
}
