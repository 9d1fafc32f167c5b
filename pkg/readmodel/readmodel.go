// Package readmodel is the read model of the live catalogue: a queryable
// view (a bleve/v2 index beside a bbolt file of the entries) that each
// replica of the node keeps in its data directory and feeds with a durable
// consumer of its own on the catalogue stream. The stream is the truth; the
// model is a view of it, rebuilt from the stream whenever it is missing,
// unreadable, of another SchemaVersion or of another stream.
//
// # Layout
//
// Config.Dir holds index.bleve (scorch; nothing stored, every field only
// indexed: key, facility and DOI in lower case, feed, technique IRIs with
// their broader PaNET techniques and their bare ids, datestamp, catalogue
// sequence, deleted, access rights, and English text for title,
// description, keywords and creators) and records.db (bbolt: one record per
// dataset key, with the catalogue entry's bytes as published on the
// stream, S2-compressed; the number of live datasets per facility and per technique; the
// model's schema version, position and stream identity). A query asks the
// index for keys and reads their records in one bbolt transaction; Get is
// one bbolt read; Facilities and Techniques read the counts, which every
// batch adjusts in its transaction.
//
// # Feeding
//
// Run follows the catalogue stream through bus.Follow with the consumer
// bus.FollowerName(Config.Replica), from the stored position plus one, in
// stream order, in batches of Config.BatchSize (a fetch that finds less
// waits up to Config.Linger for more). A batch is applied to the
// index (a bleve batch that also records the position in the index's
// internal storage) and to the records (one bbolt transaction that records
// the position too); the batch is acknowledged after both commit. On Open,
// the position is the smaller of the two, so that a crash between them
// re-applies a batch (idempotent: keys are document ids) instead of losing
// one. Tombstones are kept as records with Deleted set: OAI-PMH deletions
// are persistent and the changes feed lists them. An entry that cannot be
// decoded is logged, counted (Skipped) and passed over, with the position
// advancing; the record of its key, when its header names one, is removed,
// as a rebuild from the stream would not have it either.
//
// # Reads
//
// A read waits for no batch: the index and the records each change
// atomically per batch, the index first, each with the batch's position. A
// query reads the index's position before and after its search and the
// records' position with the records; when they differ, the records are
// still committing a batch the search saw (or one landed meanwhile), and
// the query waits for the batch and asks again. So a page never mixes two
// versions of the catalogue, and reads stay fast while the model catches
// up. Search pages by Offset (at most MaxOffset deep) or by an opaque
// cursor (After), which
// encodes the sort values of the page's last record and continues after
// them however the catalogue changed meanwhile; Each pages with cursors
// internally, so its memory is bounded by one page.
package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// SchemaVersion is the version of the stored form (index mapping and
// records). Raise it when either changes: a model of another version is
// removed and rebuilt from the stream (2: records keep their quality, and
// the counts each facility's; 3: the index holds what search needs, BM25; 4: the instrument facet counts
// names only; 5: the quality score keeps doc values, for its facet; 6: the
// dataset's own date, IssuedOf, for the date filter, order and facet; 7:
// the facets count short keyword doc values: compacted techniques and
// access rights, the year, the quality band; 8: records keep their entry
// S2-compressed).
const SchemaVersion = 8

// ErrNotFound is returned for a key or DOI the model does not hold.
var ErrNotFound = errors.New("readmodel: not found")

// ErrBehind is returned by a read that found the index and the records
// at different positions after waiting for them to agree (a commit that
// keeps failing): the answer would be incomplete, so there is none.
var ErrBehind = errors.New("readmodel: index and records disagree")

// ErrBadQuery is returned for a query the model refuses (a cursor it did
// not make, an offset too deep, a limit out of range).
var ErrBadQuery = errors.New("readmodel: bad query")

// ErrClosed is returned by a model that was closed.
var ErrClosed = errors.New("readmodel: closed")

// Config configures a read model.
type Config struct {
	// Dir is the model's folder (the node gives <data>/readmodel). Required.
	// The model keeps two entries there, index.bleve and records.db, and
	// removes them to rebuild.
	Dir string
	// Replica names this replica's durable consumer on the catalogue stream
	// (bus.FollowerName). Default "node". Each model folder needs a name of
	// its own: two models on one consumer would move it under each other.
	Replica string
	// BatchSize is how many catalogue entries are applied per index batch.
	// Default 500.
	BatchSize int
	// Linger is how long a fetch that found less than a batch waits for
	// more before the model applies it. Every batch makes an index segment
	// that the index merges again and again later, so a catalogue filling
	// at the pipeline's pace is cheaper applied in a few large batches than
	// in many of a few entries each; the model lags by up to Linger more.
	// Default 500ms; negative: no wait.
	Linger time.Duration
	// Inactive is how long the server keeps the replica's consumer while
	// the replica is gone. Default 72h.
	Inactive time.Duration
	// RetryDelay is how long a batch that could not be applied waits before
	// it is tried again. Default 5s.
	RetryDelay time.Duration
}

