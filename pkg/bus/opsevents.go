package bus

import (
	"fmt"
	"strconv"
)

// HeaderEvent names the kind of an event on the ops stream: EventDelivery
// for a delivery outcome; a harvest-run report has none (or
// EventHarvestRun).
const HeaderEvent = "Fairway-Event"

// The kinds of ops events (HeaderEvent).
const (
	EventHarvestRun = "harvest-run"
	EventDelivery   = "delivery"
)

// OpsEventKind returns the kind of an ops stream message from its headers:
// EventHarvestRun when it names none.
func OpsEventKind(m StoredMessage) string {
	if k := m.Header.Get(HeaderEvent); k != "" {
		return k
	}
	return EventHarvestRun
}

// DeliveryOutcomeEvent returns the ops event reporting one outcome of
// delivering the catalogue entry at seq to destination (payload: a
// serialised fairwayv1.DeliveryEvent). Each outcome and attempt is an event
// of its own; the same one published twice within the dedup window is
// stored once. Its subject is of its own key, apart from the feeds' harvest
// runs.
func DeliveryOutcomeEvent(destination string, seq uint64, outcome string, attempt int, payload []byte) Event {
	return Event{
		Stream:   Ops,
		Key:      "delivery:" + destination + ":" + strconv.FormatUint(seq, 10),
		Hash:     fmt.Sprintf("%d.%s.%d", seq, outcome, attempt),
		Payload:  payload,
		Metadata: map[string]string{HeaderEvent: EventDelivery},
	}
}
