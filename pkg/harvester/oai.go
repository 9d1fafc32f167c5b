package harvester

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/oaipmh"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

var (
	// ErrInvalidRequest is returned for a run request the harvester cannot
	// carry out (e.g. a from date it cannot read).
	ErrInvalidRequest = errors.New("harvester: invalid run request")
	// ErrRunawayList is returned when a list goes on far past the size the
	// repository announced (completeListSize), or returns
	// Config.MaxEmptyPages pages in a row without a record while it goes
	// on: its tokens lead nowhere. Such a run is not resumed.
	ErrRunawayList = errors.New("harvester: list runs past its announced size")
)

// harvestOAI runs one OAI-PMH harvest of f: incremental from the last
// complete run unless req says otherwise (or a full run is due to find
// deletions), resuming an interrupted run from its last page.
//
// Protocol errors are handled by their meaning: noRecordsMatch is an empty
// list; badResumptionToken (or a token past its expirationDate) restarts the
// run's window from its first page, at most Config.MaxRestarts times;
// badVerb, badArgument and cannotDisseminateFormat on the first ListRecords
// page switch a StrategyAuto harvest to ListIdentifiers + GetRecord when the
// repository lists identifiers; any other protocol error (and those, when
// no fallback applies) fails the run with the reason. A run that fails on a
// page that is not XML, on the network or on the bus keeps its checkpoint,
// so that the next run resumes where it stopped; a run that fails on the
// protocol, a token loop, a resumption token over Config.MaxTokenBytes, a
// runaway list or one of its caps (ErrRunCap) starts afresh next time. The run also stops when its feed is removed
// (ErrFeedRemoved; not resumed) or disabled (ErrFeedDisabled; resumed
// when the feed is enabled again); registered says f was just read from the
// registry (see watchRun).
func (h *Harvester) harvestOAI(ctx context.Context, f feeds.Feed, req RunRequest, registered bool) (*fairwayv1.HarvestRun, error) {
	client, err := h.oaiClient(f)
	if err != nil {
		return nil, fmt.Errorf("harvester: feed %s: %w", f.ID, err)
	}
	cp, err := h.checkpoint(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	// A feed whose source changed (URL, format, set) starts afresh: the
	// old source's token and dates mean nothing to the new one.
	sig := feedSignature(f)
	if cp.Current != nil && cp.Current.Signature != "" && cp.Current.Signature != sig {
		cp.Current = nil
	}
	if cp.LastComplete != nil && cp.LastComplete.Signature != "" && cp.LastComplete.Signature != sig {
		cp.LastComplete = nil
	}
	mark := cp.Current
	fresh := mark == nil || req.Full || req.From != "" || req.Until != "" || req.ConfirmDeletions
	if fresh {
		mark = &RunMark{RunID: watermill.NewULID(), Started: h.now().UTC(), ConfirmDeletions: req.ConfirmDeletions, Signature: sig}
	}
	log := h.log.With("feed", f.ID, "run", mark.RunID)
	run := &fairwayv1.HarvestRun{
		RunId: mark.RunID, FeedId: f.ID, Facility: f.Facility,
		Status: fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING, StartedAt: timestamppb.New(mark.Started),
	}
	runCtx, stop := h.watchRun(ctx, f, mark, registered, log)
	defer stop()
	if fresh {
		if err := h.planOAI(runCtx, client, cp, req, mark); err != nil {
			if ctx.Err() != nil {
				return run, ctx.Err()
			}
			// Nothing of this run was written: an interrupted run stays as
			// it was, unless the feed is gone or the run spent its time.
			keep := cp.Current
			if why := runStopped(ctx, runCtx); why != nil {
				err = why
				if !resumable(why) {
					keep = nil
				}
			}
			return h.failRun(ctx, f, &cp, mark, run, err, keep, log)
		}
	}
	run.From = mark.From
	log.Info("harvest started", "from", mark.From, "until", mark.Until, "full", mark.Full,
		"strategy", mark.Strategy, "track_seen", mark.TrackSeen, "resume", !fresh, "list_done", mark.ListDone)
	h.report(ctx, run)
	cp.Current = mark
	if err := h.saveCheckpoint(ctx, f.ID, cp); err != nil {
		return nil, err
	}
	if err := h.listOAI(runCtx, client, f, &cp, mark, log); err != nil {
		return h.stopRun(ctx, runCtx, f, &cp, mark, run, err, resumable, log)
	}
	return h.completeRun(ctx, f, &cp, mark, run, log)
}

// stopRun ends a run whose list stopped on err before its end: interrupted
// (ctx ended) or yielding its slot, it resumes from its checkpoint; stopped
// by runCtx (a cap, its feed removed or disabled) or failed, it fails, and
// the checkpoint keeps it for the next run when resumable says so.
func (h *Harvester) stopRun(ctx, runCtx context.Context, f feeds.Feed, cp *Checkpoint, mark *RunMark, run *fairwayv1.HarvestRun,
	err error, resumable func(error) bool, log *slog.Logger) (*fairwayv1.HarvestRun, error) {
	mark.tick()
	if ctx.Err() != nil {
		fillRun(run, mark)
		log.Info("harvest interrupted; it resumes from its checkpoint", "pages", mark.Pages)
		return run, ctx.Err()
	}
	if errors.Is(err, errYield) {
		fillRun(run, mark)
		log.Info("harvest yields its slot to another facility; it resumes from its checkpoint", "pages", mark.Pages)
		return run, err
	}
	if why := runStopped(ctx, runCtx); why != nil {
		err = why
	}
	keep := mark
	if !resumable(err) {
		keep = nil // the next run starts afresh
	}
	return h.failRun(ctx, f, cp, mark, run, err, keep, log)
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

// oaiClient returns the OAI-PMH client of a feed.
func (h *Harvester) oaiClient(f feeds.Feed) (*oaipmh.Client, error) {
	return oaipmh.NewClient(oaipmh.Config{
		BaseURL:        f.URL,
		MetadataPrefix: f.Format,
		Set:            f.Set,
		Transport:      h.transport(f),
		MaxRecordBytes: h.cfg.MaxRecordBytes,
		MaxTokenBytes:  h.cfg.MaxTokenBytes,
	}, h.clientOptions(f)...)
}

// planOAI fills in a new run: what the repository declares (Identify), the
// bounds of the list, whether it lists the whole feed and whether it must
// remember the identifiers it sees to find deletions.
func (h *Harvester) planOAI(ctx context.Context, client *oaipmh.Client, cp Checkpoint, req RunRequest, mark *RunMark) error {
	id, err := client.Identify(ctx)
	if err != nil {
		return fmt.Errorf("identify: %w", err)
	}
	mark.Granularity = strings.TrimSpace(id.Granularity)
	mark.DeletedRecord = strings.ToLower(strings.TrimSpace(id.DeletedRecord))
	mark.Strategy = h.cfg.Strategy
	if mark.Strategy == StrategyAuto {
		mark.Strategy = StrategyRecords
	}
	switch {
	case req.From != "" || req.Until != "":
		if mark.From, mark.Until, err = formatBounds(req.From, req.Until, mark.Granularity); err != nil {
			return err
		}
		mark.Window = true
	case req.Full || req.ConfirmDeletions:
	case cp.LastComplete != nil && !cp.LastComplete.ResponseDate.IsZero() && !h.fullDue(cp, mark.DeletedRecord):
		mark.From = oaipmh.FormatDate(cp.LastComplete.ResponseDate.Add(-h.cfg.Overlap), mark.Granularity)
	}
	mark.Full = mark.From == "" && mark.Until == ""
	mark.TrackSeen = mark.Full && keepsNoDeletions(mark.DeletedRecord)
	return nil
}

// keepsNoDeletions reports whether a repository's deletedRecord support
// leaves deletions to be found by comparing complete runs.
func keepsNoDeletions(deletedRecord string) bool { return deletedRecord != "persistent" }

// fullDue reports whether a scheduled run must list the whole feed to find
// the deletions a repository does not keep.
func (h *Harvester) fullDue(cp Checkpoint, deletedRecord string) bool {
	return keepsNoDeletions(deletedRecord) && h.now().Sub(cp.LastFull) >= h.cfg.FullEvery
}

// formatBounds reads the from and until of a request leniently and writes
// them at the repository's granularity; an until without a time means the
// end of that day.
func formatBounds(from, until, granularity string) (string, string, error) {
	var outFrom, outUntil string
	if from != "" {
		t, err := oaipmh.ParseDate(from)
		if err != nil {
			return "", "", fmt.Errorf("%w: from: %w", ErrInvalidRequest, err)
		}
		outFrom = oaipmh.FormatDate(t, granularity)
	}
	if until != "" {
		t, err := oaipmh.ParseDate(until)
		if err != nil {
			return "", "", fmt.Errorf("%w: until: %w", ErrInvalidRequest, err)
		}
		if s := strings.TrimSpace(until); len(s) <= len("2006-01-02") {
			t = t.AddDate(0, 0, 1).Add(-time.Second)
		}
		outUntil = oaipmh.FormatDate(t, granularity)
	}
	if outFrom != "" && outUntil != "" && outFrom > outUntil {
		return "", "", fmt.Errorf("%w: from %s is after until %s", ErrInvalidRequest, outFrom, outUntil)
	}
	return outFrom, outUntil, nil
}

// resumable reports whether a run that failed with err keeps its checkpoint:
// yes for the network, pages that are not XML, the bus and a feed disabled
// meanwhile; no for the protocol, token loops, runaway lists and caps,
// where resuming would fail again, nor for a feed removed meanwhile.
func resumable(err error) bool {
	return !errors.Is(err, oaipmh.ErrProtocol) && !errors.Is(err, oaipmh.ErrTokenLoop) &&
		!errors.Is(err, ErrRunawayList) && !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrRunCap) &&
		!errors.Is(err, ErrFeedRemoved)
}

// listOAI walks the run's list to its end, restarting the window when the
// repository rejects or expires its token, and falling back to
// ListIdentifiers + GetRecord when Config.Strategy allows it.
func (h *Harvester) listOAI(ctx context.Context, client *oaipmh.Client, f feeds.Feed, cp *Checkpoint, mark *RunMark, log *slog.Logger) error {
	var refused error // the ListRecords error a fallback answers
	for !mark.ListDone {
		if mark.Token != "" && !mark.TokenExpires.IsZero() && !h.now().Before(mark.TokenExpires) {
			why := fmt.Errorf("resumption token expired at %s", mark.TokenExpires.Format(time.RFC3339))
			if err := h.restartWindow(ctx, f, cp, mark, why, log); err != nil {
				return err
			}
		}
		startToken := mark.Token
		pages, err := h.listPass(ctx, client, f, cp, mark, log)
		switch {
		case err == nil:
			mark.ListDone, mark.Token, mark.TokenExpires = true, "", time.Time{}
			return h.saveCheckpoint(ctx, f.ID, *cp)
		case ctx.Err() != nil:
			return err
		case errors.Is(err, oaipmh.ErrBadResumptionToken) && (pages > 0 || startToken != ""):
			if rerr := h.restartWindow(ctx, f, cp, mark, err, log); rerr != nil {
				return rerr
			}
		case pages == 0 && startToken == "" && refused == nil && h.cfg.Strategy == StrategyAuto &&
			mark.Strategy == StrategyRecords && refusesListRecords(err):
			refused = err
			log.Warn("the repository refuses ListRecords; trying ListIdentifiers and GetRecord", "err", err)
			mark.Strategy = StrategyIdentifiers
			if err := h.saveCheckpoint(ctx, f.ID, *cp); err != nil {
				return err
			}
		case refused != nil && pages == 0 && startToken == "":
			return fmt.Errorf("%w (and the ListIdentifiers fallback failed: %v)", refused, err)
		default:
			return err
		}
	}
	return nil
}

// refusesListRecords reports whether err means the repository cannot serve
// ListRecords with these arguments, although it may list identifiers.
func refusesListRecords(err error) bool {
	return errors.Is(err, oaipmh.ErrBadVerb) || errors.Is(err, oaipmh.ErrBadArgument) ||
		errors.Is(err, oaipmh.ErrCannotDisseminateFormat)
}

// restartWindow starts the run's list again from its first page, with the
// same bounds, or fails when the run restarted Config.MaxRestarts times.
func (h *Harvester) restartWindow(ctx context.Context, f feeds.Feed, cp *Checkpoint, mark *RunMark, why error, log *slog.Logger) error {
	if mark.Restarts >= h.cfg.MaxRestarts {
		return fmt.Errorf("giving up after %d restarts of the list: %w", mark.Restarts, why)
	}
	mark.Restarts++
	mark.Token, mark.TokenExpires, mark.Listed, mark.ListSize, mark.EmptyPages = "", time.Time{}, 0, 0, 0
	log.Warn("restarting the list from its first page", "reason", why, "restart", mark.Restarts, "pages_so_far", mark.Pages)
	return h.saveCheckpoint(ctx, f.ID, *cp)
}

// listPass lists from the run's token (or from the start) until the end of
// the list or an error; it returns the number of pages it took.
func (h *Harvester) listPass(ctx context.Context, client *oaipmh.Client, f feeds.Feed, cp *Checkpoint, mark *RunMark, log *slog.Logger) (int, error) {
	pages := 0
	list := oaipmh.ListRequest{From: mark.From, Until: mark.Until, Set: f.Set, ResumeToken: mark.Token}
	fn := func(ctx context.Context, p *oaipmh.Page, requestURL string) error {
		pages++
		// What a page's records and reports quote of its URL is bounded.
		return h.takePage(ctx, client, f, cp, mark, p, oaipmh.ShownURL(requestURL), log)
	}
	var err error
	if mark.Strategy == StrategyIdentifiers {
		err = client.ListIdentifiers(ctx, list, fn)
	} else {
		err = client.ListRecords(ctx, list, fn)
	}
	return pages, err
}

// takePage writes the records of one page, remembers what a full run saw,
// and saves the checkpoint with the next token. requestURL is the page's
// URL as oaipmh.ShownURL quotes it (provenance, reasons, logs).
func (h *Harvester) takePage(ctx context.Context, client *oaipmh.Client, f feeds.Feed, cp *Checkpoint, mark *RunMark, p *oaipmh.Page, requestURL string, log *slog.Logger) error {
	if mark.ResponseDate.IsZero() {
		mark.ResponseDate = p.ResponseDate
	}
	listed := len(p.Records) + len(p.Oversized)
	mark.Listed += int64(listed)
	if p.Token != nil && p.Token.CompleteListSize >= 0 {
		mark.ListSize = int64(p.Token.CompleteListSize)
	}
	if mark.ListSize > 0 && mark.Listed > 2*mark.ListSize+int64(listed) {
		return fmt.Errorf("%w: %d records listed, %d announced (%s)", ErrRunawayList, mark.Listed, mark.ListSize, requestURL)
	}
	mark.Pages++
	mark.Bytes += p.Bytes
	mark.Retries += int64(p.Retries)
	page, derived, rejects := h.keyPage(p)
	var seen []string
	if mark.TrackSeen {
		seen = h.liveIdentifiers(page, derived)
	}
	if mark.Strategy == StrategyIdentifiers {
		var gone map[string]bool
		var err error
		if page, gone, err = h.getRecords(ctx, client, f, mark, page, requestURL, log); err != nil {
			return err
		}
		seen = without(seen, gone)
		// A GetRecord answer may name its record otherwise than the list
		// did: its identifier is checked again.
		var more []rejected
		page, _, more = h.keyPage(page)
		rejects = append(rejects, more...)
	}
	if err := h.rejectRecords(ctx, f, mark, rejects, requestURL, log); err != nil {
		return err
	}
	if err := h.publishPage(ctx, f, mark, page, derived, requestURL); err != nil {
		return err
	}
	if len(seen) > 0 {
		if err := h.rememberSeen(ctx, f.ID, mark.RunID, mark.Pages, seen); err != nil {
			return err
		}
	}
	mark.Token, mark.TokenExpires = "", time.Time{}
	if p.Token != nil {
		mark.Token, mark.TokenExpires = p.Token.Value, p.Token.ExpirationDate
	}
	more := mark.Token != ""
	if listed > 0 || !more {
		mark.EmptyPages = 0
	} else {
		mark.EmptyPages++
	}
	mark.tick()
	cp.Current = mark
	if more {
		if mark.EmptyPages >= h.cfg.MaxEmptyPages {
			return fmt.Errorf("%w: %d pages in a row without a record and the list goes on (%s)", ErrRunawayList, mark.EmptyPages, requestURL)
		}
		if err := checkCaps(h.limits(f), mark); err != nil {
			return err
		}
	}
	if err := h.saveCheckpoint(ctx, f.ID, *cp); err != nil {
		return err
	}
	if more && h.slots.yielding(f.ID) {
		return errYield
	}
	return nil
}

// liveIdentifiers returns the identifiers of the page's records that are not
// marked deleted, oversized ones included (they exist at the source), for
// the comparison of complete runs. Derived identifiers are left out: they
// change with the content, so a record whose content changed must not be
// taken for a record that went away. So are identifiers over the limit
// (nothing was written for them).
func (h *Harvester) liveIdentifiers(p *oaipmh.Page, derived map[string]bool) []string {
	ids := make([]string, 0, len(p.Records)+len(p.Oversized))
	for _, r := range p.Records {
		if !r.Deleted && !derived[r.Identifier] {
			ids = append(ids, r.Identifier)
		}
	}
	for _, o := range p.Oversized {
		if o.Identifier != "" && len(o.Identifier) <= h.cfg.MaxIdentifierBytes {
			ids = append(ids, o.Identifier)
		}
	}
	return ids
}

func without(ids []string, drop map[string]bool) []string {
	if len(drop) == 0 {
		return ids
	}
	out := ids[:0:0]
	for _, id := range ids {
		if !drop[id] {
			out = append(out, id)
		}
	}
	return out
}

// rejectRecords reports the records of a page that cannot be written
// (keyPage): counted as rejected, logged and dead-lettered with the feed,
// the URL and the reason. The message id holds no identifier.
func (h *Harvester) rejectRecords(ctx context.Context, f feeds.Feed, mark *RunMark, rejects []rejected, requestURL string, log *slog.Logger) error {
	if len(rejects) == 0 {
		return nil
	}
	events := make([]bus.Event, 0, len(rejects))
	for i, x := range rejects {
		r := x.rec
		mark.Rejected++
		reason := fmt.Sprintf("%s (feed %s, %s, page %d)", x.reason, f.ID, requestURL, mark.Pages)
		log.Warn("record rejected", "reason", x.reason, "url", requestURL, "deleted", r.Deleted, "datestamp", r.Datestamp)
		stub, err := proto.Marshal(&fairwayv1.RawRecord{
			FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: stubID(r.Identifier),
			Datestamp: r.Datestamp, MetadataFormat: f.Format, Deleted: r.Deleted, Payload: r.Metadata, SetSpecs: r.SetSpecs,
			Provenance: &fairwayv1.Provenance{FeedId: f.ID, RunId: mark.RunID, RequestUrl: requestURL,
				HarvestedAt: timestamppb.New(h.now().UTC()), Page: int32(mark.Pages)},
		})
		if err != nil {
			return fmt.Errorf("encode a rejected record: %w", err)
		}
		events = append(events, bus.Event{
			Stream: bus.DeadLetters, Key: Origin,
			Hash:     mark.RunID + "." + strconv.FormatInt(mark.Pages, 10) + ".rejected." + strconv.Itoa(i),
			Payload:  stub,
			Metadata: map[string]string{bus.HeaderReason: reason, bus.HeaderStage: Origin, bus.HeaderCorrelation: mark.RunID},
		})
	}
	return h.bus.Publish(ctx, Origin, events...)
}

// getRecords turns a ListIdentifiers page into a page of records: a deleted
// header is its own record, every other header is fetched with GetRecord
// (Config.GetRecordParallel at a time). A record too large goes to
// Oversized; a record the repository no longer has (idDoesNotExist) or
// cannot give in the feed's format is rejected and logged, and the first is
// returned in gone. Any other failure fails the page.
func (h *Harvester) getRecords(ctx context.Context, client *oaipmh.Client, f feeds.Feed, mark *RunMark, p *oaipmh.Page, requestURL string, log *slog.Logger) (*oaipmh.Page, map[string]bool, error) {
	type result struct {
		rec  *oaipmh.Record
		over *oaipmh.OversizedRecord
		skip string // why the record is left out
		gone bool
		err  error
	}
	results := make([]result, len(p.Records))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, h.cfg.GetRecordParallel)
	var wg sync.WaitGroup
	for i, hd := range p.Records {
		if hd.Deleted {
			results[i].rec = &p.Records[i]
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(i int, id string) {
			defer wg.Done()
			defer func() { <-sem }()
			rec, err := client.GetRecord(ctx, id)
			var tooLarge *oaipmh.RecordTooLargeError
			switch {
			case err == nil:
				if strings.TrimSpace(rec.Identifier) == "" {
					rec.Identifier = id // the identifier it was asked by
				}
				results[i].rec = rec
			case errors.As(err, &tooLarge):
				results[i].over = &oaipmh.OversizedRecord{Identifier: id, Datestamp: tooLarge.Datestamp, Size: tooLarge.Size}
			case errors.Is(err, oaipmh.ErrIDDoesNotExist):
				results[i].skip, results[i].gone = err.Error(), true
			case errors.Is(err, oaipmh.ErrCannotDisseminateFormat):
				results[i].skip = err.Error()
			default:
				results[i].err = err
				cancel()
			}
		}(i, hd.Identifier)
	}
	wg.Wait()
	out := *p
	out.Records = make([]oaipmh.Record, 0, len(p.Records))
	out.Oversized = append([]oaipmh.OversizedRecord(nil), p.Oversized...)
	var gone map[string]bool
	for i, r := range results {
		switch {
		case r.err != nil:
			return nil, nil, fmt.Errorf("GetRecord %s (listed by %s): %w", p.Records[i].Identifier, requestURL, r.err)
		case r.rec != nil:
			out.Records = append(out.Records, *r.rec)
		case r.over != nil:
			out.Oversized = append(out.Oversized, *r.over)
		default:
			mark.Rejected++
			log.Warn("record listed but not retrievable", "identifier", p.Records[i].Identifier, "url", requestURL, "reason", r.skip)
			if r.gone {
				if gone == nil {
					gone = map[string]bool{}
				}
				gone[p.Records[i].Identifier] = true
			}
		}
	}
	return &out, gone, nil
}

// failRun reports a failed run. keep is the run the checkpoint keeps for the
// next run to resume (nil: the next run starts afresh).
func (h *Harvester) failRun(ctx context.Context, f feeds.Feed, cp *Checkpoint, mark *RunMark, run *fairwayv1.HarvestRun, err error, keep *RunMark, log *slog.Logger) (*fairwayv1.HarvestRun, error) {
	mark.tick()
	fillRun(run, mark)
	run.Status, run.Error = fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED, err.Error()
	run.FinishedAt = timestamppb.New(h.now().UTC())
	cp.Current = keep
	if !stopsTheFeed(err) {
		cp.Failures++
		cp.FailedAt = h.now().UTC()
	}
	if serr := h.saveCheckpoint(ctx, f.ID, *cp); serr != nil {
		log.Warn("cannot save the checkpoint of a failed run", "err", serr)
	}
	h.report(ctx, run)
	log.Warn("harvest failed", "err", err, "resumable", keep != nil, "pages", mark.Pages, "records", mark.Records,
		"failures", cp.Failures, "retry_after", h.failureBackoff(cp.Failures))
	return run, fmt.Errorf("harvester: feed %s: %w", f.ID, err)
}

// completeRun finishes a run whose list reached its end: it reports a list
// shorter than announced, reconciles deletions after a full run of a
// repository that keeps none, and records the run as the last complete one.
func (h *Harvester) completeRun(ctx context.Context, f feeds.Feed, cp *Checkpoint, mark *RunMark, run *fairwayv1.HarvestRun, log *slog.Logger) (*fairwayv1.HarvestRun, error) {
	mark.tick()
	truncated := mark.ListSize > 0 && mark.Listed < mark.ListSize
	if truncated {
		addWarning(mark, fmt.Sprintf("list truncated: the repository announced %d records (completeListSize) but listed %d", mark.ListSize, mark.Listed))
		log.Warn("list truncated", "announced", mark.ListSize, "listed", mark.Listed)
	}
	if mark.TrackSeen {
		if truncated {
			addWarning(mark, "deletions not reconciled: the list is incomplete")
			if err := h.forgetRunSeen(ctx, f.ID); err != nil {
				log.Warn("cannot drop the identifiers of the run", "err", err)
			}
		} else {
			seen, err := h.loadSeen(ctx, f.ID, mark.RunID)
			if err == nil {
				_, _, err = h.reconcile(ctx, f, mark, seen)
			}
			if err != nil {
				if ctx.Err() != nil {
					fillRun(run, mark)
					return run, ctx.Err()
				}
				return h.failRun(ctx, f, cp, mark, run, fmt.Errorf("reconciling deletions: %w", err), mark, log)
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
		cp.LastComplete = mark
	}
	cp.Current = nil
	if mark.Full {
		cp.LastFull = mark.Finished
	}
	cp.Failures, cp.FailedAt = 0, time.Time{}
	if err := h.saveCheckpoint(ctx, f.ID, *cp); err != nil {
		fillRun(run, mark)
		return run, err
	}
	fillRun(run, mark)
	run.FinishedAt = timestamppb.New(mark.Finished)
	run.Status, run.Error = fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE, mark.Warning
	h.report(ctx, run)
	log.Info("harvest complete", "pages", run.Pages, "records", run.Records, "deleted", run.Deleted,
		"reconciled", mark.Reconciled, "rejected", run.Rejected, "restarts", mark.Restarts, "warning", mark.Warning)
	return run, nil
}

// fillRun copies the run's counters into its report.
func fillRun(run *fairwayv1.HarvestRun, mark *RunMark) {
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
