package harvester

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
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

// oaiSource lists an OAI-PMH repository: incremental from the last
// complete run unless the request says otherwise (or a full run is due to
// find deletions), resuming an interrupted run from its last page.
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
// runaway list or one of its caps (ErrRunCap) starts afresh next time. The
// run also stops when its feed is removed (ErrFeedRemoved; not resumed) or
// disabled (ErrFeedDisabled; resumed when the feed is enabled again).
type oaiSource struct {
	client *oaipmh.Client
}

// newOAISource returns the source of an OAI-PMH feed.
func (h *Harvester) newOAISource(f feeds.Feed) (*oaiSource, error) {
	client, err := h.oaiClient(f)
	if err != nil {
		return nil, err
	}
	return &oaiSource{client: client}, nil
}

// resume goes on with the checkpoint's run unless renew. A feed whose
// source changed (URL, format, set) starts afresh: the old source's token
// and dates mean nothing to the new one, so its runs are dropped from the
// checkpoint.
func (s *oaiSource) resume(r *run, renew bool) *RunMark {
	sig := feedSignature(r.feed)
	if cur := r.cp.Current; cur != nil && cur.Signature != "" && cur.Signature != sig {
		r.cp.Current = nil
	}
	if last := r.cp.LastComplete; last != nil && last.Signature != "" && last.Signature != sig {
		r.cp.LastComplete = nil
	}
	if renew {
		return nil
	}
	return r.cp.Current
}

func (s *oaiSource) describe(r *run) []any {
	m := r.mark
	return []any{"from", m.From, "until", m.Until, "full", m.Full, "strategy", m.Strategy, "track_seen", m.TrackSeen}
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

// plan fills in a new run: the feed's signature, what the repository
// declares (Identify), the bounds of the list, whether it lists the whole
// feed and whether it must remember the identifiers it sees to find
// deletions.
func (s *oaiSource) plan(ctx context.Context, r *run) error {
	h, cp, req, mark := r.h, r.cp, r.req, r.mark
	mark.Signature = feedSignature(r.feed)
	id, err := s.client.Identify(ctx)
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
func (s *oaiSource) resumable(err error) bool {
	return !errors.Is(err, oaipmh.ErrProtocol) && !errors.Is(err, oaipmh.ErrTokenLoop) &&
		!errors.Is(err, ErrRunawayList) && !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrRunCap) &&
		!errors.Is(err, ErrFeedRemoved)
}

// list walks the run's list to its end, restarting the window when the
// repository rejects or expires its token, and falling back to
// ListIdentifiers + GetRecord when Config.Strategy allows it.
func (s *oaiSource) list(ctx context.Context, r *run) error {
	h, mark := r.h, r.mark
	var refused error // the ListRecords error a fallback answers
	for {
		if mark.Token != "" && !mark.TokenExpires.IsZero() && !h.now().Before(mark.TokenExpires) {
			why := fmt.Errorf("resumption token expired at %s", mark.TokenExpires.Format(time.RFC3339))
			if err := s.restartWindow(ctx, r, why); err != nil {
				return err
			}
		}
		startToken := mark.Token
		pages, err := s.listPass(ctx, r)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return err
		case errors.Is(err, oaipmh.ErrBadResumptionToken) && (pages > 0 || startToken != ""):
			if rerr := s.restartWindow(ctx, r, err); rerr != nil {
				return rerr
			}
		case pages == 0 && startToken == "" && refused == nil && h.cfg.Strategy == StrategyAuto &&
			mark.Strategy == StrategyRecords && refusesListRecords(err):
			refused = err
			r.log.Warn("the repository refuses ListRecords; trying ListIdentifiers and GetRecord", "err", err)
			mark.Strategy = StrategyIdentifiers
			if err := r.save(ctx); err != nil {
				return err
			}
		case refused != nil && pages == 0 && startToken == "":
			return fmt.Errorf("%w (and the ListIdentifiers fallback failed: %v)", refused, err)
		default:
			return err
		}
	}
}

// refusesListRecords reports whether err means the repository cannot serve
// ListRecords with these arguments, although it may list identifiers.
func refusesListRecords(err error) bool {
	return errors.Is(err, oaipmh.ErrBadVerb) || errors.Is(err, oaipmh.ErrBadArgument) ||
		errors.Is(err, oaipmh.ErrCannotDisseminateFormat)
}

// restartWindow starts the run's list again from its first page, with the
// same bounds, or fails when the run restarted Config.MaxRestarts times.
func (s *oaiSource) restartWindow(ctx context.Context, r *run, why error) error {
	mark := r.mark
	if mark.Restarts >= r.h.cfg.MaxRestarts {
		return fmt.Errorf("giving up after %d restarts of the list: %w", mark.Restarts, why)
	}
	mark.Restarts++
	mark.Token, mark.TokenExpires, mark.Listed, mark.ListSize, mark.EmptyPages = "", time.Time{}, 0, 0, 0
	r.log.Warn("restarting the list from its first page", "reason", why, "restart", mark.Restarts, "pages_so_far", mark.Pages)
	return r.save(ctx)
}

