package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrForeignDataset is returned when a facility's record or deletion is
// about a dataset another facility owns.
var ErrForeignDataset = errors.New("dataset belongs to another facility")

// Owner says which facility owns a dataset key: the facility whose feed
// first published it, or the one an operator transferred it to.
type Owner struct {
	// Key is the dataset key.
	Key string `json:"key"`
	// Facility owns the dataset.
	Facility string `json:"facility"`
	// Feed first published it (empty after a transfer).
	Feed string `json:"feed,omitempty"`
	// Since is when the facility became the owner.
	Since time.Time `json:"since"`
}

// Owners is the record of who owns each dataset key (the bucket
// BucketOwners, one entry per key digest), kept in the bus so that it
// survives restarts and is shared by every normaliser replica.
type Owners struct {
	state *State
	now   func() time.Time
}

// Owners returns the bus's ownership record.
func (b *Bus) Owners() *Owners { return &Owners{state: b.State(BucketOwners), now: time.Now} }

// sameFacility compares facility names as the node does everywhere
// (registry filters, tokens): without regard to case.
func sameFacility(a, b string) bool { return strings.EqualFold(a, b) }

// Get returns the owner of key, or an error satisfying IsNotFound.
func (o *Owners) Get(ctx context.Context, key string) (Owner, error) {
	own, _, err := o.get(ctx, key)
	return own, err
}

func (o *Owners) get(ctx context.Context, key string) (Owner, uint64, error) {
	e, err := o.state.Get(ctx, Digest(key))
	if err != nil {
		if IsNotFound(err) {
			return Owner{}, 0, err
		}
		return Owner{}, 0, Transient(fmt.Errorf("bus: owner of %.200s: %w", key, err))
	}
	var own Owner
	if err := json.Unmarshal(e.Value, &own); err != nil || own.Facility == "" {
		return Owner{}, e.Revision, fmt.Errorf("bus: owner of %.200s: unreadable entry: %v", key, err)
	}
	return own, e.Revision, nil
}

// Claim makes facility (through feed) the owner of key when nobody owns it
// yet, and returns the owner: a caller whose facility differs from it may
// not change the dataset (see Check).
func (o *Owners) Claim(ctx context.Context, key, facility, feed string) (Owner, error) {
	// Create first: a dataset is claimed once, and a new key (a first
	// harvest) then costs one round trip instead of two.
	own := Owner{Key: key, Facility: facility, Feed: feed, Since: o.now().UTC()}
	b, err := json.Marshal(own)
	if err != nil {
		return Owner{}, err
	}
	if _, err := o.state.Create(ctx, Digest(key), b); err == nil {
		return own, nil
	} else if !errors.Is(err, ErrExists) {
		return Owner{}, Transient(fmt.Errorf("bus: claim %.200s: %w", key, err))
	}
	// Owned already (or claimed by another replica meanwhile): read who.
	own, _, err = o.get(ctx, key)
	if IsNotFound(err) {
		// Removed between the two calls (an operator's repair): try again
		// later rather than guess.
		return Owner{}, Transient(fmt.Errorf("bus: claim %.200s: owner entry vanished", key))
	}
	return own, err
}

// Check returns nil when facility may change key: it owns it, or nobody
// does (a deletion of a dataset never published). Otherwise the error
// satisfies errors.Is(err, ErrForeignDataset) and names the owner.
func (o *Owners) Check(ctx context.Context, key, facility string) error {
	own, err := o.Get(ctx, key)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return own.Allows(facility)
}

// Allows returns nil when facility is the owner, else an error satisfying
// errors.Is(err, ErrForeignDataset) that names the owner.
func (own Owner) Allows(facility string) error {
	if sameFacility(own.Facility, facility) {
		return nil
	}
	return fmt.Errorf("%w: %.200s is owned by %s since %s; %s may not change it",
		ErrForeignDataset, own.Key, own.Facility, own.Since.Format(time.RFC3339), facility)
}

// Transfer makes facility the owner of key (an operator's decision) and
// returns the previous owner (empty when there was none).
func (o *Owners) Transfer(ctx context.Context, key, facility string) (previous string, err error) {
	if strings.TrimSpace(facility) == "" {
		return "", errors.New("bus: transfer: no facility")
	}
	cur, rev, err := o.get(ctx, key)
	if err != nil && !IsNotFound(err) && rev == 0 {
		return "", err
	}
	b, err := json.Marshal(Owner{Key: key, Facility: facility, Since: o.now().UTC()})
	if err != nil {
		return "", err
	}
	if rev == 0 {
		_, err = o.state.Create(ctx, Digest(key), b)
	} else {
		_, err = o.state.Update(ctx, Digest(key), b, rev)
	}
	if err != nil {
		return "", Transient(fmt.Errorf("bus: transfer %.200s: %w", key, err))
	}
	return cur.Facility, nil
}
