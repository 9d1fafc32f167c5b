package analytics

import (
	"context"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Store writes and reads Fairway's analytics in one ClickHouse database.
// It is safe for concurrent use.
type Store struct {
	cfg  Config
	conn driver.Conn
	log  *slog.Logger
	// db is the quoted database name, prefixed to every table.
	db string
}

// TechniqueCount is the number of live datasets tagged with one PaNET
// technique.
type TechniqueCount struct {
	// IRI of the technique.
	IRI string
	// Label of the technique, as the enricher recorded it.
	Label string
	// Datasets tagged with it.
	Datasets uint64
}

// Open connects to ClickHouse over the native protocol, checks that it
// answers and applies the schema's migrations (see Migrate). A server that
// cannot be reached gives an error wrapping ErrUnavailable; a database whose
// applied migrations differ from this build's, ErrMigrationChanged.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureSchema(ctx); err != nil {
		_ = s.conn.Close()
		return nil, err
	}
	return s, nil
}

// Connect connects to ClickHouse over the native protocol and checks that it
// answers, without touching the schema (Migrate does).
func Connect(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     []string{cfg.Addr},
		// No database in the handshake: it may not exist yet. Every
		// statement names its database.
		Auth: clickhouse.Auth{
			Username: cfg.Username,
			Password: cfg.Password,
		},
		DialTimeout: cfg.DialTimeout,
		ClientInfo: clickhouse.ClientInfo{
			Products: []struct{ Name, Version string }{{Name: "fairway", Version: "1"}},
		},
	})
	if err != nil {
		return nil, wrap("open", err)
	}
	s := &Store{
		cfg:  cfg,
		conn: conn,
		log:  cfg.Logger.With("component", "analytics", "addr", cfg.Addr, "database", cfg.Database),
		db:   "`" + cfg.Database + "`",
	}
	if err := s.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if v, err := conn.ServerVersion(); err == nil {
		s.log.InfoContext(ctx, "analytics store ready", "server", v.String())
	}
	return s, nil
}

// Ping checks that ClickHouse answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping "+s.cfg.Addr, s.conn.Ping(ctx))
}

// Close closes the connections.
func (s *Store) Close() error {
	return wrap("close", s.conn.Close())
}

// Database returns the name of the database the store writes to.
func (s *Store) Database() string { return s.cfg.Database }

// EnsureSchema applies the migrations the database lacks (Migrate); a
// database dropped under the store is created again. Calling it again is
// harmless.
func (s *Store) EnsureSchema(ctx context.Context) error {
	if _, err := s.Migrate(ctx, false); err != nil {
		return err
	}
	s.log.DebugContext(ctx, "schema ready")
	return nil
}

// InsertDatasets writes dataset rows, at most Config.BatchSize per insert.
// Writing a version that is already stored again does not change any count:
// the datasets table keeps one row per key, the highest version. Every row
// is checked before anything is sent; an invalid one fails the call with an
// error wrapping ErrInvalidRow. When an insert fails, the earlier inserts of
// the call are kept, and inserting all rows again is safe.
func (s *Store) InsertDatasets(ctx context.Context, rows []DatasetRow) error {
	if len(rows) == 0 {
		return nil
	}
	for i, r := range rows {
		if err := r.validate(); err != nil {
			return fmt.Errorf("analytics: insert datasets: row %d: %w", i, err)
		}
	}
	return s.insertColumns(ctx, "datasets", datasetColumns, len(rows), func(start, end int) []any {
		return datasetColumnsOf(rows[start:end])
	})
}

// InsertRuns writes harvest-run reports, at most Config.BatchSize per
// insert. A run reported several times (running, then complete; or a
// redelivery) is counted once: the harvest_runs table keeps the report with
// the latest finished_at per run. A nil run, a run without id or with a
// negative count fails the call with an error wrapping ErrInvalidRow before
// anything is sent.
func (s *Store) InsertRuns(ctx context.Context, runs []*fairwayv1.HarvestRun) error {
	if len(runs) == 0 {
		return nil
	}
	values := make([][]any, len(runs))
	for i, r := range runs {
		v, err := runValues(r)
		if err != nil {
			return fmt.Errorf("analytics: insert runs: run %d: %w", i, err)
		}
		values[i] = v
	}
	return s.insert(ctx, "harvest_runs", runColumns, values)
}

