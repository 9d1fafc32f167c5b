package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/usage"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// runUsage runs the writer's usage and reuse consumers until ctx ends: the
// usage stream into usage_events, and the catalogue stream's related
// identifiers into dataset_citations (a durable consumer of its own, so
// that it can be replayed alone).
func (s *Sink) runUsage(ctx context.Context, store *Store) error {
	done := make(chan error, 1)
	rolled := make(chan struct{})
	go func() {
		defer close(rolled)
		s.rollup(ctx, store)
	}()
	go func() {
		done <- s.bus.RunBatches(ctx, s.batches(bus.StageAnalyticsCitations, store), func(ctx context.Context, msgs []bus.StoredMessage) error {
			rows, err := CitationRows(msgs)
			if err != nil {
				return err
			}
			return badData(store.InsertCitations(ctx, rows))
		})
	}()
	err := s.bus.RunBatches(ctx, s.batches(bus.StageAnalyticsUsage, store), func(ctx context.Context, msgs []bus.StoredMessage) error {
		events, err := UsageEvents(msgs)
		if err != nil {
			return err
		}
		return badData(store.InsertUsage(ctx, events))
	})
	err = errors.Join(err, <-done)
	<-rolled
	return err
}

// rollup counts the months that received usage events, at start and then
// every UsageRollup, until ctx ends. A failure is logged and tried again at
// the next tick: the events are kept, only the reports lag.
func (s *Sink) rollup(ctx context.Context, store *Store) {
	t := time.NewTicker(s.cfg.UsageRollup)
	defer t.Stop()
	for {
		months, err := store.RollupUsage(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("usage not counted yet; the reports lag", "err", err)
		} else if len(months) > 0 {
			s.log.Debug("usage counted", "months", len(months))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// UsageEvents decodes the usage stream's messages (one JSON usage.Event
// each). A message that is not one is a permanent error: the batch is
// split until it is dead-lettered.
func UsageEvents(msgs []bus.StoredMessage) ([]usage.Event, error) {
	events := make([]usage.Event, 0, len(msgs))
	for _, m := range msgs {
		var e usage.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			return nil, bus.Permanent(fmt.Errorf("not a usage event on %s: %w", m.Subject, err))
		}
		events = append(events, e)
	}
	return events, nil
}

// CitationRows decodes catalogue entries into citations rows, versioned by
// their stream sequence.
func CitationRows(msgs []bus.StoredMessage) ([]CitationRow, error) {
	rows := make([]CitationRow, 0, len(msgs))
	for _, m := range msgs {
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &e); err != nil {
			return nil, bus.Permanent(fmt.Errorf("not a catalogue entry on %s: %w", m.Subject, err))
		}
		rows = append(rows, CitationRowFromEntry(&e, m.Sequence))
	}
	return rows, nil
}
