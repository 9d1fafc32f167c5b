// Package harvester is the pipeline's first stage: it harvests the
// registered feeds and writes one raw message per record, exactly as
// received, with its provenance.
package harvester

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/oaipmh"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Origin is the origin name of the events the harvester emits.
const Origin = "harvester"

// ErrUnsupportedKind is returned for a feed kind the harvester cannot read.
var ErrUnsupportedKind = errors.New("unsupported feed kind")

// ErrBusy is returned when another harvester runs the feed.
var ErrBusy = errors.New("feed is being harvested by another harvester")

// Strategies of an OAI-PMH harvest (Config.Strategy).
const (
	// StrategyAuto lists with ListRecords and, when the repository refuses
	// the verb on the first page (badVerb, badArgument or
	// cannotDisseminateFormat) but answers ListIdentifiers with the same
	// arguments, switches to StrategyIdentifiers for that run.
	StrategyAuto = "auto"
	// StrategyRecords lists with ListRecords only.
	StrategyRecords = "records"
	// StrategyIdentifiers lists headers with ListIdentifiers and fetches
	// every live record with GetRecord, for repositories that cannot list
	// records.
	StrategyIdentifiers = "identifiers"
)

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
	// MaxIdentifierBytes bounds a record's source identifier (an OAI-PMH
	// header identifier, a SciCat document's pid, or its DOI for published
	// data): a record whose identifier is longer goes to the dead letters
	// with the reason, counted as rejected, and the run goes on. A DOI in a
	// record's metadata is not checked here: the normaliser bounds the
	// dataset key it becomes (normaliser.MaxKeyBytes). Default 1024
	// (DefaultMaxIdentifierBytes).
	MaxIdentifierBytes int
	// MaxTokenBytes bounds an OAI-PMH resumption token: a repository that
	// hands out a longer one fails the run (oaipmh.ErrTokenTooLarge, a
	// protocol error: not resumed). A token travels in the next request's
	// URL and the checkpoint. Default 8 KiB (oaipmh.DefaultMaxTokenBytes).
	MaxTokenBytes int
	// Transport is how the feeds' pages are fetched, handed on to the
	// client of every feed: page timeout (default 60s), retries per page
	// before a run fails (default 5; negative: none) and their backoff,
	// Retry-After cap, page size in bytes, user agent (default
	// DefaultUserAgent), and RateLimit, the minimum interval between two
	// requests to one feed (default 0: no limit; a feed's rate_limit
	// applies when it is longer).
	fetch.Transport
	// Parallel is how many feeds are harvested at once. The slots are
	// shared fairly between facilities (see slots): a free slot goes to the
	// facility holding the fewest, a facility holding more than its share
	// while another waits gives slots back at its runs' next pages, and
	// scheduled runs give slots back to an operator's request that waits.
	// Default 2.
	Parallel int
	// Strategy is how OAI-PMH feeds are listed: StrategyAuto,
	// StrategyRecords or StrategyIdentifiers. Default StrategyAuto.
	Strategy string
	// GetRecordParallel is how many GetRecord requests one feed has in
	// flight under StrategyIdentifiers (RateLimit still applies). Default 4.
	GetRecordParallel int
	// MaxRestarts bounds how often one run restarts its window from the
	// first page after the repository rejected (badResumptionToken) or
	// expired its resumption token. Default 3.
	MaxRestarts int
	// FullEvery is how old the last complete full run of a feed whose
	// repository keeps no deletions (Identify deletedRecord "no" or
	// "transient") may get before a scheduled run lists the whole feed
	// again instead of the changes, so that deletions are found by
	// comparing complete runs. Default 7 days.
	FullEvery time.Duration
	// MaxDeleteShare is the largest share (0 < share <= 1) of a feed's
	// identifiers that one reconciliation may delete; a run that would
	// delete more is held and reported instead (see reconcile). 1 turns
	// the guard off. Default 0.10.
	MaxDeleteShare float64
	// FailureBackoff is how long the scheduler waits before it retries a
	// feed whose last run failed; it doubles with every consecutive
	// failure up to MaxFailureBackoff. Default 1m.
	FailureBackoff time.Duration
	// MaxFailureBackoff caps FailureBackoff. Default 1h.
	MaxFailureBackoff time.Duration
	// MaxPages caps the pages one run requests: a run whose list goes on
	// past it fails with ErrRunCap. A feed's max_pages replaces it.
	// Default 100000.
	MaxPages int64
	// MaxBytes caps the bytes one run receives (pages as decoded, SciCat
	// documents): a run whose list goes on past it fails with ErrRunCap. A
	// feed's max_bytes replaces it. Default 20 GiB.
	MaxBytes int64
	// MaxDuration caps the time one run spends harvesting, summed over its
	// resumes: a run still going when it is spent fails with ErrRunCap. A
	// feed's max_duration replaces it. Default 24h.
	MaxDuration time.Duration
	// MaxEmptyPages is how many OAI-PMH pages in a row may come without a
	// single record (or header) while the list goes on: one more fails the
	// run with ErrRunawayList, whether or not the repository announced a
	// completeListSize. Default 50.
	MaxEmptyPages int
	// FeedCheckInterval is how often a run re-reads its feed in the
	// registry: a run whose feed was removed stops (ErrFeedRemoved), and
	// so does a scheduled run whose feed was disabled (ErrFeedDisabled).
	// Default 5s.
	FeedCheckInterval time.Duration
	// MaxBacklog bounds how far the harvester runs ahead of the stages:
	// after a page, while the pipeline holds this many messages or more
	// (bus.Bus.Backlog: those waiting for the normaliser, the enricher and
	// the publisher, delivered or not), the run waits before it asks for
	// the next page. It never waits within a page, and only after the
	// page's checkpoint is saved. Negative turns the flow control off.
	// Default 1000 (DefaultMaxBacklog).
	MaxBacklog int
	// BacklogPoll is how often a waiting run reads the backlog again.
	// Default 250ms (DefaultBacklogPoll).
	BacklogPoll time.Duration
	// HTTPClient, when set, makes the requests to the feeds (e.g. one that
	// refuses private addresses: urlguard.Policy.HTTPClient); its Timeout
	// should be 0, PageTimeout applies. Default: the client's own.
	HTTPClient *http.Client
	// Observer, when set, is told what each page of a run added (metrics).
	Observer Observer
}

