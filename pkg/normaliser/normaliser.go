// Package normaliser is the stage that turns raw harvested records into
// canonical datasets (see Normalise for the formats).
package normaliser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Config configures the normaliser stage.
type Config struct {
	// Concurrency is how many records are normalised at once. Default 2.
	Concurrency int
	// Holder names this replica in replay leases. Default: bus.NewHolder.
	Holder string
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
	if c.Holder == "" {
		c.Holder = bus.NewHolder()
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
// choosing, every one of which is required (Stores.Validate). Handle needs
// nothing else: with in-memory ones and a nil bus, a table test calls it
// without a server (Run needs the bus).
func NewWithState(cfg Config, b *bus.Bus, st Stores, log *slog.Logger) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Stage{cfg: cfg, bus: b, st: st, log: log, now: time.Now}, nil
}

// Run consumes raw records until ctx ends, and runs the normaliser's
// replays (bus.RunReplays) that no other replica runs.
func (s *Stage) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	replays := make(chan struct{})
	go func() {
		defer close(replays)
		if err := s.bus.RunReplays(ctx, bus.ReplayerConfig{Stage: bus.StageNormaliser, Holder: s.cfg.Holder, Logger: s.log, Origin: Origin}, s.Handle); err != nil {
			s.log.Error("replays", "err", err)
		}
	}()
	err := s.bus.Run(ctx, bus.RunConfig{Stage: bus.StageNormaliser, Concurrency: s.cfg.Concurrency}, s.Handle)
	cancel()
	<-replays
	return err
}

// Origin returns the feed and the facility of a raw record ("" when it is
// not one), for the replays by feed or facility.
func Origin(m bus.StoredMessage) (feed, facility string) {
	var raw fairwayv1.RawRecord
	if proto.Unmarshal(m.Data, &raw) != nil {
		return "", ""
	}
	return raw.FeedId, raw.Facility
}