func (c *Config) setDefaults() {
	if c.Replica == "" {
		c.Replica = "node"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.Inactive == 0 {
		c.Inactive = 72 * time.Hour
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = 5 * time.Second
	}
	if c.Linger == 0 {
		c.Linger = 500 * time.Millisecond
	}
}

// Validate reports whether the configuration is usable (zero values mean
// their defaults).
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("readmodel: no folder")
	case c.BatchSize < 0 || c.BatchSize > 10000:
		return fmt.Errorf("readmodel: batch size %d: want 1 to 10000", c.BatchSize)
	case c.Inactive < 0 || c.RetryDelay < 0:
		return errors.New("readmodel: negative inactive threshold or retry delay")
	case len(c.Replica) > 256:
		return errors.New("readmodel: replica name over 256 bytes")
	}
	return nil
}

// Model is the read model of one replica.
type Model struct {
	cfg Config
	bus *bus.Bus
	log *slog.Logger

	mu     sync.RWMutex // held for reading by reads and the applier, for writing by Close
	index  bleve.Index
	db     *bolt.DB
	closed bool

	pos       atomic.Uint64
	appliedAt atomic.Int64 // stream time (Unix ns) of the last message applied since Open; 0: none
	skipped   atomic.Uint64
	applied   atomic.Uint64 // entries applied since Open (re-applied ones included)
	waitMu    sync.Mutex
	moved     chan struct{} // closed and replaced whenever pos moves
}

const (
	indexDir    = "index.bleve"
	recordsFile = "records.db"
)

// Open opens the model in cfg.Dir, or builds it anew from the catalogue
// stream when the folder is missing, unreadable, of another SchemaVersion
// or of another catalogue stream (created again since), or ahead of the
// stream (then its consumer restarts from the stream's first message).
// Open does not apply anything: Run does.
func Open(ctx context.Context, cfg Config, b *bus.Bus, log *slog.Logger) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if b == nil {
		return nil, errors.New("readmodel: no bus")
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "readmodel", "replica", cfg.Replica)
	st, err := b.StreamState(ctx, bus.Catalogue)
	if err != nil {
		return nil, fmt.Errorf("readmodel: %w", err)
	}
	m := &Model{cfg: cfg, bus: b, log: log, moved: make(chan struct{})}
	stream := st.Created.UTC().Format(time.RFC3339Nano)
	reason, err := m.open(stream, st.Last)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		log.Info("read model rebuilt from the catalogue stream", "dir", cfg.Dir, "reason", reason)
		if err := m.create(stream); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// open opens what cfg.Dir holds; reason says why it cannot be used (then
// nothing is left open), and err is a failure that removing the folder
// would not mend (another process holds it).
func (m *Model) open(stream string, last uint64) (reason string, err error) {
	if _, err := os.Stat(filepath.Join(m.cfg.Dir, recordsFile)); errors.Is(err, os.ErrNotExist) {
		return "no model in the folder", nil
	}
	db, err := bolt.Open(filepath.Join(m.cfg.Dir, recordsFile), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return "", fmt.Errorf("readmodel: %s is in use by another process: %w", m.cfg.Dir, err)
	}
	if err != nil {
		return fmt.Sprintf("records unreadable: %v", err), nil
	}
	var schema, streamAt []byte
	var pos, skipped uint64
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || tx.Bucket(bucketRecords) == nil || tx.Bucket(bucketCounts) == nil {
			return errCorrupt
		}
		schema = append(schema, meta.Get(metaSchema)...)
		streamAt = append(streamAt, meta.Get(metaStream)...)
		pos, skipped = readU64(meta.Get(metaPosition)), readU64(meta.Get(metaSkipped))
		return nil
	})
	switch {
	case err != nil:
		reason = fmt.Sprintf("records unreadable: %v", err)
	case string(schema) != strconv.Itoa(SchemaVersion):
		reason = fmt.Sprintf("schema version %q, want %d", schema, SchemaVersion)
	case string(streamAt) != stream:
		reason = "the catalogue stream was created again since the model was built"
	case pos > last:
		reason = fmt.Sprintf("model at sequence %d, the stream ends at %d", pos, last)
	}
	if reason != "" {
		_ = db.Close()
		return reason, nil
	}
	idx, err := bleve.Open(filepath.Join(m.cfg.Dir, indexDir))
	if err != nil {
		_ = db.Close()
		return fmt.Sprintf("index unreadable: %v", err), nil
	}
	ipos, err := idx.GetInternal(metaPosition)
	if err != nil {
		_ = idx.Close()
		_ = db.Close()
		return fmt.Sprintf("index unreadable: %v", err), nil
	}
	if p := readU64(ipos); p < pos {
		m.log.Info("index behind the records: re-applying from the index's position", "records", pos, "index", p)
		pos = p
	}
	m.db, m.index = db, idx
	m.pos.Store(pos)
	m.skipped.Store(skipped)
	return "", nil
}