// DefaultUserAgent is the default of Config.UserAgent.
const DefaultUserAgent = "fairway-harvester"

// Defaults of the caps on one run (Config.MaxPages, MaxBytes, MaxDuration,
// MaxEmptyPages).
const (
	DefaultMaxPages      = 100_000
	DefaultMaxBytes      = 20 << 30
	DefaultMaxDuration   = 24 * time.Hour
	DefaultMaxEmptyPages = 50
)

// SetDefaults replaces the zero fields of c with their defaults.
func (c *Config) SetDefaults() {
	c.Transport.SetDefaults(DefaultUserAgent)
	c.PollInterval = cmp.Or(c.PollInterval, 5*time.Second)
	c.Overlap = cmp.Or(c.Overlap, time.Hour)
	c.MaxRecordBytes = cmp.Or(c.MaxRecordBytes, oaipmh.DefaultMaxRecordBytes)
	c.MaxIdentifierBytes = cmp.Or(c.MaxIdentifierBytes, DefaultMaxIdentifierBytes)
	c.MaxTokenBytes = cmp.Or(c.MaxTokenBytes, oaipmh.DefaultMaxTokenBytes)
	c.Parallel = cmp.Or(c.Parallel, 2)
	c.Strategy = cmp.Or(c.Strategy, StrategyAuto)
	c.GetRecordParallel = cmp.Or(c.GetRecordParallel, 4)
	c.MaxRestarts = cmp.Or(c.MaxRestarts, 3)
	c.FullEvery = cmp.Or(c.FullEvery, 7*24*time.Hour)
	c.MaxDeleteShare = cmp.Or(c.MaxDeleteShare, 0.10)
	c.FailureBackoff = cmp.Or(c.FailureBackoff, time.Minute)
	c.MaxFailureBackoff = cmp.Or(c.MaxFailureBackoff, time.Hour)
	c.MaxPages = cmp.Or(c.MaxPages, DefaultMaxPages)
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	c.MaxDuration = cmp.Or(c.MaxDuration, DefaultMaxDuration)
	c.MaxEmptyPages = cmp.Or(c.MaxEmptyPages, DefaultMaxEmptyPages)
	c.FeedCheckInterval = cmp.Or(c.FeedCheckInterval, 5*time.Second)
	c.MaxBacklog = cmp.Or(c.MaxBacklog, DefaultMaxBacklog)
	c.BacklogPoll = cmp.Or(c.BacklogPoll, DefaultBacklogPoll)
}

