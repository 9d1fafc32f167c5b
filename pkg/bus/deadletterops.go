package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderHistory holds the earlier failures of a dead letter that was
// redriven and failed again: a JSON array of Failure, the oldest first, at
// most MaxHistory entries.
const HeaderHistory = "Fairway-History"

// MaxHistory bounds the failures a dead letter remembers.
const MaxHistory = 10

// Failure is one time a stage gave up on a message.
type Failure struct {
	// Time it was dead-lettered.
	Time time.Time `json:"time"`
	// Stage that gave up.
	Stage string `json:"stage"`
	// Attempts the stage made.
	Attempts int `json:"attempts"`
	// Reason it gave.
	Reason string `json:"reason"`
}

// DeadLetterFilter selects dead letters; its zero value selects them all.
type DeadLetterFilter struct {
	// Stage, when set, is the stage that gave up.
	Stage string `json:"stage,omitempty"`
	// Feed, when set, is the feed the message came from: the feed part of
	// a raw record's key ("<feed>:<id>", the harvester's and the
	// normaliser's dead letters) or the feed named in HeaderFeed.
	Feed string `json:"feed,omitempty"`
	// Error, when set, is a substring of the reason (case-insensitive).
	Error string `json:"error,omitempty"`
	// Since and Until, when set, bound when it was dead-lettered
	// (Since inclusive, Until exclusive).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// After, when set, skips the dead letters up to this sequence (the
	// next page of a listing).
	After uint64 `json:"after,omitempty"`
}

// HeaderFeed names the feed a message came from, when a stage knows it:
// the normaliser's and the enricher's events carry the feed of the record
// that caused them, so that their dead letters downstream can be selected
// by feed. The router also carries it from stage to stage like the
// correlation id (set by the harvester), so that every log line about a
// record names its feed.
const HeaderFeed = "Fairway-Feed"

// maxFeedHeader bounds the feed a header names.
const maxFeedHeader = 256

// FeedMetadata returns the event metadata naming feed (nil when feed is
// empty or longer than a feed id can be).
func FeedMetadata(feed string) map[string]string {
	if feed == "" || len(feed) > maxFeedHeader {
		return nil
	}
	return map[string]string{HeaderFeed: feed}
}

// Empty reports whether f selects every dead letter.
func (f DeadLetterFilter) Empty() bool {
	return f.Stage == "" && f.Feed == "" && f.Error == "" && f.Since.IsZero() && f.Until.IsZero()
}

// Match reports whether f selects d.
func (f DeadLetterFilter) Match(d DeadLetter) bool {
	switch {
	case d.Seq <= f.After:
		return false
	case f.Stage != "" && d.Stage != f.Stage:
		return false
	case f.Feed != "" && d.Feed() != f.Feed:
		return false
	case f.Error != "" && !strings.Contains(strings.ToLower(d.Reason), strings.ToLower(f.Error)):
		return false
	case !f.Since.IsZero() && d.Time.Before(f.Since):
		return false
	case !f.Until.IsZero() && !d.Time.Before(f.Until):
		return false
	}
	return true
}

// Feed returns the feed the dead letter came from, or "" when it does not
// say.
func (d DeadLetter) Feed() string {
	if v := d.header.Get(HeaderFeed); v != "" {
		return v
	}
	subj := d.Subject
	if subj == "" {
		subj = d.header.Get(HeaderSourceSubject)
	}
	// A raw record's key is "<feed>:<id>"; dead letters the harvester
	// files itself carry the raw stub and no subject.
	if strings.HasPrefix(subj, subjectRoot[Raw]+".") || d.Stage == "harvester" || d.Stage == string(StageNormaliser) {
		if feed, _, ok := strings.Cut(d.Key, ":"); ok {
			return feed
		}
	}
	return ""
}

// Headers returns the headers of the dead letter (those of the original
// message, with the stage's reason and attempts), one value per name.
func (d DeadLetter) Headers() map[string]string {
	out := make(map[string]string, len(d.header))
	for k := range d.header {
		out[k] = d.header.Get(k)
	}
	return out
}

// History returns the failures of the message, the oldest first, this one
// last.
func (d DeadLetter) History() []Failure {
	var out []Failure
	if v := d.header.Get(HeaderHistory); v != "" {
		_ = json.Unmarshal([]byte(v), &out) // a broken history is no history
	}
	return append(out, Failure{Time: d.Time, Stage: d.Stage, Attempts: d.Attempts, Reason: d.Reason})
}

// historyHeader is the HeaderHistory a redrive of d sends on.
func (d DeadLetter) historyHeader() string {
	h := d.History()
	if len(h) > MaxHistory {
		h = h[len(h)-MaxHistory:]
	}
	for i := range h {
		if len(h[i].Reason) > 500 {
			h[i].Reason = h[i].Reason[:500]
		}
	}
	v, _ := json.Marshal(h)
	return string(v)
}

