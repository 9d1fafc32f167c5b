package bus

import "fmt"

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
// stored once (the message id holds seq, outcome and attempt). Its key, and
// so its subject, is the destination's (DeliveryOutcomeKey), apart from the
// feeds' harvest runs: one subject per destination, not per entry, since
// the server keeps an index entry for every subject of a stream while it
// holds a message on it, and the ops stream keeps every outcome for 90
// days.
func DeliveryOutcomeEvent(destination string, seq uint64, outcome string, attempt int, payload []byte) Event {
	return Event{
		Stream:   Ops,
		Key:      DeliveryOutcomeKey(destination),
		Hash:     fmt.Sprintf("%d.%s.%d", seq, outcome, attempt),
		Payload:  payload,
		Metadata: map[string]string{HeaderEvent: EventDelivery},
	}
}

// DeliveryOutcomeKey is the key of destination's delivery outcomes on the
// ops stream (see DeliveryOutcomeEvent).
func DeliveryOutcomeKey(destination string) string { return "delivery:" + destination }
