package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

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
	values := make([][]any, len(rows))
	for i, r := range rows {
		if err := r.validate(); err != nil {
			return fmt.Errorf("analytics: insert datasets: row %d: %w", i, err)
		}
		values[i] = r.values()
	}
	return s.insert(ctx, "datasets", datasetColumns, values)
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
		s.log.DebugContext(ctx, "inserted", "table", table, "rows", end-start)
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
