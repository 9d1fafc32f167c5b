package bus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// consumerSubscriber feeds a stage's router from its durable consumer: a
// watermill message.Subscriber over one JetStream pull consumer, on a
// connection of its own.
//
// It hands the router one message at a time and acknowledges it (a
// double ack: the server confirms) when the handler did, or naks it with
// a delay when the handler asked for a retry later. Unlike watermill-nats'
// subscriber, whose delivery callbacks can send on the output channel its
// shutdown closes (a panic when a stage stops while messages flow), one
// goroutine both sends on the output channel and closes it. A stop lets
// the handler in hand finish and settles its message; the messages pulled
// ahead and not handled are nak'ed, so that the server delivers them again
// at once.
type consumerSubscriber struct {
	bus      *Bus
	nc       *nats.Conn
	cons     jetstream.Consumer
	ackWait  time.Duration // how long a handler may take before the message is given up locally
	nakDelay time.Duration // redelivery delay of a nak
	pull     int           // messages pulled ahead
	log      *slog.Logger

	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

var _ message.Subscriber = (*consumerSubscriber)(nil)

// Subscribe starts delivering; topic is ignored (the consumer says what
// it reads).
func (s *consumerSubscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	it, err := s.cons.Messages(jetstream.PullMaxMessages(s.pull))
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	stop := make(chan struct{})
	s.wg.Add(2)
	go func() {
		// Next blocks; draining the iterator is what ends it: it pulls no
		// more, and Next gives what it pulled ahead, then
		// ErrMsgIteratorClosed.
		defer s.wg.Done()
		select {
		case <-s.closing:
		case <-ctx.Done():
		case <-stop:
		}
		it.Drain()
	}()
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer close(stop)
		for {
			m, err := it.Next()
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if err != nil {
				// A missed heartbeat or a reconnect: the iterator goes on.
				// An error that stays (a consumer removed) is not spun on.
				s.log.Debug("consumer: next message", "err", err)
				select {
				case <-s.closing:
					return
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			if s.stopping(ctx) || !s.deliver(ctx, m, out) {
				// Pulled but not handled: back to the server at once,
				// for the next run or another replica.
				if err := m.Nak(); err != nil {
					s.log.Debug("consumer: nak on stop", "subject", m.Subject(), "err", err)
				}
			}
		}
	}()
	return out, nil
}

// stopping reports whether the subscriber is closing or ctx ended.
func (s *consumerSubscriber) stopping(ctx context.Context) bool {
	select {
	case <-s.closing:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// deliver hands m to the router and settles it as the handler says; it
// returns false, leaving m unsettled, when the subscriber stopped before
// the router took m.
func (s *consumerSubscriber) deliver(ctx context.Context, m jetstream.Msg, out chan<- *message.Message) bool {
	wm, _ := subjectUnmarshaler{}.Unmarshal(m)
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wm.SetContext(mctx)
	select {
	case out <- wm:
	case <-s.closing:
		return false
	case <-ctx.Done():
		return false
	}
	// The router took it: its handler runs to the end, even while the
	// stage stops (the router waits for it), and its verdict is sent.
	timer := time.NewTimer(s.ackWait)
	defer timer.Stop()
	select {
	case <-wm.Acked():
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer acancel()
		if err := m.DoubleAck(actx); err != nil {
			s.log.Warn("consumer: ack not confirmed (the message may come again)", "subject", m.Subject(), "err", err)
		}
	case <-wm.Nacked():
		if err := m.NakWithDelay(s.nakDelay); err != nil {
			s.log.Warn("consumer: nak", "subject", m.Subject(), "err", err)
		}
	case <-timer.C:
		// Given up locally; the server delivers it again after its ack wait.
		s.log.Warn("consumer: handler outlasted the ack wait", "subject", m.Subject(), "ack_wait", s.ackWait)
	}
	return true
}

// Close stops deliveries, waits for the message in hand to be settled
// (at most the ack wait), and closes the connection. It is idempotent.
func (s *consumerSubscriber) Close() error {
	s.once.Do(func() {
		close(s.closing)
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(s.ackWait + 10*time.Second):
			s.log.Warn("consumer: a delivery did not end in time")
		}
		s.bus.release(s.nc)
	})
	return nil
}