// Validate reports the first invalid field of c: a negative duration,
// count or cap (zero values are valid: they mean the documented defaults),
// an unknown strategy, a delete share outside (0, 1].
func (c Config) Validate() error {
	if err := c.Transport.Validate(); err != nil {
		return fmt.Errorf("harvester: %w", err)
	}
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"PollInterval", c.PollInterval < 0},
		{"Overlap", c.Overlap < 0},
		{"MaxRecordBytes", c.MaxRecordBytes < 0},
		{"MaxIdentifierBytes", c.MaxIdentifierBytes < 0},
		{"MaxTokenBytes", c.MaxTokenBytes < 0},
		{"Parallel", c.Parallel < 0},
		{"GetRecordParallel", c.GetRecordParallel < 0},
		{"MaxRestarts", c.MaxRestarts < 0},
		{"FullEvery", c.FullEvery < 0},
		{"FailureBackoff", c.FailureBackoff < 0},
		{"MaxFailureBackoff", c.MaxFailureBackoff < 0},
		{"MaxPages", c.MaxPages < 0},
		{"MaxBytes", c.MaxBytes < 0},
		{"MaxDuration", c.MaxDuration < 0},
		{"MaxEmptyPages", c.MaxEmptyPages < 0},
		{"FeedCheckInterval", c.FeedCheckInterval < 0},
		{"BacklogPoll", c.BacklogPoll < 0},
	} {
		if f.negative {
			return fmt.Errorf("harvester: %s must not be negative", f.name)
		}
	}
	switch c.Strategy {
	case "", StrategyAuto, StrategyRecords, StrategyIdentifiers:
	default:
		return fmt.Errorf("harvester: strategy %q: want %s, %s or %s", c.Strategy, StrategyAuto, StrategyRecords, StrategyIdentifiers)
	}
	if c.MaxDeleteShare < 0 || c.MaxDeleteShare > 1 {
		return fmt.Errorf("harvester: MaxDeleteShare %v: want a share in (0, 1]", c.MaxDeleteShare)
	}
	return nil
}

// Checkpoint is what the harvester remembers of a feed between pages and
// between runs; it is stored in the checkpoints bucket after every page.
type Checkpoint struct {
	// LastComplete describes the last run that reached the end of its list.
	LastComplete *RunMark `json:"last_complete,omitempty"`
	// Current describes a run under way (or interrupted, or failed in a
	// way a later run can resume from).
	Current *RunMark `json:"current,omitempty"`
	// LastFull is when the last complete run that listed the whole feed
	// finished.
	LastFull time.Time `json:"last_full,omitempty"`
	// Failures counts the runs that failed since the last complete one.
	Failures int `json:"failures,omitempty"`
	// FailedAt is when the last run failed.
	FailedAt time.Time `json:"failed_at,omitempty"`
}

