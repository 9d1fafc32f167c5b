// Package harvester is the pipeline's first stage: it harvests the
// registered feeds and writes one raw message per record, exactly as
// received, with its provenance.
package harvester

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Origin is the origin name of the events the harvester emits.
const Origin = "harvester"

// ErrUnsupportedKind is returned for a feed kind the harvester cannot read.
var ErrUnsupportedKind = errors.New("unsupported feed kind")

// Config configures the harvester.
type Config struct {
	// PollInterval is how often the registry is checked for due feeds.
	// Default 5s.
	PollInterval time.Duration
	// Overlap is subtracted from the last complete run's responseDate to
	// form the next run's from, so records stamped while the last run was
	// under way are not missed. Default 1h.
	Overlap time.Duration
	// MaxRecordBytes bounds one record. Default 4 MiB.
	MaxRecordBytes int
	// PageTimeout bounds one page request. Default 60s.
	PageTimeout time.Duration
	// MaxRetries per page before a run fails. Default 5.
	MaxRetries int
	// Parallel is how many feeds are harvested at once. Default 2.
	Parallel int
}

func (c *Config) setDefaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.Overlap <= 0 {
		c.Overlap = time.Hour
	}
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = 4 << 20
	}
	if c.PageTimeout <= 0 {
		c.PageTimeout = 60 * time.Second
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 5
	}
	if c.Parallel <= 0 {
		c.Parallel = 2
	}
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.Overlap < 0 || c.PollInterval < 0 {
		return errors.New("harvester: negative durations")
	}
	return nil
}

// Checkpoint is what the harvester remembers of a feed between pages and
// between runs; it is stored in the checkpoints bucket after every page.
type Checkpoint struct {
	// LastComplete describes the last run that reached the end of its list.
	LastComplete *RunMark `json:"last_complete,omitempty"`
	// Current describes a run under way (or interrupted).
	Current *RunMark `json:"current,omitempty"`
}

// RunMark is the position of a run.
type RunMark struct {
	RunID string `json:"run_id"`
	// From is the lower bound the run asked for.
	From string `json:"from,omitempty"`
	// Token is the resumption token of the next page.
	Token string `json:"token,omitempty"`
	// ResponseDate of the run's first page.
	ResponseDate time.Time `json:"response_date"`
	Pages        int64     `json:"pages"`
	Records      int64     `json:"records"`
	Deleted      int64     `json:"deleted"`
	Rejected     int64     `json:"rejected"`
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished,omitempty"`
}

// Harvester schedules and runs feed harvests.
type Harvester struct {
	cfg   Config
	bus   *bus.Bus
	reg   *feeds.Registry
	log   *slog.Logger
	now   func() time.Time
	mu    sync.Mutex
	busy  map[string]bool
	slots chan struct{}
}

// New returns a harvester publishing on b and reading feeds from the
// registry in b's feeds bucket.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Harvester, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Harvester{
		cfg: cfg, bus: b, reg: feeds.NewRegistry(b.KV(bus.BucketFeeds)), log: log, now: time.Now,
		busy: map[string]bool{}, slots: make(chan struct{}, cfg.Parallel),
	}, nil
}

// Registry returns the feed registry the harvester reads.
func (h *Harvester) Registry() *feeds.Registry { return h.reg }

// Run harvests every enabled feed when it is due, until ctx ends; a run in
// progress is stopped at a page boundary and resumes from its checkpoint.
func (h *Harvester) Run(ctx context.Context) error {
	h.log.Info("harvester running", "poll", h.cfg.PollInterval)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(h.cfg.PollInterval)
	defer tick.Stop()
	for {
		list, err := h.reg.List(ctx)
		if err != nil && ctx.Err() == nil {
			h.log.Error("listing feeds", "err", err)
		}
		requests := h.takeRequests(ctx)
		for _, f := range list {
			req, requested := requests[f.ID]
			delete(requests, f.ID)
			if !requested {
				if !f.Enabled || !h.claim(f.ID) {
					continue
				}
				due, err := h.due(ctx, f)
				if err != nil || !due {
					h.release(f.ID)
					continue
				}
			}
			wg.Add(1)
			go func(f feeds.Feed, req RunRequest) {
				defer wg.Done()
				defer h.release(f.ID)
				select {
				case h.slots <- struct{}{}:
					defer func() { <-h.slots }()
				case <-ctx.Done():
					return
				}
				if _, err := h.Harvest(ctx, f, req); err != nil && ctx.Err() == nil {
					h.log.Error("harvest failed", "feed", f.ID, "err", err)
				}
			}(f, req)
		}
		for id := range requests {
			h.log.Warn("harvest requested for an unknown feed", "feed", id)
			h.release(id)
		}
		select {
		case <-ctx.Done():
			h.log.Info("harvester stopping")
			return nil
		case <-tick.C:
		}
	}
}

func (h *Harvester) claim(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy[id] {
		return false
	}
	h.busy[id] = true
	return true
}

func (h *Harvester) release(id string) {
	h.mu.Lock()
	delete(h.busy, id)
	h.mu.Unlock()
}

func (h *Harvester) due(ctx context.Context, f feeds.Feed) (bool, error) {
	cp, err := h.checkpoint(ctx, f.ID)
	if err != nil {
		return false, err
	}
	if cp.Current != nil || cp.LastComplete == nil {
		return true, nil // never complete, or interrupted: go on
	}
	return f.Every > 0 && h.now().Sub(cp.LastComplete.Finished) >= time.Duration(f.Every), nil
}

func (h *Harvester) checkpoint(ctx context.Context, feedID string) (Checkpoint, error) {
	var cp Checkpoint
	e, err := h.bus.KV(bus.BucketCheckpoints).Get(ctx, feedID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return cp, nil
	}
	if err != nil {
		return cp, fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	if err := json.Unmarshal(e.Value(), &cp); err != nil {
		return cp, fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	return cp, nil
}

func (h *Harvester) saveCheckpoint(ctx context.Context, feedID string, cp Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	if _, err := h.bus.KV(bus.BucketCheckpoints).Put(ctx, feedID, b); err != nil {
		return fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	return nil
}

// RunRequest asks for a harvest of a feed outside its schedule.
type RunRequest struct {
	// Full harvests the whole list instead of the changes since the last
	// complete run.
	Full bool `json:"full,omitempty"`
	// From harvests the changes since this date (at the server's
	// granularity); it implies a new run.
	From string `json:"from,omitempty"`
}

// Harvest runs one harvest of f now.
func (h *Harvester) Harvest(ctx context.Context, f feeds.Feed, req RunRequest) (*fairwayv1.HarvestRun, error) {
	switch f.Kind {
	case feeds.KindOAIPMH:
		return h.harvestOAI(ctx, f, req)
	case feeds.KindSciCat:
		return h.harvestSciCat(ctx, f, req)
	}
	return nil, fmt.Errorf("harvester: feed %s: %w: %s", f.ID, ErrUnsupportedKind, f.Kind)
}

// report publishes the run's state to the ops stream; a failure to report
// is logged and does not fail the harvest.
func (h *Harvester) report(ctx context.Context, run *fairwayv1.HarvestRun) {
	b, err := proto.Marshal(run)
	if err == nil {
		err = h.bus.Publish(ctx, Origin, bus.Event{Stream: bus.Ops, Key: runKey(run.FeedId), Hash: run.RunId + "." + run.Status.String(), Payload: b})
	}
	if err != nil && ctx.Err() == nil {
		h.log.Warn("cannot report harvest run", "feed", run.FeedId, "err", err)
	}
}
