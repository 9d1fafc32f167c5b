package harvester

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/oaipmh"
	"github.com/panosc/fairway/pkg/scicat"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// harvestSciCat harvests the published documents of a SciCat catalogue:
// the published datasets, or the published data when the feed's format
// says so (see scicat.ParseCollection).
//
// SciCat's dates cannot be trusted to find what changed, so every run lists
// the whole catalogue. Each document is written as a raw record exactly as
// the API sent it (metadata format "scicat", source identifier its pid or
// DOI), with the hash of its bytes as content hash and SkipUnchanged set:
// a document that did not change since it was last written is dropped by
// the bus and does not ripple through the pipeline. Deletions are found by
// comparing complete runs (see reconcile, whose guard holds a run that
// would delete too much).
//
// The checkpoint is saved after every page with the offset of the next
// page; an interrupted run resumes one page before that offset, so that
// documents shifted by removals at the source while it was stopped are
// still listed. A run that fails on the network or the bus keeps its
// checkpoint; one that fails on the API (an HTTP error, a response that is
// not a JSON array, a server that ignores paging) or on one of its caps
// (ErrRunCap) starts afresh next time. A run whose feed is removed or
// disabled meanwhile stops as an OAI-PMH run does.
func (h *Harvester) harvestSciCat(ctx context.Context, f feeds.Feed, req RunRequest, registered bool) (*fairwayv1.HarvestRun, error) {
	coll, err := scicat.ParseCollection(f.Format)
	if err != nil {
		return nil, fmt.Errorf("harvester: feed %s: %w", f.ID, err)
	}
	client, err := h.scicatClient(f)
	if err != nil {
		return nil, fmt.Errorf("harvester: feed %s: %w", f.ID, err)
	}
	cp, err := h.checkpoint(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	mark := cp.Current
	// A run is resumed only when it is a SciCat run (a full one that tracks
	// what it sees) with a readable offset.
	fresh := mark == nil || !mark.Full || !mark.TrackSeen || req.Full || req.From != "" || req.Until != "" || req.ConfirmDeletions
	offset := 0
	if !fresh {
		if offset, err = resumeOffset(mark.Token, client.Config().PageSize); err != nil {
			h.log.Warn("cannot resume the interrupted run; starting afresh", "feed", f.ID, "run", mark.RunID, "err", err)
			fresh, offset = true, 0
		}
	}
	if fresh {
		mark = &RunMark{
			RunID: watermill.NewULID(), Started: h.now().UTC(), ConfirmDeletions: req.ConfirmDeletions,
			Full: true, TrackSeen: true,
		}
	}
	log := h.log.With("feed", f.ID, "run", mark.RunID)
	if req.From != "" || req.Until != "" {
		addWarning(mark, "from and until ignored: a SciCat feed is always harvested in full")
		log.Warn("from and until do not apply to a SciCat feed; harvesting it in full", "from", req.From, "until", req.Until)
	}
	run := &fairwayv1.HarvestRun{
		RunId: mark.RunID, FeedId: f.ID, Facility: f.Facility,
		Status: fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING, StartedAt: timestamppb.New(mark.Started),
	}
	log.Info("harvest started", "collection", coll, "resume", !fresh, "offset", offset, "list_done", mark.ListDone)
	h.report(ctx, run)
	cp.Current = mark
	if err := h.saveCheckpoint(ctx, f.ID, cp); err != nil {
		return nil, err
	}
	runCtx, stop := h.watchRun(ctx, f, mark, registered, log)
	defer stop()
	if !mark.ListDone {
		err := client.List(runCtx, scicat.ListRequest{Collection: coll, Offset: offset}, func(ctx context.Context, p *scicat.Page) error {
			return h.takeSciCatPage(ctx, f, &cp, mark, coll, p, log)
		})
		if err != nil {
			return h.stopRun(ctx, runCtx, f, &cp, mark, run, err, scicatResumable, log)
		}
		mark.ListDone, mark.Token = true, ""
		if err := h.saveCheckpoint(ctx, f.ID, cp); err != nil {
			return nil, err
		}
	}
	return h.completeRun(ctx, f, &cp, mark, run, log)
}

// scicatClient returns the SciCat client of a feed.
func (h *Harvester) scicatClient(f feeds.Feed) (*scicat.Client, error) {
	return scicat.NewClient(scicat.Config{BaseURL: f.URL, Token: f.Token.Reveal(), Transport: h.transport(f)}, h.clientOptions(f)...)
}

// resumeOffset returns where an interrupted run lists again: one page
// before the offset its checkpoint saved (token), so that documents shifted
// towards the start by removals at the source are not skipped.
func resumeOffset(token string, pageSize int) (int, error) {
	if token == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(token)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("offset %q: not a count", token)
	}
	return max(n-pageSize, 0), nil
}

