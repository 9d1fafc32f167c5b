package analytics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrMigrationChanged is wrapped by Migrate's error when a migration already
// applied to the database has a different checksum in this build: the
// schema the database holds is not the one this code expects, and an
// operator must decide (a released migration is never edited; a new one is
// added instead).
var ErrMigrationChanged = errors.New("analytics: applied migration changed")

// MigrationsTable is the table in which Migrate records the migrations it
// applied: version, name, checksum and applied_at.
const MigrationsTable = "schema_migrations"

// Step is one action of a migration: a DDL statement, or a column added to a
// table when the table lacks it (ClickHouse 18.16 has no ADD COLUMN IF NOT
// EXISTS). Every step can run again without harm, so that two writers
// starting at once, or a migration interrupted half-way, end in the same
// schema.
type Step struct {
	// SQL is an idempotent statement (CREATE … IF NOT EXISTS); {db} stands
	// for the quoted database name.
	SQL string
	// Table, Column and Type, with SQL empty, add the column Column of type
	// Type to Table unless Table already has it.
	Table, Column, Type string
}

// text is how the step is spelled in checksums and dry runs, with {db}
// standing for the database.
func (s Step) text() string {
	if s.SQL != "" {
		return s.SQL
	}
	return fmt.Sprintf("ALTER TABLE {db}.%s ADD COLUMN %s %s -- when missing", s.Table, s.Column, s.Type)
}

// Migration is one versioned change of the analytics schema. Released
// migrations are never edited: their checksum is recorded in the database.
type Migration struct {
	// Version orders the migrations: 1, 2, 3, …
	Version uint32
	// Name says what the migration does.
	Name string
	// Steps run in order.
	Steps []Step
}

// Checksum is the hex SHA-256 of the migration's version, name and steps.
func (m Migration) Checksum() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n", m.Version, m.Name)
	for _, s := range m.Steps {
		h.Write([]byte(s.text()))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Statements returns the migration's steps as they would run on database
// db (unquoted).
func (m Migration) Statements(db string) []string {
	out := make([]string, len(m.Steps))
	for i, s := range m.Steps {
		out[i] = replaceDB(s.text(), "`"+db+"`")
	}
	return out
}

// Migrations returns the schema's migrations in the order they apply.
func Migrations() []Migration {
	return append([]Migration(nil), migrations...)
}

// MigrationStatus is what Migrate did, or would do, about one migration.
type MigrationStatus struct {
	Migration
	// Applied reports whether the migration was recorded before this call.
	Applied bool
	// AppliedAt is when it was first recorded (zero when it was not).
	AppliedAt time.Time
	// Ran reports whether this call applied it.
	Ran bool
}

// appliedMigration is a row of MigrationsTable, merged by version.
type appliedMigration struct {
	name, checksum string
	at             time.Time
}

// Migrate brings the database up to the last migration: it creates the
// database and MigrationsTable when missing, checks the checksum of every
// migration recorded there (a changed one gives ErrMigrationChanged, before
// anything runs), then applies the others in order and records each. With
// dryRun it changes nothing and reports what it would apply. Applying twice
// is a no-op; two processes migrating at once apply the same idempotent
// steps and record a migration twice, which reads as once.
func (s *Store) Migrate(ctx context.Context, dryRun bool) ([]MigrationStatus, error) {
	applied, err := s.appliedMigrations(ctx, dryRun)
	if err != nil {
		return nil, err
	}
	statuses := make([]MigrationStatus, 0, len(migrations))
	known := make(map[uint32]bool)
	for _, m := range migrations {
		known[m.Version] = true
		st := MigrationStatus{Migration: m}
		if a, ok := applied[m.Version]; ok {
			if a.checksum != m.Checksum() {
				return nil, fmt.Errorf("%w: migration %d (%s) was applied to %s with checksum %s; this build has %s",
					ErrMigrationChanged, m.Version, m.Name, s.cfg.Database, a.checksum, m.Checksum())
			}
			st.Applied, st.AppliedAt = true, a.at
		}
		statuses = append(statuses, st)
	}
	for v, a := range applied {
		if !known[v] {
			// A newer build migrated this database. Its migrations only
			// add, so this build can still write what it knows.
			s.log.WarnContext(ctx, "database has a migration this build does not know", "version", v, "name", a.name)
		}
	}
	if dryRun {
		return statuses, nil
	}
	for i := range statuses {
		st := &statuses[i]
		if st.Applied {
			continue
		}
		for j, step := range st.Steps {
			if err := s.runStep(ctx, step); err != nil {
				return statuses, fmt.Errorf("migration %d (%s), step %d: %w", st.Version, st.Name, j+1, err)
			}
		}
		if err := s.recordMigration(ctx, st.Migration); err != nil {
			return statuses, err
		}
		st.Ran = true
		s.log.InfoContext(ctx, "analytics migration applied", "version", st.Version, "name", st.Name)
	}
	return statuses, nil
}

// appliedMigrations reads MigrationsTable, creating it (and the database)
// first unless dryRun; a dry run of a database without it finds nothing
// applied.
func (s *Store) appliedMigrations(ctx context.Context, dryRun bool) (map[uint32]appliedMigration, error) {
	if dryRun {
		var n uint64
		q := "SELECT count() FROM system.tables WHERE database = ? AND name = ?"
		if err := s.conn.QueryRow(ctx, q, s.cfg.Database, MigrationsTable).Scan(&n); err != nil {
			return nil, wrap("read migrations", err)
		}
		if n == 0 {
			return map[uint32]appliedMigration{}, nil
		}
	} else {
		if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
			return nil, wrap("create database", err)
		}
		if err := s.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s.db+"."+MigrationsTable+` (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime
) ENGINE = MergeTree() ORDER BY version`); err != nil {
			return nil, wrap("create "+MigrationsTable, err)
		}
	}
	// A migration recorded twice (two writers started at once) counts as
	// applied when it first was, with the checksum it had then.
	rows, err := s.conn.Query(ctx, "SELECT version, argMin(name, applied_at), argMin(checksum, applied_at), min(applied_at) FROM "+
		s.db+"."+MigrationsTable+" GROUP BY version")
	if err != nil {
		return nil, wrap("read migrations", err)
	}
	defer rows.Close()
	applied := make(map[uint32]appliedMigration)
	for rows.Next() {
		var (
			v uint32
			a appliedMigration
		)
		if err := rows.Scan(&v, &a.name, &a.checksum, &a.at); err != nil {
			return nil, wrap("read migrations", err)
		}
		applied[v] = a
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read migrations", err)
	}
	return applied, nil
}