// insert sends rows to table in batches of at most BatchSize. The column
// list is explicit: ClickHouse 18.16 needs it for native batch inserts.
func (s *Store) insert(ctx context.Context, table, columns string, rows [][]any) error {
	query := fmt.Sprintf("INSERT INTO %s.%s (%s)", s.db, table, columns)
	for start := 0; start < len(rows); start += s.cfg.BatchSize {
		end := min(start+s.cfg.BatchSize, len(rows))
		if err := s.insertBatch(ctx, table, query, rows[start:end], start); err != nil {
			return err
		}
		bus.NoteRows(ctx, end-start) // the writer's metrics count rows
		s.log.DebugContext(ctx, "inserted", "table", table, "rows", end-start)
	}
	return nil
}

// insertColumns sends n rows to table in batches of at most BatchSize,
// column by column: chunk returns the typed slices of rows start to end, in
// the order of columns. It is the fast path of the widest and busiest
// tables: no value is boxed.
func (s *Store) insertColumns(ctx context.Context, table, columns string, n int, chunk func(start, end int) []any) error {
	query := fmt.Sprintf("INSERT INTO %s.%s (%s)", s.db, table, columns)
	for start := 0; start < n; start += s.cfg.BatchSize {
		end := min(start+s.cfg.BatchSize, n)
		if err := s.insertColumnBatch(ctx, table, query, chunk(start, end)); err != nil {
			return err
		}
		bus.NoteRows(ctx, end-start)
		s.log.DebugContext(ctx, "inserted", "table", table, "rows", end-start)
	}
	return nil
}

func (s *Store) insertColumnBatch(ctx context.Context, table, query string, cols []any) (err error) {
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return wrap("insert "+table, err)
	}
	defer func() {
		if err != nil && !batch.IsSent() {
			_ = batch.Abort()
		}
	}()
	for i, c := range cols {
		if err := batch.Column(i).Append(c); err != nil {
			return fmt.Errorf("analytics: insert %s: column %d: %w: %w", table, i, ErrInvalidRow, err)
		}
	}
	if err := batch.Send(); err != nil {
		return wrap("insert "+table, err)
	}
	return nil
}

func (s *Store) insertBatch(ctx context.Context, table, query string, rows [][]any, offset int) (err error) {
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return wrap("insert "+table, err)
	}
	defer func() {
		if err != nil && !batch.IsSent() {
			_ = batch.Abort()
		}
	}()
	for i, r := range rows {
		if err := batch.Append(r...); err != nil {
			return fmt.Errorf("analytics: insert %s: row %d: %w: %w", table, offset+i, ErrInvalidRow, err)
		}
	}
	if err := batch.Send(); err != nil {
		return wrap("insert "+table, err)
	}
	return nil
}

// LiveCount returns the number of datasets whose latest version is not a
// tombstone.
func (s *Store) LiveCount(ctx context.Context) (uint64, error) {
	var n uint64
	q := fmt.Sprintf("SELECT count() FROM %s WHERE deleted = 0", s.live("deleted"))
	if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, wrap("live count", err)
	}
	return n, nil
}

// CountsByFacility returns the number of live datasets of each facility.
func (s *Store) CountsByFacility(ctx context.Context) (map[string]uint64, error) {
	q := fmt.Sprintf("SELECT facility, count() FROM %s WHERE deleted = 0 GROUP BY facility", s.live("facility, deleted"))
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, wrap("counts by facility", err)
	}
	defer rows.Close()
	counts := make(map[string]uint64)
	for rows.Next() {
		var (
			facility string
			n        uint64
		)
		if err := rows.Scan(&facility, &n); err != nil {
			return nil, wrap("counts by facility", err)
		}
		counts[facility] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("counts by facility", err)
	}
	return counts, nil
}

