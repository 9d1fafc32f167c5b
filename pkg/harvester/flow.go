package harvester

import (
	"context"
	"sync"
	"time"
)

// Defaults of the flow control (Config.MaxBacklog, BacklogPoll).
const (
	DefaultMaxBacklog  = 1000
	DefaultBacklogPoll = 250 * time.Millisecond
	// backlogRecheck is how long a reading of the backlog is trusted while
	// the records published since keep it under the bound (other
	// harvesters may publish too).
	backlogRecheck = time.Second
)

// Backlog is what the flow control asks the bus: how many messages wait in
// the pipeline between the harvester and the catalogue (bus.Bus.Backlog).
type Backlog interface {
	Backlog(ctx context.Context) (uint64, error)
}

// flow bounds how far the harvester runs ahead of the stages: between two
// pages, a run whose pipeline holds MaxBacklog messages or more waits until
// it holds fewer. It is shared by the runs of one harvester.
type flow struct {
	bound int64
	poll  time.Duration
	src   Backlog
	now   func() time.Time

	mu sync.Mutex
	// known is the backlog last read, at; since counts the records this
	// harvester published after it.
	known, since int64
	at           time.Time
}

func newFlow(cfg Config, src Backlog) *flow {
	return &flow{bound: int64(cfg.MaxBacklog), poll: cfg.BacklogPoll, src: src, now: time.Now}
}

// off reports whether the flow control is turned off.
func (f *flow) off() bool { return f == nil || f.bound <= 0 || f.src == nil }

// published counts n records the harvester just wrote, and reports whether
// the backlog must be read again before the next page: when what was read
// and what was written since reach the bound, or the reading is older than
// backlogRecheck.
func (f *flow) published(n int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since += n
	return f.known+f.since >= f.bound || f.now().Sub(f.at) >= backlogRecheck
}

// read asks the bus for the backlog and remembers it.
func (f *flow) read(ctx context.Context) (int64, error) {
	n, err := f.src.Backlog(ctx)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	f.known, f.since, f.at = int64(n), 0, f.now()
	f.mu.Unlock()
	return int64(n), nil
}

// holdBack is called between two pages of r (its checkpoint saved) with
// the records of the page just written: while the pipeline's backlog is at
// the bound or over, it waits, reading the backlog every poll. It returns
// ctx's error when ctx ends meanwhile (the run then resumes from its
// checkpoint); a backlog that cannot be read is logged and does not hold
// the run (publishing fails on its own when the bus does).
func (r *run) holdBack(ctx context.Context, records int64) error {
	f := r.h.flow
	if f.off() || !f.published(records) {
		return nil
	}
	n, err := f.read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Warn("flow control: the pipeline's backlog cannot be read; the harvest goes on", "err", err)
		return nil
	}
	if n < f.bound {
		return nil
	}
	began := time.Now()
	r.log.Info("harvest waits for the pipeline to drain", "backlog", n, "max_backlog", f.bound, "pages", r.mark.Pages)
	t := time.NewTicker(f.poll)
	defer t.Stop()
	for n >= f.bound {
		select {
		case <-ctx.Done():
			r.tellWait(time.Since(began))
			return ctx.Err()
		case <-t.C:
		}
		if n, err = f.read(ctx); err != nil {
			if ctx.Err() != nil {
				r.tellWait(time.Since(began))
				return ctx.Err()
			}
			r.log.Warn("flow control: the pipeline's backlog cannot be read; the harvest goes on", "err", err)
			break
		}
	}
	waited := time.Since(began)
	r.tellWait(waited)
	r.log.Info("harvest resumes", "backlog", n, "max_backlog", f.bound, "waited", waited.Round(time.Millisecond))
	return nil
}

// tellWait tells the observer how long the run waited for the pipeline.
func (r *run) tellWait(d time.Duration) {
	if o := r.h.cfg.Observer; o != nil {
		o.HarvestWait(r.feed.ID, d)
	}
}
