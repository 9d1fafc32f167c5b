package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Metadata keys (NATS headers) every Fairway event carries.
const (
	// HeaderKey holds the dataset (or feed) key of the event.
	HeaderKey = "Fairway-Key"
	// HeaderHash holds the content hash of the event.
	HeaderHash = "Fairway-Hash"
	// HeaderOrigin holds the stage that emitted the event.
	HeaderOrigin = "Fairway-Origin"
	// HeaderSubject holds the subject a consumed message was read from; it
	// is kept on dead letters so that they can be redriven.
	HeaderSubject = "Fairway-Subject"
	// HeaderStage holds the stage that dead-lettered a message.
	HeaderStage = "Fairway-Stage"
	// HeaderAttempts holds how many times the stage tried a message.
	HeaderAttempts = "Fairway-Attempts"
	// HeaderReason holds why a message was dead-lettered.
	HeaderReason = middleware.ReasonForPoisonedKey
	// HeaderCorrelation holds the correlation id of the harvest that caused
	// the event; it is carried from stage to stage.
	HeaderCorrelation = middleware.CorrelationIDMetadataKey
)

// Config configures a connection to the bus.
type Config struct {
	// URL of the NATS server(s), comma separated. Default nats.DefaultURL.
	// Ignored when InProcess is set.
	URL string
	// InProcess connects to an embedded server without a network listener.
	InProcess nats.InProcessConnProvider
	// Name identifies the connection in server monitoring. Default "fairway".
	Name string
	// Topology tunes streams, consumers and buckets.
	Topology Topology
	// Provision creates or updates streams, consumers and buckets at
	// connect time. Default true (set SkipProvision to turn it off).
	SkipProvision bool
	// Logger receives the bus's logs. Default slog.Default().
	Logger *slog.Logger
	// ConnectTimeout bounds the initial connection. Default 10s.
	ConnectTimeout time.Duration
	// MaxPendingPublishes bounds the events PublishBatch has in flight.
	// Default 1024.
	MaxPendingPublishes int
	// Options are more connection options, applied to every connection
	// after the bus's own (credentials, say: nats.UserInfo).
	Options []nats.Option
	// Observer is told what the stages run on this bus do (metrics);
	// nil means none.
	Observer Observer
}

func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = nats.DefaultURL
	}
	if c.Name == "" {
		c.Name = "fairway"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.MaxPendingPublishes == 0 {
		c.MaxPendingPublishes = 1024
	}
	c.Topology.setDefaults()
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.ConnectTimeout < 0 || c.MaxPendingPublishes < 0 {
		return errors.New("bus: negative connect timeout or pending publishes")
	}
	return c.Topology.Validate()
}

// Event is one message a stage emits.
type Event struct {
	// Stream the event goes to.
	Stream Stream
	// Key of the dataset (or feed) the event is about; it selects the subject.
	Key string
	// Hash of the content; with the emitting stage and the key it forms the
	// message id used for deduplication.
	Hash string
	// Payload is the serialised event (protobuf).
	Payload []byte
	// Metadata is carried as NATS headers.
	Metadata map[string]string
	// SkipUnchanged drops the event when the origin already emitted the
	// same hash for the same key, however long ago (the dedup window is only
	// minutes): an unchanged record re-harvested weeks later does not ripple
	// through the pipeline. In a stream that keeps the last message of every
	// key forever (Normalised, Enriched, Catalogue) that message is the
	// memory: its hash is compared when the origin wrote it, and nothing
	// else is written. In the other streams the last hash per origin and key
	// is kept in the hashes bucket once the event is stored.
	SkipUnchanged bool
	// LastHash, when set, is what the origin read of the last message about
	// Key in Stream (LastHash of the message it read, "" when there was
	// none): a SkipUnchanged event into a stream that keeps the last
	// message of every key is compared with it instead of reading that
	// message again. A stage that read it to guard the event with
	// ExpectLast passes it, so that the hash and the guard are of the same
	// message.
	LastHash *string
	// ExpectLast, when set, stores the event only if the last message about
	// its key in its stream has this sequence (0: there is none): a
	// concurrent write makes the publish fail, transiently, and the stage
	// tries again with what it then reads.
	ExpectLast *uint64
}

