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

// RollupLease is the key, in bus.BucketLeases, of the lease under which
// a writer counts the usage of analytics database db: one writer at a time
// per database.
func RollupLease(db string) string { return "analytics.rollup." + db }

// rollup counts the usage that arrived (Store.RollupUsage) at start and
// then every UsageRollup, until ctx ends, while this writer holds the
// rollup's lease (RollupLease; see whileLeased): of several writers, one
// counts, and when it stops (its lease released, or expired bus.LeaseTTL
// after it stopped refreshing it) another takes the lease at its next
// round. A writer that loses its lease stops counting at once (the
// rollup's context ends) and tries to take it again at the next round. A
// failure is logged and tried again at the next round: the events are
// kept, only the reports lag.
func (s *Sink) rollup(ctx context.Context, store *Store) {
	t := time.NewTicker(s.cfg.UsageRollup)
	defer t.Stop()
	s.whileLeased(ctx, RollupLease(store.Database()), "usage rollup", t, func(ctx context.Context) {
		months, err := store.RollupUsage(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("usage not counted yet; the reports lag", "err", err)
		} else if len(months) > 0 {
			s.log.Debug("usage counted", "months", len(months))
		}
	})
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
