package normaliser

import (
	"context"
	"errors"

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

// Sources is where the normaliser keeps, per dataset key (by digest), the
// own normalised version of every source publishing the dataset, written
// only at the revision read so that concurrent handlers and replicas never
// lose one another's updates. *bus.State over bus.BucketSources is the
// production one.
type Sources interface {
	// Get returns the entry of key, or an error satisfying
	// errors.Is(err, bus.ErrNotFound).
	Get(ctx context.Context, key string) (bus.Entry, error)
	// Create stores value under a key that holds nothing, else fails with
	// an error satisfying errors.Is(err, bus.ErrExists).
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	// Update stores value under key if rev is its last revision, else fails
	// with an error satisfying errors.Is(err, bus.ErrConflict).
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	// DeleteAt removes key if rev is its last revision, else fails with an
	// error satisfying errors.Is(err, bus.ErrConflict).
	DeleteAt(ctx context.Context, key string, rev uint64) error
}

// LastMessages reads the last message about a key in the normalised
// stream, so that the stage emits a merged dataset only over the one it
// read before merging. *bus.StreamReader over bus.Normalised is the
// production one.
type LastMessages interface {
	// Last returns the last message about key, or an error satisfying
	// errors.Is(err, bus.ErrNotFound).
	Last(ctx context.Context, key string) (bus.StoredMessage, error)
}

// Stores are the state the stage's handler reads and writes.
type Stores struct {
	// Keys is the source-key map (required).
	Keys Keys
	// Owners is the ownership record (required).
	Owners Owners
	// Sources holds every dataset's sources (required).
	Sources Sources
	// Normalised is the normalised stream's last message per key
	// (required). Each emitted dataset is guarded with the sequence of the
	// last message about its key, read before its sources (a concurrent
	// emission makes the publish fail and the record come again); its hash
	// says whether the dataset changed; a dataset published before the
	// sources were kept is read from it. Table tests without a server pass
	// an in-memory one.
	Normalised LastMessages
}

// ErrMissingStore is the error of Stores.Validate when a store is nil.
var ErrMissingStore = errors.New("normaliser: keys, owners, sources and the normalised stream are required")

// Validate reports whether every store is set.
func (s Stores) Validate() error {
	if s.Keys == nil || s.Owners == nil || s.Sources == nil || s.Normalised == nil {
		return ErrMissingStore
	}
	return nil
}

var (
	_ Sources      = (*bus.State)(nil)
	_ LastMessages = (*bus.StreamReader)(nil)
)
