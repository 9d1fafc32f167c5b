package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotRedrivable is returned for a dead letter that does not say where it
// came from (a record the harvester rejected before it reached a stream).
var ErrNotRedrivable = errors.New("dead letter cannot be redriven")

// DeadLetter is a message a stage gave up on.
type DeadLetter struct {
	// Seq is its sequence in the dead-letter stream.
	Seq uint64
	// Stage that gave up.
	Stage string
	// Reason it gave.
	Reason string
	// Attempts the stage made.
	Attempts int
	// Subject the message was read from (where a redrive sends it).
	Subject string
	// Key of the dataset.
	Key string
	// Time it was dead-lettered.
	Time time.Time
	// Payload is the original message.
	Payload []byte
	header  nats.Header
}

// HeaderSourceSubject holds the subject of a message a batch stage
// dead-lettered (see RunBatches). Unlike HeaderSubject it does not make the
// dead letter redrivable.
const HeaderSourceSubject = "Fairway-Source-Subject"

// HeaderDatasetKey holds the key of the dataset a dead letter filed under
// its stage (see DeadLetterEvent) is about: its HeaderKey names the stage.
const HeaderDatasetKey = "Fairway-Dataset-Key"

// DeadLetterEvent returns the event that files payload in the dead letters
// as given up by stage for reason (the event a stage publishes itself for a
// message it rejects before it reaches a stream: the harvester's record too
// large or unreadable). id tells the dead letter apart from the stage's
// others: it is the event's hash, so that a retry inside the dedup window
// is dropped; it must not spell a raw identifier (use Digest). metadata
// holds more headers (HeaderCorrelation, say); it is not changed.
func DeadLetterEvent(stage, id string, payload []byte, reason string, metadata map[string]string) Event {
	md := make(map[string]string, len(metadata)+2)
	maps.Copy(md, metadata)
	md[HeaderStage], md[HeaderReason] = stage, reason
	return Event{Stream: DeadLetters, Key: stage, Hash: id, Payload: payload, Metadata: md}
}

// DeadLetters returns up to limit dead letters of stage ("" for every
// stage; limit 0: all), oldest first.
func (b *Bus) DeadLetters(ctx context.Context, stage string, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := b.EachDeadLetter(ctx, DeadLetterFilter{Stage: stage}, func(d DeadLetter) error {
		out = append(out, d)
		if limit > 0 && len(out) >= limit {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return out, nil
}

// errEnough stops a walk that has what it needs.
var errEnough = errors.New("enough")

// DeadLetterCount returns how many dead letters of stage wait.
func (b *Bus) DeadLetterCount(ctx context.Context, stage string) (uint64, error) {
	str, err := b.js.Stream(ctx, string(DeadLetters))
	if err != nil {
		return 0, fmt.Errorf("bus: dead letters: %w", err)
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(Subject(DeadLetters, stage)))
	if err != nil {
		return 0, fmt.Errorf("bus: dead letters: %w", err)
	}
	var n uint64
	for _, c := range info.State.Subjects { // only those matching the filter
		n += c
	}
	return n, nil
}

// Redrive sends a dead letter back to the subject it was read from, as a new
// message (a fresh message id, so that dedup does not drop it), and removes
// it from the dead letters. The stage then tries it again.
func (b *Bus) Redrive(ctx context.Context, d DeadLetter) error {
	if d.Subject == "" {
		return fmt.Errorf("bus: dead letter %d: %w", d.Seq, ErrNotRedrivable)
	}
	// A push's dead letter holds a catalogue entry: sent back to the
	// catalogue, which keeps one message per dataset, it would replace a
	// newer entry or a tombstone. A destination is replayed instead.
	if strings.HasPrefix(d.Subject, subjectRoot[Catalogue]+".") {
		return fmt.Errorf("bus: dead letter %d of %s: %w: its subject is on the catalogue; replay the destination instead (fairway destinations replay ID)", d.Seq, d.Stage, ErrNotRedrivable)
	}
	m := nats.NewMsg(d.Subject)
	m.Data = d.Payload
	for k, vs := range d.header {
		switch k {
		case HeaderReason, HeaderAttempts, HeaderStage, HeaderSubject, HeaderHistory, nats.MsgIdHdr,
			"topic_poisoned", "handler_poisoned", "subscriber_poisoned", "Fairway-Delivered":
			continue
		}
		for _, v := range vs {
			m.Header.Add(k, v)
		}
	}
	// The failure travels with the message: if the stage gives up again,
	// its new dead letter remembers this one.
	m.Header.Set(HeaderHistory, d.historyHeader())
	id := "redrive:" + strconv.FormatUint(d.Seq, 10) + ":" + d.header.Get(wmnats.WatermillUUIDHdr)
	m.Header.Set(wmnats.WatermillUUIDHdr, id)
	if _, err := b.js.PublishMsg(ctx, m, jetstream.WithMsgID(id)); err != nil {
		return Transient(fmt.Errorf("bus: redrive %d to %s: %w", d.Seq, d.Subject, err))
	}
	str, err := b.js.Stream(ctx, string(DeadLetters))
	if err != nil {
		return fmt.Errorf("bus: redrive %d: %w", d.Seq, err)
	}
	if err := str.DeleteMsg(ctx, d.Seq); err != nil {
		return fmt.Errorf("bus: redrive %d: sent, but not removed from the dead letters: %w", d.Seq, err)
	}
	return nil
}
