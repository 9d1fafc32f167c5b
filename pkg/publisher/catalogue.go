package publisher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// ErrStalled is returned when the server stops answering in the middle of
// reading the catalogue (it went away, a leader is being elected).
var ErrStalled = errors.New("catalogue read stalled")

const (
	fetchWait   = 2 * time.Second
	stallMargin = 5 * time.Second
)

// Catalogue reads the live catalogue from its stream.
type Catalogue struct {
	js jetstream.JetStream
}

// NewCatalogue returns a reader of the live catalogue.
func NewCatalogue(js jetstream.JetStream) *Catalogue { return &Catalogue{js: js} }

// Ping reports whether the catalogue stream answers.
func (c *Catalogue) Ping(ctx context.Context) error {
	str, err := c.js.Stream(ctx, string(bus.Catalogue))
	if err == nil {
		_, err = str.Info(ctx)
	}
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	return nil
}

// Each calls fn with every entry of the live catalogue (the last entry of
// every dataset, tombstones included), in stream order, until fn returns an
// error or the entries end.
func (c *Catalogue) Each(ctx context.Context, fn func(*fairwayv1.CatalogueEntry) error) error {
	str, err := c.js.Stream(ctx, string(bus.Catalogue))
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.SubjectFilter(bus.Catalogue)},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
		// The server forgets the reader soon after it is done, and a
		// reader whose server went away gives up instead of resetting
		// forever.
		InactiveThreshold: 10 * time.Second,
		MaxResetAttempts:  3,
	})
	if err != nil {
		return fmt.Errorf("catalogue: consumer: %w", err)
	}
	stall := time.NewTimer(fetchWait + stallMargin)
	defer stall.Stop()
	for {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			return fmt.Errorf("catalogue: fetch: %w", err)
		}
		n := 0
		msgs := batch.Messages()
		for {
			// A fetch whose server went away may never close its channel:
			// give up on it rather than hang the reader.
			stall.Reset(fetchWait + stallMargin)
			var m jetstream.Msg
			var ok bool
			select {
			case m, ok = <-msgs:
			case <-ctx.Done():
				return ctx.Err()
			case <-stall.C:
				return fmt.Errorf("catalogue: %w", ErrStalled)
			}
			if !ok {
				break
			}
			n++
			var e fairwayv1.CatalogueEntry
			if err := proto.Unmarshal(m.Data(), &e); err != nil {
				return fmt.Errorf("catalogue: entry on %s: %w", m.Subject(), err)
			}
			if err := fn(&e); err != nil {
				return err
			}
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("catalogue: metadata: %w", err)
			}
			if md.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("catalogue: fetch: %w", err)
		}
		if n == 0 {
			// Entries were pending (the last one read said so, or none was
			// read yet) but the fetch brought nothing: the read is cut
			// short, and a short catalogue must not pass for a whole one.
			return fmt.Errorf("catalogue: %w: no entries within %s", ErrStalled, fetchWait)
		}
	}
}
