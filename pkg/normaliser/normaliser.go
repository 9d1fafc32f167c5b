// Package normaliser is the stage that turns raw harvested records into
// canonical datasets (see Normalise for the formats).
package normaliser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Config configures the normaliser stage.
type Config struct {
	// Concurrency is how many records are normalised at once. Default 2.
	Concurrency int
	// MaxSources caps how many sources (feed and record) one dataset may
	// list; a record that would add one more is dead-lettered with
	// ErrTooManySources. Default DefaultMaxSources.
	MaxSources int
}

// DefaultMaxSources is the default of Config.MaxSources.
const DefaultMaxSources = 16

// MaxSourcesBytes bounds the encoded sources of one dataset (an entry of
// bus.BucketSources, under the bucket's own limit); a record that would
// make them larger is dead-lettered with ErrTooManySources.
const MaxSourcesBytes = 4 << 20

// maxSourceAttempts bounds how many times an update of a dataset's
// sources is tried again after a concurrent one before the record is sent
// back for a later delivery.
const maxSourceAttempts = 16

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	if c.MaxSources == 0 {
		c.MaxSources = DefaultMaxSources
	}
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c Config) Validate() error {
	if c.Concurrency < 0 {
		return errors.New("normaliser: negative concurrency")
	}
	if c.MaxSources < 0 {
		return errors.New("normaliser: negative max sources")
	}
	return nil
}

// MaxKeyBytes bounds a dataset key ("doi:"+DOI, or "src:"+facility+":"+
// source identifier); a record whose key is longer goes to the dead letters.
const MaxKeyBytes = 2048

var (
	// ErrKeyTooLong is the reason of a record whose key is over MaxKeyBytes.
	ErrKeyTooLong = errors.New("dataset key too long")
	// ErrTooManySources is the reason of a record that would make its
	// dataset list more than Config.MaxSources sources, or sources over
	// MaxSourcesBytes.
	ErrTooManySources = errors.New("too many sources for one dataset")
	// ErrUnreadableSources is the reason of a failure to read the
	// sources the bus holds for a dataset.
	ErrUnreadableSources = errors.New("unreadable sources of a dataset")
)

// Stage is the normaliser.
type Stage struct {
	cfg Config
	bus *bus.Bus
	st  Stores
	log *slog.Logger
	now func() time.Time
}

// New returns the normaliser stage over the bus's source-key map
// (bus.BucketKeys), ownership record, sources (bus.BucketSources) and
// normalised stream.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Stage, error) {
	return NewWithState(cfg, b, Stores{
		Keys: b.State(bus.BucketKeys), Owners: b.Owners(), Sources: b.State(bus.BucketSources),
		Normalised: b.StreamReader(bus.Normalised),
	}, log)
}

// NewWithState returns the normaliser stage over stores of the caller's
// choosing. Handle needs nothing else: with in-memory ones and a nil bus, a
// table test calls it without a server (Run needs the bus).
func NewWithState(cfg Config, b *bus.Bus, st Stores, log *slog.Logger) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st.Keys == nil || st.Owners == nil || st.Sources == nil {
		return nil, errors.New("normaliser: keys, owners and sources are required")
	}
	cfg.setDefaults()
	return &Stage{cfg: cfg, bus: b, st: st, log: log, now: time.Now}, nil
}

// Run consumes raw records until ctx ends.
func (s *Stage) Run(ctx context.Context) error {
	return s.bus.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser, Concurrency: s.cfg.Concurrency}, s.Handle)
}