// Bus is a connection to the pipeline's JetStream.
type Bus struct {
	cfg     Config
	nc      *nats.Conn
	js      jetstream.JetStream
	pub     *wmjs.Publisher
	log     *slog.Logger
	wmLog   watermill.LoggerAdapter
	bucket  map[Bucket]jetstream.KeyValue
	objects map[ObjectStore]jetstream.ObjectStore
	mu      sync.Mutex
	readers map[Stream]*StreamReader // one per stream, keeping its handle
	conns   []*nats.Conn             // every connection dialled, closed by Close
	closing atomic.Bool
	// released holds the connections a part of the bus closed on purpose
	// (a stage's subscriber that stopped): their closing is no loss.
	released sync.Map
	// open counts the connections whose closed handler has not run yet.
	open    sync.WaitGroup
	lost    chan struct{}
	lostErr error
	lostOne sync.Once
}

// ErrConnectionLost is the error Lost reports: a connection of the bus was
// closed for good by a protocol or authorisation error (an authorisation
// refused again on reconnecting, a control line too long), so the process
// cannot go on. A connection that drops (a server shutting down or
// restarting, a network cut) is reconnected, without limit, and is not
// lost; a connection that a stage opens while the server is away waits for
// it (see whileUnavailable).
var ErrConnectionLost = errors.New("bus: connection lost")

// Lost is closed when a connection of the bus is closed for good by
// anything but Close; Err then says why. A process should stop, report
// unready and exit non-zero, so that its supervisor restarts it.
func (b *Bus) Lost() <-chan struct{} { return b.lost }

// Err returns why Lost was closed, or nil.
func (b *Bus) Err() error {
	select {
	case <-b.lost:
		return b.lostErr
	default:
		return nil
	}
}

func (b *Bus) closed(name string, nc *nats.Conn) {
	err := nc.LastError()
	if _, released := b.released.LoadAndDelete(nc); released || b.closing.Load() || err == nil {
		// Closed on purpose: by Close, or by a part that stopped (its
		// LastError may still hold a failed reconnect's error).
		return
	}
	b.lostOne.Do(func() {
		b.lostErr = fmt.Errorf("%w: %s: %w", ErrConnectionLost, name, err)
		b.log.Error("nats connection closed by the server", "conn", name, "err", err)
		close(b.lost)
	})
}

// Connect connects to NATS, provisions the topology and returns the bus.
func Connect(ctx context.Context, cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	b := &Bus{cfg: cfg, log: cfg.Logger, bucket: map[Bucket]jetstream.KeyValue{}, objects: map[ObjectStore]jetstream.ObjectStore{}, lost: make(chan struct{})}
	b.readers = make(map[Stream]*StreamReader, len(Streams))
	for _, s := range Streams {
		b.readers[s] = b.StreamReader(s)
	}
	b.wmLog = watermill.NewSlogLoggerWithLevelMapping(cfg.Logger, map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug, // watermill logs every message at info
	})
	nc, err := b.dial("")
	if err != nil {
		return nil, err
	}
	b.nc = nc
	if b.js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.MaxPendingPublishes)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	// A cluster that is electing leaders (a server just restarted) times
	// out or answers "temporarily unavailable" for a while: the process
	// waits for it rather than exiting.
	if err := whileUnavailable(ctx, b.log, func() error { return b.openStores(ctx, !cfg.SkipProvision) }); err != nil {
		nc.Close()
		return nil, err
	}
	b.pub, err = wmjs.NewPublisher(wmjs.PublisherConfig{
		Conn:   nc,
		Logger: b.wmLog,
		// The publisher sends to the "stream name" its configurator returns;
		// Fairway topics are full subjects and streams are provisioned here,
		// so the subject is passed through unchanged.
		ConfigureStream: subjectAsIs,
		TrackMessageID:  true,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: publisher: %w", err)
	}
	return b, nil
}

func subjectAsIs(subject string) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: subject}
}