// runStep runs one step of a migration.
func (s *Store) runStep(ctx context.Context, step Step) error {
	if step.SQL != "" {
		return wrap("migrate", s.conn.Exec(ctx, replaceDB(step.SQL, s.db)))
	}
	has, err := s.hasColumn(ctx, step.Table, step.Column)
	if err != nil || has {
		return err
	}
	alter := fmt.Sprintf("ALTER TABLE %s.%s ADD COLUMN %s %s", s.db, step.Table, step.Column, step.Type)
	if err := s.conn.Exec(ctx, alter); err != nil {
		// Another writer may have added it meanwhile.
		if has, herr := s.hasColumn(ctx, step.Table, step.Column); herr == nil && has {
			return nil
		}
		return wrap("add column "+step.Table+"."+step.Column, err)
	}
	return nil
}

func (s *Store) hasColumn(ctx context.Context, table, column string) (bool, error) {
	var n uint64
	q := "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?"
	if err := s.conn.QueryRow(ctx, q, s.cfg.Database, table, column).Scan(&n); err != nil {
		return false, wrap("columns of "+table, err)
	}
	return n > 0, nil
}

func (s *Store) recordMigration(ctx context.Context, m Migration) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+"."+MigrationsTable+" (version, name, checksum, applied_at)")
	if err != nil {
		return wrap("record migration "+strconv.Itoa(int(m.Version)), err)
	}
	if err := batch.Append(m.Version, m.Name, m.Checksum(), time.Now().UTC().Truncate(time.Second)); err != nil {
		_ = batch.Abort()
		return wrap("record migration "+strconv.Itoa(int(m.Version)), err)
	}
	return wrap("record migration "+strconv.Itoa(int(m.Version)), batch.Send())
}

// replaceDB puts the quoted database name db in place of {db}.
func replaceDB(sql, db string) string { return strings.ReplaceAll(sql, "{db}", db) }

// createdTable returns the table (or view) a CREATE … IF NOT EXISTS {db}.name
// statement creates, or "".
func createdTable(sql string) string {
	_, rest, ok := strings.Cut(sql, "IF NOT EXISTS {db}.")
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, " (\n")
	if end < 0 {
		return rest
	}
	return rest[:end]
}
