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
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Config configures the publisher stage.
type Config struct {
	// BaseURL is the node's public URL, used for the IRIs of datasets
	// without a DOI and of the catalogue. Default http://127.0.0.1:8080.
	BaseURL string
	// Concurrency is how many datasets are rendered at once. Default 2.
	Concurrency int
}

func (c *Config) setDefaults() {
	if c.BaseURL == "" {
		c.BaseURL = "http://127.0.0.1:8080"
	}
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Concurrency < 0 {
		return errors.New("publisher: negative concurrency")
	}
	return nil
}

// Stage is the publisher.
type Stage struct {
	cfg  Config
	bus  *bus.Bus
	opts dcat.Options
	log  *slog.Logger
	now  func() time.Time
}

// New returns the publisher stage.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Stage, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Stage{cfg: cfg, bus: b, opts: dcat.Options{BaseURL: cfg.BaseURL}, log: log, now: time.Now}, nil
}

// Options returns the DCAT rendering options of the stage.
func (s *Stage) Options() dcat.Options { return s.opts }

// Run consumes enriched datasets until ctx ends.
func (s *Stage) Run(ctx context.Context) error {
	return s.bus.Run(ctx, bus.RunConfig{Stage: bus.StagePublisher, Concurrency: s.cfg.Concurrency}, s.Handle)
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
	if stale, err := s.stale(ctx, &e); err != nil || stale {
		return nil, err
	}
	entry, err := s.Entry(&e)
	if err != nil {
		return nil, bus.Permanent(err)
	}
	b, err := proto.Marshal(entry)
	if err != nil {
		return nil, bus.Permanent(fmt.Errorf("publisher: encode %s: %w", entry.Key, err))
	}
	return []bus.Event{{Stream: bus.Catalogue, Key: entry.Key, Hash: entry.ContentHash, Payload: b, SkipUnchanged: true}}, nil
}

// stale reports whether the catalogue holds a version of e's dataset that
// was harvested after e.
func (s *Stage) stale(ctx context.Context, e *fairwayv1.EnrichedDataset) (bool, error) {
	key := e.GetDataset().GetKey()
	in := e.GetDataset().GetProvenance().GetHarvestedAt()
	if s.bus == nil || key == "" || in == nil {
		return false, nil
	}
	last, err := s.bus.LastEntry(ctx, bus.Catalogue, key)
	if bus.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, bus.Transient(fmt.Errorf("publisher: catalogue entry of %s: %w", key, err))
	}
	var cur fairwayv1.CatalogueEntry
	if err := proto.Unmarshal(last.Data, &cur); err != nil {
		return false, nil // an unreadable entry is replaced
	}
	held := cur.GetDataset().GetDataset().GetProvenance().GetHarvestedAt()
	if held != nil && held.AsTime().After(in.AsTime()) {
		s.log.Debug("older version dropped", "key", key, "harvested", in.AsTime(), "catalogue", held.AsTime())
		return true, nil
	}
	return false, nil
}

// Entry returns the catalogue entry of e.
func (s *Stage) Entry(e *fairwayv1.EnrichedDataset) (*fairwayv1.CatalogueEntry, error) {
	ds := e.GetDataset()
	if ds.GetKey() == "" {
		return nil, errors.New("publisher: dataset without key")
	}
	entry := &fairwayv1.CatalogueEntry{
		Key: ds.Key, Deleted: ds.Deleted, Dataset: e,
		ContentHash: entryHash(e), PublishedAt: timestamppb.New(s.now().UTC()),
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

func entryHash(e *fairwayv1.EnrichedDataset) string {
	if e.GetDataset().GetDeleted() {
		return "deleted"
	}
	h := sha256.New()
	h.Write([]byte(e.GetDataset().GetContentHash() + "\x00" + e.GetPanetVersion()))
	for _, t := range e.Techniques {
		h.Write([]byte("\x00" + t.Iri))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
