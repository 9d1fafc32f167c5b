package harvester

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"google.golang.org/protobuf/types/known/timestamppb"

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

// formatFrom writes t at the server's granularity.
func formatFrom(t time.Time, granularity string) string {
	t = t.UTC()
	if granularity == "YYYY-MM-DD" {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05Z")
}
