package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBatchMaxBytes is the default BatchConfig.MaxBytes (16 MiB).
const DefaultBatchMaxBytes = 16 << 20

// BatchConfig configures a stage that consumes its input in batches (the
// analytics writer).
type BatchConfig struct {
	// Stage whose durable consumer is read.
	Stage Stage
	// Size is the most messages one batch holds. Default 1000.
	Size int
	// Wait is the longest a batch waits to fill before it is handled.
	// Default 1s.
	Wait time.Duration
	// MaxBytes bounds the bytes of the messages one batch holds (a batch
	// ends at Size messages or once it reaches MaxBytes, whichever comes
	// first); with the batch buffered ahead, a stage holds about twice
	// that. It counts messages as stored: a compressed payload counts its
	// compressed size (decoded, a batch of catalogue entries is about two
	// and a half times as large). Default 16 MiB (DefaultBatchMaxBytes): with 64 MiB, batches of
	// entries that carry their Turtle stalled the writer (the likely limit
	// is the server's 64 MB of pending bytes per connection, which the
	// writer's consumers share); it must be at least the stream's largest
	// message (it is raised to that).
	MaxBytes int
	// RetryDelay is how long a batch that could not be handled waits before
	// it is tried again the first time; its messages wait in their stream
	// meanwhile. Each failure in a row doubles the wait (with some jitter),
	// up to MaxRetryDelay; a batch handled resets it. Default 5s.
	RetryDelay time.Duration
	// MaxRetryDelay bounds the growing wait between attempts. Default 1m,
	// and never less than RetryDelay.
	MaxRetryDelay time.Duration
	// OnFailure, when set, is called with the size and the error of a batch
	// that failed for a reason other than its data, before the batch waits
	// to be tried again (the analytics writer reports it and creates its
	// tables again there). Unset, the bus logs the error.
	OnFailure func(ctx context.Context, size int, err error)
}

func (c *BatchConfig) setDefaults() {
	if c.Size == 0 {
		c.Size = 1000
	}
	if c.Wait == 0 {
		c.Wait = time.Second
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultBatchMaxBytes
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 5 * time.Second
	}
	if c.MaxRetryDelay == 0 {
		c.MaxRetryDelay = time.Minute
	}
	c.MaxRetryDelay = max(c.MaxRetryDelay, c.RetryDelay)
}

// RetryBackOff returns the growing wait between the attempts at a batch
// (backoff/v4: from RetryDelay, doubling, up to MaxRetryDelay, never
// giving up).
func (c BatchConfig) RetryBackOff() *backoff.ExponentialBackOff {
	c.setDefaults()
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = c.RetryDelay
	bo.MaxInterval = c.MaxRetryDelay
	bo.Multiplier = 2
	bo.RandomizationFactor = 0.2
	bo.MaxElapsedTime = 0 // never give up: the stage lags instead
	bo.Reset()
	return bo
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c BatchConfig) Validate() error {
	if c.Size < 0 || c.Wait < 0 || c.RetryDelay < 0 || c.MaxRetryDelay < 0 || c.MaxBytes < 0 {
		return fmt.Errorf("bus: batches of %s: negative size, bytes, wait or retry delay", c.Stage)
	}
	return nil
}

// BatchHandler handles one batch of messages at once (writes them to a
// database, say). It knows nothing about NATS. msgs is the stage's to
// reuse once the handler returns: a handler keeps no reference to it (the
// messages' fields it keeps are its own). nil acknowledges every
// message of the batch. An error marked Permanent says the data is at
// fault: the batch is split and handled again in halves, until the one
// message at fault is dead-lettered and the others are acknowledged. Any
// other error leaves the whole batch unacknowledged: the stage lags and
// tries again after a growing retry delay, however long that takes. A
// handler that writes rows says how many with NoteRows (the metrics count
// rows, not messages).
type BatchHandler func(ctx context.Context, msgs []StoredMessage) error

