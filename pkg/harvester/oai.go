package harvester

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/oaipmh"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// harvestOAI runs one OAI-PMH harvest of f: incremental from the last
// complete run unless req says otherwise, resuming an interrupted run from
// its last page.
func (h *Harvester) harvestOAI(ctx context.Context, f feeds.Feed, req RunRequest) (*fairwayv1.HarvestRun, error) {
	full := req.Full || req.From != ""
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
		if req.From != "" {
			mark.From = req.From
		} else if !full && cp.LastComplete != nil && !cp.LastComplete.ResponseDate.IsZero() {
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
	list := oaipmh.ListRequest{From: mark.From, Set: f.Set, ResumeToken: mark.Token}
	err = client.ListRecords(ctx, list, func(ctx context.Context, p *oaipmh.Page, requestURL string) error {
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
