package harvester

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/oaipmh"
	"github.com/panosc/fairway/pkg/scicat"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// scicatSource lists the published documents of a SciCat catalogue: the
// published datasets, or the published data when the feed's format says
// so (see scicat.ParseCollection).
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
type scicatSource struct {
	client *scicat.Client
	coll   scicat.Collection
	// offset is where the list starts: 0, or where a resumed run lists
	// again.
	offset int
}

// newSciCatSource returns the source of a SciCat feed.
func (h *Harvester) newSciCatSource(f feeds.Feed) (*scicatSource, error) {
	coll, err := scicat.ParseCollection(f.Format)
	if err != nil {
		return nil, err
	}
	client, err := h.scicatClient(f)
	if err != nil {
		return nil, err
	}
	return &scicatSource{client: client, coll: coll}, nil
}

// resume goes on with the checkpoint's run unless renew, when it is a
// SciCat run (a full one that tracks what it sees) with a readable offset.
func (s *scicatSource) resume(r *run, renew bool) *RunMark {
	mark := r.cp.Current
	if renew || mark == nil || !mark.Full || !mark.TrackSeen {
		return nil
	}
	offset, err := resumeOffset(mark.Token, s.client.Config().PageSize)
	if err != nil {
		r.h.log.Warn("cannot resume the interrupted run; starting afresh", "feed", r.feed.ID, "run", mark.RunID, "err", err)
		return nil
	}
	s.offset = offset
	return mark
}

// plan makes a new run a full one that tracks what it sees; from and until
// do not apply.
func (s *scicatSource) plan(_ context.Context, r *run) error {
	r.mark.Full, r.mark.TrackSeen = true, true
	if r.req.From != "" || r.req.Until != "" {
		addWarning(r.mark, "from and until ignored: a SciCat feed is always harvested in full")
		r.log.Warn("from and until do not apply to a SciCat feed; harvesting it in full", "from", r.req.From, "until", r.req.Until)
	}
	return nil
}

func (s *scicatSource) describe(*run) []any {
	return []any{"collection", s.coll, "offset", s.offset}
}

// list lists the collection from the run's offset, page by page.
func (s *scicatSource) list(ctx context.Context, r *run) error {
	return s.client.List(ctx, scicat.ListRequest{Collection: s.coll, Offset: s.offset}, func(ctx context.Context, p *scicat.Page) error {
		return s.takePage(ctx, r, p)
	})
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

// resumable reports whether a SciCat run that failed with err keeps
// its checkpoint: yes for the network, the bus and a feed disabled
// meanwhile, no when the API itself refused or broke or the run went past a
// cap (resuming would fail again), nor for a feed removed meanwhile.
func (s *scicatSource) resumable(err error) bool {
	for _, e := range []error{fetch.ErrHTTPStatus, fetch.ErrMalformedResponse, fetch.ErrPageTooLarge,
		scicat.ErrPagingIgnored, scicat.ErrNoAPI, ErrRunCap, ErrFeedRemoved} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// takePage writes the documents of one page, remembers their identifiers
// for the comparison of complete runs, and saves the checkpoint with the
// offset of the next page.
func (s *scicatSource) takePage(ctx context.Context, r *run, p *scicat.Page) error {
	mark := r.mark
	// What the page's records and reports quote of its URL is bounded.
	p.RequestURL = oaipmh.ShownURL(p.RequestURL)
	mark.Pages++
	mark.Listed += int64(p.Next - p.Offset)
	for _, d := range p.Documents {
		mark.Bytes += int64(len(d))
	}
	seen, err := s.publishPage(ctx, r, p)
	if err != nil {
		return err
	}
	if err := r.rememberSeen(ctx, seen); err != nil {
		return err
	}
	mark.Token = strconv.Itoa(p.Next)
	return r.pageDone(ctx, !p.Last)
}

// publishPage writes one raw record per document of the page and
// dead-letters the documents it cannot write (no identifier, an identifier
// over Config.MaxIdentifierBytes, too large). It
// returns the identifiers of the documents the source has, written or not.
func (s *scicatSource) publishPage(ctx context.Context, r *run, p *scicat.Page) ([]string, error) {
	h, f, mark := r.h, r.feed, r.mark
	prov := r.provenance(p.RequestURL)
	seen := make([]string, 0, len(p.Documents))
	events := make([]bus.Event, 0, len(p.Documents))
	for i, doc := range p.Documents {
		id, err := scicat.DocumentID(s.coll, doc)
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
			r.log.Warn("document rejected", "identifier", shownID(id), "size", len(doc), "url", p.RequestURL, "reason", reason)
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
			events = append(events, r.deadLetter(mark.RunID+"."+strconv.FormatInt(mark.Pages, 10)+".scicat."+strconv.Itoa(i), b, reason))
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
		events = append(events, r.rawEvent(id, payloadHash(doc), b, true))
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
