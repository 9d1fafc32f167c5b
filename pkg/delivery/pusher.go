package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/piveau"
	"github.com/panosc/fairway/pkg/scicatpush"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Pusher sends catalogue entries to one destination. Its errors are
// classified for the delivery by classify.
type Pusher interface {
	// Push creates or updates the dataset of e there; it returns what the
	// destination did ("created", "updated", "unchanged").
	Push(ctx context.Context, e *fairwayv1.CatalogueEntry) (string, error)
	// Withdraw applies the destination's policy for a withdrawn dataset
	// (delete or unpublish); a dataset the destination does not hold is
	// no error.
	Withdraw(ctx context.Context, key string) (string, error)
}

// ClientOptions are what every destination's client shares.
type ClientOptions struct {
	// HTTPClient sends the requests (one obeying the address policy).
	// Default a new client.
	HTTPClient *http.Client
	// Transport bounds each request and its retries. Its zero fields take
	// the clients' defaults, but MaxRetries defaults to 2: the delivery
	// retries a failed push itself, with a backoff of its own.
	Transport fetch.Transport
	// NodeBaseURL is the node's public URL (SciCat's link to the DCAT-AP
	// record).
	NodeBaseURL string
	// Logger receives the clients' logs.
	Logger *slog.Logger
}

// NewPusher returns the pusher of destination d.
func NewPusher(d destinations.Destination, o ClientOptions) (Pusher, error) {
	t := o.Transport
	if t.MaxRetries == 0 {
		t.MaxRetries = 2
	}
	switch d.Kind {
	case destinations.KindPiveau:
		cfg := d.PiveauConfig()
		cfg.Transport, cfg.HTTPClient, cfg.Logger = t, o.HTTPClient, o.Logger
		c, err := piveau.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("delivery: %s: %w", d.ID, err)
		}
		return piveauPusher{c}, nil
	case destinations.KindSciCat:
		cfg := d.SciCatConfig()
		cfg.Transport, cfg.HTTPClient, cfg.Logger, cfg.NodeBaseURL = t, o.HTTPClient, o.Logger, o.NodeBaseURL
		c, err := scicatpush.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("delivery: %s: %w", d.ID, err)
		}
		return scicatPusher{c}, nil
	}
	return nil, fmt.Errorf("delivery: %s: %w: kind %q", d.ID, destinations.ErrInvalid, d.Kind)
}

type piveauPusher struct{ c *piveau.Client }

func (p piveauPusher) Push(ctx context.Context, e *fairwayv1.CatalogueEntry) (string, error) {
	// The entry's Turtle is the publisher's rendering (the catalogue stream
	// has no other writer): hostile input was bounded and checked where it
	// entered, and the rendering is tested to read back as its triples, so
	// it is not parsed again here.
	out, err := p.c.PutRendered(ctx, e.GetKey(), []byte(e.GetTurtle()))
	return out.String(), err
}

func (p piveauPusher) Withdraw(ctx context.Context, key string) (string, error) {
	out, err := p.c.Delete(ctx, key)
	return out.String(), err
}

type scicatPusher struct{ c *scicatpush.Client }

func (p scicatPusher) Push(ctx context.Context, e *fairwayv1.CatalogueEntry) (string, error) {
	out, err := p.c.Upsert(ctx, e.GetDataset().GetDataset(), e.GetDataset().GetTechniques())
	return string(out), err
}

func (p scicatPusher) Withdraw(ctx context.Context, key string) (string, error) {
	out, err := p.c.Delete(ctx, key)
	return string(out), err
}

// failsAlone reports whether err is the destination's own answer that it
// failed on this dataset (a 5xx other than 503, with no Retry-After), not a
// destination that is away, busy or refuses the node: only such a failure,
// repeated while other datasets pass, dead-letters a dataset.
func failsAlone(err error) bool {
	if bus.RetryDelay(err) > 0 {
		return false
	}
	var pe *piveau.StatusError
	var se *scicatpush.Error
	status := 0
	switch {
	case errors.As(err, &pe):
		status = pe.StatusCode
	case errors.As(err, &se):
		status = se.Status
	}
	return status >= 500 && status != http.StatusServiceUnavailable
}

// classify marks a pusher's error for the bus's delivery: what the
// destination refuses for good is permanent (dead-lettered with its
// answer), a destination that asks to wait gets its wait, anything else
// (down, credentials refused, a catalogue missing) is retried as it is.
func classify(err error) error {
	var pl *piveau.RetryLaterError
	var se *scicatpush.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, piveau.ErrRefused), errors.Is(err, piveau.ErrInvalidDataset),
		errors.Is(err, scicatpush.ErrRefused), errors.Is(err, scicatpush.ErrNoKey):
		return bus.Permanent(err)
	case errors.As(err, &pl) && pl.After > 0:
		return bus.RetryAfter(err, pl.After)
	case errors.As(err, &se) && se.RetryAfter > 0:
		return bus.RetryAfter(err, se.RetryAfter)
	}
	return err
}
