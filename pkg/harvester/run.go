package harvester

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// run is one harvest of one feed, from its start (or resume) to its end:
// what every step of it needs, whatever the feed's source. Its source
// lists the pages (OAI-PMH with resumption tokens, SciCat by skip and
// limit); the run does the rest once for both: the checkpoint after every
// page, the caps, the yields of its slot, the watch of its feed in the
// registry, the reconciliation of deletions, the reports.
type run struct {
	h    *Harvester
	feed feeds.Feed
	req  RunRequest
	// registered says the feed was just read from the registry, so that
	// its absence there from the run's first check on means it was removed
	// (see watchFeed).
	registered bool
	src        source
	// cp is the feed's checkpoint, saved after every page with mark as
	// its current run.
	cp   Checkpoint
	mark *RunMark
	// report is the run's state as the ops stream is told it.
	report *fairwayv1.HarvestRun
	log    *slog.Logger
	// told is what the observer was told of mark so far.
	told pageCounts
}

// Observer is told what each page of a run added once its checkpoint is
// saved: pages, records, bytes and retried requests, per feed; and how
// long a run waited between two pages for the pipeline to drain (see
// Config.MaxBacklog).
type Observer interface {
	HarvestPage(feed string, pages, records, bytes, retries int64)
	HarvestWait(feed string, waited time.Duration)
}

// pageCounts are the counts of a run an observer is told.
type pageCounts struct{ pages, records, bytes, retries int64 }

func countsOf(m *RunMark) pageCounts {
	return pageCounts{pages: m.Pages, records: m.Records, bytes: m.Bytes, retries: m.Retries}
}

// tell tells the observer what the run added since it was last told.
func (r *run) tell() {
	now := countsOf(r.mark)
	if o := r.h.cfg.Observer; o != nil {
		t := r.told
		o.HarvestPage(r.feed.ID, now.pages-t.pages, now.records-t.records, now.bytes-t.bytes, now.retries-t.retries)
	}
	r.told = now
}

// source is what a run of a feed depends on its kind for: how it resumes,
// plans and lists, and which failures it may resume from. Its methods are
// called in that order by run.harvest.
type source interface {
	// resume returns the run of r's checkpoint to go on with, or nil to
	// start a new one (always nil when renew says the request asks for a
	// new run). It may drop from r.cp what no longer applies to the feed.
	resume(r *run, renew bool) *RunMark
	// plan fills in a new run's mark before its list starts.
	plan(ctx context.Context, r *run) error
	// list walks the list from r.mark to its end (it returns nil then),
	// writing the records and saving the checkpoint after every page (see
	// run.pageDone).
	list(ctx context.Context, r *run) error
	// resumable reports whether a run that failed with err keeps its
	// checkpoint, so that the next run resumes it.
	resumable(err error) bool
	// describe returns what the log line of the run's start says of it.
	describe(r *run) []any
}

// clientOptions are the options of a feed's client (OAI-PMH or SciCat): its
// logger, and the harvester's HTTP client (the address policy) when set.
func (h *Harvester) clientOptions(f feeds.Feed) []fetch.Option {
	opts := []fetch.Option{fetch.WithLogger(h.log.With("feed", f.ID))}
	if h.cfg.HTTPClient != nil {
		opts = append(opts, fetch.WithHTTPClient(h.cfg.HTTPClient))
	}
	return opts
}

// transport is how the pages of f are fetched: the harvester's transport,
// with the stricter of the harvester's and the feed's rate limits.
func (h *Harvester) transport(f feeds.Feed) fetch.Transport {
	t := h.cfg.Transport
	t.RateLimit = max(t.RateLimit, time.Duration(f.RateLimit))
	return t
}

// fresh reports whether the request asks for a new run, whatever the
// checkpoint holds.
func (req RunRequest) fresh() bool {
	return req.Full || req.From != "" || req.Until != "" || req.ConfirmDeletions
}

