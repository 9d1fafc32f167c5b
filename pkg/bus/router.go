package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Message is one consumed event as a stage handler sees it.
type Message struct {
	// Key of the dataset the message is about.
	Key string
	// Payload is the serialised event.
	Payload []byte
	// Metadata holds the message's headers.
	Metadata map[string]string
}

// Handler turns one incoming event into the events it causes. It knows
// nothing about NATS: a table test can call it with bytes. An error marked
// Permanent sends the message to the dead letters at once, one marked
// Transient makes it wait and come again, any other is retried and then
// dead-lettered.
type Handler func(ctx context.Context, msg *Message) ([]Event, error)

// RunConfig configures how a stage consumes its input.
type RunConfig struct {
	// Stage whose durable consumer is read.
	Stage Stage
	// Concurrency is how many messages the process handles at once.
	// Default 1.
	Concurrency int
	// MaxRetries before a failing message is dead-lettered. Default 3.
	MaxRetries int
	// RetryInterval is the first wait between retries. Default 100ms.
	RetryInterval time.Duration
	// TransientDelay is how long a message whose handler failed with a
	// transient error waits before it is delivered again. Default 5s.
	TransientDelay time.Duration
	// CloseTimeout bounds the drain of in-flight messages at shutdown.
	// Default 30s.
	CloseTimeout time.Duration
}

func (c *RunConfig) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = 100 * time.Millisecond
	}
	if c.TransientDelay == 0 {
		c.TransientDelay = 5 * time.Second
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 30 * time.Second
	}
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c RunConfig) Validate() error {
	if c.Concurrency < 0 || c.MaxRetries < 0 || c.RetryInterval < 0 || c.TransientDelay < 0 || c.CloseTimeout < 0 {
		return fmt.Errorf("bus: run %s: negative concurrency, retries or interval", c.Stage)
	}
	return nil
}

// Run consumes the stage's input with h until ctx ends, then drains
// in-flight messages and returns. Events h returns are published with the
// stage as origin and the incoming correlation id; a failing message is
// retried, and then dead-lettered with its reason, stage and attempt count.
func (b *Bus) Run(ctx context.Context, cfg RunConfig, h Handler) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.setDefaults()
	input, ok := InputOf(cfg.Stage)
	if !ok {
		return fmt.Errorf("bus: %w: %q", ErrUnknownStage, cfg.Stage)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, b.wmLog)
	if err != nil {
		return fmt.Errorf("bus: router: %w", err)
	}
	dlq, dlqConn, err := b.deadLetterPublisher(ctx)
	if err != nil {
		return err
	}
	defer func() {
		b.releasing(dlqConn) // the publisher closes its connection
		_ = dlq.Close()
	}()
	poison, err := middleware.PoisonQueueWithFilter(dlq, Subject(DeadLetters, string(cfg.Stage)), func(err error) bool {
		// A transient failure or a shutdown is not the message's fault.
		return !errors.Is(err, ErrTransient) && !errors.Is(err, context.Canceled)
	})
	if err != nil {
		return fmt.Errorf("bus: poison queue: %w", err)
	}
	retry := middleware.Retry{
		MaxRetries:      cfg.MaxRetries,
		InitialInterval: cfg.RetryInterval,
		MaxInterval:     10 * cfg.RetryInterval,
		Multiplier:      2,
		ShouldRetry: func(p middleware.RetryParams) bool {
			return !errors.Is(p.Err, ErrPermanent) && !errors.Is(p.Err, ErrTransient) &&
				!errors.Is(p.Err, context.Canceled)
		},
		ResetContextOnRetry: true,
	}
	// Outermost first: the poison queue wraps the retries, which wrap each
	// attempt, whose panics the recoverer turns into errors.
	router.AddMiddleware(
		middleware.CorrelationID,
		stamp(cfg.Stage),
		poison,
		observe(cfg.Stage, b.observer(), b.log),
		retry.Middleware,
		countAttempts,
		middleware.Recoverer,
	)
	handler := func(msg *message.Message) error {
		if enc := msg.Metadata.Get(HeaderEncoding); enc != "" {
			// Left by subjectUnmarshaler: the payload could not be decoded
			// (decoded again for the reason: a rare path).
			_, err := decodePayload(msg.Payload, enc)
			return Permanent(err)
		}
		in := &Message{Key: msg.Metadata.Get(HeaderKey), Payload: msg.Payload, Metadata: msg.Metadata}
		// The handler's log lines about the record name it (Log).
		events, err := h(withLazyRecordLogger(msg.Context(), b.log, cfg.Stage, msg.Metadata), in)
		if err != nil {
			return err
		}
		carried := map[string]string{HeaderCorrelation: middleware.MessageCorrelationID(msg), HeaderFeed: msg.Metadata.Get(HeaderFeed)}
		for k, v := range carried {
			if v == "" {
				continue
			}
			for i := range events {
				if events[i].Metadata == nil {
					events[i].Metadata = map[string]string{}
				}
				if k == HeaderCorrelation || events[i].Metadata[k] == "" {
					events[i].Metadata[k] = v
				}
			}
		}
		if err := b.Publish(msg.Context(), string(cfg.Stage), events...); err != nil {
			return err
		}
		noteEmitted(msg.Context(), len(events))
		return nil
	}
	for i := range cfg.Concurrency {
		sub, err := b.subscriber(ctx, cfg)
		if err != nil {
			return err
		}
		defer sub.Close() // idempotent; the router may have closed it
		router.AddConsumerHandler(fmt.Sprintf("%s-%d", cfg.Stage, i), string(input), sub, handler)
	}
	b.log.Info("stage running", "stage", cfg.Stage, "input", input, "concurrency", cfg.Concurrency)
	err = router.Run(ctx)
	b.log.Info("stage stopped", "stage", cfg.Stage)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("bus: stage %s: %w", cfg.Stage, err)
	}
	return nil
}

