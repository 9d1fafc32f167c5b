package harvester

import (
	"context"
	"maps"
	"slices"
	"strings"
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
//     later), one for each waiting facility below its share;
//   - while an operator's request waits and no slot is free, scheduled
//     runs yield too until the slots they give back reach every waiting
//     request (in the order above): the most recently started scheduled
//     run, whatever its facility, when the request's facility stays within
//     its share once served, else the most recently started scheduled run
//     of the request's own facility. So a request does not wait for the end
//     of scheduled runs, whether their facility is its own or holds no more
//     than its share. It waits only behind runs started on request (they
//     do not yield to requests) and, when its facility already holds its
//     share, behind other facilities' scheduled runs: taking one of their
//     slots would only make its facility give a slot back at once.
//
// A facility alone uses every slot. Facilities are told apart without
// regard to case (as the ownership of datasets does): "ESRF" and "esrf"
// are one facility.
type slots struct {
	size int

	mu      sync.Mutex
	seq     uint64
	held    map[string]int    // facility (facilityKey) → slots held
	grants  map[string]*grant // feed → its slot
	waiting []*waiter
}

// facilityKey is how slots tell facilities apart: without regard to case.
func facilityKey(facility string) string { return strings.ToLower(facility) }

// waiter is a run waiting for a slot.
type waiter struct {
	feed      string
	facility  string // facilityKey
	requested bool
	seq       uint64
	ready     chan struct{} // closed once the slot is granted
}

// grant is a slot held by a run.
type grant struct {
	facility  string // facilityKey
	requested bool
	seq       uint64
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
	w := &waiter{feed: feed, facility: facilityKey(facility), requested: requested, seq: s.seq, ready: make(chan struct{})}
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
		best := nextWaiter(s.held, s.waiting)
		w := s.waiting[best]
		s.waiting = append(s.waiting[:best], s.waiting[best+1:]...)
		s.seq++
		s.held[w.facility]++
		s.grants[w.feed] = &grant{facility: w.facility, requested: w.requested, seq: s.seq}
		close(w.ready)
	}
	for _, g := range s.grants {
		g.yield = false
	}
	if len(s.waiting) == 0 {
		return
	}
	work := map[string]bool{} // facilities with running or waiting runs
	for f := range s.held {
		work[f] = true
	}
	for _, w := range s.waiting {
		work[w.facility] = true
	}
	share := (s.size + len(work) - 1) / len(work)
	s.yieldToFacilities(share)
	s.yieldToRequests(share)
}

// yieldToFacilities marks, for each waiting facility below its share, the
// newest run of the facility holding the most slots over its share; s.mu
// is held.
func (s *slots) yieldToFacilities(share int) {
	var needy []string // waiting facilities below their share, in order of arrival
	seen := map[string]bool{}
	for _, w := range s.waiting {
		if !seen[w.facility] && s.held[w.facility] < share {
			needy = append(needy, w.facility)
		}
		seen[w.facility] = true
	}
	keeps := maps.Clone(s.held) // slots each facility keeps after the yields
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
		s.newest(func(g *grant) bool { return g.facility == victim }).yield = true
		keeps[victim]--
	}
}

// yieldToRequests marks scheduled runs to yield until the slots given back
// reach every waiting request (as rebalance would grant them): for each
// request they would not reach, the newest scheduled run of any facility
// yields when the request's facility stays within its share once served,
// else the newest scheduled run of the request's own facility (so that
// requests do not take from other facilities the slots their share gives
// them back at once); a request for which neither exists waits. s.mu is
// held.
func (s *slots) yieldToRequests(share int) {
	skip := map[*waiter]bool{}
	for {
		unserved, held := s.unservedRequests()
		var r *waiter
		for _, w := range unserved {
			if !skip[w] {
				r = w
				break
			}
		}
		if r == nil {
			return
		}
		anyFacility := held[r.facility]+1 <= share
		g := s.newest(func(g *grant) bool { return !g.requested && (anyFacility || g.facility == r.facility) })
		if g == nil {
			skip[r] = true
			continue
		}
		g.yield = true
	}
}

// newest returns the most recently granted slot that does not yield yet and
// that match accepts, nil when there is none; s.mu is held.
func (s *slots) newest(match func(*grant) bool) *grant {
	var last *grant
	for _, g := range s.grants {
		if !g.yield && match(g) && (last == nil || g.seq > last.seq) {
			last = g
		}
	}
	return last
}

// unservedRequests returns the waiting requests that the slots marked to
// yield, once given back and granted in order, would not reach, and the
// slots each facility would hold then; s.mu is held.
func (s *slots) unservedRequests() ([]*waiter, map[string]int) {
	held := maps.Clone(s.held)
	free := 0
	for _, g := range s.grants {
		if g.yield {
			held[g.facility]--
			free++
		}
	}
	waiting := slices.Clone(s.waiting)
	for ; free > 0 && len(waiting) > 0; free-- {
		best := nextWaiter(held, waiting)
		held[waiting[best].facility]++
		waiting = append(waiting[:best], waiting[best+1:]...)
	}
	var unserved []*waiter
	for _, w := range waiting {
		if w.requested {
			unserved = append(unserved, w)
		}
	}
	return unserved, held
}

// nextWaiter returns the index of the waiter a free slot goes to, held
// counting the slots of each facility: the facility holding fewer slots
// first, then a requested run, then the one waiting longest. waiting is not
// empty.
func nextWaiter(held map[string]int, waiting []*waiter) int {
	best := 0
	for i, w := range waiting[1:] {
		if before(held, w, waiting[best]) {
			best = i + 1
		}
	}
	return best
}

// before orders two waiters (see nextWaiter).
func before(held map[string]int, a, b *waiter) bool {
	if ha, hb := held[a.facility], held[b.facility]; ha != hb {
		return ha < hb
	}
	if a.requested != b.requested {
		return a.requested
	}
	return a.seq < b.seq
}
