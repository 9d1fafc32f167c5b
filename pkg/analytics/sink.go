package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// SinkConfig configures the analytics writer.
type SinkConfig struct {
	// Store is where the analytics go; its BatchSize and FlushInterval
	// bound how many messages one insert takes and how long a batch waits
	// to fill.
	Store Config
	// RetryDelay is how long the writer waits after ClickHouse failed
	// before it tries again the first time; each failure in a row doubles
	// the wait, up to MaxRetryDelay. The messages wait in their streams
	// meanwhile. Default 5s.
	RetryDelay time.Duration
	// MaxRetryDelay bounds the growing wait. Default 1m.
	MaxRetryDelay time.Duration
	// AggregateInterval is how often the writer rebuilds the aggregate
	// tables (datasets_by_month) from the current state of the datasets.
	// Default 1m. Of several writers on one bus and database, the one that
	// holds the aggregates' lease rebuilds (see Sink.aggregate).
	AggregateInterval time.Duration
	// UsageRollup is how often the writer counts again the months that
	// received usage events (Store.RollupUsage): the reports lag the
	// events by at most this much. Default 1m. Of several writers on one
	// bus and database (replicas), the one that holds the rollup's lease
	// counts (see Sink.rollup).
	UsageRollup time.Duration
	// Holder names this writer in the leases of the rollup and the
	// aggregates. Default
	// bus.NewHolder() (host, process and a random suffix).
	Holder string
}

func (c *SinkConfig) setDefaults() {
	c.Store = c.Store.withDefaults()
	if c.RetryDelay == 0 {
		c.RetryDelay = 5 * time.Second
	}
	if c.MaxRetryDelay == 0 {
		c.MaxRetryDelay = time.Minute
	}
	if c.AggregateInterval == 0 {
		c.AggregateInterval = time.Minute
	}
	if c.UsageRollup == 0 {
		c.UsageRollup = time.Minute
	}
	if c.Holder == "" {
		c.Holder = bus.NewHolder()
	}
}

// Validate reports whether the configuration is usable.
func (c SinkConfig) Validate() error {
	if c.RetryDelay < 0 || c.MaxRetryDelay < 0 || c.AggregateInterval < 0 || c.UsageRollup < 0 {
		return fmt.Errorf("%w: negative retry delay, aggregate or usage rollup interval", ErrInvalidConfig)
	}
	return c.Store.Validate()
}

// Consumer is one of the writer's batch consumers: the bus stage whose
// durable consumer it reads, and how a batch of that stream's messages is
// written. Write returns an error marked bus.Permanent for a message that
// can never be written (the batch is split until it is dead-lettered), and
// any other error to leave the batch in its stream and try again later.
type Consumer struct {
	Stage bus.Stage
	Write func(ctx context.Context, s *Store, msgs []bus.StoredMessage) error
}

// Consumers returns the writer's batch consumers, one per stream it reads.
// A new table fed from a stream is a new entry here (and a stage in the
// bus's topology, among its batch stages: see bus.BatchStage).
func Consumers() []Consumer {
	return []Consumer{
		{bus.StageAnalytics, writeCatalogue},
		{bus.StageAnalyticsOps, writeOps},
		{bus.StageAnalyticsNormalised, pipelineWriter(bus.Normalised)},
		{bus.StageAnalyticsEnriched, pipelineWriter(bus.Enriched)},
		{bus.StageAnalyticsDeadLetters, writeDeadLetters},
		{bus.StageAnalyticsUsage, writeUsage},
	}
}

// writeCatalogue writes a batch of catalogue entries: one dataset version,
// one pipeline event and one citations row each, from one decoding of the
// entry. All three are keyed by the entry's stream sequence, so a batch
// written again after a failure between the inserts is counted once.
func writeCatalogue(ctx context.Context, store *Store, msgs []bus.StoredMessage) error {
	rows := make([]DatasetRow, 0, len(msgs))
	events := make([]PipelineEventRow, 0, len(msgs))
	citations := make([]CitationRow, 0, len(msgs))
	var e fairwayv1.CatalogueEntry
	for _, m := range msgs {
		// unmarshalEntry resets e; the rows keep none of its memory.
		if err := unmarshalEntry(m.Data, &e); err != nil {
			return bus.Permanent(fmt.Errorf("not a catalogue entry on %s: %w", m.Subject, err))
		}
		rows = append(rows, RowFromEntry(&e, m.Sequence))
		events = append(events, catalogueEvent(m, &e))
		citations = append(citations, CitationRowFromEntry(&e, m.Sequence))
	}
	// The three inserts go to ClickHouse side by side, on connections of
	// their own; the batch is acknowledged only when all succeeded.
	return firstErr(sideBySide(ctx,
		func(ctx context.Context) error { return badData(store.InsertDatasets(ctx, rows)) },
		func(ctx context.Context) error { return badData(store.InsertPipelineEvents(ctx, events)) },
		func(ctx context.Context) error { return badData(store.InsertCitations(ctx, citations)) },
	)...)
}

