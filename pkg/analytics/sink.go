package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
}

func (c *SinkConfig) setDefaults() {
	c.Store = c.Store.withDefaults()
	if c.RetryDelay <= 0 {
		c.RetryDelay = 5 * time.Second
	}
}

// Validate reports whether the configuration is usable.
func (c SinkConfig) Validate() error { return c.Store.Validate() }

// Sink is the analytics writer: it reads the catalogue and ops streams with
// durable consumers of its own and writes them to ClickHouse in batches. It
// never blocks the pipeline: while ClickHouse is down its consumers lag, and
// they catch up later; a row written twice (a batch redelivered after a
// crash) is counted once, because datasets are versioned by their stream
// sequence.
type Sink struct {
	cfg SinkConfig
	bus *bus.Bus
	log *slog.Logger
	// ensure creates the schema again (set once the store is open).
	ensure func(context.Context) error
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
		if !sleep(ctx, s.cfg.RetryDelay) {
			return nil
		}
	}
	defer store.Close()
	s.ensure = store.EnsureSchema
	s.log.Info("analytics writing", "addr", s.cfg.Store.Addr, "database", store.Database())
	done := make(chan error, 1)
	go func() {
		done <- s.consume(ctx, bus.StageAnalyticsOps, func(ctx context.Context, msgs []jetstream.Msg) error {
			runs := make([]*fairwayv1.HarvestRun, 0, len(msgs))
			for _, m := range msgs {
				var r fairwayv1.HarvestRun
				if err := proto.Unmarshal(m.Data(), &r); err != nil {
					return bus.Permanent(fmt.Errorf("not a harvest run on %s: %w", m.Subject(), err))
				}
				runs = append(runs, &r)
			}
			return store.InsertRuns(ctx, runs)
		})
	}()
	err := s.consume(ctx, bus.StageAnalytics, func(ctx context.Context, msgs []jetstream.Msg) error {
		rows := make([]DatasetRow, 0, len(msgs))
		for _, m := range msgs {
			var e fairwayv1.CatalogueEntry
			if err := proto.Unmarshal(m.Data(), &e); err != nil {
				return bus.Permanent(fmt.Errorf("not a catalogue entry on %s: %w", m.Subject(), err))
			}
			md, err := m.Metadata()
			if err != nil {
				return bus.Permanent(fmt.Errorf("no metadata on %s: %w", m.Subject(), err))
			}
			rows = append(rows, RowFromEntry(&e, md.Sequence.Stream))
		}
		return store.InsertDatasets(ctx, rows)
	})
	return errors.Join(err, <-done)
}

// consume fetches batches for stage and writes them with write. A batch
// that cannot be written for a reason of its own is split, so that the one
// unreadable message is dead-lettered and the others are written.
func (s *Sink) consume(ctx context.Context, stage bus.Stage, write func(context.Context, []jetstream.Msg) error) error {
	stream, _ := bus.InputOf(stage)
	var cons jetstream.Consumer
	for {
		c, err := s.bus.JetStream().Consumer(ctx, string(stream), string(stage))
		if err == nil {
			cons = c
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("analytics consumer", "consumer", stage, "err", err)
		if !sleep(ctx, s.cfg.RetryDelay) {
			return nil
		}
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(s.cfg.Store.BatchSize, jetstream.FetchMaxWait(s.cfg.Store.FlushInterval))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Warn("analytics fetch", "consumer", stage, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		s.writeOrSplit(ctx, stage, msgs, write)
	}
	return nil
}

func (s *Sink) writeOrSplit(ctx context.Context, stage bus.Stage, msgs []jetstream.Msg, write func(context.Context, []jetstream.Msg) error) {
	err := write(ctx, msgs)
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the batch is not the problem; it is delivered
		// again to the next writer.
		for _, m := range msgs {
			_ = m.Nak()
		}
	case err == nil:
		for _, m := range msgs {
			_ = m.Ack()
		}
	case badData(err) && len(msgs) == 1:
		s.deadLetter(ctx, stage, msgs[0], err)
	case badData(err):
		// Bad data somewhere in the batch: find it.
		half := len(msgs) / 2
		s.writeOrSplit(ctx, stage, msgs[:half], write)
		s.writeOrSplit(ctx, stage, msgs[half:], write)
	default:
		// ClickHouse away, or failing for a reason of its own: the batch
		// waits in its stream. A database or table that went missing is
		// created again before the retry.
		s.log.Warn("ClickHouse cannot take the batch; analytics lag and retry", "consumer", stage, "batch", len(msgs), "err", err)
		if s.ensure != nil {
			if err := s.ensure(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("analytics schema", "err", err)
			}
		}
		for _, m := range msgs {
			_ = m.NakWithDelay(s.cfg.RetryDelay)
		}
		sleep(ctx, s.cfg.RetryDelay)
	}
}

// badData reports whether a write failed because of what it wrote (a row
// that cannot be converted or stored), not because of the server.
func badData(err error) bool {
	return errors.Is(err, bus.ErrPermanent) || errors.Is(err, ErrInvalidRow)
}

// deadLetter moves a message the writer cannot use into the dead letters,
// with its reason, and acknowledges it. It is not redrivable to its
// subject (that would put an old entry back into the live catalogue): once
// the cause is fixed, replay the analytics consumer instead.
func (s *Sink) deadLetter(ctx context.Context, stage bus.Stage, m jetstream.Msg, cause error) {
	s.log.Error("analytics dead-lettered a message", "consumer", stage, "subject", m.Subject(), "err", cause)
	md := map[string]string{
		bus.HeaderStage: string(stage), bus.HeaderReason: cause.Error(), bus.HeaderAttempts: "1",
		"Fairway-Source-Subject": m.Subject(),
	}
	ev := bus.Event{Stream: bus.DeadLetters, Key: string(stage), Hash: m.Reply(), Payload: m.Data(), Metadata: md}
	if err := s.bus.Publish(ctx, string(stage), ev); err != nil {
		s.log.Error("cannot dead-letter; the message stays in its stream", "err", err)
		_ = m.NakWithDelay(s.cfg.RetryDelay)
		return
	}
	_ = m.Ack()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