// Handle turns one raw record into the dataset event of its key: the merge
// (Merge) of the versions of every source still publishing it, this
// record's replacing the one its feed and source identifier gave before.
// A deletion removes its source only; the dataset becomes a tombstone when
// no source is left. A record it cannot read is a permanent error: it goes
// to the dead letters with the reason. A dataset whose hash equals the
// normalised stream's last message about its key is not emitted again.
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
	var previous keyEntry
	known := false
	if e, err := s.st.Keys.Get(ctx, sourceKey); err == nil {
		previous, known = parseKeyEntry(e.Value), true
	} else if !errors.Is(err, bus.ErrNotFound) {
		return nil, bus.Transient(fmt.Errorf("normaliser: key of %.200s: %w", raw.SourceIdentifier, err))
	}
	var events []bus.Event
	next := keyEntry{Key: ds.Key}
	if raw.Deleted {
		if previous.Key != "" {
			ds.Key = previous.Key
		}
		next.Key = previous.Key
		// A facility withdraws only its own datasets.
		if err := s.st.Owners.Check(ctx, ds.Key, raw.Facility); err != nil {
			return nil, refused(&raw, err)
		}
		ev, emit, err := s.withdraw(ctx, &raw, ds, ds.Key)
		if err != nil {
			return nil, err
		}
		if emit {
			events = append(events, ev)
		}
	} else {
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
		ev, emit, err := s.change(ctx, &raw, ds, ds.Key, func(vs []*fairwayv1.Dataset) ([]*fairwayv1.Dataset, bool, error) {
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
		if emit {
			events = append(events, ev)
		}
	}
	// The record's identity changed (a DOI minted after the first harvest):
	// its source is withdrawn from the dataset under its old key, after the
	// new key took it (which may refuse it). The old key stays in the
	// record's entry of the source-key map, written before the events are
	// published, until the normalised stream's last message about it is the
	// merge without this source: a withdrawal whose publish fails (a
	// conflict, the server away, a crash) is emitted again when the record
	// comes again, and by every later record of this source until it is
	// stored.
	var pending []string
	if previous.Key != "" && previous.Key != next.Key {
		pending = append(pending, previous.Key)
	}
	for _, k := range previous.Withdraw {
		if k != next.Key && !slices.Contains(pending, k) {
			pending = append(pending, k)
		}
	}
	var withdrawn []bus.Event
	for _, old := range pending {
		// Unless the old key was transferred to another facility meanwhile.
		if err := s.st.Owners.Check(ctx, old, raw.Facility); errors.Is(err, bus.ErrForeignDataset) {
			continue
		} else if err != nil {
			return nil, err
		}
		ev, emit, err := s.withdraw(ctx, &raw, ds, old)
		if err != nil {
			return nil, err
		}
		if emit {
			withdrawn = append(withdrawn, ev)
			next.Withdraw = append(next.Withdraw, old)
		}
	}
	if len(next.Withdraw) > maxPendingWithdrawals {
		bus.Log(ctx, s.log).Warn("normaliser: too many keys of one record left to withdraw; the oldest are forgotten",
			"feed", raw.FeedId, "record", raw.SourceIdentifier, "forgotten", next.Withdraw[maxPendingWithdrawals:])
		next.Withdraw = next.Withdraw[:maxPendingWithdrawals]
	}
	if next.Key != "" && (!known || !previous.equal(next)) {
		if _, err := s.st.Keys.Put(ctx, sourceKey, next.encode()); err != nil {
			return nil, bus.Transient(fmt.Errorf("normaliser: remember key of %.200s: %w", raw.SourceIdentifier, err))
		}
	}
	return append(withdrawn, events...), nil
}

// maxPendingWithdrawals bounds how many old keys one record's entry of the
// source-key map keeps until their withdrawal is stored.
const maxPendingWithdrawals = 8

// keyEntry is the value of a record's entry in the source-key map: the key
// its dataset is published under, and the keys it was published under
// before whose withdrawal the normalised stream does not show yet. Without
// such keys it is stored as the key alone (as versions before them did); a
// key never starts with "{" (it is "doi:…" or "src:…").
type keyEntry struct {
	Key      string   `json:"key"`
	Withdraw []string `json:"withdraw,omitempty"`
}

func parseKeyEntry(v []byte) keyEntry {
	if len(v) > 0 && v[0] == '{' {
		var e keyEntry
		if err := json.Unmarshal(v, &e); err == nil {
			return e
		}
	}
	return keyEntry{Key: string(v)}
}

func (e keyEntry) encode() []byte {
	if len(e.Withdraw) == 0 {
		return []byte(e.Key)
	}
	b, err := json.Marshal(e)
	if err != nil { // strings only: cannot happen
		return []byte(e.Key)
	}
	return b
}

func (e keyEntry) equal(o keyEntry) bool {
	return e.Key == o.Key && slices.Equal(e.Withdraw, o.Withdraw)
}

// withdraw removes the source of raw (its feed and source identifier) from
// the dataset under key and returns the dataset's event: the merge of the
// sources left, or a tombstone when none is; emit is false when the
// normalised stream holds it already.
func (s *Stage) withdraw(ctx context.Context, raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string) (ev bus.Event, emit bool, err error) {
	id := raw.FeedId + "\x00" + raw.SourceIdentifier
	return s.change(ctx, raw, ds, key, func(vs []*fairwayv1.Dataset) ([]*fairwayv1.Dataset, bool, error) {
		kept := slices.DeleteFunc(vs, func(v *fairwayv1.Dataset) bool { return sourceID(v) == id })
		return kept, len(kept) != len(vs), nil
	})
}

// change applies edit to the sources of the dataset under key, stores them
// at the revision read (trying again with what it then reads after a
// concurrent update) and returns the dataset's event, with emit false when
// its hash is that of the normalised stream's last message about key. The
// event expects that last message to be the one read before the sources, so
// that a merge of older sources never lands over a newer one.
//
// When the bucket holds no sources for key but the stream's last message is
// a live dataset (published before the sources were kept, or whose sources
// were lost), that dataset stands for every source it lists, or for the one
// it was made from, except raw's own: a record of another feed merges with
// it rather than replace it, and a deletion in another feed keeps it.
func (s *Stage) change(ctx context.Context, raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string,
	edit func([]*fairwayv1.Dataset) ([]*fairwayv1.Dataset, bool, error)) (bus.Event, bool, error) {
	entry := bus.Digest(key)
	for attempt := 0; attempt < maxSourceAttempts; attempt++ {
		var seq uint64
		var lastHash string
		var last *bus.StoredMessage
		m, err := s.st.Normalised.Last(ctx, key)
		if err == nil {
			seq, last = m.Sequence, &m
			if !bus.Undecoded(m) { // else it is replaced, whatever its hash says
				lastHash, _, _ = strings.Cut(m.Header.Get(bus.HeaderHash), "@")
			}
		} else if !errors.Is(err, bus.ErrNotFound) {
			return bus.Event{}, false, bus.Transient(fmt.Errorf("normaliser: last dataset of %.200s: %w", key, err))
		}
		var rev uint64
		var stored fairwayv1.SourceVersions
		if e, err := s.st.Sources.Get(ctx, entry); err == nil {
			rev = e.Revision
			if err := proto.Unmarshal(e.Value, &stored); err != nil {
				return bus.Event{}, false, s.unreadable(ctx, key, entry, rev, err)
			}
		} else if !errors.Is(err, bus.ErrNotFound) {
			return bus.Event{}, false, bus.Transient(fmt.Errorf("normaliser: sources of %.200s: %w", key, err))
		}
		rebuilt := false
		if rev == 0 && last != nil {
			stored.Versions = standIns(last, raw.FeedId+"\x00"+raw.SourceIdentifier)
			if rebuilt = len(stored.Versions) > 0; rebuilt {
				bus.Log(ctx, s.log).Info("normaliser: sources rebuilt from the last dataset emitted", "key", key, "sources", len(stored.Versions))
			}
		}
		versions, changed, err := edit(stored.Versions)
		if err != nil {
			return bus.Event{}, false, err
		}
		if changed || rebuilt {
			err = s.store(ctx, key, entry, rev, versions)
			if errors.Is(err, bus.ErrConflict) || errors.Is(err, bus.ErrExists) {
				continue // another handler or replica changed them: again
			}
			if err != nil {
				return bus.Event{}, false, err
			}
		}
		ev, hash, err := s.event(raw, ds, key, versions)
		if err != nil {
			return bus.Event{}, false, err
		}
		if last != nil && lastHash == hash {
			return bus.Event{}, false, nil
		}
		// The sequence followed is part of the event's hash, and so of its
		// message id: a dataset that changes A, B, then back to A within the
		// dedup window is not dropped as a duplicate of the first A, while a
		// redelivery of the same change still is.
		ev.Hash = hash + "@" + strconv.FormatUint(seq, 10)
		ev.ExpectLast = &seq
		return ev, true, nil
	}
	return bus.Event{}, false, bus.Transient(fmt.Errorf("normaliser: sources of %.200s: changed concurrently %d times", key, maxSourceAttempts))
}

// unreadable handles sources of key that cannot be decoded: the entry is
// removed (at the revision read, so that a concurrent repair is kept) and
// the record is refused for good with ErrUnreadableSources, so that it goes
// to the dead letters with the reason; the next record of the dataset (or
// this one redriven) rebuilds its sources from itself and the normalised
// stream's last message.
func (s *Stage) unreadable(ctx context.Context, key, entry string, rev uint64, cause error) error {
	bus.Log(ctx, s.log).Error("normaliser: the sources of a dataset cannot be read; removed, to be rebuilt by its next record", "key", key, "revision", rev, "err", cause)
	err := fmt.Errorf("normaliser: %w of %.200s (removed, to be rebuilt by the next record): %w", ErrUnreadableSources, key, cause)
	if derr := s.st.Sources.DeleteAt(ctx, entry, rev); derr != nil && !errors.Is(derr, bus.ErrConflict) {
		// Not removed: sent back, to be found unreadable again.
		return bus.Transient(fmt.Errorf("%w; removing them: %w", err, derr))
	}
	return bus.Permanent(err)
}

// standIns returns the versions the last message of a dataset stands for
// when its sources are not kept: the live dataset as the version of every
// source it lists, or, without sources (emitted before they were kept), of
// the one it was made from; never that of own (feed and source identifier),
// whose version the record brings or withdraws. A stand-in's content hash
// is the dataset's, not the source's own, so that its source's next record
// replaces it.
func standIns(last *bus.StoredMessage, own string) []*fairwayv1.Dataset {
	var d fairwayv1.Dataset
	if bus.Undecoded(*last) || proto.Unmarshal(last.Data, &d) != nil || d.Deleted || d.Key == "" {
		return nil
	}
	sources := d.GetSources()
	if len(sources) == 0 {
		sources = []*fairwayv1.Source{{
			FeedId: d.FeedId, SourceIdentifier: d.SourceIdentifier, MetadataFormat: d.MetadataFormat,
			Datestamp: d.GetProvenance().GetSourceDatestamp(), SourceKind: kindName(d.MetadataFormat), ContentHash: d.ContentHash,
		}}
	}
	var out []*fairwayv1.Dataset
	for _, src := range sources {
		if src.GetFeedId()+"\x00"+src.GetSourceIdentifier() == own {
			continue
		}
		v := proto.CloneOf(&d)
		v.FeedId, v.SourceIdentifier, v.MetadataFormat = src.GetFeedId(), src.GetSourceIdentifier(), src.GetMetadataFormat()
		v.Sources = []*fairwayv1.Source{proto.CloneOf(src)}
		out = append(out, v)
	}
	return out
}

// kindName is the feed kind a metadata format comes from.
func kindName(format string) string {
	if kindOf(format) == kindSciCat {
		return "scicat"
	}
	return "oai-pmh"
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

// event returns the dataset event of key over its sources (their merge, or
// a tombstone when there are none) and the dataset's content hash.
func (s *Stage) event(raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string, versions []*fairwayv1.Dataset) (bus.Event, string, error) {
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
		return bus.Event{}, "", bus.Permanent(fmt.Errorf("normaliser: %w: %.200s cannot be encoded", ErrInvalidRecord, key))
	}
	b, err := proto.Marshal(merged)
	if err != nil {
		return bus.Event{}, "", bus.Permanent(fmt.Errorf("normaliser: encode %s: %w", key, err))
	}
	return bus.Event{Stream: bus.Normalised, Key: key, Hash: merged.ContentHash, Payload: b, Metadata: bus.FeedMetadata(raw.GetFeedId())}, merged.ContentHash, nil
}

// refused is the permanent error of a record about another facility's
// dataset: it goes to the dead letters with the owner named.
func refused(raw *fairwayv1.RawRecord, err error) error {
	return bus.Permanent(fmt.Errorf("normaliser: feed %s, record %.200s: %w", raw.FeedId, raw.SourceIdentifier, err))
}

// tombstone returns the deletion of the dataset a record was published as
// under key, and its hash.
func tombstone(raw *fairwayv1.RawRecord, ds *fairwayv1.Dataset, key string) (bus.Event, string, error) {
	t := &fairwayv1.Dataset{
		Key: key, Deleted: true, ContentHash: "deleted", SourceIdentifier: raw.SourceIdentifier,
		Facility: ds.Facility, FeedId: ds.FeedId, MetadataFormat: ds.MetadataFormat, Provenance: ds.Provenance,
	}
	b, err := proto.Marshal(t)
	if err != nil {
		return bus.Event{}, "", bus.Permanent(fmt.Errorf("normaliser: encode tombstone of %s: %w", key, err))
	}
	return bus.Event{Stream: bus.Normalised, Key: key, Hash: t.ContentHash, Payload: b}, t.ContentHash, nil
}
