package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// FollowConfig configures a follower: a durable consumer of its own that
// hands a stream's messages, in stream order, to one handler in batches (the
// read model of each replica).
type FollowConfig struct {
	// Stream followed. Required.
	Stream Stream
	// Name of the durable consumer (see FollowerName). Required.
	Name string
	// StartSeq is the first stream sequence the follower wants: the
	// position its handler holds plus one. A consumer left on the server
	// at another position (its ack floor is not StartSeq-1, or messages are
	// delivered but not acknowledged) is deleted and created again to start
	// there. 0 or 1: from the stream's first message.
	StartSeq uint64
	// Batch is the most messages one call of the handler gets. Default 500.
	Batch int
	// Wait is the longest a fetch waits for its batch to fill. Default 1s.
	Wait time.Duration
	// Linger is how long a fetch that found fewer than Batch messages waits
	// for more before it hands them over (0: it hands over at once what is
	// there). A handler whose cost per call dominates (an index that makes
	// a segment per call) lingers, so that a stream filling at a trickle
	// comes in a few large batches instead of many small ones; the
	// follower's lag grows by up to Linger.
	Linger time.Duration
	// Inactive is how long the server keeps the consumer while nobody reads
	// it, so that the consumer of a replica that is gone is removed. Default
	// 72h.
	Inactive time.Duration
	// RetryDelay is how long a batch the handler failed waits before it is
	// delivered again. Default 5s.
	RetryDelay time.Duration
	// AckWait is how long the server waits for a batch to be acknowledged
	// before delivering it again; it must exceed the time the handler takes.
	// Default 5m.
	AckWait time.Duration
}

func (c *FollowConfig) setDefaults() {
	if c.Batch == 0 {
		c.Batch = 500
	}
	if c.Wait == 0 {
		c.Wait = time.Second
	}
	if c.Inactive == 0 {
		c.Inactive = 72 * time.Hour
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 5 * time.Second
	}
	if c.AckWait == 0 {
		c.AckWait = 5 * time.Minute
	}
	if c.StartSeq == 0 {
		c.StartSeq = 1
	}
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c FollowConfig) Validate() error {
	switch {
	case c.Stream == "":
		return errors.New("bus: follower without a stream")
	case !validConsumerName(c.Name):
		return fmt.Errorf("bus: follower name %q: want 1 to %d letters, digits, '-' or '_'", c.Name, maxConsumerName)
	case c.Batch < 0 || c.Batch > 10000:
		return fmt.Errorf("bus: follower batch %d: want 1 to 10000", c.Batch)
	case c.Wait < 0, c.Linger < 0, c.Inactive < 0, c.RetryDelay < 0, c.AckWait < 0:
		return errors.New("bus: follower: negative wait, linger, inactive threshold, retry delay or ack wait")
	}
	d := c
	d.setDefaults()
	if d.Wait+d.Linger >= d.AckWait/2 {
		// The first messages of a batch must not be delivered again while
		// the fetch still waits for the rest.
		return fmt.Errorf("bus: follower: wait %s and linger %s: together they must stay under half the ack wait (%s)", d.Wait, d.Linger, d.AckWait)
	}
	return nil
}

// FollowHandler applies one batch of messages, in stream order, all or
// nothing: nil acknowledges the batch; an error leaves none of it applied,
// and the batch is delivered again, in order, after the retry delay.
type FollowHandler func(ctx context.Context, msgs []StoredMessage) error

// FollowerConfig returns the durable consumer configuration of a follower.
func (t Topology) FollowerConfig(c FollowConfig) jetstream.ConsumerConfig {
	t.setDefaults()
	c.setDefaults()
	cfg := jetstream.ConsumerConfig{
		Durable:           c.Name,
		Description:       "follower " + c.Name + " reading " + string(c.Stream),
		FilterSubject:     SubjectFilter(c.Stream),
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           c.AckWait,
		MaxDeliver:        -1,
		MaxAckPending:     2 * c.Batch,
		InactiveThreshold: c.Inactive,
		Replicas:          t.Replicas,
	}
	if c.StartSeq > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = c.StartSeq
	}
	return cfg
}

