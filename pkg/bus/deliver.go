package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// DeliveryPrefix begins the name of every push destination's consumer of
// the catalogue (see DeliveryName).
const DeliveryPrefix = "push-"

// DeliveryName returns the durable consumer name of destination id:
// DeliveryPrefix and the id when it is a valid consumer name, else
// DeliveryPrefix and a digest of it.
func DeliveryName(id string) string {
	if n := DeliveryPrefix + id; id != "" && validConsumerName(n) {
		return n
	}
	return DeliveryPrefix + Digest(id)
}

// DeliverConfig configures a delivery: a durable consumer of its own on a
// stream (one per push destination on the catalogue), whose messages a
// handler takes several at once, but one at a time for each subject (each
// dataset), in stream order.
type DeliverConfig struct {
	// Stream delivered. Required.
	Stream Stream
	// Name of the durable consumer (DeliveryName). Required.
	Name string
	// Stage names the delivery in its dead letters ("push:eosc").
	// Required.
	Stage string
	// InFlight is how many messages are handled at once. Default 32.
	InFlight int
	// AckWait is how long the server waits for a message to be settled
	// before delivering it again; a message whose handler is retrying is
	// kept alive meanwhile. Default 2m.
	AckWait time.Duration
	// RetryInitial and RetryMax bound the backoff between the attempts at a
	// message whose handler failed (a destination that is down). Defaults
	// 1s and 5m. A wait the error asks for (RetryAfter) is honoured, up to
	// RetryMax.
	RetryInitial, RetryMax time.Duration
}

func (c *DeliverConfig) setDefaults() {
	if c.InFlight == 0 {
		c.InFlight = 32
	}
	if c.AckWait == 0 {
		c.AckWait = 2 * time.Minute
	}
	if c.RetryInitial == 0 {
		c.RetryInitial = time.Second
	}
	if c.RetryMax == 0 {
		c.RetryMax = 5 * time.Minute
	}
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c DeliverConfig) Validate() error {
	switch {
	case c.Stream == "":
		return errors.New("bus: delivery without a stream")
	case !validConsumerName(c.Name):
		return fmt.Errorf("bus: delivery name %q: want 1 to %d letters, digits, '-' or '_'", c.Name, maxConsumerName)
	case c.Stage == "":
		return errors.New("bus: delivery without a stage name")
	case c.InFlight < 0 || c.InFlight > 1024:
		return fmt.Errorf("bus: delivery in flight %d: want 1 to 1024", c.InFlight)
	case c.AckWait < 0, c.RetryInitial < 0, c.RetryMax < 0:
		return errors.New("bus: delivery: negative ack wait or retry interval")
	case c.AckWait > 0 && c.AckWait < 3*time.Second:
		return errors.New("bus: delivery: ack wait under 3s")
	}
	return nil
}

// DeliverHandler handles one message of a delivery; attempt counts the
// attempts at it in this process, from 1. nil settles the message. An
// error marked Permanent files it in the dead letters with the error as the
// reason, and settles it. Any other error is retried, with backoff, as long
// as the delivery runs: a destination that is down makes its delivery lag,
// never lose a message.
type DeliverHandler func(ctx context.Context, m StoredMessage, attempt int) error

// retryAfterError asks for a wait before the next attempt.
type retryAfterError struct {
	after time.Duration
	err   error
}

func (e *retryAfterError) Error() string   { return e.err.Error() }
func (e *retryAfterError) Unwrap() []error { return []error{ErrTransient, e.err} }

// RetryAfter marks err as transient, asking that the next attempt wait at
// least d (a destination's Retry-After).
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{after: d, err: err}
}

// RetryDelay returns the wait err asks for (see RetryAfter), or 0.
func RetryDelay(err error) time.Duration {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after
	}
	return 0
}

// DeliveryConfig returns the durable consumer configuration of a delivery
// that starts at start.
func (t Topology) DeliveryConfig(c DeliverConfig, start DeliveryStart) jetstream.ConsumerConfig {
	t.setDefaults()
	c.setDefaults()
	cfg := jetstream.ConsumerConfig{
		Durable:       c.Name,
		Description:   "delivery " + c.Stage + " reading " + string(c.Stream),
		FilterSubject: SubjectFilter(c.Stream),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		// Those in the handlers, those queued for them and those pulled.
		MaxAckPending: 4 * c.InFlight,
		Replicas:      t.Replicas,
	}
	switch {
	case start.Seq > 1:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start.Seq
	case !start.Time.IsZero():
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		t := start.Time.UTC()
		cfg.OptStartTime = &t
	}
	return cfg
}