// RunBatches consumes the stage's input in batches with h until ctx ends.
// It never blocks the pipeline: while h fails, the stage's consumer lags,
// and it catches up later. A message at fault is dead-lettered with the
// stage, the reason and HeaderSourceSubject, and is not redrivable to its
// subject (that would put an old entry back into the live catalogue): once
// the cause is fixed, replay the stage's consumer instead.
func (b *Bus) RunBatches(ctx context.Context, cfg BatchConfig, h BatchHandler) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.setDefaults()
	stream, ok := InputOf(cfg.Stage)
	if !ok {
		return fmt.Errorf("bus: %w: %q", ErrUnknownStage, cfg.Stage)
	}
	retry := cfg.RetryBackOff()
	var cons jetstream.Consumer
	for {
		c, err := b.js.Consumer(ctx, string(stream), string(cfg.Stage))
		if err == nil {
			cons = c
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		b.log.Warn("batch consumer", "consumer", cfg.Stage, "err", err)
		if !sleep(ctx, cfg.RetryDelay) {
			return nil
		}
	}
	if st, err := b.js.Stream(ctx, string(stream)); err == nil {
		// A batch must be able to hold the stream's largest message,
		// with its subject and headers.
		if m := int(st.CachedInfo().Config.MaxMsgSize); m > 0 {
			cfg.MaxBytes = max(cfg.MaxBytes, m+64<<10)
		}
	}
	// The consumer is read through one long-lived pull subscription whose
	// buffer the client keeps filled up to one batch (Size messages or
	// MaxBytes) while the current batch is handled: the next batch is
	// fetched meanwhile, and a pull request that expires never leaves
	// messages on their way to a subscription that is gone (a Fetch of
	// its own per batch did: the client gives a fetch up on a timer of its
	// own, and what the server delivered after that waited for AckWait).
	// Batches are handled one at a time, in the order they came. After a
	// batch failed, the subscription is drained, what it buffered waits
	// as long as the batch that failed, and a new one starts after the
	// retry delay: no buffered message sits out the delay unacknowledged.
	for ctx.Err() == nil {
		it, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(cfg.Size, cfg.MaxBytes))
		if err != nil {
			b.log.Warn("batch subscription", "consumer", cfg.Stage, "err", err)
			sleep(ctx, cfg.RetryDelay)
			continue
		}
		delay := b.runBatches(ctx, cfg, it, h, retry)
		it.Drain()
		for _, m := range drained(it) {
			if delay > 0 {
				_ = m.NakWithDelay(delay)
			} else {
				_ = m.Nak()
			}
		}
		if delay > 0 {
			sleep(ctx, delay)
		}
	}
	return nil
}

// runBatches handles the batches of one subscription until ctx ends, the
// subscription closes (0) or a batch fails (the delay before it comes
// back).
func (b *Bus) runBatches(ctx context.Context, cfg BatchConfig, it jetstream.MessagesContext, h BatchHandler, retry *backoff.ExponentialBackOff) time.Duration {
	// One batch's buffers serve every batch: a batch of thousands does
	// not grow a new slice of its messages, and another of what the
	// handler sees, each time.
	var (
		buf []batchMsg
		in  []StoredMessage
	)
	for ctx.Err() == nil {
		msgs, open := b.nextBatch(ctx, cfg, it, buf[:0])
		if ctx.Err() != nil {
			nakAll(msgs)
			return 0
		}
		if len(msgs) > 0 {
			in = slices.Grow(in[:0], len(msgs))[:len(msgs)]
			delay := b.handleOrSplit(ctx, cfg, msgs, in, h, retry)
			// What was handled is let go before the next batch fills.
			clear(msgs)
			clear(in)
			if delay > 0 {
				return delay
			}
		}
		buf = msgs
		if !open {
			// The subscription closed (the connection went away, the
			// consumer was deleted): a new one, after a pause.
			sleep(ctx, time.Second)
			return 0
		}
	}
	return 0
}

// nextBatch appends the next batch from the subscription to msgs: it ends
// at Size messages, at MaxBytes or when cfg.Wait has passed since it began
// (MaxBytes may be passed by the last message). A message that is not a
// stream message is dead-lettered there. open is false when the
// subscription has closed.
func (b *Bus) nextBatch(ctx context.Context, cfg BatchConfig, it jetstream.MessagesContext, msgs []batchMsg) (_ []batchMsg, open bool) {
	wait, cancel := context.WithTimeout(ctx, cfg.Wait)
	defer cancel()
	next := jetstream.NextContext(wait)
	size := 0
	for len(msgs) < cfg.Size && size < cfg.MaxBytes {
		m, err := it.Next(next)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, nats.ErrTimeout) {
				return msgs, true
			}
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
				b.log.Warn("batch fetch", "consumer", cfg.Stage, "err", err)
			}
			return msgs, false
		}
		size += len(m.Subject()) + len(m.Reply()) + len(m.Data())
		for k, vs := range m.Headers() {
			for _, v := range vs {
				size += len(k) + len(v) + 4
			}
		}
		sm, _, err := stored(m)
		if err != nil {
			err = b.storedAsIs(fmt.Errorf("bus: batch stage %s: %w", cfg.Stage, err))
		}
		if err != nil {
			b.deadLetterBatchMsg(ctx, cfg, batchMsg{msg: m, stored: sm}, Permanent(err))
			continue
		}
		msgs = append(msgs, batchMsg{msg: m, stored: sm})
	}
	return msgs, true
}

