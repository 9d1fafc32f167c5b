package harvester

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/oaipmh"
	"github.com/panosc/fairway/pkg/scicat"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// idSet is a set of source identifiers.
type idSet map[string]struct{}

// baseline is the content of a feed's "<feed>/complete" object.
type baseline struct {
	// RunID of the complete full run that saw the identifiers.
	RunID string `json:"run_id"`
	// Signature of the feed at the time (kind, URL, format, set): runs of
	// a feed whose signature changed are not compared.
	Signature string `json:"signature"`
	// Saved is when the baseline was stored.
	Saved time.Time `json:"saved"`
	// IDs are the live source identifiers the run saw, sorted.
	IDs []string `json:"ids"`
}

func completeObject(feedID string) string { return feedID + "/complete" }
func runPrefix(feedID string) string      { return feedID + "/run/" }
func pageObject(feedID, runID string, page int64) string {
	return fmt.Sprintf("%s%s/%09d", runPrefix(feedID), runID, page)
}

// feedSignature identifies what a feed lists.
func feedSignature(f feeds.Feed) string {
	return strings.Join([]string{f.Kind, f.URL, f.Format, f.Set}, "\n")
}

// seen returns the object store of seen identifiers.
func (h *Harvester) seen() *bus.Objects { return h.bus.Objects(bus.ObjectStoreSeen) }

// rememberSeen stores the identifiers page n of a full run saw, before the
// page's checkpoint is saved, so that loadSeen finds them after a crash. A
// page stored again (a page harvested again after a restart) is replaced.
func (h *Harvester) rememberSeen(ctx context.Context, feedID, runID string, page int64, ids []string) error {
	st := h.seen()
	b, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("harvester: seen identifiers of %s: %w", feedID, err)
	}
	if err := st.Put(ctx, pageObject(feedID, runID, page), b, ""); err != nil {
		return fmt.Errorf("harvester: seen identifiers of %s: %w", feedID, err)
	}
	return nil
}

// loadSeen returns every identifier rememberSeen stored for a run.
func (h *Harvester) loadSeen(ctx context.Context, feedID, runID string) (idSet, error) {
	st := h.seen()
	names, err := st.Names(ctx, runPrefix(feedID)+runID+"/")
	if err != nil {
		return nil, err
	}
	seen := idSet{}
	for _, name := range names {
		b, err := st.Get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("harvester: seen identifiers %s: %w", name, err)
		}
		var ids []string
		if err := json.Unmarshal(b, &ids); err != nil {
			return nil, fmt.Errorf("harvester: seen identifiers %s: %w", name, err)
		}
		for _, id := range ids {
			seen[id] = struct{}{}
		}
	}
	return seen, nil
}

// forgetRunSeen drops the per-page identifiers of every run of a feed.
func (h *Harvester) forgetRunSeen(ctx context.Context, feedID string) error {
	st := h.seen()
	names, err := st.Names(ctx, runPrefix(feedID))
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := st.Delete(ctx, name); err != nil && !errors.Is(err, bus.ErrNotFound) {
			return fmt.Errorf("harvester: drop %s: %w", name, err)
		}
	}
	return nil
}

func (h *Harvester) loadBaseline(ctx context.Context, st *bus.Objects, feedID string) (*baseline, error) {
	b, err := st.Get(ctx, completeObject(feedID))
	if errors.Is(err, bus.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("harvester: identifiers of the last full run of %s: %w", feedID, err)
	}
	var base baseline
	if err := json.Unmarshal(b, &base); err != nil {
		return nil, fmt.Errorf("harvester: identifiers of the last full run of %s: %w", feedID, err)
	}
	return &base, nil
}