// listPass lists from the run's token (or from the start) until the end of
// the list or an error; it returns the number of pages it took.
func (s *oaiSource) listPass(ctx context.Context, r *run) (int, error) {
	mark := r.mark
	pages := 0
	list := oaipmh.ListRequest{From: mark.From, Until: mark.Until, Set: r.feed.Set, ResumeToken: mark.Token}
	fn := func(ctx context.Context, p *oaipmh.Page, requestURL string) error {
		pages++
		// What a page's records and reports quote of its URL is bounded.
		return s.takePage(ctx, r, p, oaipmh.ShownURL(requestURL))
	}
	var err error
	if mark.Strategy == StrategyIdentifiers {
		err = s.client.ListIdentifiers(ctx, list, fn)
	} else {
		err = s.client.ListRecords(ctx, list, fn)
	}
	return pages, err
}

// takePage writes the records of one page, remembers what a full run saw,
// and saves the checkpoint with the next token. requestURL is the page's
// URL as oaipmh.ShownURL quotes it (provenance, reasons, logs).
func (s *oaiSource) takePage(ctx context.Context, r *run, p *oaipmh.Page, requestURL string) error {
	h, mark := r.h, r.mark
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
		if page, gone, err = s.getRecords(ctx, r, page, requestURL); err != nil {
			return err
		}
		seen = without(seen, gone)
		// A GetRecord answer may name its record otherwise than the list
		// did: its identifier is checked again.
		var more []rejected
		page, _, more = h.keyPage(page)
		rejects = append(rejects, more...)
	}
	if err := s.rejectRecords(ctx, r, rejects, requestURL); err != nil {
		return err
	}
	if err := s.publishPage(ctx, r, page, derived, requestURL); err != nil {
		return err
	}
	if err := r.rememberSeen(ctx, seen); err != nil {
		return err
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
	if more && mark.EmptyPages >= h.cfg.MaxEmptyPages {
		mark.tick()
		return fmt.Errorf("%w: %d pages in a row without a record and the list goes on (%s)", ErrRunawayList, mark.EmptyPages, requestURL)
	}
	return r.pageDone(ctx, more)
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
func (s *oaiSource) rejectRecords(ctx context.Context, r *run, rejects []rejected, requestURL string) error {
	if len(rejects) == 0 {
		return nil
	}
	f, mark := r.feed, r.mark
	events := make([]bus.Event, 0, len(rejects))
	for i, x := range rejects {
		rec := x.rec
		mark.Rejected++
		reason := fmt.Sprintf("%s (feed %s, %s, page %d)", x.reason, f.ID, requestURL, mark.Pages)
		r.log.Warn("record rejected", "reason", x.reason, "url", requestURL, "deleted", rec.Deleted, "datestamp", rec.Datestamp)
		stub, err := proto.Marshal(&fairwayv1.RawRecord{
			FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: stubID(rec.Identifier),
			Datestamp: rec.Datestamp, MetadataFormat: f.Format, Deleted: rec.Deleted, Payload: rec.Metadata, SetSpecs: rec.SetSpecs,
			Provenance: r.provenance(requestURL),
		})
		if err != nil {
			return fmt.Errorf("encode a rejected record: %w", err)
		}
		hash := mark.RunID + "." + strconv.FormatInt(mark.Pages, 10) + ".rejected." + strconv.Itoa(i)
		events = append(events, r.deadLetter(hash, stub, reason))
	}
	return r.h.bus.Publish(ctx, Origin, events...)
}

// getRecords turns a ListIdentifiers page into a page of records: a deleted
// header is its own record, every other header is fetched with GetRecord
// (Config.GetRecordParallel at a time). A record too large goes to
// Oversized; a record the repository no longer has (idDoesNotExist) or
// cannot give in the feed's format is rejected and logged, and the first is
// returned in gone. Any other failure fails the page.
func (s *oaiSource) getRecords(ctx context.Context, r *run, p *oaipmh.Page, requestURL string) (*oaipmh.Page, map[string]bool, error) {
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
	sem := make(chan struct{}, r.h.cfg.GetRecordParallel)
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
			rec, err := s.client.GetRecord(ctx, id)
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
	for i, res := range results {
		switch {
		case res.err != nil:
			return nil, nil, fmt.Errorf("GetRecord %s (listed by %s): %w", p.Records[i].Identifier, requestURL, res.err)
		case res.rec != nil:
			out.Records = append(out.Records, *res.rec)
		case res.over != nil:
			out.Oversized = append(out.Oversized, *res.over)
		default:
			r.mark.Rejected++
			r.log.Warn("record listed but not retrievable", "identifier", p.Records[i].Identifier, "url", requestURL, "reason", res.skip)
			if res.gone {
				if gone == nil {
					gone = map[string]bool{}
				}
				gone[p.Records[i].Identifier] = true
			}
		}
	}
	return &out, gone, nil
}
