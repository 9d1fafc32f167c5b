package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

// Delivered is what the ledger records of one dataset a destination
// holds: what was sent, from which catalogue entry.
type Delivered struct {
	// Hash is the content hash of the catalogue entry sent.
	Hash string `json:"hash"`
	// Seq is the entry's catalogue sequence.
	Seq uint64 `json:"seq"`
	// Round is the replay round it was sent in (see counters.Round): a
	// replay of everything starts a new round, in which every dataset is
	// sent again once.
	Round string `json:"round,omitempty"`
	// At is when the destination took it.
	At time.Time `json:"at"`
}

// counters is what the ledger keeps of a destination as a whole.
type counters struct {
	// Held is how many datasets the destination holds (ledger entries).
	Held         int64     `json:"held"`
	Pushed       int64     `json:"pushed"`
	Deleted      int64     `json:"deleted"`
	Skipped      int64     `json:"skipped"`
	Failed       int64     `json:"failed"`
	LastDelivery time.Time `json:"last_delivery,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	// Replay is the id of the last replay applied; Round the id of the
	// last replay of everything (see Delivered.Round).
	Replay string `json:"replay,omitempty"`
	Round  string `json:"round,omitempty"`
	// Holder is the process that last wrote them.
	Holder string `json:"holder,omitempty"`
}

// ledger is the record, per destination, of what each dataset the
// destination holds was sent as (bus.BucketDeliveries): "d.<id>.<digest of
// the key>" per dataset, "c.<id>" for the destination's counters.
type ledger struct {
	kv *bus.State
	id string
}

func newLedger(b *bus.Bus, id string) *ledger {
	return &ledger{kv: b.State(bus.BucketDeliveries), id: id}
}

func (l *ledger) datasetKey(key string) string { return "d." + l.id + "." + bus.Digest(key) }
func (l *ledger) countersKey() string          { return "c." + l.id }

// get returns what the destination was sent of key; ok is false when it
// holds nothing the node sent.
func (l *ledger) get(ctx context.Context, key string) (d Delivered, ok bool, err error) {
	e, err := l.kv.Get(ctx, l.datasetKey(key))
	if errors.Is(err, bus.ErrNotFound) {
		return Delivered{}, false, nil
	}
	if err != nil {
		return Delivered{}, false, fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	if err := json.Unmarshal(e.Value, &d); err != nil {
		// A damaged entry: the dataset is taken as held, and sent again.
		return Delivered{}, true, nil
	}
	return d, true, nil
}

// put records that the destination took key as d.
func (l *ledger) put(ctx context.Context, key string, d Delivered) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := l.kv.Put(ctx, l.datasetKey(key), b); err != nil {
		return fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	return nil
}

// remove records that the destination no longer holds key.
func (l *ledger) remove(ctx context.Context, key string) error {
	if err := l.kv.Delete(ctx, l.datasetKey(key)); err != nil && !errors.Is(err, bus.ErrNotFound) {
		return fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	return nil
}

// held counts the datasets the destination holds.
func (l *ledger) held(ctx context.Context) (int64, error) {
	keys, err := l.kv.KeysMatching(ctx, "d."+l.id+".*")
	if err != nil {
		return 0, fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	return int64(len(keys)), nil
}

// counters returns the destination's counters (zero before the first).
func (l *ledger) counters(ctx context.Context) (counters, error) {
	var c counters
	e, err := l.kv.Get(ctx, l.countersKey())
	if errors.Is(err, bus.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("delivery: counters of %s: %w", l.id, err)
	}
	_ = json.Unmarshal(e.Value, &c) // damaged: start from zero
	return c, nil
}

// putCounters stores the destination's counters.
func (l *ledger) putCounters(ctx context.Context, c counters) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := l.kv.Put(ctx, l.countersKey(), b); err != nil {
		return fmt.Errorf("delivery: counters of %s: %w", l.id, err)
	}
	return nil
}

// purge removes everything the ledger holds of the destination (it was
// removed from the registry).
func (l *ledger) purge(ctx context.Context) error {
	keys, err := l.kv.KeysMatching(ctx, "d."+l.id+".*")
	if err != nil {
		return fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	for _, k := range append(keys, l.countersKey()) {
		if err := l.kv.Purge(ctx, k); err != nil && !errors.Is(err, bus.ErrNotFound) {
			return fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
		}
	}
	return nil
}