// harvest carries the run out: it resumes the run of the feed's
// checkpoint or starts (and plans) a new one, lists the source to its
// end, and completes the run. It stops at a page boundary when ctx ends or
// its slot goes to another facility (the run resumes from its
// checkpoint), and fails when its source fails, it goes past a cap, or its
// feed is removed or disabled (see watch); the source says which failures
// a later run resumes from.
func (r *run) harvest(ctx context.Context) (*fairwayv1.HarvestRun, error) {
	cp, err := r.h.checkpoint(ctx, r.feed.ID)
	if err != nil {
		return nil, err
	}
	r.cp = cp
	r.mark = r.src.resume(r, r.req.fresh())
	fresh := r.mark == nil
	if fresh {
		r.mark = &RunMark{RunID: watermill.NewULID(), Started: r.h.now().UTC(), ConfirmDeletions: r.req.ConfirmDeletions}
	}
	r.log = r.h.log.With("feed", r.feed.ID, "run", r.mark.RunID)
	// A resumed run's pages were counted by the process that took them.
	r.told = countsOf(r.mark)
	r.report = &fairwayv1.HarvestRun{
		RunId: r.mark.RunID, FeedId: r.feed.ID, Facility: r.feed.Facility,
		Status: fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING, StartedAt: timestamppb.New(r.mark.Started),
	}
	runCtx, stop := r.watch(ctx)
	defer stop()
	if fresh {
		if err := r.src.plan(runCtx, r); err != nil {
			if ctx.Err() != nil {
				return r.report, ctx.Err()
			}
			// Nothing of this run was written: an interrupted run stays as
			// it was, unless the feed is gone or the run spent its time.
			keep := r.cp.Current
			if why := runStopped(ctx, runCtx); why != nil {
				err = why
				if !r.src.resumable(why) {
					keep = nil
				}
			}
			return r.fail(ctx, err, keep)
		}
	}
	r.report.From = r.mark.From
	r.log.Info("harvest started", append(r.src.describe(r), "resume", !fresh, "list_done", r.mark.ListDone)...)
	r.h.report(ctx, r.report)
	r.cp.Current = r.mark
	if err := r.save(ctx); err != nil {
		return nil, err
	}
	if !r.mark.ListDone {
		if err := r.src.list(runCtx, r); err != nil {
			return r.stop(ctx, runCtx, err)
		}
		// The list is done: neither a cap nor a change of the feed
		// (runCtx) stops the run from here on.
		r.mark.ListDone, r.mark.Token, r.mark.TokenExpires = true, "", time.Time{}
		if err := r.save(ctx); err != nil {
			return r.stop(ctx, ctx, err)
		}
	}
	return r.complete(ctx)
}

// save stores the run's checkpoint (refreshing the feed's lease first).
func (r *run) save(ctx context.Context) error {
	return r.h.saveCheckpoint(ctx, r.feed.ID, r.cp)
}

// pageDone ends a page whose records are written: it saves the checkpoint
// and, when the list goes on (more), fails a run that reached a cap
// (before the save), stops one whose slot goes to another facility
// (after it, with errYield), and waits while the pipeline's backlog is at
// its bound (Config.MaxBacklog, after the save).
func (r *run) pageDone(ctx context.Context, more bool) error {
	r.mark.tick()
	r.cp.Current = r.mark
	if more {
		if err := checkCaps(r.limits(), r.mark); err != nil {
			return err
		}
	}
	if err := r.save(ctx); err != nil {
		return err
	}
	records := r.mark.Records - r.told.records
	r.tell()
	if !more {
		return nil
	}
	if r.h.slots.yielding(r.feed.ID) {
		return errYield
	}
	if err := r.holdBack(ctx, records); err != nil {
		return err
	}
	// The slot may have been asked for while the run waited.
	if r.h.slots.yielding(r.feed.ID) {
		return errYield
	}
	return nil
}

// rememberSeen stores the identifiers the run's current page saw, for the
// comparison of complete full runs (see Harvester.rememberSeen).
func (r *run) rememberSeen(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return r.h.rememberSeen(ctx, r.feed.ID, r.mark.RunID, r.mark.Pages, ids)
}

// stop ends a run whose list stopped on err before its end: interrupted
// (ctx ended) or yielding its slot, it resumes from its checkpoint; stopped
// by runCtx (a cap, its feed removed or disabled) or failed, it fails, and
// the checkpoint keeps it for the next run when the source says so.
func (r *run) stop(ctx, runCtx context.Context, err error) (*fairwayv1.HarvestRun, error) {
	r.mark.tick()
	if ctx.Err() != nil {
		r.fillReport()
		r.log.Info("harvest interrupted; it resumes from its checkpoint", "pages", r.mark.Pages)
		return r.report, ctx.Err()
	}
	if errors.Is(err, errYield) {
		r.fillReport()
		r.log.Info("harvest yields its slot to another facility; it resumes from its checkpoint", "pages", r.mark.Pages)
		return r.report, err
	}
	if why := runStopped(ctx, runCtx); why != nil {
		err = why
	}
	keep := r.mark
	if !r.src.resumable(err) {
		keep = nil // the next run starts afresh
	}
	return r.fail(ctx, err, keep)
}

// fail reports a failed run. keep is the run the checkpoint keeps for the
// next run to resume (nil: the next run starts afresh).
func (r *run) fail(ctx context.Context, err error, keep *RunMark) (*fairwayv1.HarvestRun, error) {
	h, mark := r.h, r.mark
	mark.tick()
	r.fillReport()
	r.report.Status, r.report.Error = fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED, err.Error()
	r.report.FinishedAt = timestamppb.New(h.now().UTC())
	r.cp.Current = keep
	if !stopsTheFeed(err) {
		r.cp.Failures++
		r.cp.FailedAt = h.now().UTC()
	}
	if serr := r.save(ctx); serr != nil {
		r.log.Warn("cannot save the checkpoint of a failed run", "err", serr)
	}
	h.report(ctx, r.report)
	r.log.Warn("harvest failed", "err", err, "resumable", keep != nil, "pages", mark.Pages, "records", mark.Records,
		"failures", r.cp.Failures, "retry_after", h.failureBackoff(r.cp.Failures))
	return r.report, fmt.Errorf("harvester: feed %s: %w", r.feed.ID, err)
}

