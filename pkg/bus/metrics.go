package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// Outcome is what became of one delivery of a message to a stage.
type Outcome string

// Outcomes a stage observer is told.
const (
	// OutcomeOK: handled, its events published, acknowledged.
	OutcomeOK Outcome = "ok"
	// OutcomeFailed: failed transiently (or at shutdown); it is delivered
	// again later.
	OutcomeFailed Outcome = "failed"
	// OutcomeDeadLettered: failed for good (permanently, or after its
	// retries); it goes to the dead letters.
	OutcomeDeadLettered Outcome = "dead_lettered"
)

// Observer is told what the stages of a process do: every delivery a
// streaming stage handles (Run) and every batch a batch stage handles
// (RunBatches). Its methods are called concurrently and must not block.
type Observer interface {
	// Handled reports one delivery of a message to stage: how long the
	// handler took (its retries included), how many events it emitted and
	// what became of it.
	Handled(stage Stage, took time.Duration, emitted int, outcome Outcome)
	// Batch reports one batch a batch stage handled: its size (messages),
	// the rows the handler wrote for it (see NoteRows; its size when the
	// handler does not say), how long it took and the handler's error (nil
	// when written).
	Batch(stage Stage, size, rows int, took time.Duration, err error)
	// DeadLettered reports a message stage filed in the dead letters
	// outside the deliveries Handled reports: a batch stage's message at
	// fault, a key a replay's handler refused.
	DeadLettered(stage Stage)
	// Replayed reports one key a replay of stage read, what became of it
	// and how many events it published.
	Replayed(stage Stage, outcome ReplayOutcome, events int)
	// ReplayProgress reports where a replay this process runs stands: as
	// it starts, each time its progress is recorded, and as it ends or
	// stops (active false: this process no longer runs it).
	ReplayProgress(r Replay, active bool)
}

type nopObserver struct{}

func (nopObserver) Handled(Stage, time.Duration, int, Outcome)  {}
func (nopObserver) Batch(Stage, int, int, time.Duration, error) {}
func (nopObserver) DeadLettered(Stage)                          {}
func (nopObserver) Replayed(Stage, ReplayOutcome, int)          {}
func (nopObserver) ReplayProgress(Replay, bool)                 {}

func (b *Bus) observer() Observer {
	if b.cfg.Observer == nil {
		return nopObserver{}
	}
	return b.cfg.Observer
}

type emittedKey struct{}

// noteEmitted adds n to the count of events the delivery of ctx emitted
// (when it is observed).
func noteEmitted(ctx context.Context, n int) {
	if p, ok := ctx.Value(emittedKey{}).(*int); ok {
		*p += n
	}
}

type rowsKey struct{}

// rowCount is what a batch handler told of the rows it wrote.
type rowCount struct {
	n     atomic.Int64
	noted atomic.Bool
}

// NoteRows tells the bus that the batch handler working under ctx wrote n
// rows (an insert of n rows succeeded), for Observer.Batch; a handler may
// call it several times, from several goroutines. Outside a batch handler
// it does nothing.
func NoteRows(ctx context.Context, n int) {
	if c, ok := ctx.Value(rowsKey{}).(*rowCount); ok {
		c.n.Add(int64(n))
		c.noted.Store(true)
	}
}

// withRowCount returns ctx carrying a count of rows for NoteRows.
func withRowCount(ctx context.Context) (context.Context, *rowCount) {
	c := &rowCount{}
	return context.WithValue(ctx, rowsKey{}, c), c
}

// rows returns the rows noted, or size when none were.
func (c *rowCount) rows(size int) int {
	if !c.noted.Load() {
		return size
	}
	return int(c.n.Load())
}

// deadLettered reports whether the poison queue takes a message whose
// handler returned err.
func deadLettered(err error) bool {
	return !errors.Is(err, ErrTransient) && !errors.Is(err, context.Canceled)
}

// observe is the router middleware that tells obs about each delivery. It
// sits inside the poison queue and outside the retries, so that it sees
// the delivery's last error: what the poison queue decides on.
func observe(stage Stage, obs Observer, log *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			emitted := 0
			msg.SetContext(context.WithValue(msg.Context(), emittedKey{}, &emitted))
			start := time.Now()
			out, err := h(msg)
			outcome := OutcomeOK
			switch {
			case err != nil && deadLettered(err):
				outcome = OutcomeDeadLettered
			case err != nil:
				outcome = OutcomeFailed
			}
			if err != nil {
				emitted = 0 // a failed delivery's events count when it succeeds
				rl := recordLogger(log, stage, msg.Metadata)
				if outcome == OutcomeDeadLettered {
					rl.Warn("message dead-lettered", "err", err)
				} else if !errors.Is(err, context.Canceled) {
					rl.Info("message delivered again later", "err", err)
				}
			}
			obs.Handled(stage, time.Since(start), emitted, outcome)
			return out, err
		}
	}
}

