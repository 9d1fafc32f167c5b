package analytics

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

// SinkConfig configures the analytics writer.
type SinkConfig struct {
	// Store is where the analytics go; its BatchSize and FlushInterval
	// bound how many messages one insert takes and how long a batch waits
	// to fill.
	Store Config
	// RetryDelay is how long the writer waits after ClickHouse failed
	// before it tries again; the messages wait in their stream meanwhile.
	// Default 5s.
	RetryDelay time.Duration
	// UsageRollup is how often the writer counts again the months that
	// received usage events (Store.RollupUsage): the reports lag the
	// events by at most this much. Default 1m.
	UsageRollup time.Duration
}

func (c *SinkConfig) setDefaults() {
	c.Store = c.Store.withDefaults()
	if c.RetryDelay == 0 {
		c.RetryDelay = 5 * time.Second
	}
	if c.UsageRollup == 0 {
		c.UsageRollup = time.Minute
	}
}

// Validate reports whether the configuration is usable.
func (c SinkConfig) Validate() error {
	if c.RetryDelay < 0 || c.UsageRollup < 0 {
		return fmt.Errorf("%w: negative retry delay or usage rollup interval", ErrInvalidConfig)
	}
	return c.Store.Validate()
}

// Sink is the analytics writer: it reads the catalogue and ops streams in
// batches, with durable consumers of its own (bus.RunBatches), and writes
// each batch to ClickHouse at once. It
// never blocks the pipeline: while ClickHouse is down its consumers lag, and
// they catch up later; a row written twice (a batch redelivered after a
// crash) is counted once, because datasets are versioned by their stream
// sequence.
type Sink struct {
	cfg SinkConfig
	bus *bus.Bus
	log *slog.Logger
}

// NewSink returns the analytics writer.
func NewSink(cfg SinkConfig, b *bus.Bus, log *slog.Logger) (*Sink, error) {
	if cfg.Store.Logger == nil {
		cfg.Store.Logger = log
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sink{cfg: cfg, bus: b, log: log}, nil
}

// Run writes until ctx ends.
func (s *Sink) Run(ctx context.Context) error {
	var store *Store
	for store == nil {
		st, err := Open(ctx, s.cfg.Store)
		if err == nil {
			store = st
			break
		}
		// Whatever the reason, analytics never stop the node: they wait.
		s.log.Warn("ClickHouse unavailable; analytics wait", "addr", s.cfg.Store.Addr, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.RetryDelay):
		}
	}
	defer store.Close()
	s.log.Info("analytics writing", "addr", s.cfg.Store.Addr, "database", store.Database())
	done, usageDone := make(chan error, 1), make(chan error, 1)
	go func() { usageDone <- s.runUsage(ctx, store) }()
	go func() {
		done <- s.bus.RunBatches(ctx, s.batches(bus.StageAnalyticsOps, store), func(ctx context.Context, msgs []bus.StoredMessage) error {
			runs := make([]*fairwayv1.HarvestRun, 0, len(msgs))
			for _, m := range msgs {
				var r fairwayv1.HarvestRun
				if err := proto.Unmarshal(m.Data, &r); err != nil {
					return bus.Permanent(fmt.Errorf("not a harvest run on %s: %w", m.Subject, err))
				}
				runs = append(runs, &r)
			}
			return badData(store.InsertRuns(ctx, runs))
		})
	}()
	err := s.bus.RunBatches(ctx, s.batches(bus.StageAnalytics, store), func(ctx context.Context, msgs []bus.StoredMessage) error {
		rows := make([]DatasetRow, 0, len(msgs))
		for _, m := range msgs {
			var e fairwayv1.CatalogueEntry
			if err := proto.Unmarshal(m.Data, &e); err != nil {
				return bus.Permanent(fmt.Errorf("not a catalogue entry on %s: %w", m.Subject, err))
			}
			rows = append(rows, RowFromEntry(&e, m.Sequence))
		}
		return badData(store.InsertDatasets(ctx, rows))
	})
	return errors.Join(err, <-done, <-usageDone)
}

// batches returns how the writer consumes the input of stage: in batches
// of the store's size, each written at once. While ClickHouse cannot take
// a batch, the batch waits in its stream; a database or table that went
// missing is created again before the retry.
func (s *Sink) batches(stage bus.Stage, store *Store) bus.BatchConfig {
	return bus.BatchConfig{
		Stage: stage, Size: s.cfg.Store.BatchSize, Wait: s.cfg.Store.FlushInterval, RetryDelay: s.cfg.RetryDelay,
		OnFailure: func(ctx context.Context, size int, err error) {
			s.log.Warn("ClickHouse cannot take the batch; analytics lag and retry", "consumer", stage, "batch", size, "err", err)
			if err := store.EnsureSchema(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("analytics schema", "err", err)
			}
		},
	}
}

// badData marks an error of a write that failed because of what it wrote
// (a row that cannot be converted or stored), not because of the server,
// as permanent: the batch is split until the message at fault is
// dead-lettered.
func badData(err error) error {
	if errors.Is(err, ErrInvalidRow) {
		return bus.Permanent(err)
	}
	return err
}
