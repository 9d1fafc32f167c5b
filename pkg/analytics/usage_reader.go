package analytics

import (
	"context"
	"sync"
	"time"
)

// Reader answers the usage reports for the HTTP API. It connects to
// ClickHouse on first use and again after a failure (at most once per
// retry interval), so that a node started while ClickHouse is away serves
// its reports once it is back; meanwhile every call fails with an error
// wrapping ErrUnavailable. It is safe for concurrent use.
type Reader struct {
	cfg   Config
	retry time.Duration

	mu     sync.Mutex
	store  *Store
	last   time.Time
	lastEr error
}

// NewReader returns a reader of the database cfg names; it does not
// connect yet.
func NewReader(cfg Config) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Reader{cfg: cfg, retry: 5 * time.Second}, nil
}

func (r *Reader) open(ctx context.Context) (*Store, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store != nil {
		return r.store, nil
	}
	if r.lastEr != nil && time.Since(r.last) < r.retry {
		return nil, r.lastEr
	}
	s, err := Open(ctx, r.cfg)
	r.last, r.lastEr = time.Now(), err
	if err != nil {
		return nil, err
	}
	r.store = s
	return s, nil
}

// UsageCounts is Store.UsageCounts.
func (r *Reader) UsageCounts(ctx context.Context, q UsageQuery) ([]UsageCount, error) {
	s, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	return s.UsageCounts(ctx, q)
}

// UsageByMonth is Store.UsageByMonth.
func (r *Reader) UsageByMonth(ctx context.Context, q UsageQuery) ([]MonthUsage, error) {
	s, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	return s.UsageByMonth(ctx, q)
}

// EachUsageCount is Store.EachUsageCount.
func (r *Reader) EachUsageCount(ctx context.Context, q UsageQuery, fn func(UsageCount) error) error {
	s, err := r.open(ctx)
	if err != nil {
		return err
	}
	return s.EachUsageCount(ctx, q, fn)
}

// Reuses is Store.Reuses.
func (r *Reader) Reuses(ctx context.Context, facility string, limit int) ([]Reuse, error) {
	s, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	return s.Reuses(ctx, facility, limit)
}

// Citations returns the citations of the live datasets of facility
// (every facility's when empty); see Store.Citations.
func (r *Reader) Citations(ctx context.Context, facility string) (uint64, error) {
	s, err := r.open(ctx)
	if err != nil {
		return 0, err
	}
	return s.Citations(ctx, facility)
}

// Ping reports whether ClickHouse answers.
func (r *Reader) Ping(ctx context.Context) error {
	s, err := r.open(ctx)
	if err != nil {
		return err
	}
	return s.Ping(ctx)
}

// Close closes the connection, if any.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store == nil {
		return nil
	}
	err := r.store.Close()
	r.store = nil
	return err
}

// Stats is Store.Stats.
func (r *Reader) Stats(ctx context.Context, name string, q StatsQuery) (*StatsResult, error) {
	s, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	return s.Stats(ctx, name, q)
}