// ConsumerLag is how far behind one durable consumer is.
type ConsumerLag struct {
	// Stream the consumer reads.
	Stream Stream
	// Consumer is the durable consumer's name.
	Consumer string
	// Pending counts the messages not yet delivered to it.
	Pending uint64
	// AckPending counts the messages delivered and not yet acknowledged.
	AckPending int
}

// ConsumerLags returns the lag of every durable consumer of every stream
// of the topology, from the server's consumer info.
func (b *Bus) ConsumerLags(ctx context.Context) ([]ConsumerLag, error) {
	var out []ConsumerLag
	for _, s := range Streams {
		st, err := b.js.Stream(ctx, string(s))
		if err != nil {
			return out, fmt.Errorf("bus: stream %s: %w", s, err)
		}
		list := st.ListConsumers(ctx)
		for info := range list.Info() {
			if info.Config.Durable == "" {
				continue // ephemeral: a reader's or a replay's, gone soon
			}
			out = append(out, ConsumerLag{Stream: s, Consumer: info.Name, Pending: info.NumPending, AckPending: info.NumAckPending})
		}
		if err := list.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
			return out, fmt.Errorf("bus: consumers of %s: %w", s, err)
		}
	}
	return out, nil
}

// Check reports whether the bus can work: its connection is up and every
// stream of the topology answers, with the input consumers of stages
// when given.
func (b *Bus) Check(ctx context.Context, stages ...Stage) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("bus: not connected to NATS (%s)", b.nc.Status())
	}
	for _, s := range Streams {
		if _, err := b.js.Stream(ctx, string(s)); err != nil {
			return fmt.Errorf("bus: stream %s: %w", s, err)
		}
	}
	for _, stage := range stages {
		in, ok := InputOf(stage)
		if !ok {
			return fmt.Errorf("bus: %w: %q", ErrUnknownStage, stage)
		}
		if _, err := b.js.Consumer(ctx, string(in), string(stage)); err != nil {
			return fmt.Errorf("bus: consumer %s: %w", stage, err)
		}
	}
	return nil
}

// maxLoggedKey bounds the dataset key a log line quotes.
const maxLoggedKey = 200

type loggerKey struct{}

// recordLogger returns log with what identifies the message's record: its
// feed, its dataset key (bounded) and its correlation id.
func recordLogger(log *slog.Logger, stage Stage, md message.Metadata) *slog.Logger {
	key := md.Get(HeaderKey)
	if len(key) > maxLoggedKey {
		key = strings.ToValidUTF8(key[:maxLoggedKey], "") + "…"
	}
	attrs := []any{"stage", stage, "key", key, "correlation_id", md.Get(HeaderCorrelation)}
	if feed := md.Get(HeaderFeed); feed != "" {
		attrs = append(attrs, "feed", feed)
	}
	return log.With(attrs...)
}

// Log returns the logger of the record a stage handler works on (with its
// feed, dataset key and correlation id), or def outside a handler.
func Log(ctx context.Context, def *slog.Logger) *slog.Logger {
	switch l := ctx.Value(loggerKey{}).(type) {
	case *slog.Logger:
		return l
	case *lazyLogger:
		return l.get()
	}
	return def
}

// withRecordLogger returns ctx carrying the record's logger.
func withRecordLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// lazyLogger is the record logger of a message, built on the first Log
// call: most records log nothing, and slog's With formats its attributes at
// once (about 1% of the pipeline's CPU when built for every message).
type lazyLogger struct {
	once  sync.Once
	log   *slog.Logger
	stage Stage
	md    message.Metadata
}

func (l *lazyLogger) get() *slog.Logger {
	l.once.Do(func() { l.log = recordLogger(l.log, l.stage, l.md) })
	return l.log
}

// withLazyRecordLogger returns ctx carrying the record logger of md, built
// when a handler first asks for it (Log).
func withLazyRecordLogger(ctx context.Context, log *slog.Logger, stage Stage, md message.Metadata) context.Context {
	return context.WithValue(ctx, loggerKey{}, &lazyLogger{log: log, stage: stage, md: md})
}