// dial opens a new connection; every subscriber has its own, because a
// watermill subscriber drains its connection when it closes.
func (b *Bus) dial(suffix string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(b.cfg.Name + suffix),
		nats.Timeout(b.cfg.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("nats disconnected", "conn", b.cfg.Name+suffix, "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("nats reconnected", "conn", b.cfg.Name+suffix, "server", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			defer b.open.Done()
			b.closed(b.cfg.Name+suffix, nc)
		}),
	}
	if b.cfg.InProcess != nil {
		opts = append(opts, nats.InProcessServer(b.cfg.InProcess))
	}
	opts = append(opts, b.cfg.Options...)
	b.open.Add(1)
	nc, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		b.open.Done() // a connection that never opened is never closed
		return nil, fmt.Errorf("bus: connect %s: %w", redacted(b.cfg.URL), err)
	}
	b.mu.Lock()
	b.conns = append(b.conns, nc)
	b.mu.Unlock()
	return nc, nil
}

// openStores provisions the topology when asked, then opens every KV
// bucket and object store of it.
func (b *Bus) openStores(ctx context.Context, provision bool) error {
	if provision {
		if err := b.Provision(ctx); err != nil {
			return err
		}
	}
	for _, name := range Buckets {
		kv, err := b.js.KeyValue(ctx, string(name))
		if !provision && errors.Is(err, jetstream.ErrBucketNotFound) {
			// A node set up by an older build lacks the newer buckets: a
			// client that does not provision (fairway dlq) works without
			// them, and its State of such a bucket answers ErrNotProvisioned.
			continue
		}
		if err != nil {
			return fmt.Errorf("bus: bucket %s: %w", name, err)
		}
		b.bucket[name] = kv
	}
	for _, name := range ObjectStores {
		st, err := b.js.ObjectStore(ctx, string(name))
		if err != nil {
			return fmt.Errorf("bus: object store %s: %w", name, err)
		}
		b.objects[name] = st
	}
	return nil
}

// MaxUnavailable bounds how long Connect waits for JetStream to become
// available again (see whileUnavailable).
const MaxUnavailable = 2 * time.Minute

// whileUnavailable runs fn again, with growing waits, while it fails
// because JetStream is unavailable for a while (a request timed out, no
// server answered, the cluster has no leader yet, the server is away), for
// at most MaxUnavailable or until ctx ends; any other error (an
// authorisation refused, a wrong configuration) is returned at once.
func whileUnavailable(ctx context.Context, log *slog.Logger, fn func() error) error {
	wait := backoff.NewExponentialBackOff()
	wait.InitialInterval, wait.MaxInterval, wait.MaxElapsedTime = 200*time.Millisecond, 5*time.Second, MaxUnavailable
	return backoff.RetryNotify(func() error {
		err := fn()
		if err != nil && (ctx.Err() != nil || !unavailable(err)) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(wait, ctx), func(err error, d time.Duration) {
		log.Warn("JetStream unavailable; waiting", "retry_in", d, "err", err)
	})
}

// unavailable reports whether err says that JetStream could not answer for
// now rather than that the request was wrong: a request that timed out or
// found no responder, a cluster without a leader, or a connection that
// could not be opened because the server is away (it shuts down and closes
// the new connection, refuses it, or none of the servers answers). An
// authorisation or protocol error is not: waiting would not mend it.
func unavailable(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) && api.Code == 503 {
		return true
	}
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) ||
		errors.Is(err, nats.ErrAccountAuthExpired) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoHeartbeat) ||
		serverAway(err)
}

// serverAway reports whether opening a connection failed because the
// server was not there to take it: shutting down (it closes the new
// connection: EOF, reset, broken pipe), not listening (refused), or no
// server of the list answering.
func serverAway(err error) bool {
	return errors.Is(err, nats.ErrNoServers) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// release closes a connection of the bus on purpose: its closing is not
// reported as lost, whatever its last error.
func (b *Bus) release(nc *nats.Conn) {
	b.releasing(nc)
	nc.Close()
}

// releasing marks a connection of the bus that is about to be closed on
// purpose by its owner (a publisher that closes its own connection).
func (b *Bus) releasing(nc *nats.Conn) { b.released.Store(nc, struct{}{}) }

// redacted returns the comma-separated NATS URLs with any password hidden.
func redacted(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = url.User("redacted")
			parts[i] = u.String()
		} else if err != nil {
			parts[i] = "(unreadable URL)"
		}
	}
	return strings.Join(parts, ",")
}

