// Package analytics keeps the node's analytics in ClickHouse: the writer
// (Sink) that copies the catalogue and the harvest runs from the bus, and
// the store it writes to — one row per catalogue version of every dataset
// (deduplicated by key, the latest version wins) and one row per harvest
// run, with the counts analysts ask for.
//
// It speaks ClickHouse's native protocol only and keeps its SQL to what both
// Debian's ClickHouse 18.16 and current releases accept: batch inserts name
// their columns, no LowCardinality, no HTTP, no async inserts.
//
// Errors that are not the data's fault (an unreachable, overloaded or
// misconfigured server) wrap ErrUnavailable, so that a consumer can leave its
// messages unacknowledged and retry later; rows that can never be written
// wrap ErrInvalidRow.
package analytics

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"time"
)

// Defaults of Config.
const (
	DefaultAddr          = "127.0.0.1:9000"
	DefaultDatabase      = "fairway"
	DefaultUsername      = "default"
	DefaultDialTimeout   = 5 * time.Second
	DefaultBatchSize     = 10000
	DefaultFlushInterval = time.Second
)

// maxBatchSize bounds Config.BatchSize: one insert block stays well below
// the server's memory limits.
const maxBatchSize = 1_000_000

var (
	// ErrUnavailable is wrapped by errors that are not the data's fault:
	// ClickHouse unreachable, closing the connection or timing out; busy
	// (too many queries or parts, out of memory or disk); or refusing the
	// store as configured (authentication, read-only, database or table
	// missing). Keep the data and retry later.
	ErrUnavailable = errors.New("analytics: clickhouse unavailable")
	// ErrInvalidRow is wrapped by errors about rows that cannot be written
	// as they are (no key, mismatched arrays, negative counts, …): retrying
	// will not help.
	ErrInvalidRow = errors.New("analytics: invalid row")
	// ErrInvalidConfig is wrapped by Config.Validate errors.
	ErrInvalidConfig = errors.New("analytics: invalid config")
)

// identifier is what the store accepts as a database name; it is then used
// quoted in SQL, never bound as a parameter.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Config configures the connection to ClickHouse. The zero value of every
// field means its default.
type Config struct {
	// Addr is the host:port of ClickHouse's native protocol.
	// Default "127.0.0.1:9000".
	Addr string
	// Database holds the analytics tables; Open creates it when missing.
	// Letters, digits and underscores, not starting with a digit.
	// Default "fairway".
	Database string
	// Username to authenticate as. Default "default".
	Username string
	// Password of Username. Default empty.
	Password string
	// DialTimeout bounds connecting to ClickHouse and waiting for a free
	// pooled connection. Default 5s.
	DialTimeout time.Duration
	// BatchSize is the most rows one INSERT carries: larger slices given to
	// InsertDatasets or InsertRuns are sent in several inserts. A writer
	// consuming a stream should flush when it holds that many rows: the
	// writer's consumers fetch batches of this many messages (bounded too
	// by the topology's BatchMaxAckPending, half of which a batch can
	// use, and by 64 MiB). Default 10,000.
	BatchSize int
	// FlushInterval is the longest a writer consuming a stream should hold a
	// partial batch before inserting it. The Store itself does not buffer:
	// every Insert call writes at once. Default 1s.
	FlushInterval time.Duration
	// Logger receives the store's logs. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports whether the configuration, once its defaults are
// applied, is usable. Its errors wrap ErrInvalidConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if host, port, err := net.SplitHostPort(c.Addr); err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("addr %q: want host:port", c.Addr))
	}
	if !identifier.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("database %q: want letters, digits and underscores, not starting with a digit, at most 64", c.Database))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial timeout %s: must not be negative", c.DialTimeout))
	}
	if c.BatchSize < 0 || c.BatchSize > maxBatchSize {
		errs = append(errs, fmt.Errorf("batch size %d: want 1 to %d", c.BatchSize, maxBatchSize))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("flush interval %s: must not be negative", c.FlushInterval))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}
	return nil
}
