// Package harvester is the pipeline's first stage: it harvests the
// registered feeds and writes one raw message per record, exactly as
// received, with its provenance.
package harvester

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/oaipmh"
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
		for _, f := range list {
			if !f.Enabled || !h.claim(f.ID) {
				continue
			}
			due, err := h.due(ctx, f)
			if err != nil || !due {
				h.release(f.ID)
				continue
			}
			wg.Add(1)
			go func(f feeds.Feed) {
				defer wg.Done()
				defer h.release(f.ID)
				select {
				case h.slots <- struct{}{}:
					defer func() { <-h.slots }()
				case <-ctx.Done():
					return
				}
				if _, err := h.Harvest(ctx, f, false); err != nil && ctx.Err() == nil {
					h.log.Error("harvest failed", "feed", f.ID, "err", err)
				}
			}(f)
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

// Harvest runs one harvest of f: incremental from the last complete run
// unless full is set, resuming an interrupted run from its last page.
func (h *Harvester) Harvest(ctx context.Context, f feeds.Feed, full bool) (*fairwayv1.HarvestRun, error) {
	if f.Kind != feeds.KindOAIPMH {
		return nil, fmt.Errorf("harvester: feed %s: %w: %s", f.ID, ErrUnsupportedKind, f.Kind)
	}
	client, err := oaipmh.NewClient(oaipmh.Config{
		BaseURL:        f.URL,
		MetadataPrefix: f.Format,
		Set:            f.Set,
		PageTimeout:    h.cfg.PageTimeout,
		MaxRetries:     h.cfg.MaxRetries,
		MaxRecordBytes: h.cfg.MaxRecordBytes,
		UserAgent:      "fairway-harvester",
	})
	if err != nil {
		return nil, fmt.Errorf("harvester: feed %s: %w", f.ID, err)
	}
	cp, err := h.checkpoint(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	mark := cp.Current
	if mark == nil || full {
		mark = &RunMark{RunID: watermill.NewULID(), Started: h.now().UTC()}
		if !full && cp.LastComplete != nil && !cp.LastComplete.ResponseDate.IsZero() {
			id, err := client.Identify(ctx)
			if err != nil {
				return nil, fmt.Errorf("harvester: feed %s: identify: %w", f.ID, err)
			}
			mark.From = formatFrom(cp.LastComplete.ResponseDate.Add(-h.cfg.Overlap), id.Granularity)
		}
	}
	log := h.log.With("feed", f.ID, "run", mark.RunID)
	log.Info("harvest started", "from", mark.From, "resume", mark.Token != "")
	run := &fairwayv1.HarvestRun{
		RunId: mark.RunID, FeedId: f.ID, Facility: f.Facility, From: mark.From,
		Status: fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING, StartedAt: timestamppb.New(mark.Started),
	}
	h.report(ctx, run)
	cp.Current = mark
	if err := h.saveCheckpoint(ctx, f.ID, cp); err != nil {
		return nil, err
	}
	req := oaipmh.ListRequest{From: mark.From, Set: f.Set, ResumeToken: mark.Token}
	err = client.ListRecords(ctx, req, func(ctx context.Context, p *oaipmh.Page, requestURL string) error {
		if mark.ResponseDate.IsZero() {
			mark.ResponseDate = p.ResponseDate
		}
		mark.Pages++
		if err := h.publishPage(ctx, f, mark, p, requestURL); err != nil {
			return err
		}
		mark.Token = ""
		if p.Token != nil {
			mark.Token = p.Token.Value
		}
		cp.Current = mark
		return h.saveCheckpoint(ctx, f.ID, cp)
	})
	run.Pages, run.Records, run.Deleted, run.Rejected = mark.Pages, mark.Records, mark.Deleted, mark.Rejected
	if !mark.ResponseDate.IsZero() {
		run.ResponseDate = timestamppb.New(mark.ResponseDate)
	}
	run.FinishedAt = timestamppb.New(h.now().UTC())
	if err != nil {
		if ctx.Err() != nil {
			log.Info("harvest interrupted; it resumes from its checkpoint", "pages", mark.Pages)
			return run, ctx.Err()
		}
		run.Status, run.Error = fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED, err.Error()
		// A failed run starts afresh next time from the last complete run.
		cp.Current = nil
		_ = h.saveCheckpoint(ctx, f.ID, cp)
		h.report(ctx, run)
		return run, fmt.Errorf("harvester: feed %s: %w", f.ID, err)
	}
	mark.Finished, mark.Token = h.now().UTC(), ""
	if mark.ResponseDate.IsZero() {
		mark.ResponseDate = mark.Started
	}
	cp.LastComplete, cp.Current = mark, nil
	if err := h.saveCheckpoint(ctx, f.ID, cp); err != nil {
		return run, err
	}
	run.Status = fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE
	h.report(ctx, run)
	log.Info("harvest complete", "pages", run.Pages, "records", run.Records, "deleted", run.Deleted, "rejected", run.Rejected)
	return run, nil
}

// publishPage writes one raw message per record of the page.
func (h *Harvester) publishPage(ctx context.Context, f feeds.Feed, mark *RunMark, p *oaipmh.Page, requestURL string) error {
	prov := &fairwayv1.Provenance{
		FeedId: f.ID, RunId: mark.RunID, RequestUrl: requestURL,
		HarvestedAt: timestamppb.New(h.now().UTC()), Page: int32(mark.Pages),
	}
	if !p.ResponseDate.IsZero() {
		prov.ResponseDate = timestamppb.New(p.ResponseDate)
	}
	events := make([]bus.Event, 0, len(p.Records))
	for _, r := range p.Records {
		raw := &fairwayv1.RawRecord{
			FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: r.Identifier,
			Datestamp: r.Datestamp, MetadataFormat: f.Format, Deleted: r.Deleted, Payload: r.Metadata,
			SetSpecs: r.SetSpecs, Provenance: prov,
		}
		b, err := proto.Marshal(raw)
		if err != nil {
			return fmt.Errorf("encode %s: %w", r.Identifier, err)
		}
		events = append(events, bus.Event{
			Stream: bus.Raw, Key: f.ID + ":" + r.Identifier, Hash: rawHash(r), Payload: b,
			Metadata: map[string]string{bus.HeaderCorrelation: mark.RunID},
		})
		if r.Deleted {
			mark.Deleted++
		}
		mark.Records++
	}
	for _, o := range p.Oversized {
		mark.Rejected++
		reason := fmt.Sprintf("record %s is %d bytes, over the limit of %d (feed %s, %s)", o.Identifier, o.Size, h.cfg.MaxRecordBytes, f.ID, requestURL)
		h.log.Warn("record rejected", "feed", f.ID, "identifier", o.Identifier, "size", o.Size, "url", requestURL)
		stub, _ := proto.Marshal(&fairwayv1.RawRecord{FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: o.Identifier, MetadataFormat: f.Format, Provenance: prov})
		events = append(events, bus.Event{
			Stream: bus.DeadLetters, Key: Origin, Hash: strconv.FormatInt(mark.Pages, 10) + o.Identifier, Payload: stub,
			Metadata: map[string]string{bus.HeaderReason: reason, bus.HeaderStage: Origin, bus.HeaderCorrelation: mark.RunID},
		})
	}
	return h.bus.Publish(ctx, Origin, events...)
}

// report publishes the run's state to the ops stream; a failure to report
// is logged and does not fail the harvest.
func (h *Harvester) report(ctx context.Context, run *fairwayv1.HarvestRun) {
	b, err := proto.Marshal(run)
	if err == nil {
		err = h.bus.Publish(ctx, Origin, bus.Event{Stream: bus.Ops, Key: "run." + run.FeedId, Hash: run.RunId + "." + run.Status.String(), Payload: b})
	}
	if err != nil && ctx.Err() == nil {
		h.log.Warn("cannot report harvest run", "feed", run.FeedId, "err", err)
	}
}

// rawHash identifies a record's content as received.
func rawHash(r oaipmh.Record) string {
	s := sha256.New()
	s.Write([]byte(r.Datestamp))
	if r.Deleted {
		s.Write([]byte{1})
	}
	s.Write(r.Metadata)
	return hex.EncodeToString(s.Sum(nil)[:16])
}

// formatFrom writes t at the server's granularity.
func formatFrom(t time.Time, granularity string) string {
	t = t.UTC()
	if granularity == "YYYY-MM-DD" {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05Z")
}
