package harvester

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/feeds"
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