// scicatResumable reports whether a SciCat run that failed with err keeps
// its checkpoint: yes for the network, the bus and a feed disabled
// meanwhile, no when the API itself refused or broke or the run went past a
// cap (resuming would fail again), nor for a feed removed meanwhile.
func scicatResumable(err error) bool {
	for _, e := range []error{fetch.ErrHTTPStatus, fetch.ErrMalformedResponse, fetch.ErrPageTooLarge,
		scicat.ErrPagingIgnored, scicat.ErrNoAPI, ErrRunCap, ErrFeedRemoved} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// takeSciCatPage writes the documents of one page, remembers their
// identifiers for the comparison of complete runs, and saves the checkpoint
// with the offset of the next page.
func (h *Harvester) takeSciCatPage(ctx context.Context, f feeds.Feed, cp *Checkpoint, mark *RunMark, coll scicat.Collection, p *scicat.Page, log *slog.Logger) error {
	// What the page's records and reports quote of its URL is bounded.
	p.RequestURL = oaipmh.ShownURL(p.RequestURL)
	mark.Pages++
	mark.Listed += int64(p.Next - p.Offset)
	for _, d := range p.Documents {
		mark.Bytes += int64(len(d))
	}
	seen, err := h.publishSciCatPage(ctx, f, mark, coll, p, log)
	if err != nil {
		return err
	}
	if len(seen) > 0 {
		if err := h.rememberSeen(ctx, f.ID, mark.RunID, mark.Pages, seen); err != nil {
			return err
		}
	}
	mark.Token = strconv.Itoa(p.Next)
	mark.tick()
	cp.Current = mark
	if !p.Last {
		if err := checkCaps(h.limits(f), mark); err != nil {
			return err
		}
	}
	if err := h.saveCheckpoint(ctx, f.ID, *cp); err != nil {
		return err
	}
	if !p.Last && h.slots.yielding(f.ID) {
		return errYield
	}
	return nil
}

// publishSciCatPage writes one raw record per document of the page and
// dead-letters the documents it cannot write (no identifier, an identifier
// over Config.MaxIdentifierBytes, too large). It
// returns the identifiers of the documents the source has, written or not.
func (h *Harvester) publishSciCatPage(ctx context.Context, f feeds.Feed, mark *RunMark, coll scicat.Collection, p *scicat.Page, log *slog.Logger) ([]string, error) {
	prov := &fairwayv1.Provenance{
		FeedId: f.ID, RunId: mark.RunID, RequestUrl: p.RequestURL,
		HarvestedAt: timestamppb.New(h.now().UTC()), Page: int32(mark.Pages),
	}
	seen := make([]string, 0, len(p.Documents))
	events := make([]bus.Event, 0, len(p.Documents))
	for i, doc := range p.Documents {
		id, err := scicat.DocumentID(coll, doc)
		reason := ""
		switch {
		case err != nil:
			reason = fmt.Sprintf("document %d of the page cannot be keyed: %v (feed %s, %s)", p.Offset+i, err, f.ID, p.RequestURL)
		case len(id) > h.cfg.MaxIdentifierBytes:
			// Nothing is written for it: it is not remembered as seen.
			reason = fmt.Sprintf("document %d of the page: identifier %s is %d bytes, over the limit of %d (feed %s, %s)",
				p.Offset+i, shownID(id), len(id), h.cfg.MaxIdentifierBytes, f.ID, p.RequestURL)
		case len(doc) > h.cfg.MaxRecordBytes:
			seen = append(seen, id) // it exists at the source
			reason = fmt.Sprintf("document %s is %d bytes, over the limit of %d (feed %s, %s)", id, len(doc), h.cfg.MaxRecordBytes, f.ID, p.RequestURL)
		}
		if reason != "" {
			mark.Rejected++
			log.Warn("document rejected", "identifier", shownID(id), "size", len(doc), "url", p.RequestURL, "reason", reason)
			dead := &fairwayv1.RawRecord{
				FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: stubID(id),
				MetadataFormat: scicat.MetadataFormat, Provenance: prov,
			}
			if len(doc) <= h.cfg.MaxRecordBytes {
				dead.Payload = doc
			}
			b, err := proto.Marshal(dead)
			if err != nil {
				return nil, fmt.Errorf("encode rejected document %d: %w", p.Offset+i, err)
			}
			events = append(events, bus.Event{
				Stream: bus.DeadLetters, Key: Origin,
				Hash:     mark.RunID + "." + strconv.FormatInt(mark.Pages, 10) + ".scicat." + strconv.Itoa(i),
				Payload:  b,
				Metadata: map[string]string{bus.HeaderReason: reason, bus.HeaderStage: Origin, bus.HeaderCorrelation: mark.RunID},
			})
			continue
		}
		seen = append(seen, id)
		b, err := proto.Marshal(&fairwayv1.RawRecord{
			FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: id,
			MetadataFormat: scicat.MetadataFormat, Payload: doc, Provenance: prov,
		})
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", id, err)
		}
		events = append(events, bus.Event{
			Stream: bus.Raw, Key: f.ID + ":" + id, Hash: payloadHash(doc), Payload: b,
			Metadata:      map[string]string{bus.HeaderCorrelation: mark.RunID},
			SkipUnchanged: true,
		})
		mark.Records++
	}
	if err := h.bus.PublishBatch(ctx, Origin, events); err != nil {
		return nil, err
	}
	return seen, nil
}

// payloadHash identifies a document's content: the hash of its bytes as
// received.
func payloadHash(doc []byte) string {
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:16])
}