// reconcile finds the deletions of a repository that keeps none, by
// comparing complete full runs. Call it once the run has listed the whole
// feed (no from, no until) to its end, with seen holding every live source
// identifier the run saw (loadSeen returns what rememberSeen stored page by
// page). The OAI-PMH and SciCat harvests share it.
//
// It compares seen with the identifiers of the feed's last complete full
// run, kept in the bus.ObjectStoreSeen object store:
//   - for every identifier that disappeared, it writes a deletion raw record
//     (Deleted set, no payload, key "<feed id>:<identifier>" as for harvested
//     records) and counts it in mark.Deleted and mark.Reconciled;
//   - when the deletions would exceed Config.MaxDeleteShare of the last full
//     run's identifiers, and mark.ConfirmDeletions is not set, nothing is
//     deleted: the run is held — reported in mark.Warning and the log, with
//     the counts — and the last full run stays the reference, so that the
//     next full run compares with it again (a full run requested with
//     RunRequest.ConfirmDeletions applies the deletions);
//   - otherwise seen becomes the reference for the next full run.
//
// The first full run of a feed, or the first after its kind, URL, format or
// set changed, only stores its identifiers. Reconciling is idempotent: a run
// resumed after a crash writes the same deletions again (message ids drop
// them) or finds that it already stored its identifiers. The per-page
// identifiers of the feed's runs are dropped at the end.
func (r *run) reconcile(ctx context.Context, seen idSet) (deleted int64, held bool, err error) {
	h, f, mark, log := r.h, r.feed, r.mark, r.log
	st := h.seen()
	base, err := h.loadBaseline(ctx, st, f.ID)
	if err != nil {
		return 0, false, err
	}
	sig := feedSignature(f)
	switch {
	case base != nil && base.RunID == mark.RunID:
		// This run stored its identifiers before a crash: nothing is left
		// to compare.
		return 0, false, h.forgetRunSeen(ctx, f.ID)
	case base == nil:
		log.Info("first complete full run: remembering its identifiers", "identifiers", len(seen))
	case base.Signature != sig:
		log.Info("the feed changed (kind, URL, format or set): its deletions are compared from this run on", "identifiers", len(seen))
	default:
		var gone []string
		for _, id := range base.IDs {
			if _, ok := seen[id]; !ok {
				gone = append(gone, id)
			}
		}
		if len(gone) > 0 {
			share := float64(len(gone)) / float64(len(base.IDs))
			if share > h.cfg.MaxDeleteShare && !mark.ConfirmDeletions {
				addWarning(mark, fmt.Sprintf("deletions held: %d of the %d identifiers of the last full run (%.1f%%) are gone, over the limit of %.1f%%; "+
					"nothing was deleted (a full run requested with confirm_deletions applies them)",
					len(gone), len(base.IDs), 100*share, 100*h.cfg.MaxDeleteShare))
				log.Warn("deletions held", "gone", len(gone), "last_full", len(base.IDs), "seen", len(seen),
					"share", share, "max_share", h.cfg.MaxDeleteShare)
				return 0, true, h.forgetRunSeen(ctx, f.ID)
			}
			if err := r.publishDeletions(ctx, gone); err != nil {
				return 0, false, err
			}
			deleted = int64(len(gone))
			mark.Deleted += deleted
			mark.Reconciled += deleted
			log.Info("deletions found by comparing full runs", "deleted", deleted, "last_full", len(base.IDs), "seen", len(seen))
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b, err := json.Marshal(baseline{RunID: mark.RunID, Signature: sig, Saved: h.now().UTC(), IDs: ids})
	if err != nil {
		return deleted, false, fmt.Errorf("harvester: identifiers of %s: %w", f.ID, err)
	}
	if err := st.Put(ctx, completeObject(f.ID), b, "identifiers of run "+mark.RunID); err != nil {
		return deleted, false, fmt.Errorf("harvester: identifiers of %s: %w", f.ID, err)
	}
	return deleted, false, h.forgetRunSeen(ctx, f.ID)
}

// deletionBatch bounds the deletions published at once.
const deletionBatch = 500

// publishDeletions writes a deletion raw record for each identifier.
func (r *run) publishDeletions(ctx context.Context, ids []string) error {
	h, f, mark := r.h, r.feed, r.mark
	now := h.now().UTC()
	prov := &fairwayv1.Provenance{FeedId: f.ID, RunId: mark.RunID, RequestUrl: oaipmh.ShownURL(f.URL), HarvestedAt: timestamppb.New(now)}
	stamp := now
	if !mark.ResponseDate.IsZero() {
		prov.ResponseDate = timestamppb.New(mark.ResponseDate)
		stamp = mark.ResponseDate
	}
	hash := sha256.Sum256([]byte("reconciled-deletion\x00" + mark.RunID))
	events := make([]bus.Event, 0, min(len(ids), deletionBatch))
	for i, id := range ids {
		b, err := proto.Marshal(&fairwayv1.RawRecord{
			FeedId: f.ID, Facility: f.Facility, SourceKind: f.Kind, SourceIdentifier: id,
			Datestamp: stamp.UTC().Format(time.RFC3339), MetadataFormat: rawFormat(f), Deleted: true, Provenance: prov,
		})
		if err != nil {
			return fmt.Errorf("encode deletion of %s: %w", id, err)
		}
		// Remembered like the SciCat path's records, so that a dataset
		// that comes back unchanged is not taken for unchanged.
		events = append(events, r.rawEvent(id, hex.EncodeToString(hash[:16]), b, true))
		if len(events) == deletionBatch || i == len(ids)-1 {
			if err := h.bus.PublishBatch(ctx, Origin, events); err != nil {
				return err
			}
			events = events[:0]
		}
	}
	return nil
}

// rawFormat is the metadata format of a feed's raw records.
func rawFormat(f feeds.Feed) string {
	if f.Kind == feeds.KindSciCat {
		return scicat.MetadataFormat
	}
	return f.Format
}