// Follow hands the messages of cfg.Stream from cfg.StartSeq on to h, in
// stream order and in batches, through the durable consumer cfg.Name, until
// ctx ends (then it returns nil). A message at or before a sequence already
// handed over (a redelivery) is acknowledged and not handed again. While h
// fails, the follower lags and tries the same batch again; it never skips
// one.
func (b *Bus) Follow(ctx context.Context, cfg FollowConfig, h FollowHandler) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.setDefaults()
	next := cfg.StartSeq // the first sequence not handed over yet
	var cons jetstream.Consumer
	// delivered is the consumer sequence of the last delivery to this
	// follower (0: none yet on this consumer). Deliveries to one reader
	// come one after another; a jump means another reader took some (two
	// processes sharing a name), which could skip messages.
	var delivered uint64
	for ctx.Err() == nil {
		if cons == nil {
			delivered = 0
			c, err := b.follower(ctx, cfg, next)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				b.log.Warn("follower consumer", "consumer", cfg.Name, "err", err)
				sleep(ctx, cfg.RetryDelay)
				continue
			}
			cons = c
		}
		got, err := fetch(cons, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// Whatever came with the error is dropped, unacknowledged: the
			// consumer starts again at next, so that nothing is handed over
			// out of order (a message left pending would come later).
			b.log.Warn("follower fetch", "consumer", cfg.Name, "err", err)
			cons = nil
			sleep(ctx, time.Second)
			continue
		}
		var msgs []StoredMessage
		acks := got
		for _, m := range got {
			sm, md, err := stored(m)
			if err != nil {
				// Undecodable: handed over as it is stored, in its place.
				err = b.storedAsIs(fmt.Errorf("bus: follower %s: %w", cfg.Name, err))
			}
			if err != nil {
				b.log.Warn("follower: message without metadata", "consumer", cfg.Name, "err", err)
				msgs = nil
				cons = nil
				break
			}
			if delivered != 0 && md.Sequence.Consumer != delivered+1 {
				b.log.Error("follower: another reader uses this consumer (two processes with one name?); starting again where this one is",
					"consumer", cfg.Name, "delivery", md.Sequence.Consumer, "expected", delivered+1)
				msgs = nil
				cons = nil
				break
			}
			delivered = md.Sequence.Consumer
			if sm.Sequence < next || (len(msgs) > 0 && sm.Sequence <= msgs[len(msgs)-1].Sequence) {
				continue // a redelivery of what was handed over already
			}
			msgs = append(msgs, sm)
		}
		if len(msgs) > 0 {
			if err := h(ctx, msgs); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				b.log.Warn("follower: batch not applied; it is delivered again", "consumer", cfg.Name, "batch", len(msgs), "first", msgs[0].Sequence, "err", err)
				// Start again at the batch's first message: a consumer
				// that redelivered only part of it could break the order.
				cons = nil
				sleep(ctx, cfg.RetryDelay)
				continue
			}
			next = msgs[len(msgs)-1].Sequence + 1
		}
		if cons == nil {
			continue
		}
		if len(acks) > 0 {
			// Acknowledging the last message of the batch acknowledges it
			// all only with AckAll; with explicit acks each is acknowledged,
			// the last one synchronously so that the ack floor is known when
			// Follow returns.
			for _, m := range acks[:len(acks)-1] {
				_ = m.Ack()
			}
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := acks[len(acks)-1].DoubleAck(actx); err != nil && ctx.Err() == nil {
				b.log.Debug("follower ack", "consumer", cfg.Name, "err", err)
			}
			cancel()
		}
	}
	return nil
}

