package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/usage"
)

// writeUsage writes a batch of the usage stream into usage_events.
func writeUsage(ctx context.Context, store *Store, msgs []bus.StoredMessage) error {
	events, err := UsageEvents(msgs)
	if err != nil {
		return err
	}
	return badData(store.InsertUsage(ctx, events))
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
