package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StoredMessage is a message as its stream stores it.
type StoredMessage struct {
	// Subject it was published on.
	Subject string
	// Sequence is its sequence in the stream.
	Sequence uint64
	// Header holds its headers (HeaderKey, HeaderHash, …).
	Header nats.Header
	// Data is its payload.
	Data []byte
	// Time it was stored.
	Time time.Time
}

// ErrStalled is returned when the server stops answering in the middle of
// reading a stream (it went away, a leader is being elected).
var ErrStalled = errors.New("stream read stalled")

const (
	// readBatch is how many messages a reader fetches at once.
	readBatch = 500
	// readWait bounds one fetch of EachLast, and stallMargin how much longer
	// a fetch may go without a message before the read gives up.
	readWait    = 2 * time.Second
	stallMargin = 5 * time.Second
)

// StreamReader reads one of the pipeline's streams without a durable
// consumer: the last message about a key, the last message of every key,
// or every message about one key.
//
// A reader is safe for concurrent use. It looks its stream up once (a
// STREAM.INFO request) and keeps the handle, so that Last costs one request
// to the server; a failed look-up is not kept, and is tried again by the
// next read.
type StreamReader struct {
	bus    *Bus
	stream Stream

	mu  sync.Mutex
	str jetstream.Stream // nil until looked up
}

// handle returns the stream's handle, looking it up on first use.
func (r *StreamReader) handle(ctx context.Context) (jetstream.Stream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.str != nil {
		return r.str, nil
	}
	str, err := r.bus.js.Stream(ctx, string(r.stream))
	if err != nil {
		return nil, err
	}
	r.str = str
	return str, nil
}

// StreamReader returns a reader of stream s.
func (b *Bus) StreamReader(s Stream) *StreamReader { return &StreamReader{bus: b, stream: s} }

// LastEntry returns the last message about key in stream s (the live
// catalogue entry of a dataset), or an error satisfying
// errors.Is(err, ErrNotFound).
func (b *Bus) LastEntry(ctx context.Context, s Stream, key string) (StoredMessage, error) {
	return b.StreamReader(s).Last(ctx, key)
}

// IsNotFound reports whether err says a message, key or object does not
// exist.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrKeyNotFound)
}

// Count returns how many messages the stream holds (for the catalogue: how
// many datasets and tombstones).
func (r *StreamReader) Count(ctx context.Context) (uint64, error) {
	str, err := r.handle(ctx)
	if err != nil {
		return 0, fmt.Errorf("bus: stream %s: %w", r.stream, err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("bus: stream %s: %w", r.stream, err)
	}
	return info.State.Msgs, nil
}

// Ping reports whether the stream answers.
func (r *StreamReader) Ping(ctx context.Context) error {
	str, err := r.bus.js.Stream(ctx, string(r.stream))
	if err == nil {
		_, err = str.Info(ctx)
	}
	if err != nil {
		return fmt.Errorf("bus: stream %s: %w", r.stream, err)
	}
	return nil
}

// Last returns the last message about key, or an error satisfying
// errors.Is(err, ErrNotFound). A payload that cannot be decoded is
// returned as it is stored, its HeaderEncoding kept (see storedAsIs).
func (r *StreamReader) Last(ctx context.Context, key string) (StoredMessage, error) {
	str, err := r.handle(ctx)
	if err != nil {
		return StoredMessage{}, fmt.Errorf("bus: stream %s: %w", r.stream, err)
	}
	m, err := str.GetLastMsgForSubject(ctx, Subject(r.stream, key))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return StoredMessage{}, mark(ErrNotFound, fmt.Errorf("bus: stream %s: last message of %.200s: %w", r.stream, key, err))
	}
	if err != nil {
		return StoredMessage{}, fmt.Errorf("bus: stream %s: last message of %.200s: %w", r.stream, key, err)
	}
	sm := StoredMessage{Subject: m.Subject, Sequence: m.Sequence, Header: m.Header, Data: m.Data, Time: m.Time}
	data, err := decodeStored(m.Header, m.Data)
	if err != nil {
		return sm, r.bus.storedAsIs(fmt.Errorf("bus: stream %s: last message of %.200s (sequence %d): %w", r.stream, key, m.Sequence, err))
	}
	sm.Data = data
	return sm, nil
}