// subscriber returns the subscriber of the stage's provisioned durable
// consumer, on a connection of its own. A server that is away while the
// stage starts (shutting down, restarting) is waited for, as the bus's
// other connections reconnect to it (whileUnavailable).
func (b *Bus) subscriber(ctx context.Context, cfg RunConfig) (*consumerSubscriber, error) {
	var s *consumerSubscriber
	err := whileUnavailable(ctx, b.log, func() error {
		nc, err := b.dial("-" + string(cfg.Stage))
		if err != nil {
			return err
		}
		stream, _ := InputOf(cfg.Stage)
		js, err := jetstream.New(nc)
		if err == nil {
			var cons jetstream.Consumer
			if cons, err = js.Consumer(ctx, string(stream), string(cfg.Stage)); err == nil {
				s = &consumerSubscriber{
					bus: b, nc: nc, cons: cons,
					// The local wait for an ack matches the server's redelivery wait.
					ackWait:  b.cfg.Topology.AckWait,
					nakDelay: cfg.TransientDelay,
					// A small client buffer: messages pulled but not yet handled
					// when the process stops wait an ack wait before they are
					// delivered again (to this or another replica).
					pull:    32,
					log:     b.log.With("stage", cfg.Stage),
					closing: make(chan struct{}),
				}
				return nil
			}
		}
		b.release(nc)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscriber %s: %w", cfg.Stage, err)
	}
	return s, nil
}

// subjectUnmarshaler keeps the subject a message was read from, so that a
// dead letter can be redriven to where it came from.
type subjectUnmarshaler struct{}

func (subjectUnmarshaler) Unmarshal(m jetstream.Msg) (*message.Message, error) {
	msg, err := wmjs.DefaultUnmarshaler{}.Unmarshal(m)
	if err != nil {
		// Never hand the router a nil message: keep the payload and say why.
		msg = message.NewMessage(m.Headers().Get("Nats-Msg-Id"), m.Data())
		msg.Metadata.Set(HeaderReason, "unreadable headers: "+err.Error())
		// The encoding stays with the bytes it describes.
		if enc := m.Headers().Get(HeaderEncoding); enc != "" {
			msg.Metadata.Set(HeaderEncoding, enc)
		}
	}
	if enc := msg.Metadata.Get(HeaderEncoding); enc != "" {
		// The handler sees the payload as published; one that cannot be
		// decoded stays as stored, with its header, and the stage
		// dead-letters it (handler, in Run).
		if data, err := decodePayload(msg.Payload, enc); err == nil {
			msg.Payload = data
			delete(msg.Metadata, HeaderEncoding)
		}
	}
	msg.Metadata.Set(HeaderSubject, m.Subject())
	if md, err := m.Metadata(); err == nil {
		msg.Metadata.Set("Fairway-Delivered", strconv.FormatUint(md.NumDelivered, 10))
	}
	return msg, nil
}

// stamp records the stage on every message it handles (dead letters keep it).
func stamp(stage Stage) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			msg.Metadata.Set(HeaderStage, string(stage))
			return h(msg)
		}
	}
}

// countAttempts counts the attempts at a message inside one delivery.
func countAttempts(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		n, _ := strconv.Atoi(msg.Metadata.Get(HeaderAttempts))
		msg.Metadata.Set(HeaderAttempts, strconv.Itoa(n+1))
		return h(msg)
	}
}

// deadLetterPublisher publishes to the dead-letter stream without message
// ids: a message dead-lettered again after a redrive must not be dropped as
// a duplicate.
// Its connection, like a subscriber's, waits for a server that is away.
func (b *Bus) deadLetterPublisher(ctx context.Context) (*wmjs.Publisher, *nats.Conn, error) {
	var nc *nats.Conn
	if err := whileUnavailable(ctx, b.log, func() (err error) {
		nc, err = b.dial("-dlq")
		return err
	}); err != nil {
		return nil, nil, err
	}
	p, err := wmjs.NewPublisher(wmjs.PublisherConfig{Conn: nc, Logger: b.wmLog, ConfigureStream: subjectAsIs})
	if err != nil {
		b.release(nc)
		return nil, nil, fmt.Errorf("bus: dead-letter publisher: %w", err)
	}
	return p, nc, nil
}
