package bus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// TestDeliveryOutcomesShareTheirDestinationsSubject: every outcome and
// attempt of a delivery is stored once (a repeat within the dedup window is
// dropped), and a destination's outcomes share one subject of the ops
// stream, so that the server's per-subject index of the stream does not
// grow with every entry delivered.
func TestDeliveryOutcomesShareTheirDestinationsSubject(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	var events []bus.Event
	for _, dest := range []string{"eosc", "daphne"} {
		for seq := uint64(1); seq <= 50; seq++ {
			for attempt := 1; attempt <= 2; attempt++ {
				events = append(events, bus.DeliveryOutcomeEvent(dest, seq, "failed", attempt, fmt.Appendf(nil, "%s %d %d", dest, seq, attempt)))
			}
		}
	}
	events = append(events, events[0], events[len(events)-1]) // redelivered outcomes
	if err := b.Publish(ctx, "push", events...); err != nil {
		t.Fatal(err)
	}
	s, err := b.JetStream().Stream(ctx, string(bus.Ops))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 200 {
		t.Errorf("%d outcomes stored, want 200 (two destinations, 50 entries, two attempts, repeats dropped)", info.State.Msgs)
	}
	if info.State.NumSubjects != 2 {
		t.Errorf("%d subjects on the ops stream, want 2 (one per destination)", info.State.NumSubjects)
	}
	for _, m := range testenv.Messages(t, b, bus.Ops) {
		if got := m.Subject(); got != bus.Subject(bus.Ops, bus.DeliveryOutcomeKey("eosc")) && got != bus.Subject(bus.Ops, bus.DeliveryOutcomeKey("daphne")) {
			t.Fatalf("outcome on subject %s", got)
		}
		if k := m.Headers().Get(bus.HeaderEvent); k != bus.EventDelivery {
			t.Fatalf("outcome of kind %q", k)
		}
	}
}
