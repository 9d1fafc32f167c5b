package harvester

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/panosc/fairway/pkg/feeds"
)

var (
	// ErrRunCap is returned when a run goes past one of its caps (pages,
	// bytes, duration: Config.MaxPages, MaxBytes, MaxDuration, or the
	// feed's max_pages, max_bytes, max_duration); the message names the
	// cap. Such a run is not resumed: the next one starts afresh.
	ErrRunCap = errors.New("harvester: run over its cap")
	// ErrFeedRemoved is returned when the feed of a run was removed from
	// the registry while the run went on; the run stops and is not resumed.
	ErrFeedRemoved = errors.New("harvester: feed removed while it was harvested")
	// ErrFeedDisabled is returned when the feed of a scheduled run was
	// disabled while the run went on; the run stops and resumes from its
	// checkpoint once the feed is enabled again (or harvested on request).
	ErrFeedDisabled = errors.New("harvester: feed disabled while it was harvested")
	// errYield stops a run at a page boundary so that its slot goes to
	// another facility (see slots); the run resumes from its checkpoint.
	errYield = errors.New("harvester: run yields its slot to another facility")
)

// runLimits are the caps of one run of a feed.
type runLimits struct {
	pages, bytes int64
	duration     time.Duration
}

// limits returns the caps of the run: the feed's where it sets them, else
// the harvester's.
func (r *run) limits() runLimits {
	f, cfg := r.feed, r.h.cfg
	l := runLimits{pages: cfg.MaxPages, bytes: cfg.MaxBytes, duration: cfg.MaxDuration}
	if f.MaxPages > 0 {
		l.pages = f.MaxPages
	}
	if f.MaxBytes > 0 {
		l.bytes = f.MaxBytes
	}
	if f.MaxDuration > 0 {
		l.duration = time.Duration(f.MaxDuration)
	}
	return l
}

// checkCaps fails a run that is about to request another page past its
// page or byte cap.
func checkCaps(l runLimits, mark *RunMark) error {
	switch {
	case mark.Pages >= l.pages:
		return fmt.Errorf("%w: max_pages: %d pages requested, the most one run may request, and the list goes on", ErrRunCap, mark.Pages)
	case mark.Bytes >= l.bytes:
		return fmt.Errorf("%w: max_bytes: %d bytes received, the most one run may receive is %d, and the list goes on", ErrRunCap, mark.Bytes, l.bytes)
	}
	return nil
}

// watch returns the context the run works in: it ends when ctx ends, when
// the run has spent its duration cap harvesting (counted over every resume
// of the run, from mark.Elapsed), and when the feed is removed from the
// registry or, for a run of an enabled feed, disabled (see watchFeed). The
// returned function releases it. The reason is given by runStopped.
func (r *run) watch(ctx context.Context) (context.Context, func()) {
	l := r.limits()
	r.mark.resume()
	watched, cancel := context.WithCancelCause(ctx)
	capped, cancelTimeout := context.WithTimeoutCause(watched, l.duration-r.mark.Elapsed,
		fmt.Errorf("%w: max_duration: the run has harvested for %s, the most one run may take", ErrRunCap, l.duration))
	done := make(chan struct{})
	go r.watchFeed(watched, cancel, done)
	return capped, func() {
		cancelTimeout()
		cancel(nil)
		<-done
	}
}

// watchFeed re-reads the feed in the registry every
// Config.FeedCheckInterval and cancels the run with ErrFeedRemoved or
// ErrFeedDisabled. A feed is known to the registry when r.registered says
// so (the scheduler has just read it there) or once a read finds it: from
// then on its absence is its removal, even when the reads in between
// failed. A feed never found there (a run of a feed handed to Harvest
// directly) is not stopped by its absence.
func (r *run) watchFeed(ctx context.Context, cancel context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	f, log := r.feed, r.log
	known := r.registered
	check := func() bool {
		cur, err := r.h.reg.Get(ctx, f.ID)
		switch {
		case errors.Is(err, feeds.ErrNotFound):
			if known {
				log.Warn("feed removed while it was harvested; stopping the run")
				cancel(fmt.Errorf("%w: %s", ErrFeedRemoved, f.ID))
				return false
			}
		case err != nil:
			if ctx.Err() == nil {
				log.Debug("cannot re-read the feed", "err", err)
			}
		default:
			known = true
			if f.Enabled && !cur.Enabled {
				log.Warn("feed disabled while it was harvested; stopping the run")
				cancel(fmt.Errorf("%w: %s", ErrFeedDisabled, f.ID))
				return false
			}
		}
		return true
	}
	if !check() {
		return
	}
	t := time.NewTicker(r.h.cfg.FeedCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !check() {
				return
			}
		}
	}
}

// runStopped returns why the run's context runCtx ended when ctx (the
// harvester's) did not: a cap, or a change of the feed; nil otherwise.
func runStopped(ctx, runCtx context.Context) error {
	if ctx.Err() != nil || runCtx.Err() == nil {
		return nil
	}
	return context.Cause(runCtx)
}

// resume starts counting the time the run spends harvesting from now on.
func (m *RunMark) resume() {
	m.elapsedBase, m.resumedAt = m.Elapsed, time.Now()
}

// tick brings Elapsed up to date.
func (m *RunMark) tick() {
	if !m.resumedAt.IsZero() {
		m.Elapsed = m.elapsedBase + time.Since(m.resumedAt)
	}
}

// stopsTheFeed reports whether err is a stop by a change of the feed (not a
// failure of its source: it does not count towards the failure backoff).
func stopsTheFeed(err error) bool {
	return errors.Is(err, ErrFeedRemoved) || errors.Is(err, ErrFeedDisabled)
}