// entryTurtle is the field number of CatalogueEntry.turtle, read from the
// message's descriptor so that it follows the .proto.
var entryTurtle = protowire.Number((&fairwayv1.CatalogueEntry{}).ProtoReflect().Descriptor().Fields().ByName("turtle").Number())

// unmarshalEntry decodes the catalogue entry b into e, without its Turtle:
// the writer stores none of it, and it is most of an entry's bytes. The
// fields before and after it are decoded as they are, in place (protobuf
// merges consecutive parts of a message as one), so nothing is copied. A
// message that is not wire format is decoded whole, for its error.
func unmarshalEntry(b []byte, e *fairwayv1.CatalogueEntry) error {
	proto.Reset(e)
	merge := proto.UnmarshalOptions{Merge: true}
	start := 0
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return proto.Unmarshal(b, e)
		}
		m := protowire.ConsumeFieldValue(num, typ, rest[n:])
		if m < 0 {
			return proto.Unmarshal(b, e)
		}
		at := len(b) - len(rest)
		rest = rest[n+m:]
		if num != entryTurtle || typ != protowire.BytesType {
			continue
		}
		if err := merge.Unmarshal(b[start:at], e); err != nil {
			return err
		}
		start = len(b) - len(rest)
	}
	return merge.Unmarshal(b[start:], e)
}

// sideBySide runs every write at once and returns their errors, in order,
// once all have returned.
func sideBySide(ctx context.Context, writes ...func(context.Context) error) []error {
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes[1:] {
		wg.Go(func() { errs[i+1] = w(ctx) })
	}
	errs[0] = writes[0](ctx)
	wg.Wait()
	return errs
}

// firstErr returns the error of the writes that failed, preferring one
// that is not the data's fault: while ClickHouse is away, a batch waits
// whole rather than being split.
func firstErr(errs ...error) error {
	var permanent error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, bus.ErrPermanent):
			permanent = cmp.Or(permanent, err)
		default:
			return err
		}
	}
	return permanent
}

// writeOps writes a batch of the ops stream: harvest runs and delivery
// outcomes.
func writeOps(ctx context.Context, store *Store, msgs []bus.StoredMessage) error {
	var (
		runs       []*fairwayv1.HarvestRun
		deliveries []DeliveryRow
	)
	for _, m := range msgs {
		switch bus.OpsEventKind(m) {
		case bus.EventHarvestRun:
			var r fairwayv1.HarvestRun
			if err := proto.Unmarshal(m.Data, &r); err != nil {
				return bus.Permanent(fmt.Errorf("not a harvest run on %s: %w", m.Subject, err))
			}
			runs = append(runs, &r)
		case bus.EventDelivery:
			d, err := DeliveryFrom(m)
			if err != nil {
				return bus.Permanent(err)
			}
			deliveries = append(deliveries, d)
		}
		// Other kinds are for other readers.
	}
	if err := badData(store.InsertRuns(ctx, runs)); err != nil {
		return err
	}
	return badData(store.InsertDeliveries(ctx, deliveries))
}

// pipelineWriter writes a batch of stream s as pipeline events; every
// message gives a row, readable or not.
func pipelineWriter(s bus.Stream) func(context.Context, *Store, []bus.StoredMessage) error {
	return func(ctx context.Context, store *Store, msgs []bus.StoredMessage) error {
		rows := make([]PipelineEventRow, len(msgs))
		for i, m := range msgs {
			rows[i] = PipelineEventFrom(s, m)
		}
		return badData(store.InsertPipelineEvents(ctx, rows))
	}
}

// writeDeadLetters writes a batch of dead letters; every message gives a
// row (a dead letter of this writer must never be dead-lettered again into
// the stream it reads).
func writeDeadLetters(ctx context.Context, store *Store, msgs []bus.StoredMessage) error {
	rows := make([]DeadLetterRow, len(msgs))
	for i, m := range msgs {
		rows[i] = DeadLetterFrom(m)
	}
	// Whatever the rows hold, they fit their columns: no error here is
	// the data's fault, and none is marked permanent.
	return store.InsertDeadLetters(ctx, rows)
}

// Sink is the analytics writer: it reads the pipeline's streams in batches,
// with durable consumers of its own (see Consumers and bus.RunBatches), and
// writes each batch to ClickHouse at once. It never blocks the pipeline:
// while ClickHouse is down its consumers lag, waiting longer after each
// failure, and they catch up later; a message written twice (a batch
// redelivered after a crash, a replay) is counted once, because every row
// is keyed by its message's stream sequence.
type Sink struct {
	cfg       SinkConfig
	bus       *bus.Bus
	log       *slog.Logger
	consumers []Consumer
}