// CountsByTechnique returns the number of live datasets tagged with each
// PaNET technique, most used first (ties by IRI).
func (s *Store) CountsByTechnique(ctx context.Context) ([]TechniqueCount, error) {
	q := fmt.Sprintf("SELECT technique, any(label), count() FROM %s "+
		"ARRAY JOIN techniques AS technique, technique_labels AS label "+
		"WHERE deleted = 0 GROUP BY technique", s.live("techniques, technique_labels, deleted"))
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, wrap("counts by technique", err)
	}
	defer rows.Close()
	var counts []TechniqueCount
	for rows.Next() {
		var c TechniqueCount
		if err := rows.Scan(&c.IRI, &c.Label, &c.Datasets); err != nil {
			return nil, wrap("counts by technique", err)
		}
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("counts by technique", err)
	}
	sort.Slice(counts, func(i, j int) bool {
		if counts[i].Datasets != counts[j].Datasets {
			return counts[i].Datasets > counts[j].Datasets
		}
		return counts[i].IRI < counts[j].IRI
	})
	return counts, nil
}

// live is the table expression of the latest version of every dataset,
// with the given columns. FINAL sits in a subquery so that the deleted
// filter runs after the versions are merged: a server that moved it to
// PREWHERE (some releases do with FINAL) would drop the tombstone first and
// let the older version of a withdrawn dataset through.
func (s *Store) live(columns string) string {
	return fmt.Sprintf("(SELECT %s FROM %s.datasets FINAL)", columns, s.db)
}

// InsertPipelineEvents writes pipeline events, at most Config.BatchSize per
// insert. An event written again (a redelivery, a replay) replaces its own
// row: pipeline_events is keyed by stage and stream sequence.
func (s *Store) InsertPipelineEvents(ctx context.Context, rows []PipelineEventRow) error {
	return s.insertColumns(ctx, "pipeline_events", pipelineEventColumns, len(rows), func(start, end int) []any {
		return pipelineEventColumnsOf(rows[start:end])
	})
}

// InsertDeadLetters writes dead letters, keyed by their sequence in the
// dead-letter stream (written again, they replace their own rows).
func (s *Store) InsertDeadLetters(ctx context.Context, rows []DeadLetterRow) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = r.values()
	}
	return s.insert(ctx, "dead_letters", deadLetterColumns, values)
}

// InsertDeliveries writes delivery outcomes, keyed by destination and their
// sequence in the ops stream (written again, they replace their own rows).
func (s *Store) InsertDeliveries(ctx context.Context, rows []DeliveryRow) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = r.values()
	}
	return s.insert(ctx, "deliveries", deliveryColumns, values)
}

// RefreshAggregates rebuilds datasets_by_month from the current state of
// every dataset (datasets FINAL: the latest version per key, tombstones
// left out) as a new snapshot, then deletes the snapshots older than the
// ones it can have replaced. Readers take the rows of the latest snapshot
// (latestAggregates). It returns the snapshot's stamp.
//
// The result does not depend on which writer, or which of two rebuilds at
// once, lands last. The stamp is taken by ClickHouse in the rebuild's own
// query, as it reads the datasets: the later of now() and one second
// after the latest stamp there is, so that a rebuild that begins later
// gets a stamp as late or later (ClickHouse's clock, not the writers').
// A query that begins later reads every insert of datasets that an
// earlier one read, so a snapshot stamped later counts a state at least as
// new (up to the instant between the stamp and the choice of the parts
// read), whenever it lands: a writer paused with its rebuild in flight (its
// lease expired, another rebuilt meanwhile) lands an older stamp, which no
// reader takes. Two rebuilds that began together can get the same stamp;
// each snapshot's rebuild column, a random number, tells them apart, and
// readers take the greatest (snapshot, rebuild): both counted the state of
// that second. The delete removes only snapshots stamped before a stamp
// taken before the rebuild began, so never one as new as its own or
// newer; a loser of a tie stays until the next rebuild removes it.
func (s *Store) RefreshAggregates(ctx context.Context) (time.Time, error) {
	// Every snapshot stamped before floor began before this rebuild (see
	// above): this one replaces them.
	stamp := "greatest(now(), (SELECT max(snapshot) FROM " + s.db + ".datasets_by_month) + 1)"
	var floor time.Time
	if err := s.conn.QueryRow(ctx, "SELECT "+stamp).Scan(&floor); err != nil {
		return time.Time{}, wrap("aggregates", err)
	}
	rebuild := mathrand.Uint64()
	q := fmt.Sprintf(`INSERT INTO %[1]s.datasets_by_month (snapshot, rebuild, facility, technique, month, datasets, open, quality_sum)
SELECT %[2]s AS snapshot, toUInt64(%[3]d) AS rebuild, facility, technique, toStartOfMonth(issued) AS month,
       count() AS datasets, sum(access_rights = 'open') AS open, sum(quality) AS quality_sum
FROM (SELECT facility, issued, access_rights, quality, deleted, techniques_all FROM %[1]s.datasets FINAL)
ARRAY JOIN arrayConcat([''], techniques_all) AS technique
WHERE deleted = 0
GROUP BY facility, technique, month`, s.db, stamp, rebuild)
	if err := s.conn.Exec(ctx, q); err != nil {
		return time.Time{}, wrap("aggregates", err)
	}
	if err := s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.datasets_by_month DELETE WHERE snapshot < toDateTime(%d)", s.db, floor.Unix())); err != nil {
		return time.Time{}, wrap("aggregates", err)
	}
	// The stamp the rebuild got (none when there is no live dataset: the
	// floor, before which everything is gone).
	snap := floor
	var got time.Time
	if err := s.conn.QueryRow(ctx, fmt.Sprintf("SELECT max(snapshot) FROM %s.datasets_by_month WHERE rebuild = %d", s.db, rebuild)).Scan(&got); err != nil {
		return time.Time{}, wrap("aggregates", err)
	}
	if got.After(snap) {
		snap = got
	}
	return snap.UTC(), nil
}