// complete finishes a run whose list reached its end: it reports a list
// shorter than announced, reconciles deletions after a full run that
// tracked what it saw, and records the run as the last complete one.
func (r *run) complete(ctx context.Context) (*fairwayv1.HarvestRun, error) {
	h, mark := r.h, r.mark
	mark.tick()
	truncated := mark.ListSize > 0 && mark.Listed < mark.ListSize
	if truncated {
		addWarning(mark, fmt.Sprintf("list truncated: the repository announced %d records (completeListSize) but listed %d", mark.ListSize, mark.Listed))
		r.log.Warn("list truncated", "announced", mark.ListSize, "listed", mark.Listed)
	}
	if mark.TrackSeen {
		if truncated {
			addWarning(mark, "deletions not reconciled: the list is incomplete")
			if err := h.forgetRunSeen(ctx, r.feed.ID); err != nil {
				r.log.Warn("cannot drop the identifiers of the run", "err", err)
			}
		} else {
			seen, err := h.loadSeen(ctx, r.feed.ID, mark.RunID)
			if err == nil {
				_, _, err = r.reconcile(ctx, seen)
			}
			if err != nil {
				if ctx.Err() != nil {
					r.fillReport()
					return r.report, ctx.Err()
				}
				return r.fail(ctx, fmt.Errorf("reconciling deletions: %w", err), mark)
			}
		}
	}
	mark.Finished, mark.Token = h.now().UTC(), ""
	if mark.ResponseDate.IsZero() {
		mark.ResponseDate = mark.Started
	}
	// A window an operator asked for (from, until) is not where the
	// schedule stands: the next incremental run still starts from the last
	// scheduled or full run.
	if !mark.Window {
		r.cp.LastComplete = mark
	}
	r.cp.Current = nil
	if mark.Full {
		r.cp.LastFull = mark.Finished
	}
	r.cp.Failures, r.cp.FailedAt = 0, time.Time{}
	if err := r.save(ctx); err != nil {
		r.fillReport()
		return r.report, err
	}
	r.fillReport()
	r.report.FinishedAt = timestamppb.New(mark.Finished)
	r.report.Status, r.report.Error = fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE, mark.Warning
	h.report(ctx, r.report)
	r.log.Info("harvest complete", "pages", r.report.Pages, "records", r.report.Records, "deleted", r.report.Deleted,
		"reconciled", mark.Reconciled, "rejected", r.report.Rejected, "restarts", mark.Restarts, "warning", mark.Warning)
	return r.report, nil
}

// fillReport copies the run's counters into its report.
func (r *run) fillReport() {
	run, mark := r.report, r.mark
	run.Pages, run.Records, run.Deleted, run.Rejected = mark.Pages, mark.Records, mark.Deleted, mark.Rejected
	run.Bytes, run.Retries, run.ListSize = mark.Bytes, mark.Retries, mark.ListSize
	if !mark.ResponseDate.IsZero() {
		run.ResponseDate = timestamppb.New(mark.ResponseDate)
	}
}

// addWarning appends a warning to the run's.
func addWarning(mark *RunMark, w string) {
	if mark.Warning == "" {
		mark.Warning = w
		return
	}
	mark.Warning += "; " + w
}

// provenance is the provenance of the records of the run's current page,
// fetched from requestURL (as oaipmh.ShownURL quotes it).
func (r *run) provenance(requestURL string) *fairwayv1.Provenance {
	return &fairwayv1.Provenance{
		FeedId: r.feed.ID, RunId: r.mark.RunID, RequestUrl: requestURL,
		HarvestedAt: timestamppb.New(r.h.now().UTC()), Page: int32(r.mark.Pages),
	}
}

// rawEvent is the raw message of the feed's record id (an encoded
// RawRecord); skipUnchanged drops it when the last one written for the
// record had the same hash.
func (r *run) rawEvent(id, hash string, payload []byte, skipUnchanged bool) bus.Event {
	return bus.Event{
		Stream: bus.Raw, Key: r.feed.ID + ":" + id, Hash: hash, Payload: payload,
		Metadata:      map[string]string{bus.HeaderCorrelation: r.mark.RunID, bus.HeaderFeed: r.feed.ID},
		SkipUnchanged: skipUnchanged,
	}
}

// deadLetter is the dead letter of a record the run cannot write: payload
// is its stub (an encoded RawRecord), reason says why, hash makes its
// message id (it holds no raw identifier).
func (r *run) deadLetter(hash string, payload []byte, reason string) bus.Event {
	return bus.DeadLetterEvent(Origin, hash, payload, reason, map[string]string{bus.HeaderCorrelation: r.mark.RunID})
}
