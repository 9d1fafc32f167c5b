package normaliser

import (
	"context"

	"github.com/panosc/fairway/pkg/bus"
)

// Keys maps a feed's source identifiers (by digest) to the dataset keys
// they were published under, so that a deletion, which carries no DOI,
// finds the dataset it withdraws. *bus.State over bus.BucketKeys is the
// production one.
type Keys interface {
	// Get returns the entry of key, or an error satisfying
	// errors.Is(err, bus.ErrNotFound).
	Get(ctx context.Context, key string) (bus.Entry, error)
	// Put stores value under key.
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

// Owners is the record of which facility owns each dataset key. *bus.Owners
// is the production one.
type Owners interface {
	// Claim makes facility (through feed) the owner of key when nobody
	// owns it yet, and returns the owner.
	Claim(ctx context.Context, key, facility, feed string) (bus.Owner, error)
	// Check returns nil when facility may change key (it owns it, or
	// nobody does), else an error satisfying
	// errors.Is(err, bus.ErrForeignDataset).
	Check(ctx context.Context, key, facility string) error
}

// The bus's types are the production ones.
var (
	_ Keys   = (*bus.State)(nil)
	_ Owners = (*bus.Owners)(nil)
)
