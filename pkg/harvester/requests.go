package harvester

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

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
	if _, err := b.State(bus.BucketRequests).Put(ctx, feedID, v); err != nil {
		return fmt.Errorf("harvester: request %s: %w", feedID, err)
	}
	return nil
}

// takeRequests returns the pending requests this harvester won: a request is
// taken by deleting it at the revision it was read at, so two replicas never
// run the same one.
func (h *Harvester) takeRequests(ctx context.Context) map[string]RunRequest {
	requests := h.bus.State(bus.BucketRequests)
	keys, err := requests.Keys(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("listing harvest requests", "err", err)
		}
		return nil
	}
	out := map[string]RunRequest{}
	for _, k := range keys {
		e, err := requests.Get(ctx, k)
		if err != nil {
			continue
		}
		var req RunRequest
		if err := json.Unmarshal(e.Value, &req); err != nil {
			h.log.Warn("dropping unreadable harvest request", "feed", k, "err", err)
			_ = requests.Delete(ctx, k)
			continue
		}
		if !h.claim(k) {
			continue // a run of that feed is under way; the request waits
		}
		if err := requests.DeleteAt(ctx, k, e.Revision); err != nil {
			h.release(k) // another harvester took it
			continue
		}
		out[k] = req
	}
	return out
}

// LastRuns returns the last n runs of a feed, newest first, each in its
// latest reported state. It reads the feed's reports with a reader that
// leaves no consumer behind on the server.
func LastRuns(ctx context.Context, b *bus.Bus, feedID string, n int) ([]*fairwayv1.HarvestRun, error) {
	byID := map[string]*fairwayv1.HarvestRun{}
	err := b.StreamReader(bus.Ops).History(ctx, runKey(feedID), func(m bus.StoredMessage) error {
		var r fairwayv1.HarvestRun
		if err := proto.Unmarshal(m.Data, &r); err != nil {
			return fmt.Errorf("harvester: run report on %s: %w", m.Subject, err)
		}
		byID[r.RunId] = &r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("harvester: runs of %s: %w", feedID, err)
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
