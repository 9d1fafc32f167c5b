// Package metrics provides a process's Prometheus metrics: one registry
// per process (never the global default one), with the Go runtime and
// process collectors, the stages' message counters and latencies (a
// bus.Observer), the harvests' pages, records, bytes and retries per feed,
// the consumers' lag collected on scrape, and an HTTP middleware counting
// requests by route pattern and status.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "fairway"

// Metrics is one process's registry and the instruments the node's parts
// report to.
type Metrics struct {
	reg *prometheus.Registry

	messagesIn, messagesOut, messagesFailed, deadLettered *prometheus.CounterVec
	latency                                               *prometheus.HistogramVec
	batches, batchRows, batchMessages, batchFailures      *prometheus.CounterVec
	batchLatency                                          *prometheus.HistogramVec
	harvestPages, harvestRecords, harvestBytes, retries   *prometheus.CounterVec
	harvestWaits, harvestWaited                           *prometheus.CounterVec
	pushes                                                *prometheus.CounterVec
	replayKeys, replayEvents, replays, replayFailures     *prometheus.CounterVec
	replayRunning, replayTotal, replayRead                *prometheus.GaugeVec
	httpRequests                                          *prometheus.CounterVec
	httpLatency                                           *prometheus.HistogramVec
}

// New returns a registry with the Go runtime and process collectors and
// Fairway's instruments.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
		m.reg.MustRegister(h)
		return h
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.messagesIn = counter("stage_messages_in_total", "Deliveries of messages to a stage (redeliveries included).", "stage")
	m.messagesOut = counter("stage_messages_out_total", "Events a stage published.", "stage")
	m.messagesFailed = counter("stage_messages_failed_total", "Deliveries whose handling failed (transiently: delivered again, or for good: dead-lettered).", "stage")
	m.deadLettered = counter("stage_messages_dead_lettered_total", "Messages a stage sent to the dead letters.", "stage")
	m.latency = histogram("stage_processing_seconds", "Time a stage took over one delivery, its retries included.", prometheus.ExponentialBuckets(0.0005, 4, 10), "stage")
	m.batches = counter("batch_batches_total", "Batches a batch stage (the analytics writer's consumers: ClickHouse) wrote.", "stage")
	m.batchRows = counter("batch_rows_total", "Rows a batch stage wrote (the analytics writer: rows inserted into ClickHouse, which may be more or fewer than the messages).", "stage")
	m.batchMessages = counter("batch_messages_total", "Messages of the batches a batch stage wrote.", "stage")
	m.batchFailures = counter("batch_failures_total", "Batches a batch stage failed to write (retried later, or split to find bad data).", "stage")
	m.batchLatency = histogram("batch_seconds", "Time a batch stage took over one batch.", prometheus.ExponentialBuckets(0.001, 4, 10), "stage")
	m.harvestPages = counter("harvest_pages_total", "Pages harvested.", "feed")
	m.harvestRecords = counter("harvest_records_total", "Records harvested (deletions included; rejected ones not).", "feed")
	m.harvestBytes = counter("harvest_bytes_total", "Bytes of the pages harvested.", "feed")
	m.retries = counter("harvest_retries_total", "Requests to a feed that failed and were retried.", "feed")
	m.harvestWaits = counter("harvest_backlog_waits_total", "Times a harvest waited between two pages for the pipeline's backlog to fall under its bound (flow control).", "feed")
	m.harvestWaited = counter("harvest_backlog_wait_seconds_total", "Time harvests spent waiting between pages for the pipeline's backlog to fall under its bound.", "feed")
	m.pushes = counter("destination_pushes_total", "Attempts at pushing or withdrawing a dataset at a destination, by outcome (pushed, withdrawn, failed: tried again, refused: dead-lettered).", "destination", "outcome")
	m.replayKeys = counter("replay_keys_total", "Keys replays read, by outcome (changed, unchanged, superseded, refused: dead-lettered, skipped: not selected by the filter, counted: a dry run's).", "stage", "outcome")
	m.replayEvents = counter("replay_events_total", "Events replays published (changed outputs).", "stage")
	m.replays = counter("replays_total", "Replays this process ended, by state (done, failed).", "stage", "state")
	m.replayFailures = counter("replay_attempts_failed_total", "Attempts at replays that failed and wait to be taken again (retrying).", "stage")
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(g)
		return g
	}
	m.replayRunning = gauge("replay_running", "Replays of the stage this process runs now.", "stage")
	m.replayTotal = gauge("replay_keys", "Keys of the input of the replay this process runs (or ran last).", "stage")
	m.replayRead = gauge("replay_keys_read", "Keys the replay this process runs (or ran last) has read.", "stage")
	m.httpRequests = counter("http_requests_total", "HTTP requests answered, by route pattern and status.", "route", "code")
	m.httpLatency = histogram("http_request_seconds", "Time taken to answer an HTTP request, by route pattern.", prometheus.DefBuckets, "route")
	return m
}

