package harvester

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSlotsShareBetweenFacilities plays sequences of runs asking for and
// giving back slots, and checks who holds a slot and who is asked to yield.
// A run is named facility/feed; "+" asks for a slot (a "!" suffix: an
// operator's request), "-" gives it back.
func TestSlotsShareBetweenFacilities(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		steps   []string
		holding []string // after the steps, sorted
		yield   []string // asked to yield, sorted
	}{
		{
			name: "a facility alone uses every slot", size: 2,
			steps: []string{"+a/1", "+a/2", "+a/3"}, holding: []string{"a/1", "a/2"},
		},
		{
			name: "the newest run of a facility over its share yields", size: 2,
			steps: []string{"+a/1", "+a/2", "+b/1"}, holding: []string{"a/1", "a/2"}, yield: []string{"a/2"},
		},
		{
			name: "a slot given back goes to the facility below its share", size: 2,
			steps: []string{"+a/1", "+a/2", "+a/3", "+b/1", "-a/2"}, holding: []string{"a/1", "b/1"},
		},
		{
			name: "one yield per waiting facility below its share", size: 4,
			steps:   []string{"+a/1", "+a/2", "+a/3", "+a/4", "+b/1", "+c/1"},
			holding: []string{"a/1", "a/2", "a/3", "a/4"}, yield: []string{"a/3", "a/4"},
		},
		{
			name: "no yield for a facility at its share", size: 3,
			steps: []string{"+a/1", "+a/2", "+b/1", "+b/2"}, holding: []string{"a/1", "a/2", "b/1"},
		},
		{
			name: "a request goes before a scheduled run of the same facility", size: 1,
			steps: []string{"+a/1", "+a/2", "+a/3!", "-a/1"}, holding: []string{"a/3"},
		},
		{
			// ... then the request's facility, at its share, gives its own
			// scheduled run up for it.
			name: "the facility holding fewer slots goes before a request", size: 2,
			steps: []string{"+a/1", "+b/1", "+b/2!", "+c/1", "-a/1"}, holding: []string{"b/1", "c/1"}, yield: []string{"b/1"},
		},
		{
			name: "the yield is withdrawn when the waiting facility gives up", size: 2,
			steps: []string{"+a/1", "+a/2", "+b/1", "~b/1"}, holding: []string{"a/1", "a/2"},
		},
		{
			name: "a request of the facility holding every slot: its newest scheduled run yields", size: 2,
			steps: []string{"+a/1", "+a/2", "+a/3!"}, holding: []string{"a/1", "a/2"}, yield: []string{"a/2"},
		},
		{
			name: "the slot given back goes to the request", size: 2,
			steps: []string{"+a/1", "+a/2", "+a/3", "+a/4!", "-a/2"}, holding: []string{"a/1", "a/4"},
		},
		{
			name: "a request of a third facility while two hold their share: the newest run yields", size: 2,
			steps: []string{"+a/1", "+b/1", "+c/1!"}, holding: []string{"a/1", "b/1"}, yield: []string{"b/1"},
		},
		{
			name: "one yield per waiting request", size: 3,
			steps:   []string{"+a/1", "+b/1", "+c/1", "+d/1!", "+e/1!"},
			holding: []string{"a/1", "b/1", "c/1"}, yield: []string{"b/1", "c/1"},
		},
		{
			name: "no yield to a request that a facility's yield already serves", size: 2,
			steps: []string{"+a/1", "+a/2", "+b/1!"}, holding: []string{"a/1", "a/2"}, yield: []string{"a/2"},
		},
		{
			name: "more yields when a facility's yield goes to another's scheduled run", size: 2,
			steps:   []string{"+a/1", "+a/2", "+b/1", "+a/3!"},
			holding: []string{"a/1", "a/2"}, yield: []string{"a/1", "a/2"},
		},
		{
			name: "a run started on request does not yield to a request", size: 1,
			steps: []string{"+a/1!", "+a/2!", "+b/1!"}, holding: []string{"a/1"},
		},
		{
			name: "a request beyond its facility's share: its own facility's scheduled run yields", size: 2,
			steps: []string{"+a/1", "+b/1", "+a/2!"}, holding: []string{"a/1", "b/1"}, yield: []string{"a/1"},
		},
		{
			name: "a request beyond its facility's share waits behind its facility's requests", size: 2,
			steps: []string{"+a/1!", "+b/1", "+a/2!"}, holding: []string{"a/1", "b/1"},
		},
		{
			name: "the yield to a request is withdrawn when it gives up", size: 1,
			steps: []string{"+a/1", "+a/2!", "~a/2"}, holding: []string{"a/1"},
		},
		{
			name: "facilities are told apart without regard to case", size: 2,
			steps: []string{"+ESRF/1", "+esrf/2", "+ill/1"}, holding: []string{"ESRF/1", "esrf/2"}, yield: []string{"esrf/2"},
		},
		{
			name: "a slot given back goes to the facility holding fewer, whatever the case", size: 3,
			steps:   []string{"+esrf/1", "+ESRF/2", "+ill/1", "+Esrf/3", "+ILL/2", "-ill/1"},
			holding: []string{"ESRF/2", "ILL/2", "esrf/1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSlots(tt.size)
			cancels := map[string]context.CancelFunc{}
			granted := map[string]chan error{}
			for _, step := range tt.steps {
				op, run := step[0], strings.TrimSuffix(step[1:], "!")
				facility, _, _ := strings.Cut(run, "/")
				switch op {
				case '+':
					ctx, cancel := context.WithCancel(context.Background())
					t.Cleanup(cancel)
					cancels[run] = cancel
					ch := make(chan error, 1)
					granted[run] = ch
					go func() { ch <- s.acquire(ctx, run, facility, strings.HasSuffix(step, "!")) }()
					// Wait until the run is granted or queued.
					waitUntil(t, func() bool {
						s.mu.Lock()
						defer s.mu.Unlock()
						if _, ok := s.grants[run]; ok {
							return true
						}
						return slices.ContainsFunc(s.waiting, func(w *waiter) bool { return w.feed == run })
					})
				case '-':
					if err := <-granted[run]; err != nil {
						t.Fatalf("%s: %v", step, err)
					}
					s.release(run)
				case '~':
					cancels[run]()
					if err := <-granted[run]; err == nil {
						t.Fatalf("%s: granted", step)
					}
				}
			}
			s.mu.Lock()
			var holding, yield []string
			for run, g := range s.grants {
				holding = append(holding, run)
				if g.yield {
					yield = append(yield, run)
				}
			}
			s.mu.Unlock()
			slices.Sort(holding)
			slices.Sort(yield)
			if !slices.Equal(holding, tt.holding) || !slices.Equal(yield, tt.yield) {
				t.Errorf("holding %v, yielding %v; want %v, %v", holding, yield, tt.holding, tt.yield)
			}
		})
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
