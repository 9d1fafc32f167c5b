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
	// Target, Selection and Shape fingerprint the registration the ledger
	// was written for (see fingerprints): where the datasets go, which go
	// there, and what a dataset looks like there.
	Target    string `json:"target,omitempty"`
	Selection string `json:"selection,omitempty"`
	Shape     string `json:"shape,omitempty"`
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

// get returns what the destination was sent of key and the revision of
// that record; ok is false when it holds nothing the node sent.
func (l *ledger) get(ctx context.Context, key string) (d Delivered, rev uint64, ok bool, err error) {
	e, err := l.kv.Get(ctx, l.datasetKey(key))
	if errors.Is(err, bus.ErrNotFound) {
		return Delivered{}, 0, false, nil
	}
	if err != nil {
		return Delivered{}, 0, false, fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	if err := json.Unmarshal(e.Value, &d); err != nil {
		// A damaged entry: the dataset is taken as held, and sent again.
		return Delivered{}, e.Revision, true, nil
	}
	return d, e.Revision, true, nil
}

// errLedgerMoved is returned by put when the record changed since it was
// read: another process delivered the dataset meanwhile.
var errLedgerMoved = errors.New("the ledger entry changed meanwhile")

// put records that the destination took key as d, if the record is still
// at revision rev (0: there was none); otherwise it fails with
// errLedgerMoved.
func (l *ledger) put(ctx context.Context, key string, d Delivered, rev uint64) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = l.kv.Create(ctx, l.datasetKey(key), b)
	} else {
		_, err = l.kv.Update(ctx, l.datasetKey(key), b, rev)
	}
	if errors.Is(err, bus.ErrExists) || errors.Is(err, bus.ErrConflict) {
		return fmt.Errorf("delivery: ledger of %s: %w", l.id, errLedgerMoved)
	}
	if err != nil {
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

// counters returns the destination's counters (zero before the first) and
// the revision they were stored at (0: never).
func (l *ledger) counters(ctx context.Context) (counters, uint64, error) {
	var c counters
	e, err := l.kv.Get(ctx, l.countersKey())
	if errors.Is(err, bus.ErrNotFound) {
		return c, 0, nil
	}
	if err != nil {
		return c, 0, fmt.Errorf("delivery: counters of %s: %w", l.id, err)
	}
	_ = json.Unmarshal(e.Value, &c) // damaged: start from zero
	return c, e.Revision, nil
}

// errCountersTaken is returned by putCounters when another process stored
// the counters since this one read them: it delivers to the destination
// now.
var errCountersTaken = errors.New("the destination's counters were written by another process")

// putCounters stores the destination's counters if they are still at
// revision rev (0: never stored), and returns the new revision.
func (l *ledger) putCounters(ctx context.Context, c counters, rev uint64) (uint64, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return rev, err
	}
	var next uint64
	if rev == 0 {
		next, err = l.kv.Create(ctx, l.countersKey(), b)
	} else {
		next, err = l.kv.Update(ctx, l.countersKey(), b, rev)
	}
	if errors.Is(err, bus.ErrExists) || errors.Is(err, bus.ErrConflict) {
		return rev, fmt.Errorf("delivery: counters of %s: %w", l.id, errCountersTaken)
	}
	if err != nil {
		return rev, fmt.Errorf("delivery: counters of %s: %w", l.id, err)
	}
	return next, nil
}

// clear removes every dataset record of the destination (its target
// changed: what the old one held says nothing of the new one).
func (l *ledger) clear(ctx context.Context) error {
	keys, err := l.kv.KeysMatching(ctx, "d."+l.id+".*")
	if err != nil {
		return fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	for _, k := range keys {
		if err := l.kv.Purge(ctx, k); err != nil && !errors.Is(err, bus.ErrNotFound) {
			return fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
		}
	}
	return nil
}

// purge removes everything the ledger holds of the destination (it was
// removed from the registry).
func (l *ledger) purge(ctx context.Context) error {
	if err := l.clear(ctx); err != nil {
		return err
	}
	if err := l.kv.Purge(ctx, l.countersKey()); err != nil && !errors.Is(err, bus.ErrNotFound) {
		return fmt.Errorf("delivery: ledger of %s: %w", l.id, err)
	}
	return nil
}