// Handle turns one raw record into the dataset event of its key: the merge
// (Merge) of the versions of every source still publishing it, this
// record's replacing the one its feed and source identifier gave before.
// A deletion removes its source only; the dataset becomes a tombstone when
// no source is left. A record it cannot read is a permanent error: it goes
// to the dead letters with the reason.
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
	if e, err := s.st.Keys.Get(ctx, sourceKey); err == nil {
		previous = string(e.Value)
	} else if !errors.Is(err, bus.ErrNotFound) {
		return nil, bus.Transient(fmt.Errorf("normaliser: key of %.200s: %w", raw.SourceIdentifier, err))
	}
	if raw.Deleted {
		if previous != "" {
			ds.Key = previous
		}
		// A facility withdraws only its own datasets.
		if err := s.st.Owners.Check(ctx, ds.Key, raw.Facility); err != nil {
			return nil, refused(&raw, err)
		}
		ev, err := s.withdraw(ctx, &raw, ds, ds.Key)
		if err != nil {
			return nil, err
		}
		return []bus.Event{ev}, nil
	}
	// The facility whose feed first publishes a key owns it; another
	// facility's record for it is refused.
	own, err := s.st.Owners.Claim(ctx, ds.Key, raw.Facility, raw.FeedId)
	if err != nil {
		return nil, err
	}
	if err := own.Allows(raw.Facility); err != nil {
		return nil, refused(&raw, err)
	}
	ds.Sources = []*fairwayv1.Source{{
		FeedId: raw.FeedId, SourceIdentifier: raw.SourceIdentifier, Datestamp: raw.Datestamp,
		MetadataFormat: raw.MetadataFormat, SourceKind: raw.SourceKind, ContentHash: ds.ContentHash,
	}}
	ev, err := s.change(ctx, &raw, ds, ds.Key, func(vs []*fairwayv1.Dataset) ([]*fairwayv1.Dataset, bool, error) {
		id := sourceID(ds)
		for i, v := range vs {
			if sourceID(v) == id {
				if v.GetContentHash() == ds.ContentHash && sourceOf(v).GetDatestamp() == raw.Datestamp {
					// Harvested again unchanged: no write (the version
					// stored keeps its first provenance).
					return vs, false, nil
				}
				vs[i] = ds
				return vs, true, nil
			}
		}
		if len(vs) >= s.cfg.MaxSources {
			return nil, false, bus.Permanent(fmt.Errorf("%w: feed %s, record %.200s: %.200s lists %d sources already (at most %d)",
				ErrTooManySources, raw.FeedId, raw.SourceIdentifier, ds.Key, len(vs), s.cfg.MaxSources))
		}
		return append(vs, ds), true, nil
	})
	if err != nil {
		return nil, err
	}
	var events []bus.Event
	if previous != "" && previous != ds.Key {
		// The record's identity changed (a DOI minted after the first
		// harvest): its source is withdrawn from the dataset under its old
		// key, unless that has been transferred to another facility
		// meanwhile. After the new key took it (which may refuse it), and
		// before the key is remembered, so that a record that comes again
		// finds the old key still.
		if err := s.st.Owners.Check(ctx, previous, raw.Facility); err == nil {
			old, err := s.withdraw(ctx, &raw, ds, previous)
			if err != nil {
				return nil, err
			}
			events = append(events, old)
		} else if !errors.Is(err, bus.ErrForeignDataset) {
			return nil, err
		}
	}
	if previous != ds.Key {
		if _, err := s.st.Keys.Put(ctx, sourceKey, []byte(ds.Key)); err != nil {
			return nil, bus.Transient(fmt.Errorf("normaliser: remember key of %.200s: %w", raw.SourceIdentifier, err))
		}
	}
	return append(events, ev), nil
}

// withdraw removes the source of raw (its feed and source identifier) from
// the dataset under key and returns the dataset's event: the merge of the
// sources left, or a tombstone when none is.
func (s *Stage) withdraw(ctx context.Context, raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string) (bus.Event, error) {
	id := raw.FeedId + "\x00" + raw.SourceIdentifier
	return s.change(ctx, raw, ds, key, func(vs []*fairwayv1.Dataset) ([]*fairwayv1.Dataset, bool, error) {
		kept := slices.DeleteFunc(vs, func(v *fairwayv1.Dataset) bool { return sourceID(v) == id })
		return kept, len(kept) != len(vs), nil
	})
}

