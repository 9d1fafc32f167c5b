package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

// Publish sends events to the usage stream. BusPublisher is the
// production one; tests may collect events instead.
type Publish func(ctx context.Context, events []Event) error

// Origin is the origin (the first part of every message id) of the usage
// events the node publishes.
const Origin = "usage"

// BusEvent returns the bus event of e: on the usage stream, keyed and
// deduplicated by its id.
func BusEvent(e Event) (bus.Event, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return bus.Event{}, fmt.Errorf("usage: encode event: %w", err)
	}
	return bus.Event{Stream: bus.Usage, Key: e.ID, Hash: e.ID, Payload: data}, nil
}

// BusPublisher returns the Publish that writes to b's usage stream.
func BusPublisher(b *bus.Bus) Publish {
	return func(ctx context.Context, events []Event) error {
		out := make([]bus.Event, 0, len(events))
		for _, e := range events {
			ev, err := BusEvent(e)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return b.PublishBatch(ctx, Origin, out)
	}
}

// RecorderConfig configures a Recorder. Zero values mean the defaults.
type RecorderConfig struct {
	// Queue bounds the events waiting to be published; once it is full,
	// new events are dropped (counted and logged), never waited for.
	// Default 4096.
	Queue int
	// Batch is the most events one publish carries. Default 256.
	Batch int
	// Timeout bounds one publish. Default 10s.
	Timeout time.Duration
	// Classifier classifies user agents. Default DefaultClassifier().
	Classifier *Classifier
	// Hasher makes session keys. Required.
	Hasher *Hasher
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c RecorderConfig) Validate() error {
	switch {
	case c.Hasher == nil:
		return errors.New("usage: recorder needs a Hasher")
	case c.Queue < 0, c.Batch < 0, c.Timeout < 0:
		return errors.New("usage: recorder: negative queue, batch or timeout")
	}
	return nil
}

func (c *RecorderConfig) setDefaults() {
	if c.Queue == 0 {
		c.Queue = 4096
	}
	if c.Batch == 0 {
		c.Batch = 256
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Classifier == nil {
		c.Classifier = DefaultClassifier()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Recorder emits the usage events of the node's own pages (dataset pages,
// one dataset's DCAT export, OAI-PMH GetRecord) without ever being in the
// way of an answer: Viewed only puts the event in a bounded queue, and Run
// publishes from it. When the queue is full or a publish fails, events are
// dropped, counted (Dropped) and logged.
type Recorder struct {
	cfg     RecorderConfig
	queue   chan Event
	publish Publish
	dropped atomic.Uint64
	sent    atomic.Uint64
	// lastLog is when a drop was last logged (unix nanoseconds), so that a
	// burst of drops logs once per interval, with the count.
	lastLog atomic.Int64
	now     func() time.Time
}

// NewRecorder returns a recorder that publishes with p.
func NewRecorder(cfg RecorderConfig, p Publish) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("usage: recorder needs a Publish")
	}
	cfg.setDefaults()
	return &Recorder{cfg: cfg, queue: make(chan Event, cfg.Queue), publish: p, now: time.Now}, nil
}

// Dropped returns how many events were dropped so far.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Sent returns how many events were published so far.
func (r *Recorder) Sent() uint64 { return r.sent.Load() }

// Viewed records an investigation of the dataset key (of facility) by the
// client of req, answered successfully: source names the page ("dataset",
// "doi", "oai").
// The client's address and user agent become a session key for the hour
// and are not kept; a robot's view is recorded as such (stored, never
// counted), a script's as Machine access, an AI agent's apart.
func (r *Recorder) Viewed(req *http.Request, key, facility, source string) {
	if r == nil {
		return
	}
	now := r.now().UTC().Truncate(time.Second)
	ua := req.UserAgent()
	c := r.cfg.Classifier.Classify(ua)
	e := Event{
		Dataset: key, Time: now, Kind: Investigation, AccessMethod: Regular, Client: Human,
		Status: http.StatusOK, Source: "node:" + source, Robot: c.Robot, Facility: facility,
		Session: r.cfg.Hasher.ClientSession(req.RemoteAddr, ua, now),
	}
	if c.Machine {
		e.AccessMethod = Machine
	}
	if c.Agent {
		e.Client = Agent
	}
	e.ID = randomID()
	r.enqueue(e)
}

// AgentInvestigated records an investigation of the dataset key (of
// facility) by an AI agent through the node's MCP server: Client Agent,
// machine access, counted apart from people and machines. source names
// the call ("mcp:get_dataset", "mcp:resource"); session is what
// identifies the agent's session (its MCP session, or its HTTP client's
// address and user agent): it becomes a session key for the clock hour,
// hashed with the node's secret, and is not kept.
func (r *Recorder) AgentInvestigated(key, facility, source, session string) {
	if r == nil {
		return
	}
	now := r.now().UTC().Truncate(time.Second)
	e := Event{
		Dataset: key, Time: now, Kind: Investigation, AccessMethod: Machine, Client: Agent,
		Status: http.StatusOK, Source: "node:" + source, Facility: facility,
		Session: r.cfg.Hasher.Sum("agent", session, now.Format("2006010215")),
	}
	e.ID = randomID()
	r.enqueue(e)
}

func (r *Recorder) enqueue(e Event) {
	select {
	case r.queue <- e:
	default:
		r.drop(1, "usage queue full")
	}
}

func (r *Recorder) drop(n int, why string) {
	total := r.dropped.Add(uint64(n))
	now := r.now().UnixNano()
	last := r.lastLog.Load()
	if now-last < int64(10*time.Second) || !r.lastLog.CompareAndSwap(last, now) {
		return
	}
	r.cfg.Logger.Warn("usage events dropped", "reason", why, "dropped", n, "dropped_total", total)
}

// Run publishes queued events until ctx ends; what is still queued then is
// published within the publish timeout, or dropped.
func (r *Recorder) Run(ctx context.Context) error {
	batch := make([]Event, 0, r.cfg.Batch)
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		err := r.publish(pctx, batch)
		cancel()
		if err != nil {
			r.drop(len(batch), "publish failed: "+err.Error())
		} else {
			r.sent.Add(uint64(len(batch)))
		}
		batch = batch[:0]
	}
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case e := <-r.queue:
					batch = append(batch, e)
					if len(batch) == r.cfg.Batch {
						flush(context.WithoutCancel(ctx))
					}
				default:
					flush(context.WithoutCancel(ctx))
					return nil
				}
			}
		case e := <-r.queue:
			batch = append(batch, e)
		drain:
			for len(batch) < r.cfg.Batch {
				select {
				case e := <-r.queue:
					batch = append(batch, e)
				default:
					break drain
				}
			}
			flush(ctx)
		}
	}
}
