package analytics

// statement is one DDL statement of the schema.
type statement struct {
	name string
	sql  string
}

// schema returns the statements creating the database db (quoted) and its
// tables when missing. The types and engines are the ones both ClickHouse
// 18.16 and current releases accept (no LowCardinality, no codecs, no TTL).
//
// datasets holds every version written; ReplacingMergeTree(version) keeps
// the highest version per key when parts merge, and reads use FINAL to get
// that answer before they do.
//
// harvest_runs keeps one row per run: a run reported again (a redelivery,
// or "running" then "complete") replaces the report with an earlier or
// equal finished_at.
func schema(db string) []statement {
	return append([]statement{
		{"database", "CREATE DATABASE IF NOT EXISTS " + db},
		{"datasets", "CREATE TABLE IF NOT EXISTS " + db + `.datasets (
    key String,
    doi String,
    facility String,
    feed_id String,
    title String,
    publication_year UInt16,
    issued Date,
    access_rights String,
    license String,
    techniques Array(String),
    technique_labels Array(String),
    creators UInt16,
    orcids UInt16,
    quality Float64,
    deleted UInt8,
    content_hash String,
    version UInt64,
    published_at DateTime
) ENGINE = ReplacingMergeTree(version)
ORDER BY key`},
		{"harvest_runs", "CREATE TABLE IF NOT EXISTS " + db + `.harvest_runs (
    run_id String,
    feed_id String,
    facility String,
    status String,
    started_at DateTime,
    finished_at DateTime,
    pages UInt64,
    records UInt64,
    deleted UInt64,
    rejected UInt64,
    error String
) ENGINE = ReplacingMergeTree(finished_at)
ORDER BY (feed_id, started_at, run_id)`},
	}, usageSchema(db)...)
}