// NewSink returns the analytics writer.
func NewSink(cfg SinkConfig, b *bus.Bus, log *slog.Logger) (*Sink, error) {
	if cfg.Store.Logger == nil {
		cfg.Store.Logger = log
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sink{cfg: cfg, bus: b, log: log, consumers: Consumers()}, nil
}

// Run writes until ctx ends.
func (s *Sink) Run(ctx context.Context) error {
	var store *Store
	retry := bus.BatchConfig{RetryDelay: s.cfg.RetryDelay, MaxRetryDelay: s.cfg.MaxRetryDelay}.RetryBackOff()
	for store == nil {
		st, err := Open(ctx, s.cfg.Store)
		if err == nil {
			store = st
			break
		}
		// Whatever the reason, analytics never stop the node: they wait.
		delay := retry.NextBackOff()
		if errors.Is(err, ErrMigrationChanged) {
			s.log.Error("analytics schema differs from this build's; analytics wait for an operator", "database", s.cfg.Store.Database, "retry_in", delay, "err", err)
		} else {
			s.log.Warn("ClickHouse unavailable; analytics wait", "addr", s.cfg.Store.Addr, "retry_in", delay, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
	defer store.Close()
	s.log.Info("analytics writing", "addr", s.cfg.Store.Addr, "database", store.Database(), "consumers", len(s.consumers))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, c := range s.consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.bus.RunBatches(ctx, s.batches(c.Stage, store), func(ctx context.Context, msgs []bus.StoredMessage) error {
				return c.Write(ctx, store, msgs)
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", c.Stage, err))
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.rollup(ctx, store)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.aggregate(ctx, store)
	}()
	wg.Wait()
	return errors.Join(errs...)
}

// AggregatesLease is the key, in bus.BucketLeases, of the lease under
// which a writer rebuilds the aggregate tables (Store.RefreshAggregates)
// of analytics database db: one writer at a time per database.
func AggregatesLease(db string) string { return "analytics.aggregates." + db }

// aggregate rebuilds the aggregate tables at start and then every
// AggregateInterval, until ctx ends, while this writer holds the
// aggregates' lease (AggregatesLease; see whileLeased): of several
// writers, one rebuilds, and another takes over when it stops; one that
// loses the lease cancels the rebuild in flight. A rebuild that lands
// anyway after another writer's (its query was already running on the
// server) is read only if it counted a newer state, whoever lands last:
// see Store.RefreshAggregates. A failure waits for the next round.
func (s *Sink) aggregate(ctx context.Context, store *Store) {
	t := time.NewTicker(s.cfg.AggregateInterval)
	defer t.Stop()
	s.whileLeased(ctx, AggregatesLease(store.Database()), "aggregates", t, func(ctx context.Context) {
		snap, err := store.RefreshAggregates(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("analytics aggregates not refreshed; next round", "err", err)
		case err == nil:
			s.log.Debug(aggregatesRefreshed, "holder", s.cfg.Holder, "snapshot", snap)
		}
	})
}

// whileLeased runs round at once and then at every tick of t, until ctx
// ends, while this writer holds the lease key (bus.Lease; what names the
// work in the logs). Another writer's lease is tried again at every tick,
// so that when its holder stops (it released the lease, or the lease
// expired bus.LeaseTTL after its last refresh) one of the others takes
// over within a tick. The context round is given is the lease's: it ends
// when the lease is lost, and the round must stop with it; the next tick
// tries to take the lease again.
func (s *Sink) whileLeased(ctx context.Context, key, what string, t *time.Ticker, round func(context.Context)) {
	for {
		lctx, release, err := s.bus.Lease(ctx, key, s.cfg.Holder, s.log)
		switch {
		case err == nil:
			s.log.Debug(what+" lease taken", "lease", key, "holder", s.cfg.Holder)
			for lctx.Err() == nil {
				round(lctx)
				select {
				case <-lctx.Done():
				case <-t.C:
				}
			}
			release()
		case errors.Is(err, bus.ErrExists):
			// Another writer does it.
		case ctx.Err() == nil:
			s.log.Warn(what+" lease not taken; next round", "lease", key, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// aggregatesRefreshed is the message of the debug line the writer logs
// after each rebuild of the aggregates.
const aggregatesRefreshed = "analytics aggregates refreshed"

// batches returns how the writer consumes the input of stage: in batches
// of the store's size, each written at once. While ClickHouse cannot take
// a batch, the batch waits in its stream; a database that went missing is
// migrated again before the retry.
func (s *Sink) batches(stage bus.Stage, store *Store) bus.BatchConfig {
	return bus.BatchConfig{
		Stage: stage, Size: s.cfg.Store.BatchSize, Wait: s.cfg.Store.FlushInterval,
		RetryDelay: s.cfg.RetryDelay, MaxRetryDelay: s.cfg.MaxRetryDelay,
		OnFailure: func(ctx context.Context, size int, err error) {
			s.log.Warn("ClickHouse cannot take the batch; analytics lag and retry", "consumer", stage, "batch", size, "err", err)
			if err := store.EnsureSchema(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("analytics schema", "err", err)
			}
		},
	}
}

// badData marks an error of a write that failed because of what it wrote
// (a row that cannot be converted or stored), not because of the server,
// as permanent: the batch is split until the message at fault is
// dead-lettered.
func badData(err error) error {
	if errors.Is(err, ErrInvalidRow) {
		return bus.Permanent(err)
	}
	return err
}