// RunMark is the position of a run.
type RunMark struct {
	RunID string `json:"run_id"`
	// From and Until are the bounds the run asks for, at the server's
	// granularity; both empty for a run over the whole feed.
	From  string `json:"from,omitempty"`
	Until string `json:"until,omitempty"`
	// Full is set for a run over the whole feed (no from, no until): only
	// such a run may reconcile deletions.
	Full bool `json:"full,omitempty"`
	// Strategy is the listing strategy in effect (StrategyRecords or
	// StrategyIdentifiers).
	Strategy string `json:"strategy,omitempty"`
	// Granularity and DeletedRecord are what the repository's Identify
	// declared when the run started.
	Granularity   string `json:"granularity,omitempty"`
	DeletedRecord string `json:"deleted_record,omitempty"`
	// TrackSeen is set when the run records the identifiers it sees, to
	// find deletions by comparing complete full runs.
	TrackSeen bool `json:"track_seen,omitempty"`
	// ConfirmDeletions applies the deletions found by the run even over
	// Config.MaxDeleteShare.
	ConfirmDeletions bool `json:"confirm_deletions,omitempty"`
	// Token is the resumption token of the next page.
	Token string `json:"token,omitempty"`
	// TokenExpires is the token's expirationDate, when the server gave one.
	TokenExpires time.Time `json:"token_expires,omitempty"`
	// Signature identifies what the feed listed (kind, URL, format, set).
	Signature string `json:"signature,omitempty"`
	// Window marks a run over a window an operator asked for (from,
	// until); it does not move the next incremental run's start.
	Window bool `json:"window,omitempty"`
	// Bytes counts the bytes of the pages received.
	Bytes int64 `json:"bytes,omitempty"`
	// Retries counts the requests that failed and were retried.
	Retries int64 `json:"retries,omitempty"`
	// ListSize is the last completeListSize the server announced (0: none).
	ListSize int64 `json:"list_size,omitempty"`
	// Listed counts the records and headers listed since the window
	// (re)started, rejected ones included.
	Listed int64 `json:"listed,omitempty"`
	// Restarts counts how often the window restarted from its first page.
	Restarts int `json:"restarts,omitempty"`
	// EmptyPages counts the pages in a row without a record, up to the
	// last one (see Config.MaxEmptyPages).
	EmptyPages int `json:"empty_pages,omitempty"`
	// Elapsed is the time the run has spent harvesting so far, over every
	// resume (see Config.MaxDuration), in nanoseconds.
	Elapsed time.Duration `json:"elapsed,omitempty"`
	// ListDone is set once the list reached its end; what is left is
	// finishing the run (reconciling deletions).
	ListDone bool `json:"list_done,omitempty"`
	// ResponseDate of the run's first page.
	ResponseDate time.Time `json:"response_date"`
	Pages        int64     `json:"pages"`
	// Records counts the records written (pages harvested again after a
	// restart count again), Deleted those marked deleted (including
	// Reconciled), Rejected those that could not be written.
	Records  int64 `json:"records"`
	Deleted  int64 `json:"deleted"`
	Rejected int64 `json:"rejected"`
	// Reconciled counts the deletions found by comparing complete runs.
	Reconciled int64 `json:"reconciled,omitempty"`
	// Warning is what the run reports without failing (a truncated list,
	// deletions held).
	Warning  string    `json:"warning,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`

	// elapsedBase and resumedAt count Elapsed while the run goes on.
	elapsedBase time.Duration
	resumedAt   time.Time
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
	slots *slots
	// id names this harvester in the feeds' leases.
	id string
	// leases holds the revision of each lease this harvester holds.
	leases map[string]uint64
	// leaseMu serialises lease refreshes.
	leaseMu sync.Mutex
	// flow bounds how far the runs get ahead of the stages.
	flow *flow
}