// create removes the model's files from cfg.Dir (only those: a folder
// given by mistake loses nothing else) and creates an empty model of this
// schema for stream in it.
func (m *Model) create(stream string) error {
	for _, name := range []string{recordsFile, indexDir} {
		if err := os.RemoveAll(filepath.Join(m.cfg.Dir, name)); err != nil {
			return fmt.Errorf("readmodel: remove %s: %w", name, err)
		}
	}
	if err := os.MkdirAll(m.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("readmodel: %w", err)
	}
	db, err := bolt.Open(filepath.Join(m.cfg.Dir, recordsFile), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("readmodel: records: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRecords, bucketCounts} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for k, v := range map[string][]byte{
			string(metaSchema): []byte(strconv.Itoa(SchemaVersion)), string(metaStream): []byte(stream),
			string(metaPosition): u64(0), string(metaSkipped): u64(0),
		} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("readmodel: records: %w", err)
	}
	idx, err := bleve.New(filepath.Join(m.cfg.Dir, indexDir), indexMapping())
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("readmodel: index: %w", err)
	}
	m.db, m.index = db, idx
	m.pos.Store(0)
	m.skipped.Store(0)
	return nil
}

// Run applies catalogue entries until ctx ends (then it returns nil).
func (m *Model) Run(ctx context.Context) error {
	return m.bus.Follow(ctx, bus.FollowConfig{
		Stream: bus.Catalogue, Name: bus.FollowerName(m.cfg.Replica), StartSeq: m.Position() + 1,
		Batch: m.cfg.BatchSize, Linger: max(m.cfg.Linger, 0), Inactive: m.cfg.Inactive, RetryDelay: m.cfg.RetryDelay,
	}, m.apply)
}

// Close closes the index and the records. Run must have returned.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	return errors.Join(m.index.Close(), m.db.Close())
}

// Position returns the catalogue stream sequence applied last.
func (m *Model) Position() uint64 { return m.pos.Load() }

// Skipped returns how many catalogue entries the model passed over since
// it was built because they could not be read.
func (m *Model) Skipped() uint64 { return m.skipped.Load() }

// Applied returns how many catalogue entries this Model applied since Open
// (an entry applied again after a crash counts again).
func (m *Model) Applied() uint64 { return m.applied.Load() }

// WaitFor returns once Position() >= seq, or with ctx's error.
func (m *Model) WaitFor(ctx context.Context, seq uint64) error {
	for {
		m.waitMu.Lock()
		moved := m.moved
		m.waitMu.Unlock()
		if m.Position() >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		}
	}
}

// Lag returns how far the model is behind the catalogue: the stream's last
// sequence minus Position().
func (m *Model) Lag(ctx context.Context) (uint64, error) {
	last, err := m.bus.LastSequence(ctx, bus.Catalogue)
	if err != nil {
		return 0, fmt.Errorf("readmodel: %w", err)
	}
	if p := m.Position(); last > p {
		return last - p, nil
	}
	return 0, nil
}

// ErrHorizonUnknown is returned by Horizon for a model that lags behind
// the catalogue and has applied nothing since it opened.
var ErrHorizonUnknown = errors.New("readmodel: the model lags and has applied nothing yet")