// Provision creates or updates every stream, consumer and KV bucket of the
// topology, and deletes the consumers an older topology had and this one
// retired. It is idempotent.
func (b *Bus) Provision(ctx context.Context) error {
	t := b.cfg.Topology
	for _, s := range Streams {
		if err := b.checkLayout(ctx, s); err != nil {
			return err
		}
		if _, err := b.js.CreateOrUpdateStream(ctx, t.StreamConfig(s)); err != nil {
			return fmt.Errorf("bus: stream %s: %w", s, err)
		}
	}
	for _, c := range Consumers {
		if _, err := b.js.CreateOrUpdateConsumer(ctx, string(c.Stream), t.ConsumerConfig(c)); err != nil {
			return fmt.Errorf("bus: consumer %s on %s: %w", c.Stage, c.Stream, err)
		}
	}
	for _, c := range retiredConsumers {
		if err := b.DeleteConsumer(ctx, c.Stream, string(c.Stage)); err != nil {
			return fmt.Errorf("bus: retired consumer %s on %s: %w", c.Stage, c.Stream, err)
		}
	}
	for _, name := range Buckets {
		if _, err := b.js.CreateOrUpdateKeyValue(ctx, t.KVConfig(name)); err != nil {
			return fmt.Errorf("bus: bucket %s: %w", name, err)
		}
	}
	for _, name := range ObjectStores {
		if _, err := b.js.CreateOrUpdateObjectStore(ctx, t.ObjectStoreConfig(name)); err != nil {
			return fmt.Errorf("bus: object store %s: %w", name, err)
		}
	}
	return nil
}

// ErrOldLayout is returned by Provision for a stream whose messages were
// written by an older Fairway that spelled keys in subjects: mixing both
// layouts would show every dataset twice.
var ErrOldLayout = errors.New("bus: stream holds messages of an older subject layout")

// checkLayout refuses a non-empty stream without this version's layout
// marker.
func (b *Bus) checkLayout(ctx context.Context, s Stream) error {
	str, err := b.js.Stream(ctx, string(s))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bus: stream %s: %w", s, err)
	}
	info := str.CachedInfo()
	if info.State.Msgs == 0 || info.Config.Metadata[LayoutKey] == LayoutDigest {
		return nil
	}
	return fmt.Errorf("%w: %s (%d messages); start from an empty store (remove the data directory's nats folder, then harvest again) or delete the stream", ErrOldLayout, s, info.State.Msgs)
}

// JetStream returns the JetStream API of the bus connection, for tests that
// look at the streams themselves. Production code uses the bus's types.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn returns the bus's NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// KV returns the JetStream handle of one of the topology's KV buckets, for
// tests. Production code uses State.
func (b *Bus) KV(name Bucket) jetstream.KeyValue { return b.bucket[name] }

// ObjectStore returns the JetStream handle of one of the topology's object
// stores, for tests. Production code uses Objects.
func (b *Bus) ObjectStore(name ObjectStore) jetstream.ObjectStore { return b.objects[name] }

// Logger returns the bus's logger.
func (b *Bus) Logger() *slog.Logger { return b.log }

// Publish sends events emitted by origin (a stage or the harvester). Each
// event gets the message id MsgID(origin, key, hash), so duplicates within
// the dedup window are dropped by the server. It returns after the server
// has stored every event, one after the other.
func (b *Bus) Publish(ctx context.Context, origin string, events ...Event) error {
	_, err := b.PublishCount(ctx, origin, events...)
	return err
}

// PublishCount is Publish, and says how many events were stored (those
// marked SkipUnchanged whose hash origin already emitted are not).
func (b *Bus) PublishCount(ctx context.Context, origin string, events ...Event) (int, error) {
	stored := 0
	for _, ev := range events {
		if err := ctx.Err(); err != nil {
			return stored, err
		}
		skip, prev, err := b.unchanged(ctx, origin, ev)
		if err != nil {
			return stored, err
		}
		if skip {
			continue
		}
		if err := b.publishOne(origin, ev, prev); err != nil {
			return stored, err
		}
		if err := b.remember(ctx, origin, ev); err != nil {
			return stored, err
		}
		stored++
	}
	return stored, nil
}