// DeliveryStart is where a delivery's consumer starts: at a stream
// sequence, or at the first message stored at or after a time; the zero
// value is the stream's first message.
type DeliveryStart struct {
	Seq  uint64
	Time time.Time
}

// ResetDelivery makes the consumer of a delivery start again at start
// (it is removed and created anew): what it had delivered is delivered
// again. No delivery of cfg may run meanwhile.
func (b *Bus) ResetDelivery(ctx context.Context, cfg DeliverConfig, start DeliveryStart) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := b.DeleteConsumer(ctx, cfg.Stream, cfg.Name); err != nil {
		return err
	}
	if _, err := b.js.CreateConsumer(ctx, string(cfg.Stream), b.cfg.Topology.DeliveryConfig(cfg, start)); err != nil {
		return fmt.Errorf("bus: delivery %s: create: %w", cfg.Name, err)
	}
	return nil
}

// DeliveryState is where a delivery's consumer stands.
type DeliveryState struct {
	// Exists is false before the delivery first ran (or after it was
	// removed): then the other fields are zero.
	Exists bool
	// AckFloor is the stream sequence up to which every message is settled.
	AckFloor uint64
	// Pending is how many messages are still to be delivered, and
	// InFlight how many are delivered and not yet settled.
	Pending  uint64
	InFlight int
	// Oldest is when the first message not yet settled was stored (zero
	// when none waits): how far behind the delivery is, in time.
	Oldest time.Time
}

// DeliveryState returns where the consumer of a delivery stands.
func (b *Bus) DeliveryState(ctx context.Context, s Stream, name string) (DeliveryState, error) {
	c, err := b.js.Consumer(ctx, string(s), name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return DeliveryState{}, nil
	}
	if err != nil {
		return DeliveryState{}, fmt.Errorf("bus: delivery %s: %w", name, err)
	}
	info := c.CachedInfo()
	st := DeliveryState{Exists: true, AckFloor: info.AckFloor.Stream, Pending: info.NumPending, InFlight: info.NumAckPending}
	if st.Pending > 0 || st.InFlight > 0 {
		str, err := b.js.Stream(ctx, string(s))
		if err != nil {
			return st, fmt.Errorf("bus: delivery %s: %w", name, err)
		}
		m, err := str.GetMsg(ctx, st.AckFloor+1, jetstream.WithGetMsgSubject(SubjectFilter(s)))
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return st, fmt.Errorf("bus: delivery %s: oldest pending: %w", name, err)
		}
		if m != nil {
			st.Oldest = m.Time
		}
	}
	return st, nil
}

// DeleteConsumer removes a durable consumer of stream s (a follower of a
// replica retired for good, the delivery of a destination removed); one
// that is not there is no error.
func (b *Bus) DeleteConsumer(ctx context.Context, s Stream, name string) error {
	if err := b.js.DeleteConsumer(ctx, string(s), name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("bus: consumer %s: delete: %w", name, err)
	}
	return nil
}

// delivery returns the durable consumer of cfg, created at the stream's
// start when missing, and updated when its in-flight bound or ack wait
// changed (its position stays).
func (b *Bus) delivery(ctx context.Context, cfg DeliverConfig) (jetstream.Consumer, error) {
	want := b.cfg.Topology.DeliveryConfig(cfg, DeliveryStart{})
	c, err := b.js.Consumer(ctx, string(cfg.Stream), cfg.Name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		c, err = b.js.CreateConsumer(ctx, string(cfg.Stream), want)
		if err != nil {
			return nil, fmt.Errorf("bus: delivery %s: create: %w", cfg.Name, err)
		}
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bus: delivery %s: %w", cfg.Name, err)
	}
	have := c.CachedInfo().Config
	if have.MaxAckPending != want.MaxAckPending || have.AckWait != want.AckWait {
		have.MaxAckPending, have.AckWait = want.MaxAckPending, want.AckWait
		if c, err = b.js.UpdateConsumer(ctx, string(cfg.Stream), have); err != nil {
			return nil, fmt.Errorf("bus: delivery %s: update: %w", cfg.Name, err)
		}
	}
	return c, nil
}

