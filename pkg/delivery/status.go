package delivery

import (
	"context"
	"errors"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
)

// StatusReader reads the status of a destination's delivery from the bus,
// wherever the delivery runs.
type StatusReader struct{ b *bus.Bus }

// NewStatusReader returns a reader of the deliveries' status in b.
func NewStatusReader(b *bus.Bus) *StatusReader { return &StatusReader{b: b} }

// Status returns where the delivery to d stands: its counters, the
// catalogue entries still to handle, who runs it, its last error and its
// dead letters.
func (r *StatusReader) Status(ctx context.Context, d destinations.Destination) (destinations.Status, error) {
	st := destinations.Status{ID: d.ID, Kind: d.Kind, URL: d.URL, Enabled: d.Enabled}
	c, _, err := newLedger(r.b, d.ID).counters(ctx)
	if err != nil {
		return st, err
	}
	st.Held, st.Pushed, st.Deleted, st.Skipped, st.Failed = c.Held, c.Pushed, c.Deleted, c.Skipped, c.Failed
	st.LastDelivery, st.LastError, st.LastErrorAt, st.Replay = c.LastDelivery, c.LastError, c.LastErrorAt, c.Replay
	lease, err := r.b.State(bus.BucketLeases).Get(ctx, leaseKey(d.ID))
	switch {
	case err == nil:
		st.Running, st.Holder = true, string(lease.Value)
	case !errors.Is(err, bus.ErrNotFound):
		return st, err
	}
	cat, err := r.b.StreamState(ctx, bus.Catalogue)
	if err != nil {
		return st, err
	}
	st.CatalogueLast = cat.Last
	ds, err := r.b.DeliveryState(ctx, bus.Catalogue, bus.DeliveryName(d.ID))
	if err != nil {
		return st, err
	}
	if ds.Exists {
		st.Position, st.Pending, st.OldestPending = ds.AckFloor, ds.Pending+uint64(ds.InFlight), ds.Oldest
	} else if st.Pending = cat.Msgs; cat.Msgs > 0 { // not started: every entry is to handle
		if first, err := r.b.DeliveryOldest(ctx, bus.Catalogue); err == nil {
			st.OldestPending = first
		}
	}
	n, err := r.b.DeadLetterCount(ctx, StageOf(d.ID))
	if err != nil {
		return st, err
	}
	st.DeadLetters = int(n)
	return st, nil
}