// latestAggregates returns the condition that selects the rows of the
// latest snapshot of datasets_by_month of database db (quoted): the
// greatest snapshot and, of rebuilds stamped alike, the greatest rebuild.
func latestAggregates(db string) string {
	return "(snapshot, rebuild) IN (SELECT snapshot, rebuild FROM " + db + ".datasets_by_month ORDER BY snapshot DESC, rebuild DESC LIMIT 1)"
}

// MonthlyCount is a row of the latest aggregate snapshot.
type MonthlyCount struct {
	Facility string
	// Technique is a PaNET IRI; "" counts every dataset of the facility.
	Technique string
	// Month of issue (1970-01-01: unknown).
	Month    time.Time
	Datasets uint64
	Open     uint64
}

// MonthlyCounts returns the latest snapshot of datasets_by_month, ordered
// by facility, technique and month.
func (s *Store) MonthlyCounts(ctx context.Context) ([]MonthlyCount, error) {
	q := "SELECT facility, technique, month, datasets, open FROM " + s.db + ".datasets_by_month " +
		"WHERE " + latestAggregates(s.db) + " ORDER BY facility, technique, month"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, wrap("monthly counts", err)
	}
	defer rows.Close()
	var out []MonthlyCount
	for rows.Next() {
		var c MonthlyCount
		if err := rows.Scan(&c.Facility, &c.Technique, &c.Month, &c.Datasets, &c.Open); err != nil {
			return nil, wrap("monthly counts", err)
		}
		out = append(out, c)
	}
	return out, wrap("monthly counts", rows.Err())
}

// Count returns the number of rows of table (a table of the schema,
// optionally followed by FINAL) that match where (a SQL condition with ?
// placeholders for args; empty for every row). where is SQL written by the
// caller — a test, a report — never text from a request.
func (s *Store) Count(ctx context.Context, table, where string, args ...any) (uint64, error) {
	name, final, _ := strings.Cut(table, " ")
	if !identifier.MatchString(name) || (final != "" && final != "FINAL") {
		return 0, fmt.Errorf("analytics: count: table %q: want a table name, optionally with FINAL", table)
	}
	q := "SELECT count() FROM " + s.db + "." + name
	if final != "" {
		// In a subquery, so that where runs after the versions are merged
		// (see live).
		q = "SELECT count() FROM (SELECT * FROM " + s.db + "." + name + " FINAL)"
	}
	if where != "" {
		q += " WHERE " + where
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, wrap("count "+name, err)
	}
	return n, nil
}