// Deliver hands the messages of cfg.Stream to h through the durable
// consumer cfg.Name (created at the stream's start when missing), until
// ctx ends; then it lets the handlers in progress see ctx end, gives back
// what was not settled (it is delivered again on the next run) and returns
// nil. A consumer removed while it runs ends it with ErrDeliveryGone. Up to cfg.InFlight messages are handled at once, those of one
// subject one after the other in stream order. A message h fails is tried
// again in place (see DeliverHandler), kept alive on the server meanwhile,
// so that the consumer's ack floor never passes a message that was not
// handled.
func (b *Bus) Deliver(ctx context.Context, cfg DeliverConfig, h DeliverHandler) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.setDefaults()
	for ctx.Err() == nil {
		cons, err := b.delivery(ctx, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.log.Warn("delivery consumer", "consumer", cfg.Name, "err", err)
			sleep(ctx, 5*time.Second)
			continue
		}
		err = b.deliverFrom(ctx, cons, cfg, h)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
			// Removed under it (the destination was removed or reset
			// elsewhere): the caller decides where to start again.
			return fmt.Errorf("bus: delivery %s: %w: %w", cfg.Name, ErrDeliveryGone, err)
		case err != nil:
			b.log.Warn("delivery interrupted; starting again", "consumer", cfg.Name, "err", err)
			sleep(ctx, time.Second)
		}
	}
	return nil
}

// ErrDeliveryGone is returned by Deliver when its consumer was removed
// while it ran.
var ErrDeliveryGone = errors.New("delivery consumer removed")

// deliverFrom runs the workers over one consumer until ctx ends or the
// consumer fails for good (it was removed: then the caller finds or
// creates it again).
//
// A message whose subject a worker holds already waits behind it, and that
// worker handles it next; any other goes to the first idle worker. What
// waits is bounded by the consumer's MaxAckPending.
func (b *Bus) deliverFrom(ctx context.Context, cons jetstream.Consumer, cfg DeliverConfig, h DeliverHandler) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * cfg.InFlight))
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	held := map[string][]jetstream.Msg{} // subjects being handled → what waits behind
	active := map[jetstream.Msg]bool{}   // messages in a handler
	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range cfg.InFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				subject := m.Subject()
				for m != nil {
					mu.Lock()
					active[m] = true
					mu.Unlock()
					if wctx.Err() != nil {
						_ = m.Nak() // given back: delivered again on the next run
					} else {
						b.deliverOne(wctx, cfg, m, h)
					}
					mu.Lock()
					delete(active, m)
					if next := held[subject]; len(next) > 0 {
						m, held[subject] = next[0], next[1:]
					} else {
						m = nil
						delete(held, subject)
					}
					mu.Unlock()
				}
			}
		}()
	}
	// Every message not settled yet, in a handler (however long a push
	// takes) or waiting behind its subject, is kept alive on the server:
	// none is delivered again while this delivery holds it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			for m := range active {
				_ = m.InProgress()
			}
			for _, waiting := range held {
				for _, m := range waiting {
					_ = m.InProgress()
				}
			}
			mu.Unlock()
		}
	}()
	stop := make(chan struct{})
	go func() {
		// Draining ends the iterator: it pulls no more, and Next gives
		// what it pulled ahead (given back below), then
		// ErrMsgIteratorClosed.
		select {
		case <-wctx.Done():
		case <-stop:
		}
		it.Drain()
	}()
	var fail error
	misses := 0
	for {
		m, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			break
		}
		if err != nil {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				fail = err
				break
			}
			// A missed heartbeat or a reconnect: the iterator goes on, but
			// an error that stays is not spun on.
			if misses++; misses > 30 {
				fail = err
				break
			}
			b.log.Debug("delivery: next message", "consumer", cfg.Name, "err", err)
			sleep(wctx, 200*time.Millisecond)
			continue
		}
		misses = 0
		if wctx.Err() != nil {
			_ = m.Nak()
			continue
		}
		mu.Lock()
		if waiting, busy := held[m.Subject()]; busy {
			held[m.Subject()] = append(waiting, m)
			mu.Unlock()
			continue
		}
		held[m.Subject()] = nil
		mu.Unlock()
		select {
		case work <- m:
		case <-wctx.Done():
			_ = m.Nak()
			mu.Lock()
			for _, w := range held[m.Subject()] {
				_ = w.Nak()
			}
			delete(held, m.Subject())
			mu.Unlock()
		}
	}
	if fail != nil {
		cancel() // the consumer is gone: the handlers give up what they hold
	}
	close(stop)
	close(work)
	cancel()
	wg.Wait()
	return fail
}

