package harvester

import (
	"context"
	"sync"
)

// slots shares the harvester's Config.Parallel harvest slots fairly between
// facilities:
//
//   - a free slot goes to the waiting run whose facility holds the fewest
//     slots (then to a requested run before a scheduled one, then to the
//     run that waited longest), so no facility's queue of due feeds keeps
//     another facility's feed or an operator's request waiting while slots
//     free up;
//   - while runs wait and no slot is free, a facility that holds more than
//     its share — ceil(Parallel / facilities with work, running or
//     waiting) — is asked to give slots back: its most recently started
//     runs yield at their next page (they resume from their checkpoints
//     later), one for each waiting facility below its share.
//
// A facility alone uses every slot.
type slots struct {
	size int

	mu      sync.Mutex
	seq     uint64
	held    map[string]int    // facility → slots held
	grants  map[string]*grant // feed → its slot
	waiting []*waiter
}

// waiter is a run waiting for a slot.
type waiter struct {
	feed, facility string
	requested      bool
	seq            uint64
	ready          chan struct{} // closed once the slot is granted
}

// grant is a slot held by a run.
type grant struct {
	facility string
	seq      uint64
	// yield asks the run to give its slot up at its next page.
	yield bool
}

func newSlots(size int) *slots {
	return &slots{size: size, held: map[string]int{}, grants: map[string]*grant{}}
}

// acquire waits for a slot for a run of feed (of facility), or for ctx.
// requested marks a run an operator asked for.
func (s *slots) acquire(ctx context.Context, feed, facility string, requested bool) error {
	s.mu.Lock()
	s.seq++
	w := &waiter{feed: feed, facility: facility, requested: requested, seq: s.seq, ready: make(chan struct{})}
	s.waiting = append(s.waiting, w)
	s.rebalance()
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			s.releaseLocked(feed)
		default:
			for i, x := range s.waiting {
				if x == w {
					s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
					break
				}
			}
			s.rebalance()
		}
		return ctx.Err()
	}
}

// release gives back the slot of feed's run.
func (s *slots) release(feed string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(feed)
}

func (s *slots) releaseLocked(feed string) {
	g, ok := s.grants[feed]
	if !ok {
		return
	}
	delete(s.grants, feed)
	if s.held[g.facility]--; s.held[g.facility] <= 0 {
		delete(s.held, g.facility)
	}
	s.rebalance()
}

// yielding reports whether feed's run is asked to give its slot up.
func (s *slots) yielding(feed string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[feed]
	return ok && g.yield
}

// rebalance grants the free slots and marks the runs that must yield; s.mu
// is held.
func (s *slots) rebalance() {
	for len(s.grants) < s.size && len(s.waiting) > 0 {
		best := 0
		for i, w := range s.waiting[1:] {
			if s.before(w, s.waiting[best]) {
				best = i + 1
			}
		}
		w := s.waiting[best]
		s.waiting = append(s.waiting[:best], s.waiting[best+1:]...)
		s.seq++
		s.held[w.facility]++
		s.grants[w.feed] = &grant{facility: w.facility, seq: s.seq}
		close(w.ready)
	}
	for _, g := range s.grants {
		g.yield = false
	}
	if len(s.waiting) == 0 {
		return
	}
	work := map[string]bool{}
	for f := range s.held {
		work[f] = true
	}
	var needy []string // waiting facilities below their share, in order of arrival
	for _, w := range s.waiting {
		work[w.facility] = true
	}
	share := (s.size + len(work) - 1) / len(work)
	seen := map[string]bool{}
	for _, w := range s.waiting {
		if !seen[w.facility] && s.held[w.facility] < share {
			needy = append(needy, w.facility)
		}
		seen[w.facility] = true
	}
	keeps := map[string]int{} // slots each facility keeps after the yields
	for f, n := range s.held {
		keeps[f] = n
	}
	for range needy {
		victim := ""
		for f, n := range keeps {
			if n > share && (victim == "" || n > keeps[victim] || (n == keeps[victim] && f < victim)) {
				victim = f
			}
		}
		if victim == "" {
			return
		}
		var last *grant
		for _, g := range s.grants {
			if g.facility == victim && !g.yield && (last == nil || g.seq > last.seq) {
				last = g
			}
		}
		last.yield = true
		keeps[victim]--
	}
}

// before orders two waiters: the facility holding fewer slots first, then
// a requested run, then the one waiting longest.
func (s *slots) before(a, b *waiter) bool {
	if ha, hb := s.held[a.facility], s.held[b.facility]; ha != hb {
		return ha < hb
	}
	if a.requested != b.requested {
		return a.requested
	}
	return a.seq < b.seq
}
