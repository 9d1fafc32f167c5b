package harvester

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Request asks the harvesters of the node to harvest feedID now, outside
// its schedule. The request waits in the requests bucket until one
// harvester takes it (exactly one does, whatever the number of replicas).
func Request(ctx context.Context, b *bus.Bus, feedID string, req RunRequest) error {
	v, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("harvester: request %s: %w", feedID, err)
	}
	if _, err := b.KV(bus.BucketRequests).Put(ctx, feedID, v); err != nil {
		return fmt.Errorf("harvester: request %s: %w", feedID, err)
	}
	return nil
}

// takeRequests returns the pending requests this harvester won: a request is
// taken by deleting it at the revision it was read at, so two replicas never
// run the same one.
func (h *Harvester) takeRequests(ctx context.Context) map[string]RunRequest {
	kv := h.bus.KV(bus.BucketRequests)
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		if !errors.Is(err, jetstream.ErrNoKeysFound) && ctx.Err() == nil {
			h.log.Warn("listing harvest requests", "err", err)
		}
		return nil
	}
	out := map[string]RunRequest{}
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var req RunRequest
		if err := json.Unmarshal(e.Value(), &req); err != nil {
			h.log.Warn("dropping unreadable harvest request", "feed", k, "err", err)
			_ = kv.Delete(ctx, k)
			continue
		}
		if !h.claim(k) {
			continue // a run of that feed is under way; the request waits
		}
		if err := kv.Delete(ctx, k, jetstream.LastRevision(e.Revision())); err != nil {
			h.release(k) // another harvester took it
			continue
		}
		out[k] = req
	}
	return out
}

// LastRuns returns the last n runs of a feed, newest first, each in its
// latest reported state. It reads the feed's reports with a consumer of
// its own, which it deletes before it returns (a reader per request must
// not leave consumers behind on the server).
func LastRuns(ctx context.Context, b *bus.Bus, feedID string, n int) ([]*fairwayv1.HarvestRun, error) {
	subject := bus.Subject(bus.Ops, runKey(feedID))
	js := b.JetStream()
	c, err := js.CreateConsumer(ctx, string(bus.Ops), jetstream.ConsumerConfig{
		FilterSubject: subject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckNonePolicy,
		MemoryStorage: true,
		Replicas:      1,
		// Only for a reader that dies before it deletes its consumer.
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("harvester: runs of %s: %w", feedID, err)
	}
	name := c.CachedInfo().Name
	defer func() {
		// Deleted even when the request ended: its context may be done.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := js.DeleteConsumer(dctx, string(bus.Ops), name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			b.Logger().Warn("deleting the consumer of a runs reader", "feed", feedID, "consumer", name, "err", err)
		}
	}()
	byID := map[string]*fairwayv1.HarvestRun{}
	for pending := c.CachedInfo().NumPending; pending > 0; {
		// Every report is stored already: a fetch that waits for none
		// brings what is there, and an empty one ends the read.
		batch, err := c.FetchNoWait(500)
		if err != nil {
			return nil, fmt.Errorf("harvester: runs of %s: %w", feedID, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var r fairwayv1.HarvestRun
			if err := proto.Unmarshal(m.Data(), &r); err != nil {
				return nil, fmt.Errorf("harvester: run report on %s: %w", m.Subject(), err)
			}
			byID[r.RunId] = &r
			if md, err := m.Metadata(); err == nil {
				pending = md.NumPending
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("harvester: runs of %s: %w", feedID, err)
		}
		if got == 0 {
			break
		}
	}
	runs := make([]*fairwayv1.HarvestRun, 0, len(byID))
	for _, r := range byID {
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].GetStartedAt().AsTime().After(runs[j].GetStartedAt().AsTime()) })
	if n > 0 && len(runs) > n {
		runs = runs[:n]
	}
	return runs, nil
}

func runKey(feedID string) string { return "run." + feedID }