// publishOne sends ev and waits for its acknowledgement, compressing into
// a pooled buffer: the connection has copied the message when the publish
// returns.
func (b *Bus) publishOne(origin string, ev Event, prev string) error {
	if err := b.checkSize(ev); err != nil {
		return err
	}
	dst, release := encodeBuffer(len(ev.Payload))
	defer release()
	payload, enc := encodePayloadInto(dst, ev.Payload)
	msg := message.NewMessage(eventID(origin, ev, prev), payload)
	for k, v := range headers(origin, ev, enc) {
		msg.Metadata.Set(k, v)
	}
	if err := b.pub.Publish(Subject(ev.Stream, ev.Key), msg); err != nil {
		return publishError(ev, err)
	}
	return nil
}

// PublishBatch sends events like Publish, but without waiting for each
// acknowledgement before the next send: the server stores them while more
// are on the way. It returns once every event is stored, or with the first
// error (events sent before it may be stored: a retry is safe, message ids
// deduplicate). It is the harvester's path, where a page holds hundreds of
// records.
func (b *Bus) PublishBatch(ctx context.Context, origin string, events []Event) error {
	// In chunks of half the async window, so that a large page never stalls.
	chunk := max(b.cfg.MaxPendingPublishes/2, 1)
	for len(events) > 0 {
		n := min(chunk, len(events))
		if err := b.publishChunk(ctx, origin, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

func (b *Bus) publishChunk(ctx context.Context, origin string, events []Event) error {
	futures := make([]jetstream.PubAckFuture, 0, len(events))
	sent := make([]Event, 0, len(events))
	for _, ev := range events {
		skip, prev, err := b.unchanged(ctx, origin, ev)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		if err := b.checkSize(ev); err != nil {
			return err
		}
		// Not a pooled buffer: the client keeps an asynchronous message
		// to resend it.
		payload, enc := encodePayload(ev.Payload)
		m := nats.NewMsg(Subject(ev.Stream, ev.Key))
		m.Data = payload
		for k, v := range headers(origin, ev, enc) {
			m.Header.Set(k, v)
		}
		id := eventID(origin, ev, prev)
		m.Header.Set(wmnats.WatermillUUIDHdr, id)
		f, err := b.js.PublishMsgAsync(m, jetstream.WithMsgID(id))
		if err != nil {
			return publishError(ev, err)
		}
		futures = append(futures, f)
		sent = append(sent, ev)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return publishError(sent[i], err)
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := b.remember(ctx, origin, sent[i]); err != nil {
			return err
		}
	}
	return nil
}

// publishError classifies a failed publish: a message too large for the
// server or the stream can never be stored (permanent); anything else (the
// server away, a leader election, a conflicting concurrent write) may pass
// later (transient).
func publishError(ev Event, err error) error {
	err = fmt.Errorf("bus: publish %s to %s: %w", ev.Key, ev.Stream, err)
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) ||
		strings.Contains(err.Error(), "maximum payload") || strings.Contains(err.Error(), "message size exceeds maximum") {
		return Permanent(err)
	}
	return Transient(err)
}

// checkSize refuses (permanently) a payload past the stream's or the
// server's largest message, before it is compressed, as the server would
// refuse it uncompressed: what passes does not depend on how well it
// compresses (the headers, a few hundred bytes, are left out of the count;
// the server counts them too).
func (b *Bus) checkSize(ev Event) error {
	if n := len(ev.Payload); n > int(b.cfg.Topology.MaxMsgSize) {
		return publishError(ev, fmt.Errorf("%w: %d bytes (at most %d)", jetstream.ErrStreamMessageExceedsMaximum, n, b.cfg.Topology.MaxMsgSize))
	} else if limit := b.nc.MaxPayload(); limit > 0 && int64(n) > limit {
		return publishError(ev, fmt.Errorf("%w: %d bytes (at most %d)", nats.ErrMaxPayload, n, limit))
	}
	return nil
}

// headers returns the headers every event carries; enc is the
// HeaderEncoding of what is stored of its payload ("" for as it is).
func headers(origin string, ev Event, enc string) map[string]string {
	h := make(map[string]string, len(ev.Metadata)+4)
	for k, v := range ev.Metadata {
		h[k] = v
	}
	delete(h, HeaderEncoding)
	if enc != "" {
		h[HeaderEncoding] = enc
	}
	h[HeaderKey], h[HeaderHash], h[HeaderOrigin] = ev.Key, ev.Hash, origin
	if ev.ExpectLast != nil {
		h[nats.ExpectedLastSubjSeqHdr] = strconv.FormatUint(*ev.ExpectLast, 10)
	}
	return h
}

func hashKey(origin, key string) string { return origin + "." + Digest(key) }

// keepsLast reports whether stream s keeps the last message of every key
// forever, so that it remembers what each key's origin emitted last.
func keepsLast(s Stream) bool {
	cfg := Topology{}.StreamConfig(s)
	return cfg.MaxMsgsPerSubject == 1 && cfg.MaxAge == 0
}

// lastKept is keepsLast of every stream, computed once.
var lastKept = func() map[Stream]bool {
	m := map[Stream]bool{}
	for _, s := range Streams {
		m[s] = keepsLast(s)
	}
	return m
}()

// LastHash returns the hash origin gave the stored message m ("" when
// another origin wrote it), for Event.LastHash.
func LastHash(m StoredMessage, origin string) string {
	if m.Header.Get(HeaderOrigin) != origin || Undecoded(m) {
		return ""
	}
	return m.Header.Get(HeaderHash)
}

// unchanged reports whether ev is marked SkipUnchanged and origin already
// emitted its hash for its key; prev is the hash origin emitted last.
func (b *Bus) unchanged(ctx context.Context, origin string, ev Event) (skip bool, prev string, err error) {
	if !ev.SkipUnchanged {
		return false, "", nil
	}
	if lastKept[ev.Stream] {
		if ev.LastHash != nil {
			prev = *ev.LastHash
		} else {
			m, err := b.readers[ev.Stream].Last(ctx, ev.Key)
			if err != nil && !IsNotFound(err) {
				return false, "", Transient(fmt.Errorf("bus: last hash of %s: %w", ev.Key, err))
			}
			if err == nil {
				prev = LastHash(m, origin)
			}
		}
		return prev != "" && prev == ev.Hash, prev, nil
	}
	last, err := b.State(BucketHashes).Get(ctx, hashKey(origin, ev.Key))
	if errors.Is(err, ErrNotFound) {
		return false, "", nil
	}
	if err != nil {
		return false, "", Transient(fmt.Errorf("bus: last hash of %s: %w", ev.Key, err))
	}
	return string(last.Value) == ev.Hash, string(last.Value), nil
}

// eventID is the message id of ev. For a SkipUnchanged event it names the
// change from the previous hash, so that a dataset that changes A, B, then
// back to A within the dedup window is not dropped as a duplicate of the
// first A, while a redelivery of the same change still is.
func eventID(origin string, ev Event, prev string) string {
	if ev.SkipUnchanged {
		return MsgID(origin, ev.Key, prev+">"+ev.Hash)
	}
	return MsgID(origin, ev.Key, ev.Hash)
}

// remember records the hash of a stored SkipUnchanged event.
func (b *Bus) remember(ctx context.Context, origin string, ev Event) error {
	if !ev.SkipUnchanged || lastKept[ev.Stream] {
		return nil // the stream's last message remembers it
	}
	if _, err := b.State(BucketHashes).Put(ctx, hashKey(origin, ev.Key), []byte(ev.Hash)); err != nil {
		return Transient(fmt.Errorf("bus: remember hash of %s: %w", ev.Key, err))
	}
	return nil
}

// Close closes every connection of the bus, draining what it sent.
func (b *Bus) Close() error {
	b.closing.Store(true)
	b.mu.Lock()
	conns := b.conns
	b.conns = nil
	b.mu.Unlock()
	var errs []error
	for _, nc := range conns {
		if nc.IsClosed() {
			continue
		}
		if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
	}
	// Drain is asynchronous: wait (bounded) for the connections to close, so
	// that an embedded server shut down next sees no live client.
	deadline := time.Now().Add(5 * time.Second)
	for _, nc := range conns {
		for !nc.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The closed handlers run asynchronously: wait (bounded) for them, so
	// that none reports a closing on purpose after Close returned.
	done := make(chan struct{})
	go func() {
		b.open.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Until(deadline) + time.Second):
	}
	return errors.Join(errs...)
}
