// Package publisher is the stage that renders enriched datasets as DCAT-AP
// and writes them into the live catalogue stream (one entry per dataset,
// tombstones for withdrawn ones), and serves that catalogue over HTTP.
package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/enricher"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Config configures the publisher stage.
type Config struct {
	// BaseURL is the node's public URL, used for the IRIs of datasets
	// without a DOI and of the catalogue. Default http://127.0.0.1:8080.
	BaseURL string
	// Concurrency is how many datasets are rendered at once. Default 2.
	Concurrency int
	// Holder names this replica in replay leases. Default: bus.NewHolder.
	Holder string
	// EmbargoCheck is how often the catalogue is searched for embargoes
	// that ended, whose datasets are rendered again as public. Default 1h.
	EmbargoCheck time.Duration
	// Facilities describes the facilities as agents (full names, ROR ids)
	// beyond the names their feeds give; optional (dcat.Options.Facilities).
	Facilities map[string]dcat.Facility
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Holder == "" {
		c.Holder = bus.NewHolder()
	}
	if c.EmbargoCheck == 0 {
		c.EmbargoCheck = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://127.0.0.1:8080"
	}
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Concurrency < 0 || c.EmbargoCheck < 0 {
		return errors.New("publisher: negative concurrency or embargo check interval")
	}
	return nil
}

// Stage is the publisher.
type Stage struct {
	cfg  Config
	bus  *bus.Bus
	cat  LiveCatalogue
	opts dcat.Options
	log  *slog.Logger
	now  func() time.Time
}

// New returns the publisher stage over the live catalogue of b. With a nil
// bus, Handle renders without the check against the catalogue.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Stage, error) {
	var cat LiveCatalogue
	if b != nil {
		cat = NewCatalogue(b)
	}
	return NewWithCatalogue(cfg, b, cat, log)
}

// NewWithCatalogue returns the publisher stage over a live catalogue of the
// caller's choosing. Handle and EndedEmbargoes need nothing else: with an
// in-memory one and a nil bus, a table test calls them without a server
// (Run and LiftEmbargoes need the bus). A nil cat renders every dataset
// without the check against the catalogue.
func NewWithCatalogue(cfg Config, b *bus.Bus, cat LiveCatalogue, log *slog.Logger) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Stage{cfg: cfg, bus: b, cat: cat, opts: dcat.Options{BaseURL: cfg.BaseURL, Facilities: cfg.Facilities, Now: cfg.Now}, log: log, now: cfg.Now}, nil
}

// Options returns the DCAT rendering options of the stage.
func (s *Stage) Options() dcat.Options { return s.opts }

