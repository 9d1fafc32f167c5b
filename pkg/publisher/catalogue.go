package publisher

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// ErrStalled is returned when the server stops answering in the middle of
// reading the catalogue (it went away, a leader is being elected). It is
// bus.ErrStalled.
var ErrStalled = bus.ErrStalled

// LiveCatalogue is what the stage reads of the live catalogue: the last
// entry of a dataset (to drop a version older than the one it holds) and
// every entry (to find the embargoes that ended). *Catalogue is the
// production one.
type LiveCatalogue interface {
	// Last returns the last entry about key, as stored, or an error
	// satisfying errors.Is(err, bus.ErrNotFound).
	Last(ctx context.Context, key string) (bus.StoredMessage, error)
	// Each calls fn with every entry, until fn returns an error.
	Each(ctx context.Context, fn func(*fairwayv1.CatalogueEntry) error) error
}

var _ LiveCatalogue = (*Catalogue)(nil)

// Catalogue reads the live catalogue from its stream.
type Catalogue struct {
	r   *bus.StreamReader
	log *slog.Logger
}

// NewCatalogue returns a reader of the live catalogue of b.
func NewCatalogue(b *bus.Bus) *Catalogue {
	return &Catalogue{r: b.StreamReader(bus.Catalogue), log: b.Logger()}
}

// Ping reports whether the catalogue stream answers.
func (c *Catalogue) Ping(ctx context.Context) error {
	if err := c.r.Ping(ctx); err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	return nil
}

// Last returns the last entry about key, as stored, or an error satisfying
// errors.Is(err, bus.ErrNotFound).
func (c *Catalogue) Last(ctx context.Context, key string) (bus.StoredMessage, error) {
	return c.r.Last(ctx, key)
}

// Each calls fn with every entry of the live catalogue (the last entry of
// every dataset, tombstones included), in stream order, until fn returns an
// error, which Each returns as it is, or the entries end. An entry that
// cannot be read is logged and passed over: one bad entry must not stop
// every scan (the embargoes of all the others would never be lifted); the
// stage replaces it when its dataset comes again. A read the server
// stops answering fails with ErrStalled: a short catalogue must not pass
// for a whole one.
func (c *Catalogue) Each(ctx context.Context, fn func(*fairwayv1.CatalogueEntry) error) error {
	var stop error // fn's error, returned as it is
	err := c.r.EachLast(ctx, func(m bus.StoredMessage) error {
		var e fairwayv1.CatalogueEntry
		if bus.Undecoded(m) || proto.Unmarshal(m.Data, &e) != nil {
			c.log.Error("catalogue: an entry cannot be read; passed over", "subject", m.Subject, "seq", m.Sequence, "key", m.Header.Get(bus.HeaderKey))
			return nil
		}
		stop = fn(&e)
		return stop
	})
	if err != nil && err != stop {
		return fmt.Errorf("catalogue: %w", err)
	}
	return err
}
