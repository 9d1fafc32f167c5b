package analytics

// migrations is the analytics schema, one versioned migration after the
// other (see Migrate). A released migration is never edited: a change is a
// new migration at the end of the list. Every step is idempotent (CREATE …
// IF NOT EXISTS, a column added when missing), and the SQL is what both
// ClickHouse 18.16 and current releases accept: no LowCardinality, no
// codecs, no TTL, no DateTime64, no ADD COLUMN IF NOT EXISTS.
var migrations = []Migration{
	{
		// The schema before migrations were recorded: a database written by
		// an older Fairway already has these tables, and this migration
		// finds them in place.
		Version: 1,
		Name:    "datasets and harvest runs",
		Steps: []Step{
			// datasets holds every version written;
			// ReplacingMergeTree(version) keeps the highest version per key
			// when parts merge, and reads use FINAL to get that answer
			// before they do.
			{SQL: `CREATE TABLE IF NOT EXISTS {db}.datasets (
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
			// harvest_runs keeps one row per run: a run reported again (a
			// redelivery, or "running" then "complete") replaces the
			// report with an earlier or equal finished_at.
			{SQL: `CREATE TABLE IF NOT EXISTS {db}.harvest_runs (
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
		},
	},
}