// Registry returns the process's registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 10 * time.Second})
}

// Handled implements bus.Observer.
func (m *Metrics) Handled(stage bus.Stage, took time.Duration, emitted int, outcome bus.Outcome) {
	s := string(stage)
	m.messagesIn.WithLabelValues(s).Inc()
	m.latency.WithLabelValues(s).Observe(took.Seconds())
	switch outcome {
	case bus.OutcomeOK:
		m.messagesOut.WithLabelValues(s).Add(float64(emitted))
	case bus.OutcomeDeadLettered:
		m.messagesFailed.WithLabelValues(s).Inc()
		m.deadLettered.WithLabelValues(s).Inc()
	default:
		m.messagesFailed.WithLabelValues(s).Inc()
	}
}

// Batch implements bus.Observer: rows, not messages, are counted.
func (m *Metrics) Batch(stage bus.Stage, size, rows int, took time.Duration, err error) {
	s := string(stage)
	m.batchLatency.WithLabelValues(s).Observe(took.Seconds())
	if err != nil {
		m.batchFailures.WithLabelValues(s).Inc()
		return
	}
	m.batches.WithLabelValues(s).Inc()
	m.batchRows.WithLabelValues(s).Add(float64(max(rows, 0)))
	m.batchMessages.WithLabelValues(s).Add(float64(max(size, 0)))
}

// DeadLettered implements bus.Observer: a batch stage's or a replay's dead
// letter counts among the stage's dead letters.
func (m *Metrics) DeadLettered(stage bus.Stage) {
	m.deadLettered.WithLabelValues(string(stage)).Inc()
}

// Replayed implements bus.Observer.
func (m *Metrics) Replayed(stage bus.Stage, outcome bus.ReplayOutcome, events int) {
	m.replayKeys.WithLabelValues(string(stage), string(outcome)).Inc()
	if events > 0 {
		m.replayEvents.WithLabelValues(string(stage)).Add(float64(events))
	}
}

// ReplayProgress implements bus.Observer.
func (m *Metrics) ReplayProgress(r bus.Replay, active bool) {
	s := string(r.Stage)
	m.replayTotal.WithLabelValues(s).Set(float64(r.Total))
	m.replayRead.WithLabelValues(s).Set(float64(r.Read))
	if active {
		m.replayRunning.WithLabelValues(s).Set(1)
		return
	}
	m.replayRunning.WithLabelValues(s).Set(0)
	switch r.State {
	case bus.ReplayDone, bus.ReplayFailed:
		m.replays.WithLabelValues(s, string(r.State)).Inc()
	case bus.ReplayRetrying:
		m.replayFailures.WithLabelValues(s).Inc()
	}
}

// HarvestPage implements harvester.Observer: a page of feed was written.
// Feed ids are registered feeds (bounded), never dataset keys.
func (m *Metrics) HarvestPage(feed string, pages, records, bytes, retries int64) {
	m.harvestPages.WithLabelValues(feed).Add(float64(max(pages, 0)))
	m.harvestRecords.WithLabelValues(feed).Add(float64(max(records, 0)))
	m.harvestBytes.WithLabelValues(feed).Add(float64(max(bytes, 0)))
	m.retries.WithLabelValues(feed).Add(float64(max(retries, 0)))
}