// New returns a harvester publishing on b and reading feeds from the
// registry in b's feeds bucket.
func New(cfg Config, b *bus.Bus, log *slog.Logger) (*Harvester, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Harvester{
		cfg: cfg, bus: b, reg: feeds.NewRegistry(b.State(bus.BucketFeeds), feeds.WithLogger(log)), log: log, now: time.Now,
		busy: map[string]bool{}, slots: newSlots(cfg.Parallel),
		id: watermill.NewULID(), leases: map[string]uint64{}, flow: newFlow(cfg, b),
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
		var requests map[string]RunRequest
		if err != nil {
			if ctx.Err() == nil {
				h.log.Error("listing feeds", "err", err)
			}
		} else {
			// Requests are taken only when the feeds are known: a request
			// for a feed that could not be listed waits for the next poll.
			requests = h.takeRequests(ctx)
		}
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
			go func(f feeds.Feed, req RunRequest, requested bool) {
				defer wg.Done()
				defer h.release(f.ID)
				h.runWhenSlotFree(ctx, f, req, requested)
			}(f, req, requested)
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

// runWhenSlotFree waits for a harvest slot (shared fairly between
// facilities), then harvests the feed as the registry has it by then: a
// feed removed meanwhile is not harvested, nor one disabled meanwhile
// unless an operator asked for the run.
func (h *Harvester) runWhenSlotFree(ctx context.Context, f feeds.Feed, req RunRequest, requested bool) {
	if err := h.slots.acquire(ctx, f.ID, f.Facility, requested); err != nil {
		if requested {
			h.requeue(f.ID, req)
		}
		return
	}
	defer h.slots.release(f.ID)
	cur, err := h.reg.Get(ctx, f.ID)
	switch {
	case errors.Is(err, feeds.ErrNotFound):
		h.log.Info("feed removed while it waited for a harvest slot", "feed", f.ID, "requested", requested)
		return
	case err != nil:
		if ctx.Err() == nil {
			h.log.Error("re-reading the feed", "feed", f.ID, "err", err)
		}
		if requested {
			h.requeue(f.ID, req)
		}
		return
	case !cur.Enabled && !requested:
		return
	}
	_, err = h.harvest(ctx, cur, req, true)
	switch {
	case errors.Is(err, ErrBusy):
		// Another replica runs the feed: a request waits for the
		// next poll, a scheduled run is its business.
		h.log.Debug("feed busy elsewhere", "feed", f.ID)
		if requested {
			h.requeue(f.ID, req)
		}
	case errors.Is(err, errYield):
		// The slot went to another facility. A scheduled run is due again
		// (it has a checkpoint); a requested one is asked for again, with
		// an empty request, which resumes it.
		h.log.Debug("harvest yielded its slot", "feed", f.ID, "requested", requested)
		if requested {
			h.requeue(f.ID, RunRequest{})
		}
	case err != nil && ctx.Err() == nil:
		h.log.Error("harvest failed", "feed", f.ID, "err", err)
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
	now := h.now()
	if cp.Failures > 0 {
		// The last run failed: try again once its backoff has passed.
		return !now.Before(cp.FailedAt.Add(h.failureBackoff(cp.Failures))), nil
	}
	if cp.Current != nil || cp.LastComplete == nil {
		return true, nil // never complete, or interrupted: go on
	}
	return f.Every > 0 && now.Sub(cp.LastComplete.Finished) >= time.Duration(f.Every), nil
}

// failureBackoff is the wait after the n-th consecutive failed run.
func (h *Harvester) failureBackoff(n int) time.Duration {
	d := h.cfg.FailureBackoff
	for i := 1; i < n && d < h.cfg.MaxFailureBackoff; i++ {
		d *= 2
	}
	return min(d, h.cfg.MaxFailureBackoff)
}

func (h *Harvester) checkpoint(ctx context.Context, feedID string) (Checkpoint, error) {
	var cp Checkpoint
	e, err := h.bus.State(bus.BucketCheckpoints).Get(ctx, feedID)
	if errors.Is(err, bus.ErrNotFound) {
		return cp, nil
	}
	if err != nil {
		return cp, fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	if err := json.Unmarshal(e.Value, &cp); err != nil {
		return cp, fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	return cp, nil
}

func (h *Harvester) saveCheckpoint(ctx context.Context, feedID string, cp Checkpoint) error {
	if err := h.refreshLease(ctx, feedID); err != nil {
		return err
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	if _, err := h.bus.State(bus.BucketCheckpoints).Put(ctx, feedID, b); err != nil {
		return fmt.Errorf("harvester: checkpoint %s: %w", feedID, err)
	}
	return nil
}

// requeue puts back a request this harvester took but could not serve.
func (h *Harvester) requeue(feedID string, req RunRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Request(ctx, h.bus, feedID, req); err != nil {
		h.log.Error("harvest request lost", "feed", feedID, "err", err)
	}
}

// RunRequest asks for a harvest of a feed outside its schedule.
type RunRequest struct {
	// Full harvests the whole list instead of the changes since the last
	// complete run.
	Full bool `json:"full,omitempty"`
	// From harvests the changes since this date; it implies a new run. Any
	// date ParseDate reads is accepted; it is sent at the server's
	// granularity.
	From string `json:"from,omitempty"`
	// Until bounds the run's list like From (inclusive).
	Until string `json:"until,omitempty"`
	// ConfirmDeletions applies the deletions a full run finds even when
	// they exceed the harvester's MaxDeleteShare (a held reconciliation is
	// confirmed this way); it implies a full run.
	ConfirmDeletions bool `json:"confirm_deletions,omitempty"`
}

// Harvest runs one harvest of f now.
// It holds the feed's lease for the whole run, so that no other harvester
// replica runs the feed meanwhile: ErrBusy when one does. The run stops
// when f is removed from the registry meanwhile (ErrFeedRemoved), once it
// has found f there: a feed that was never registered is harvested all the
// same.
func (h *Harvester) Harvest(ctx context.Context, f feeds.Feed, req RunRequest) (*fairwayv1.HarvestRun, error) {
	return h.harvest(ctx, f, req, false)
}

// harvest is Harvest; registered says that f was just read from the
// registry, so that its absence there from the run's first check on means
// it was removed (see watchFeed).
func (h *Harvester) harvest(ctx context.Context, f feeds.Feed, req RunRequest, registered bool) (*fairwayv1.HarvestRun, error) {
	if f.Kind != feeds.KindOAIPMH && f.Kind != feeds.KindSciCat {
		return nil, fmt.Errorf("harvester: feed %s: %w: %s", f.ID, ErrUnsupportedKind, f.Kind)
	}
	release, err := h.lease(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	defer release()
	r := &run{h: h, feed: f, req: req, registered: registered}
	if f.Kind == feeds.KindSciCat {
		r.src, err = h.newSciCatSource(f)
	} else {
		r.src, err = h.newOAISource(f)
	}
	if err != nil {
		return nil, fmt.Errorf("harvester: feed %s: %w", f.ID, err)
	}
	return r.harvest(ctx)
}

// lease takes the feed's lease in the leases bucket, or fails with ErrBusy
// when another harvester holds it. The lease is refreshed with every
// checkpoint, and released by the returned function.
func (h *Harvester) lease(ctx context.Context, feedID string) (func(), error) {
	leases := h.bus.State(bus.BucketLeases)
	rev, err := leases.Create(ctx, feedID, []byte(h.id))
	if errors.Is(err, bus.ErrExists) {
		return nil, fmt.Errorf("harvester: feed %s: %w", feedID, ErrBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("harvester: lease of %s: %w", feedID, err)
	}
	h.mu.Lock()
	h.leases[feedID] = rev
	h.mu.Unlock()
	// Refreshed in the background too: a page may take longer than the
	// lease (a slow server, a long Retry-After).
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(bus.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := h.refreshLease(ctx, feedID); err != nil {
					h.log.Warn("harvest lease", "feed", feedID, "err", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		h.leaseMu.Lock()
		defer h.leaseMu.Unlock()
		h.mu.Lock()
		rev := h.leases[feedID]
		delete(h.leases, feedID)
		h.mu.Unlock()
		_ = leases.DeleteAt(context.WithoutCancel(ctx), feedID, rev)
	}, nil
}

// refreshLease renews the feed's lease; it fails when the lease was lost
// (expired and taken by another harvester), which stops the run.
func (h *Harvester) refreshLease(ctx context.Context, feedID string) error {
	// One refresh at a time: two with the same revision would see each
	// other as a lost lease.
	h.leaseMu.Lock()
	defer h.leaseMu.Unlock()
	h.mu.Lock()
	rev, ok := h.leases[feedID]
	h.mu.Unlock()
	if !ok {
		return nil // a run outside Harvest (tests of the parts)
	}
	// Not cut short by the run's end: an update the server applied but
	// whose answer a cancelled context lost would leave a stale revision,
	// and the run's last checkpoint would then find its lease "lost".
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	next, err := h.bus.State(bus.BucketLeases).Update(uctx, feedID, []byte(h.id), rev)
	if err != nil {
		return fmt.Errorf("harvester: lease of %s lost: %w", feedID, err)
	}
	h.mu.Lock()
	h.leases[feedID] = next
	h.mu.Unlock()
	return nil
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