// fetch returns the next messages of cons: at once what is there (up to
// a batch); when nothing is, it waits (up to cfg.Wait) for one message and
// takes what came with it. A batch is handed over as soon as it is there,
// not when it is full, unless cfg.Linger is set: then a batch that is not
// full waits up to cfg.Linger for the rest.
func fetch(cons jetstream.Consumer, cfg FollowConfig) ([]jetstream.Msg, error) {
	collect := func(batch jetstream.MessageBatch, err error, out []jetstream.Msg) ([]jetstream.Msg, error) {
		if err != nil {
			return out, err
		}
		for m := range batch.Messages() {
			out = append(out, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			return out, err
		}
		return out, nil
	}
	// linger tops out up to a full batch, waiting up to cfg.Linger.
	linger := func(out []jetstream.Msg) ([]jetstream.Msg, error) {
		if cfg.Linger <= 0 || len(out) >= cfg.Batch {
			return out, nil
		}
		b, err := cons.Fetch(cfg.Batch-len(out), jetstream.FetchMaxWait(cfg.Linger))
		// An error here ends the linger only: what came before it came in
		// order and is handed over; the next fetch meets the error again
		// if it lasts.
		more, _ := collect(b, err, out)
		return more, nil
	}
	b, err := cons.FetchNoWait(cfg.Batch)
	out, err := collect(b, err, nil)
	if err != nil {
		return out, err
	}
	if len(out) > 0 {
		return linger(out)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(cfg.Wait))
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if cfg.Batch == 1 {
		return []jetstream.Msg{m}, nil
	}
	b, err = cons.FetchNoWait(cfg.Batch - 1)
	if out, err = collect(b, err, []jetstream.Msg{m}); err != nil {
		return out, err
	}
	return linger(out)
}

// follower returns the durable consumer of cfg positioned to deliver next:
// the one the server holds when it is there already, else a new one.
func (b *Bus) follower(ctx context.Context, cfg FollowConfig, next uint64) (jetstream.Consumer, error) {
	cc := b.cfg.Topology.FollowerConfig(FollowConfig{
		Stream: cfg.Stream, Name: cfg.Name, StartSeq: next, Batch: cfg.Batch, Inactive: cfg.Inactive, AckWait: cfg.AckWait,
	})
	c, err := b.js.Consumer(ctx, string(cfg.Stream), cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	case err != nil:
		return nil, fmt.Errorf("bus: follower %s: %w", cfg.Name, err)
	default:
		info := c.CachedInfo()
		at := info.AckFloor.Stream
		if info.Delivered.Stream == 0 && info.Config.DeliverPolicy == jetstream.DeliverByStartSequencePolicy {
			at = info.Config.OptStartSeq - 1
		}
		if at+1 == next && info.NumAckPending == 0 && info.Delivered.Stream <= at &&
			info.Config.FilterSubject == cc.FilterSubject && info.Config.MaxAckPending == cc.MaxAckPending {
			return c, nil
		}
		b.log.Info("follower consumer repositioned", "consumer", cfg.Name, "stream", cfg.Stream, "ack_floor", info.AckFloor.Stream, "delivered", info.Delivered.Stream, "start", next)
		if err := b.js.DeleteConsumer(ctx, string(cfg.Stream), cfg.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("bus: follower %s: delete: %w", cfg.Name, err)
		}
	}
	c, err = b.js.CreateConsumer(ctx, string(cfg.Stream), cc)
	if err != nil {
		return nil, fmt.Errorf("bus: follower %s: create: %w", cfg.Name, err)
	}
	return c, nil
}

// StreamState is what a stream holds now.
type StreamState struct {
	// First and Last are the sequences of its first and last messages
	// (Last is the last sequence ever stored, even when that message was
	// replaced since).
	First, Last uint64
	// Msgs is how many messages it holds.
	Msgs uint64
	// Created is when the stream was created: a stream removed and created
	// again (its sequences start over) has another.
	Created time.Time
}

// StreamState returns what stream s holds now.
func (b *Bus) StreamState(ctx context.Context, s Stream) (StreamState, error) {
	str, err := b.js.Stream(ctx, string(s))
	if err != nil {
		return StreamState{}, fmt.Errorf("bus: stream %s: %w", s, err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return StreamState{}, fmt.Errorf("bus: stream %s: %w", s, err)
	}
	return StreamState{First: info.State.FirstSeq, Last: info.State.LastSeq, Msgs: info.State.Msgs, Created: info.Created}, nil
}

// LastSequence returns the sequence of the last message stored in stream s
// (0 when it never held one).
func (b *Bus) LastSequence(ctx context.Context, s Stream) (uint64, error) {
	st, err := b.StreamState(ctx, s)
	return st.Last, err
}