// HarvestWait implements harvester.Observer: a run of feed waited for the
// pipeline to drain.
func (m *Metrics) HarvestWait(feed string, waited time.Duration) {
	m.harvestWaits.WithLabelValues(feed).Inc()
	m.harvestWaited.WithLabelValues(feed).Add(max(waited.Seconds(), 0))
}

// Delivered implements delivery.Observer: one attempt at destination.
func (m *Metrics) Delivered(destination, outcome string) {
	m.pushes.WithLabelValues(destination, outcome).Inc()
}

// LagSource reports the lag of the durable consumers (the bus does).
type LagSource interface {
	ConsumerLags(ctx context.Context) ([]bus.ConsumerLag, error)
}

// LagConfig configures the collection of consumer lag on scrape.
type LagConfig struct {
	// Timeout bounds one collection. Default 2s.
	Timeout time.Duration
	// CacheFor is how long a collection answers later scrapes. Default 5s.
	CacheFor time.Duration
	// Logger receives collection failures. Default slog.Default().
	Logger *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c LagConfig) Validate() error {
	if c.Timeout < 0 || c.CacheFor < 0 {
		return errors.New("metrics: negative lag timeout or cache time")
	}
	return nil
}

// RegisterLag adds the consumers' lag, read from src when scraped (at most
// once per CacheFor, each read bounded by Timeout).
func (m *Metrics) RegisterLag(src LagSource, cfg LagConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheFor == 0 {
		cfg.CacheFor = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return m.reg.Register(&lagCollector{src: src, cfg: cfg, now: time.Now})
}

var (
	pendingDesc    = prometheus.NewDesc(Namespace+"_consumer_pending_messages", "Messages of the stream not yet delivered to the durable consumer.", []string{"stream", "consumer"}, nil)
	ackPendingDesc = prometheus.NewDesc(Namespace+"_consumer_ack_pending_messages", "Messages delivered to the durable consumer and not yet acknowledged.", []string{"stream", "consumer"}, nil)
	lagUpDesc      = prometheus.NewDesc(Namespace+"_consumer_lag_up", "1 when the last collection of the consumers' lag succeeded, else 0.", nil, nil)
)

type lagCollector struct {
	src LagSource
	cfg LagConfig
	now func() time.Time

	mu   sync.Mutex
	at   time.Time
	lags []bus.ConsumerLag
	ok   bool
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- ackPendingDesc
	ch <- lagUpDesc
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.at.IsZero() || c.now().Sub(c.at) >= c.cfg.CacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
		lags, err := c.src.ConsumerLags(ctx)
		cancel()
		c.at, c.ok = c.now(), err == nil
		if err != nil {
			c.cfg.Logger.Warn("cannot read the consumers' lag", "err", err)
			lags = nil
		}
		c.lags = lags
	}
	lags, ok := c.lags, c.ok
	c.mu.Unlock()
	up := 0.0
	if ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(lagUpDesc, prometheus.GaugeValue, up)
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(l.Pending), string(l.Stream), l.Consumer)
		ch <- prometheus.MustNewConstMetric(ackPendingDesc, prometheus.GaugeValue, float64(l.AckPending), string(l.Stream), l.Consumer)
	}
}

// RegisterGauge adds a gauge read from value when scraped (bounded by 2s);
// a failed read leaves the gauge out of that scrape.
func (m *Metrics) RegisterGauge(name, help string, value func(ctx context.Context) (float64, error)) error {
	return m.reg.Register(&funcGauge{desc: prometheus.NewDesc(Namespace+"_"+name, help, nil, nil), value: value})
}

type funcGauge struct {
	desc  *prometheus.Desc
	value func(ctx context.Context) (float64, error)
}

func (g *funcGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *funcGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if v, err := g.value(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}

// HTTP counts the requests h answers by route pattern (the pattern of the
// ServeMux that routed it, "unmatched" when none did: never the path
// itself) and status.
func (m *Metrics) HTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			m.httpLatency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status written; Unwrap lets
// http.ResponseController reach the connection's deadlines and flushes.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
