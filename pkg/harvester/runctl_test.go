package harvester

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/feeds"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestWatchRunOfAFeedReadFromTheRegistry checks that a run the scheduler
// started (it has just read the feed in the registry) stops when the
// watcher's first read finds the feed gone, as when that read failed and the
// feed was removed before the next: the feed is known from the start, its
// absence is its removal.
func TestWatchRunOfAFeedReadFromTheRegistry(t *testing.T) {
	h, err := New(Config{FeedCheckInterval: time.Hour}, testenv.Bus(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := feeds.Feed{ID: "removed", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: "http://127.0.0.1:9/oai", Enabled: true}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := &run{h: h, feed: f, registered: true, mark: &RunMark{}, log: h.log}
	runCtx, stop := r.watch(ctx)
	defer stop()
	select {
	case <-runCtx.Done():
	case <-ctx.Done():
		t.Fatal("the run of a feed gone from the registry goes on")
	}
	if why := runStopped(ctx, runCtx); !errors.Is(why, ErrFeedRemoved) {
		t.Fatalf("run stopped by %v, want ErrFeedRemoved", why)
	}
}

// lastPageAtTheCap is a source whose list ends with one page done just as
// the run's max_duration fires.
type lastPageAtTheCap struct{}

func (lastPageAtTheCap) resume(*run, bool) *RunMark       { return nil }
func (lastPageAtTheCap) plan(context.Context, *run) error { return nil }
func (lastPageAtTheCap) resumable(error) bool             { return false }
func (lastPageAtTheCap) describe(*run) []any              { return nil }
func (lastPageAtTheCap) list(ctx context.Context, r *run) error {
	if err := r.pageDone(ctx, false); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// TestCapAfterTheLastPage checks that a run whose list is done completes
// even when its max_duration fires before the checkpoint records the end
// of the list.
func TestCapAfterTheLastPage(t *testing.T) {
	h, err := New(Config{FeedCheckInterval: time.Hour}, testenv.Bus(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := feeds.Feed{ID: "capped", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: "http://127.0.0.1:9/oai", Enabled: true,
		MaxDuration: feeds.Duration(50 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := h.lease(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	r := &run{h: h, feed: f, src: lastPageAtTheCap{}}
	report, err := r.harvest(ctx)
	if err != nil || report.GetStatus() != fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE {
		t.Fatalf("harvest = %v, %v; want a complete run", report.GetStatus(), err)
	}
	cp, err := h.checkpoint(ctx, f.ID)
	if err != nil || cp.Current != nil || cp.LastComplete == nil || !cp.LastComplete.ListDone || cp.Failures != 0 {
		t.Fatalf("checkpoint %+v, %v; want the run complete", cp, err)
	}
}
