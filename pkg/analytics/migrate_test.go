package analytics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// connectTestStore connects to the test server for a database of its own
// that does not exist yet, dropped when the test ends.
func connectTestStore(t *testing.T) *Store {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Addr: testAddr(), Database: "fairway_test_" + hex.EncodeToString(b[:])}
	s, err := Connect(testContext(t), cfg)
	if err != nil {
		t.Fatalf("ClickHouse at %s does not answer: run scripts/clickhouse.sh start (or set FAIRWAY_CLICKHOUSE_ADDR): %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		dropDatabase(t, cfg.Database)
	})
	return s
}

func tablesOf(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.conn.Query(testContext(t), "SELECT name FROM system.tables WHERE database = ? ORDER BY name", s.Database())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func recordedMigrations(t *testing.T, s *Store) map[uint32]uint64 {
	t.Helper()
	rows, err := s.conn.Query(testContext(t), "SELECT version, count() FROM "+s.db+"."+MigrationsTable+" GROUP BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[uint32]uint64{}
	for rows.Next() {
		var (
			v uint32
			n uint64
		)
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		out[v] = n
	}
	return out
}

// wantTables is every table the last migration leaves, with the record.
func wantTables() []string {
	names := []string{MigrationsTable}
	for _, m := range migrations {
		for _, st := range m.Steps {
			if st.SQL == "" {
				continue
			}
			if name := createdTable(st.SQL); name != "" {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func TestMigrationsAreOrderedAndWellFormed(t *testing.T) {
	if len(migrations) == 0 {
		t.Fatal("no migrations")
	}
	for i, m := range migrations {
		if m.Version != uint32(i+1) {
			t.Errorf("migration %d has version %d, want %d", i, m.Version, i+1)
		}
		if m.Name == "" || len(m.Steps) == 0 {
			t.Errorf("migration %d: empty name or no steps", m.Version)
		}
		for j, st := range m.Steps {
			if (st.SQL == "") == (st.Table == "" || st.Column == "" || st.Type == "") {
				t.Errorf("migration %d step %d: want SQL or table, column and type", m.Version, j+1)
			}
		}
	}
}

func TestMigrateFromEmptyAndAgain(t *testing.T) {
	s := connectTestStore(t)
	st, err := s.Migrate(testContext(t), false)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, m := range st {
		if !m.Ran || m.Applied {
			t.Errorf("migration %d: ran %v, applied before %v; want ran on an empty database", m.Version, m.Ran, m.Applied)
		}
	}
	if got, want := tablesOf(t, s), wantTables(); !slices.Equal(got, want) {
		t.Fatalf("tables = %v, want %v", got, want)
	}
	st, err = s.Migrate(testContext(t), false)
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	for _, m := range st {
		if m.Ran || !m.Applied || m.AppliedAt.IsZero() {
			t.Errorf("migration %d again: ran %v, applied %v at %v; want a no-op", m.Version, m.Ran, m.Applied, m.AppliedAt)
		}
	}
	rec := recordedMigrations(t, s)
	for _, m := range migrations {
		if rec[m.Version] != 1 {
			t.Errorf("migration %d recorded %d times, want 1", m.Version, rec[m.Version])
		}
	}
}

func TestMigrateDryRunChangesNothing(t *testing.T) {
	s := connectTestStore(t)
	st, err := s.Migrate(testContext(t), true)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if len(st) != len(migrations) {
		t.Fatalf("dry run reports %d migrations, want %d", len(st), len(migrations))
	}
	for _, m := range st {
		if m.Ran || m.Applied {
			t.Errorf("migration %d: ran %v applied %v in a dry run of an empty database", m.Version, m.Ran, m.Applied)
		}
	}
	var n uint64
	if err := s.conn.QueryRow(testContext(t), "SELECT count() FROM system.databases WHERE name = ?", s.Database()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a dry run created the database")
	}
}

// oldSchema is the schema Fairway created before migrations were recorded.
var oldSchema = []string{
	"CREATE DATABASE IF NOT EXISTS {db}",
	`CREATE TABLE IF NOT EXISTS {db}.datasets (
    key String, doi String, facility String, feed_id String, title String,
    publication_year UInt16, issued Date, access_rights String, license String,
    techniques Array(String), technique_labels Array(String), creators UInt16,
    orcids UInt16, quality Float64, deleted UInt8, content_hash String,
    version UInt64, published_at DateTime
) ENGINE = ReplacingMergeTree(version) ORDER BY key`,
	`CREATE TABLE IF NOT EXISTS {db}.harvest_runs (
    run_id String, feed_id String, facility String, status String,
    started_at DateTime, finished_at DateTime, pages UInt64, records UInt64,
    deleted UInt64, rejected UInt64, error String
) ENGINE = ReplacingMergeTree(finished_at) ORDER BY (feed_id, started_at, run_id)`,
}

func TestMigrateUpgradesTheOldSchema(t *testing.T) {
	s := connectTestStore(t)
	ctx := testContext(t)
	for _, q := range oldSchema {
		if err := s.conn.Exec(ctx, replaceDB(q, s.db)); err != nil {
			t.Fatalf("old schema: %v", err)
		}
	}
	// A row as the old writer wrote it, with its own column list.
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".datasets (key, facility, techniques, technique_labels, version, deleted)")
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Append("doi:10.1/old", "ESRF", []string{PaNETNamespace + "PaNET01012"}, []string{"x-ray"}, uint64(7), uint8(0)); err != nil {
		t.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	st, err := s.Migrate(ctx, false)
	if err != nil {
		t.Fatalf("migrate the old schema: %v", err)
	}
	if !st[0].Ran {
		t.Fatal("migration 1 not recorded on the old schema")
	}
	if got, want := tablesOf(t, s), wantTables(); !slices.Equal(got, want) {
		t.Fatalf("tables = %v, want %v", got, want)
	}
	if n := liveCount(t, s); n != 1 {
		t.Fatalf("live datasets after the upgrade = %d, want the old row", n)
	}
	// The upgraded table takes the writer's rows, next to the old one.
	mustInsert(t, s, row("doi:10.1/new", "ILL", 8, false, PaNETNamespace+"PaNET01012"))
	if n := liveCount(t, s); n != 2 {
		t.Fatalf("live datasets = %d, want 2", n)
	}
	if st, err = s.Migrate(ctx, false); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	for _, m := range st {
		if m.Ran {
			t.Errorf("migration %d ran twice", m.Version)
		}
	}
}

func TestMigrateRefusesAChangedMigration(t *testing.T) {
	s := connectTestStore(t)
	ctx := testContext(t)
	if _, err := s.Migrate(ctx, false); err != nil {
		t.Fatal(err)
	}
	// Migration 1 as another build recorded it, earlier.
	if err := s.recordMigration(ctx, Migration{Version: 1, Name: "edited", Steps: []Step{{SQL: "SELECT 1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Exec(ctx, "ALTER TABLE "+s.db+"."+MigrationsTable+" UPDATE applied_at = toDateTime('2001-01-01 00:00:00') WHERE name = 'edited'"); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, s)
	for _, dry := range []bool{true, false} {
		if _, err := s.Migrate(ctx, dry); !errors.Is(err, ErrMigrationChanged) {
			t.Fatalf("migrate (dry run %v) with a changed migration: err = %v, want ErrMigrationChanged", dry, err)
		}
	}
	if _, err := Open(ctx, s.cfg); !errors.Is(err, ErrMigrationChanged) {
		t.Fatalf("open: err = %v, want ErrMigrationChanged", err)
	}
}

// waitMutations waits until the database's mutations are done.
func waitMutations(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n uint64
		if err := s.conn.QueryRow(testContext(t), "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", s.Database()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("mutations still running after 10s")
}

func TestMigrateConcurrently(t *testing.T) {
	s := connectTestStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			other, err := Connect(context.Background(), s.cfg)
			if err != nil {
				errs[i] = err
				return
			}
			defer other.Close()
			_, errs[i] = other.Migrate(testContext(t), false)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	if got, want := tablesOf(t, s), wantTables(); !slices.Equal(got, want) {
		t.Fatalf("tables = %v, want %v", got, want)
	}
	st, err := s.Migrate(testContext(t), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if !m.Applied || m.Ran {
			t.Errorf("migration %d after concurrent starts: applied %v ran %v", m.Version, m.Applied, m.Ran)
		}
	}
	mustInsert(t, s, row("doi:10.1/a", "ESRF", 1, false))
	if n := liveCount(t, s); n != 1 {
		t.Fatalf("live = %d, want 1", n)
	}
}