// Horizon returns a time up to which the model holds every entry the
// catalogue stream held: now when it has caught up, else the stream time
// of the last entry it applied. An entry it does not hold yet was stored
// after the horizon (stream times rise with the sequence), so a harvester
// that continues from the horizon misses nothing the model could not show
// it yet. Datestamps are render times, a moment before the store: callers
// allow for that latency.
func (m *Model) Horizon(ctx context.Context) (time.Time, error) {
	now := time.Now()
	lag, err := m.Lag(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if lag == 0 {
		return now, nil
	}
	if ns := m.appliedAt.Load(); ns != 0 {
		return time.Unix(0, ns), nil
	}
	return time.Time{}, ErrHorizonUnknown
}

// setPosition records that pos was applied and wakes WaitFor.
func (m *Model) setPosition(pos uint64) {
	m.pos.Store(pos)
	m.waitMu.Lock()
	close(m.moved)
	m.moved = make(chan struct{})
	m.waitMu.Unlock()
}

// change is one catalogue message made ready to apply.
type change struct {
	key    string
	stored []byte   // nil: remove the key
	rec    Record   // when stored (without its entry)
	doc    document // when stored
}

// apply applies one batch of catalogue messages, in order, all or nothing.
func (m *Model) apply(ctx context.Context, msgs []bus.StoredMessage) error {
	pos := m.Position()
	changes := make([]change, 0, len(msgs))
	skipped := uint64(0)
	for _, msg := range msgs {
		if msg.Sequence <= pos {
			continue
		}
		pos = msg.Sequence
		c, err := prepare(msg)
		if err != nil {
			skipped++
			m.log.Warn("catalogue entry skipped", "seq", msg.Sequence, "subject", msg.Subject, "err", err)
			if c.key == "" {
				continue
			}
		}
		changes = append(changes, c)
	}
	if pos == m.Position() {
		return nil
	}
	// Readers go on meanwhile: they check what they read (see find).
	done, err := m.reading()
	if err != nil {
		return err
	}
	defer done()
	batch := m.index.NewBatch()
	for _, c := range changes {
		if c.stored == nil {
			batch.Delete(c.key)
		} else if err := indexDocument(m.index, batch, c.key, c.doc); err != nil {
			return fmt.Errorf("readmodel: index %.200s: %w", c.key, err)
		}
	}
	batch.SetInternal(metaPosition, u64(pos))
	tx, err := m.db.Begin(true)
	if err != nil {
		return fmt.Errorf("readmodel: records: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	recs, meta := tx.Bucket(bucketRecords), tx.Bucket(bucketMeta)
	counts := newCounter(tx.Bucket(bucketCounts))
	for _, c := range changes {
		if old := recs.Get([]byte(c.key)); old != nil {
			if r, err := decodeRecord(c.key, old, false); err == nil {
				counts.add(&r, -1)
			}
		}
		if c.stored == nil {
			err = recs.Delete([]byte(c.key))
		} else {
			counts.add(&c.rec, 1)
			err = recs.Put([]byte(c.key), c.stored)
		}
		if err != nil {
			return fmt.Errorf("readmodel: record %.200s: %w", c.key, err)
		}
	}
	if err := counts.store(); err != nil {
		return fmt.Errorf("readmodel: counts: %w", err)
	}
	if err := meta.Put(metaPosition, u64(pos)); err != nil {
		return fmt.Errorf("readmodel: records: %w", err)
	}
	if skipped > 0 {
		if err := meta.Put(metaSkipped, u64(m.skipped.Load()+skipped)); err != nil {
			return fmt.Errorf("readmodel: records: %w", err)
		}
	}
	// The index first: a crash before the records commit leaves the index
	// ahead, and the smaller position, the records', is applied again.
	if err := m.index.Batch(batch); err != nil {
		return fmt.Errorf("readmodel: index batch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("readmodel: records commit: %w", err)
	}
	m.skipped.Add(skipped)
	m.applied.Add(uint64(len(changes)))
	if n := len(msgs); n > 0 && !msgs[n-1].Time.IsZero() {
		m.appliedAt.Store(msgs[n-1].Time.UnixNano())
	}
	m.setPosition(pos)
	return nil
}

// prepare decodes a catalogue message into the change it makes. An
// unreadable one returns an error and, when its header names its key, the
// change that removes that key.
func prepare(msg bus.StoredMessage) (change, error) {
	hkey := msg.Header.Get(bus.HeaderKey)
	if len(hkey) > maxKey {
		hkey = ""
	}
	if bus.Undecoded(msg) {
		return change{key: hkey}, errors.New("readmodel: a catalogue entry whose stored bytes cannot be decoded")
	}
	var e fairwayv1.CatalogueEntry
	if err := proto.Unmarshal(msg.Data, &e); err != nil {
		return change{key: hkey}, fmt.Errorf("readmodel: not a catalogue entry: %w", err)
	}
	switch {
	case e.Key == "":
		return change{key: hkey}, errors.New("readmodel: catalogue entry without a key")
	case hkey != "" && e.Key != hkey:
		return change{key: hkey}, fmt.Errorf("readmodel: entry of %.200s under the key %.200s", e.Key, hkey)
	case len(e.Key) > maxKey:
		return change{}, fmt.Errorf("readmodel: key of %d bytes (at most %d)", len(e.Key), maxKey)
	}
	r, d := record(&e, msg.Sequence, msg.Time)
	return change{key: e.Key, stored: encodeRecord(&r, msg.Data), rec: r, doc: d}, nil
}

// reading takes the read lock; it fails once the model is closed.
func (m *Model) reading() (func(), error) {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return nil, ErrClosed
	}
	return m.mu.RUnlock, nil
}