// EachDeadLetter calls fn with every dead letter that f selects, oldest
// first, reading the stream in pages (no cap); fn's error stops it and is
// returned.
func (b *Bus) EachDeadLetter(ctx context.Context, f DeadLetterFilter, fn func(DeadLetter) error) error {
	filter := SubjectFilter(DeadLetters)
	if f.Stage != "" {
		filter = Subject(DeadLetters, f.Stage)
	}
	str, err := b.js.Stream(ctx, string(DeadLetters))
	if err != nil {
		return fmt.Errorf("bus: dead letters: %w", err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return fmt.Errorf("bus: dead letters: %w", err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	last := info.State.LastSeq
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}}
	if f.After > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, f.After+1
	} else if !f.Since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &f.Since
	}
	c, err := str.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bus: dead letters: %w", err)
	}
	for {
		batch, err := c.Fetch(256, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return fmt.Errorf("bus: dead letters: %w", err)
		}
		n, end := 0, false
		for m := range batch.Messages() {
			n++
			d, md, err := deadLetterOf(m)
			if err != nil {
				return err
			}
			end = md.NumPending == 0 || d.Seq >= last
			if d.Seq > last || (!f.Until.IsZero() && !d.Time.Before(f.Until)) {
				return nil // newer than the call, or past the range
			}
			if f.Match(d) {
				if err := fn(d); err != nil {
					return err
				}
			}
			if end {
				break
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("bus: dead letters: %w", err)
		}
		if end {
			return nil
		}
		if n == 0 {
			// Nothing within the wait: done only when the consumer has
			// nothing left to deliver (a slow server is waited for).
			ci, err := c.Info(ctx)
			if err != nil {
				return fmt.Errorf("bus: dead letters: %w", err)
			}
			if ci.NumPending == 0 {
				return nil
			}
		}
	}
}

// deadLetterPayload returns a dead letter's payload as it was published,
// and drops its HeaderEncoding from h. One that cannot be decoded is kept
// as it is stored, its header with it, so that a redrive sends back what
// came.
func deadLetterPayload(h nats.Header, data []byte) []byte {
	if out, err := decodeStored(h, data); err == nil {
		return out
	}
	return data
}

// deadLetterOf reads a message of the dead-letter stream.
func deadLetterOf(m jetstream.Msg) (DeadLetter, *jetstream.MsgMetadata, error) {
	md, err := m.Metadata()
	if err != nil {
		return DeadLetter{}, nil, fmt.Errorf("bus: dead letters: %w", err)
	}
	h := m.Headers()
	payload := deadLetterPayload(h, m.Data())
	attempts, _ := strconv.Atoi(h.Get(HeaderAttempts))
	key := h.Get(HeaderDatasetKey)
	if key == "" {
		key = h.Get(HeaderKey)
	}
	return DeadLetter{
		Seq: md.Sequence.Stream, Stage: h.Get(HeaderStage), Reason: h.Get(HeaderReason), Attempts: attempts,
		Subject: h.Get(HeaderSubject), Key: key, Time: md.Timestamp, Payload: payload, header: h,
	}, md, nil
}

// DeadLetter returns the dead letter seq, or an error satisfying
// IsNotFound.
func (b *Bus) DeadLetter(ctx context.Context, seq uint64) (DeadLetter, error) {
	str, err := b.js.Stream(ctx, string(DeadLetters))
	if err != nil {
		return DeadLetter{}, fmt.Errorf("bus: dead letters: %w", err)
	}
	raw, err := str.GetMsg(ctx, seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return DeadLetter{}, mark(ErrNotFound, fmt.Errorf("bus: dead letter %d: %w", seq, err))
		}
		return DeadLetter{}, fmt.Errorf("bus: dead letter %d: %w", seq, err)
	}
	h := raw.Header
	payload := deadLetterPayload(h, raw.Data)
	attempts, _ := strconv.Atoi(h.Get(HeaderAttempts))
	key := h.Get(HeaderDatasetKey)
	if key == "" {
		key = h.Get(HeaderKey)
	}
	return DeadLetter{
		Seq: raw.Sequence, Stage: h.Get(HeaderStage), Reason: h.Get(HeaderReason), Attempts: attempts,
		Subject: h.Get(HeaderSubject), Key: key, Time: raw.Time, Payload: payload, header: h,
	}, nil
}

// PurgeDeadLetter removes the dead letter seq for good.
func (b *Bus) PurgeDeadLetter(ctx context.Context, seq uint64) error {
	str, err := b.js.Stream(ctx, string(DeadLetters))
	if err != nil {
		return fmt.Errorf("bus: purge dead letter %d: %w", seq, err)
	}
	// The server's answer to the deletion of a message it does not hold
	// is no sentinel error: look first.
	if _, err := str.GetMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return mark(ErrNotFound, fmt.Errorf("bus: dead letter %d: %w", seq, err))
		}
		return fmt.Errorf("bus: purge dead letter %d: %w", seq, err)
	}
	if err := str.DeleteMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return mark(ErrNotFound, fmt.Errorf("bus: dead letter %d: %w", seq, err))
		}
		return fmt.Errorf("bus: purge dead letter %d: %w", seq, err)
	}
	return nil
}