// EachLast calls fn with the last message of every subject of the stream
// (the live catalogue: the last entry of every dataset, tombstones
// included), in stream order, until fn returns an error, which EachLast
// returns as it is, or the messages end. A read the server stops answering
// fails with ErrStalled rather than end short: a short catalogue must not
// pass for a whole one.
func (r *StreamReader) EachLast(ctx context.Context, fn func(StoredMessage) error) error {
	str, err := r.handle(ctx)
	if err != nil {
		return fmt.Errorf("bus: stream %s: %w", r.stream, err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return fmt.Errorf("bus: stream %s: %w", r.stream, err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{SubjectFilter(r.stream)},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
		// The server forgets the reader soon after it is done, and a
		// reader whose server went away gives up instead of resetting
		// forever.
		InactiveThreshold: 10 * time.Second,
		MaxResetAttempts:  3,
	})
	if err != nil {
		return fmt.Errorf("bus: stream %s: consumer: %w", r.stream, err)
	}
	stall := time.NewTimer(readWait + stallMargin)
	defer stall.Stop()
	for {
		batch, err := cons.Fetch(readBatch, jetstream.FetchMaxWait(readWait))
		if err != nil {
			return fmt.Errorf("bus: stream %s: fetch: %w", r.stream, err)
		}
		n := 0
		msgs := batch.Messages()
		for {
			// A fetch whose server went away may never close its channel:
			// give up on it rather than hang the reader.
			stall.Reset(readWait + stallMargin)
			var m jetstream.Msg
			var ok bool
			select {
			case m, ok = <-msgs:
			case <-ctx.Done():
				return ctx.Err()
			case <-stall.C:
				return fmt.Errorf("bus: stream %s: %w", r.stream, ErrStalled)
			}
			if !ok {
				break
			}
			n++
			sm, md, err := stored(m)
			if err != nil {
				if err = r.bus.storedAsIs(fmt.Errorf("bus: stream %s: %w", r.stream, err)); err != nil {
					return err
				}
			}
			if err := fn(sm); err != nil {
				return err
			}
			if md.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("bus: stream %s: fetch: %w", r.stream, err)
		}
		if n == 0 {
			// Messages were pending (the last one read said so, or none
			// was read yet) but the fetch brought nothing: the read is cut
			// short.
			return fmt.Errorf("bus: stream %s: %w: no messages within %s", r.stream, ErrStalled, readWait)
		}
	}
}

// History calls fn with every message the stream holds about key, oldest
// first, until fn returns an error, which History returns as it is, or the
// messages end. It reads with a consumer of its own, which it deletes
// before it returns (a reader per request must not leave consumers behind
// on the server).
func (r *StreamReader) History(ctx context.Context, key string, fn func(StoredMessage) error) error {
	js := r.bus.js
	c, err := js.CreateConsumer(ctx, string(r.stream), jetstream.ConsumerConfig{
		FilterSubject: Subject(r.stream, key),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckNonePolicy,
		MemoryStorage: true,
		Replicas:      1,
		// Only for a reader that dies before it deletes its consumer.
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("bus: stream %s: history of %.200s: %w", r.stream, key, err)
	}
	name := c.CachedInfo().Name
	defer func() {
		// Deleted even when the caller is done: its context may be.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := js.DeleteConsumer(dctx, string(r.stream), name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			r.bus.log.Warn("deleting the consumer of a history reader", "stream", r.stream, "key", key, "consumer", name, "err", err)
		}
	}()
	for pending := c.CachedInfo().NumPending; pending > 0; {
		// Every message is stored already: a fetch that waits for none
		// brings what is there, and an empty one ends the read.
		batch, err := c.FetchNoWait(readBatch)
		if err != nil {
			return fmt.Errorf("bus: stream %s: history of %.200s: %w", r.stream, key, err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			sm, md, err := stored(m)
			if err != nil {
				if err = r.bus.storedAsIs(fmt.Errorf("bus: stream %s: history of %.200s: %w", r.stream, key, err)); err != nil {
					return err
				}
			}
			if err := fn(sm); err != nil {
				return err
			}
			pending = md.NumPending
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("bus: stream %s: history of %.200s: %w", r.stream, key, err)
		}
		if got == 0 {
			break
		}
	}
	return nil
}

// storedAsIs decides what becomes of a message read whose payload could
// not be decoded (err satisfies ErrUndecodable): it is logged and handed
// over as it is stored (nil), its HeaderEncoding kept, for the reader to
// treat as any payload it cannot read (the read model removes the record
// until the dataset's next version, a stage replaces an unreadable last
// entry, a replay dead-letters it), so that one bad message neither stops
// a read nor is dropped unseen. Any other error is returned.
func (b *Bus) storedAsIs(err error) error {
	if !errors.Is(err, ErrUndecodable) {
		return err
	}
	b.log.Error("bus: a stored payload cannot be decoded; handed over as stored", "err", err)
	return nil
}

// stored returns a consumed message as it was published (its payload
// decoded, see HeaderEncoding), and its delivery metadata. A payload that
// cannot be decoded gives an error satisfying errors.Is(err,
// ErrUndecodable) with the message as it is stored (its HeaderEncoding
// kept), for the caller to dead-letter or hand over.
func stored(m jetstream.Msg) (StoredMessage, *jetstream.MsgMetadata, error) {
	md, err := m.Metadata()
	if err != nil {
		return StoredMessage{}, nil, fmt.Errorf("metadata of a message on %s: %w", m.Subject(), err)
	}
	h := m.Headers()
	sm := StoredMessage{Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: h, Data: m.Data(), Time: md.Timestamp}
	data, err := decodeStored(h, sm.Data)
	if err != nil {
		return sm, md, fmt.Errorf("message %d on %s: %w", md.Sequence.Stream, m.Subject(), err)
	}
	sm.Data = data
	return sm, md, nil
}