// drained returns what a drained subscription still held.
func drained(it jetstream.MessagesContext) []jetstream.Msg {
	var out []jetstream.Msg
	for {
		m, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

// nakAll hands msgs back to their stream at once (the stage is stopping:
// the next consumer gets them).
func nakAll(msgs []batchMsg) {
	for _, m := range msgs {
		_ = m.msg.Nak()
	}
}

// batchMsg is a consumed message and what the handler sees of it.
type batchMsg struct {
	msg    jetstream.Msg
	stored StoredMessage
}

// handleOrSplit handles msgs with h, splitting them to find a message at
// fault. It returns 0 when they were handled (or dead-lettered, or the
// stage is stopping), else the delay after which they come back: the
// caller waits that long before the next batch.
//
// in, as long as msgs, is where the handler's view of msgs is built.
func (b *Bus) handleOrSplit(ctx context.Context, cfg BatchConfig, msgs []batchMsg, in []StoredMessage, h BatchHandler, retry *backoff.ExponentialBackOff) time.Duration {
	for i, m := range msgs {
		in[i] = m.stored
	}
	start := time.Now()
	hctx, rows := withRowCount(ctx)
	err := h(hctx, in)
	if ctx.Err() == nil || err == nil {
		b.observer().Batch(cfg.Stage, len(in), rows.rows(len(in)), time.Since(start), err)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: the batch is not the problem; it is delivered
		// again to the next consumer.
		nakAll(msgs)
	case err == nil:
		retry.Reset()
		for _, m := range msgs {
			_ = m.msg.Ack()
		}
	case errors.Is(err, ErrPermanent) && len(msgs) == 1:
		b.deadLetterBatchMsg(ctx, cfg, msgs[0], err)
	case errors.Is(err, ErrPermanent):
		// Bad data somewhere in the batch: find it.
		half := len(msgs) / 2
		if delay := b.handleOrSplit(ctx, cfg, msgs[:half], in[:half], h, retry); delay > 0 {
			// The destination went away meanwhile: the other half
			// waits too.
			for _, m := range msgs[half:] {
				_ = m.msg.NakWithDelay(delay)
			}
			return delay
		}
		return b.handleOrSplit(ctx, cfg, msgs[half:], in[half:], h, retry)
	default:
		// The destination away, or failing for a reason of its own: the
		// batch waits in its stream.
		if cfg.OnFailure != nil {
			cfg.OnFailure(ctx, len(msgs), err)
		} else {
			b.log.Warn("batch not handled; the stage lags and tries again", "consumer", cfg.Stage, "batch", len(msgs), "err", err)
		}
		delay := retry.NextBackOff()
		for _, m := range msgs {
			_ = m.msg.NakWithDelay(delay)
		}
		return delay
	}
	return 0
}

// deadLetterBatchMsg moves a message the stage cannot use into the dead
// letters, with its reason, and acknowledges it.
func (b *Bus) deadLetterBatchMsg(ctx context.Context, cfg BatchConfig, m batchMsg, cause error) {
	subject := m.msg.Subject()
	b.log.Error("batch stage dead-lettered a message", "consumer", cfg.Stage, "subject", subject, "err", cause)
	// The reply subject names the stream sequence and the delivery: a
	// dead letter of its own for each.
	// The payload as it was published (as it is stored when it could not
	// be decoded).
	payload := m.stored.Data
	if payload == nil {
		payload = m.msg.Data()
	}
	md := map[string]string{HeaderAttempts: "1", HeaderSourceSubject: subject}
	// Still there only when the payload was not decoded (stored drops it).
	if enc := m.msg.Headers().Get(HeaderEncoding); enc != "" {
		md[HeaderSourceEncoding] = enc
	}
	ev := DeadLetterEvent(string(cfg.Stage), m.msg.Reply(), payload, cause.Error(), md)
	if err := b.Publish(ctx, string(cfg.Stage), ev); err != nil {
		b.log.Error("cannot dead-letter; the message stays in its stream", "consumer", cfg.Stage, "err", err)
		_ = m.msg.NakWithDelay(cfg.RetryDelay)
		return
	}
	b.observer().DeadLettered(cfg.Stage)
	_ = m.msg.Ack()
}

// sleep waits d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