// deliverOne runs h on m until it settles m or ctx ends.
func (b *Bus) deliverOne(ctx context.Context, cfg DeliverConfig, m jetstream.Msg, h DeliverHandler) {
	sm, _, err := stored(m)
	if errors.Is(err, ErrUndecodable) {
		b.deadLetter(ctx, cfg, m, sm, Permanent(err), 1)
		return
	}
	if err != nil {
		b.log.Warn("delivery: message without metadata", "consumer", cfg.Name, "err", err)
		_ = m.Nak()
		return
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = cfg.RetryInitial, cfg.RetryMax, 0
	bo.Reset()
	for attempt := 1; ; attempt++ {
		err := h(ctx, sm, attempt)
		if ctx.Err() != nil {
			_ = m.Nak()
			return
		}
		switch {
		case err == nil:
			b.settle(ctx, cfg, m)
			return
		case errors.Is(err, ErrPermanent):
			b.deadLetter(ctx, cfg, m, sm, err, attempt)
			return
		}
		wait := min(max(bo.NextBackOff(), RetryDelay(err)), cfg.RetryMax)
		b.log.Debug("delivery: retrying", "consumer", cfg.Name, "key", sm.Header.Get(HeaderKey), "attempt", attempt, "wait", wait, "err", err)
		if !sleep(ctx, wait) {
			_ = m.Nak()
			return
		}
	}
}

// settle acknowledges m, the server confirming.
func (b *Bus) settle(ctx context.Context, cfg DeliverConfig, m jetstream.Msg) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := m.DoubleAck(actx); err != nil {
		b.log.Warn("delivery: ack not confirmed (the message may come again)", "consumer", cfg.Name, "subject", m.Subject(), "err", err)
	}
}

// deadLetter files m in the dead letters with cause, then settles it; when
// the dead letter cannot be stored, m is given back to come again.
func (b *Bus) deadLetter(ctx context.Context, cfg DeliverConfig, m jetstream.Msg, sm StoredMessage, cause error, attempts int) {
	md := map[string]string{HeaderAttempts: strconv.Itoa(attempts), HeaderSourceSubject: sm.Subject}
	if Undecoded(sm) {
		md[HeaderSourceEncoding] = sm.Header.Get(HeaderEncoding)
	}
	if key := sm.Header.Get(HeaderKey); key != "" {
		md[HeaderDatasetKey] = key
	}
	if corr := sm.Header.Get(HeaderCorrelation); corr != "" {
		md[HeaderCorrelation] = corr
	}
	id := cfg.Name + ":" + strconv.FormatUint(sm.Sequence, 10)
	ev := DeadLetterEvent(cfg.Stage, id, sm.Data, cause.Error(), md)
	if err := b.Publish(ctx, cfg.Stage, ev); err != nil {
		b.log.Error("delivery: cannot dead-letter; the message stays", "consumer", cfg.Name, "err", err)
		_ = m.NakWithDelay(cfg.RetryInitial)
		return
	}
	b.log.Warn("delivery: dead-lettered", "consumer", cfg.Name, "key", sm.Header.Get(HeaderKey), "reason", cause)
	b.settle(ctx, cfg, m)
}

// ConsumerNames returns the names of the durable consumers of stream s.
func (b *Bus) ConsumerNames(ctx context.Context, s Stream) ([]string, error) {
	str, err := b.js.Stream(ctx, string(s))
	if err != nil {
		return nil, fmt.Errorf("bus: stream %s: %w", s, err)
	}
	lister := str.ConsumerNames(ctx)
	var names []string
	for n := range lister.Name() {
		names = append(names, n)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("bus: consumers of %s: %w", s, err)
	}
	return names, nil
}

// DeliveryOldest returns when the first message stream s holds was stored
// (what a delivery that has not started yet lags behind).
func (b *Bus) DeliveryOldest(ctx context.Context, s Stream) (time.Time, error) {
	str, err := b.js.Stream(ctx, string(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("bus: stream %s: %w", s, err)
	}
	m, err := str.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(SubjectFilter(s)))
	if err != nil {
		return time.Time{}, fmt.Errorf("bus: stream %s: first message: %w", s, err)
	}
	return m.Time, nil
}