// change applies edit to the sources of the dataset under key, stores them
// at the revision read (trying again with what it then reads after a
// concurrent update) and returns the dataset's event. The event expects
// the normalised stream's last message about key to be the one read before
// the sources, so that a merge of older sources never lands over a newer
// one.
func (s *Stage) change(ctx context.Context, raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string,
	edit func([]*fairwayv1.Dataset) ([]*fairwayv1.Dataset, bool, error)) (bus.Event, error) {
	entry := bus.Digest(key)
	for attempt := 0; attempt < maxSourceAttempts; attempt++ {
		var expect *uint64
		if s.st.Normalised != nil {
			var seq uint64
			last, err := s.st.Normalised.Last(ctx, key)
			if err == nil {
				seq = last.Sequence
			} else if !errors.Is(err, bus.ErrNotFound) {
				return bus.Event{}, bus.Transient(fmt.Errorf("normaliser: last dataset of %.200s: %w", key, err))
			}
			expect = &seq
		}
		var rev uint64
		var stored fairwayv1.SourceVersions
		if e, err := s.st.Sources.Get(ctx, entry); err == nil {
			rev = e.Revision
			if err := proto.Unmarshal(e.Value, &stored); err != nil {
				return bus.Event{}, fmt.Errorf("normaliser: %w of %.200s: %w", ErrUnreadableSources, key, err)
			}
		} else if !errors.Is(err, bus.ErrNotFound) {
			return bus.Event{}, bus.Transient(fmt.Errorf("normaliser: sources of %.200s: %w", key, err))
		}
		versions, changed, err := edit(stored.Versions)
		if err != nil {
			return bus.Event{}, err
		}
		if changed {
			err = s.store(ctx, key, entry, rev, versions)
			if errors.Is(err, bus.ErrConflict) || errors.Is(err, bus.ErrExists) {
				continue // another handler or replica changed them: again
			}
			if err != nil {
				return bus.Event{}, err
			}
		}
		ev, err := s.event(raw, ds, key, versions)
		ev.ExpectLast = expect
		return ev, err
	}
	return bus.Event{}, bus.Transient(fmt.Errorf("normaliser: sources of %.200s: changed concurrently %d times", key, maxSourceAttempts))
}

// store writes the sources of key at revision rev (0: none yet).
func (s *Stage) store(ctx context.Context, key, entry string, rev uint64, versions []*fairwayv1.Dataset) error {
	var err error
	switch {
	case len(versions) == 0 && rev == 0:
		return nil
	case len(versions) == 0:
		err = s.st.Sources.DeleteAt(ctx, entry, rev)
	default:
		b, merr := proto.MarshalOptions{Deterministic: true}.Marshal(&fairwayv1.SourceVersions{Versions: versions})
		if merr != nil {
			return bus.Permanent(fmt.Errorf("normaliser: encode sources of %.200s: %w", key, merr))
		}
		if len(b) > MaxSourcesBytes {
			return bus.Permanent(fmt.Errorf("%w: the sources of %.200s would take %d bytes (at most %d)", ErrTooManySources, key, len(b), MaxSourcesBytes))
		}
		if rev == 0 {
			_, err = s.st.Sources.Create(ctx, entry, b)
		} else {
			_, err = s.st.Sources.Update(ctx, entry, b, rev)
		}
	}
	if err != nil && !errors.Is(err, bus.ErrConflict) && !errors.Is(err, bus.ErrExists) {
		return bus.Transient(fmt.Errorf("normaliser: store sources of %.200s: %w", key, err))
	}
	return err
}

// event returns the dataset event of key over its sources: their merge, or
// a tombstone when there are none.
func (s *Stage) event(raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string, versions []*fairwayv1.Dataset) (bus.Event, error) {
	if len(versions) == 0 {
		return tombstone(raw, ds, key)
	}
	merged := Merge(versions)
	// The publisher drops a version harvested before the one it holds: the
	// merge a record causes is at least as recent as that record (a
	// deletion's included, whose source is no longer among the versions).
	if p := raw.GetProvenance(); p.GetHarvestedAt() != nil &&
		(merged.Provenance.GetHarvestedAt() == nil || p.GetHarvestedAt().AsTime().After(merged.Provenance.GetHarvestedAt().AsTime())) {
		merged.Provenance = proto.CloneOf(p)
	}
	if merged.ContentHash == "" {
		return bus.Event{}, bus.Permanent(fmt.Errorf("normaliser: %w: %.200s cannot be encoded", ErrInvalidRecord, key))
	}
	b, err := proto.Marshal(merged)
	if err != nil {
		return bus.Event{}, bus.Permanent(fmt.Errorf("normaliser: encode %s: %w", key, err))
	}
	return bus.Event{Stream: bus.Normalised, Key: key, Hash: merged.ContentHash, Payload: b, SkipUnchanged: true}, nil
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