// Run consumes enriched datasets until ctx ends, and lifts the embargoes
// that end meanwhile.
func (s *Stage) Run(ctx context.Context) error {
	// The embargo and replay loops end with the stage, also when the bus
	// stops first with an error.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.cfg.EmbargoCheck)
		defer t.Stop()
		for {
			if n, err := s.LiftEmbargoes(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("lifting ended embargoes", "err", err)
			} else if n > 0 {
				s.log.Info("ended embargoes lifted", "datasets", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	replays := make(chan struct{})
	go func() {
		defer close(replays)
		if err := s.bus.RunReplays(ctx, bus.ReplayerConfig{Stage: bus.StagePublisher, Holder: s.cfg.Holder, Logger: s.log, Origin: Origin}, s.Handle); err != nil {
			s.log.Error("replays", "err", err)
		}
	}()
	err := s.bus.Run(ctx, bus.RunConfig{Stage: bus.StagePublisher, Concurrency: s.cfg.Concurrency}, s.Handle)
	cancel()
	<-done
	<-replays
	return err
}

// Origin returns the feed and the facility of an enriched dataset ("" when
// it is not one), for the replays by feed or facility.
func Origin(m bus.StoredMessage) (feed, facility string) {
	var e fairwayv1.EnrichedDataset
	if proto.Unmarshal(m.Data, &e) != nil {
		return "", ""
	}
	return e.GetDataset().GetProvenance().GetFeedId(), e.GetDataset().GetFacility()
}

// LiftEmbargoes renders again every catalogue entry whose embargo ended
// after it was rendered, so that the catalogue shows it as public, and
// returns how many it published.
func (s *Stage) LiftEmbargoes(ctx context.Context) (int, error) {
	events, err := s.EndedEmbargoes(ctx)
	lifted := 0
	for _, ev := range events {
		if err := s.bus.Publish(ctx, string(bus.StagePublisher), ev); err != nil {
			return lifted, err
		}
		lifted++
	}
	return lifted, err
}

// EndedEmbargoes returns the catalogue entries, rendered again, of the
// datasets whose embargo ended after they were rendered. Each is stored
// only if the catalogue still holds the entry it replaces. On an error, it
// returns the entries rendered before it.
func (s *Stage) EndedEmbargoes(ctx context.Context) ([]bus.Event, error) {
	if s.cat == nil {
		return nil, nil
	}
	now := s.now()
	var due []*fairwayv1.EnrichedDataset
	err := s.cat.Each(ctx, func(e *fairwayv1.CatalogueEntry) error {
		end := e.GetDataset().GetDataset().GetEmbargoUntil()
		if e.Deleted || end == nil || end.AsTime().After(now) {
			return nil
		}
		if p := e.GetPublishedAt(); p == nil || p.AsTime().Before(end.AsTime()) {
			due = append(due, e.Dataset)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var events []bus.Event
	for _, e := range due {
		// Read the entry again: a newer version may have been written
		// since the scan, and the write must not replace it.
		key := e.GetDataset().GetKey()
		last, err := s.cat.Last(ctx, key)
		if err != nil {
			return events, fmt.Errorf("publisher: catalogue entry of %s: %w", key, err)
		}
		var cur fairwayv1.CatalogueEntry
		if bus.Undecoded(last) || proto.Unmarshal(last.Data, &cur) != nil || cur.Deleted ||
			!cur.GetPublishedAt().AsTime().Before(e.GetDataset().GetEmbargoUntil().AsTime()) {
			continue
		}
		entry, err := s.Entry(cur.Dataset)
		if err != nil {
			return events, err
		}
		ev, err := catalogueEvent(entry, held{seq: last.Sequence, hash: bus.LastHash(last, string(bus.StagePublisher))})
		if err != nil {
			return events, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// Handle renders one enriched dataset into its catalogue entry. A version
// harvested before the one the catalogue already holds is dropped: stage
// workers do not keep the order of two messages about one dataset, and a
// replay must not roll the catalogue back.
func (s *Stage) Handle(ctx context.Context, m *bus.Message) ([]bus.Event, error) {
	var e fairwayv1.EnrichedDataset
	if err := proto.Unmarshal(m.Payload, &e); err != nil {
		return nil, bus.Permanent(fmt.Errorf("publisher: not an enriched dataset: %w", err))
	}
	stale, cur, err := s.stale(ctx, &e)
	if err != nil || stale {
		return nil, err
	}
	entry, err := s.Entry(&e)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	ev, err := catalogueEvent(entry, cur)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	return []bus.Event{ev}, nil
}

// held is what the stage read of a dataset's catalogue entry: its stream
// sequence (0: none) and the hash the publisher gave it ("" for none).
type held struct {
	seq  uint64
	hash string
}

// catalogueEvent returns the event that writes entry into the catalogue.
// It is stored only if the catalogue still holds the entry cur that the
// stage read (a concurrent write makes it fail and come again), and not
// when that entry has the same hash: the catalogue's last entry is the
// publisher's memory of what it emitted, read once for both.
func catalogueEvent(entry *fairwayv1.CatalogueEntry, cur held) (bus.Event, error) {
	b, err := proto.Marshal(entry)
	if err != nil {
		return bus.Event{}, fmt.Errorf("publisher: encode %s: %w", entry.Key, err)
	}
	return bus.Event{
		Stream: bus.Catalogue, Key: entry.Key, Hash: entry.ContentHash, Payload: b, SkipUnchanged: true,
		ExpectLast: &cur.seq, LastHash: &cur.hash,
	}, nil
}

// stale reports whether the catalogue holds a version of e's dataset that
// was harvested after e; cur is the entry it holds (sequence 0: none).
func (s *Stage) stale(ctx context.Context, e *fairwayv1.EnrichedDataset) (stale bool, cur held, err error) {
	key := e.GetDataset().GetKey()
	if s.cat == nil || key == "" {
		return false, held{}, nil
	}
	last, err := s.cat.Last(ctx, key)
	if bus.IsNotFound(err) {
		return false, held{}, nil
	}
	if err != nil {
		return false, held{}, bus.Transient(fmt.Errorf("publisher: catalogue entry of %s: %w", key, err))
	}
	cur = held{seq: last.Sequence, hash: bus.LastHash(last, string(bus.StagePublisher))}
	var entry fairwayv1.CatalogueEntry
	if bus.Undecoded(last) || proto.Unmarshal(last.Data, &entry) != nil {
		// An unreadable entry is replaced (stored bytes that could not be
		// decoded may parse by chance: they are not read).
		return false, held{seq: last.Sequence}, nil
	}
	in := e.GetDataset().GetProvenance().GetHarvestedAt()
	kept := entry.GetDataset().GetDataset().GetProvenance().GetHarvestedAt()
	if in != nil && kept != nil && kept.AsTime().After(in.AsTime()) {
		bus.Log(ctx, s.log).Debug("older version dropped", "key", key, "harvested", in.AsTime(), "catalogue", kept.AsTime())
		return true, cur, nil
	}
	return false, cur, nil
}

// Entry returns the catalogue entry of e.
func (s *Stage) Entry(e *fairwayv1.EnrichedDataset) (*fairwayv1.CatalogueEntry, error) {
	ds := e.GetDataset()
	if ds.GetKey() == "" {
		return nil, errors.New("publisher: dataset without key")
	}
	now := s.now()
	entry := &fairwayv1.CatalogueEntry{
		Key: ds.Key, Deleted: ds.Deleted, Dataset: e,
		ContentHash: entryHash(e, now), PublishedAt: timestamppb.New(now.UTC()),
	}
	if ds.Deleted {
		return entry, nil
	}
	ttl, err := dcat.DatasetTurtle(e, s.opts)
	if err != nil {
		return nil, fmt.Errorf("publisher: render %s: %w", ds.Key, err)
	}
	entry.Turtle = ttl
	return entry, nil
}

// entryHash identifies what an entry says: the dataset, the ontology, the
// DCAT mapping, the techniques, and whether its embargo has ended at render time.
func entryHash(e *fairwayv1.EnrichedDataset, now time.Time) string {
	return entryHashWith(dcat.MappingVersion, e, now)
}

// entryHashWith is entryHash under DCAT mapping version mapping. It covers
// the mapping and what the enricher made (enricher.Hash: the dataset's
// content hash, the ontology, every technique with its broader terms, the
// rubric, the score and the gaps), so that a change of any of them reaches
// the catalogue on a replay.
func entryHashWith(mapping string, e *fairwayv1.EnrichedDataset, now time.Time) string {
	if e.GetDataset().GetDeleted() {
		return "deleted"
	}
	h := sha256.New()
	h.Write([]byte(mapping + "\x00" + enricher.Hash(e)))
	if end := e.GetDataset().GetEmbargoUntil(); end != nil && !end.AsTime().After(now) {
		h.Write([]byte("\x00embargo-ended"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
