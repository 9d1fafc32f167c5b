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
	{
		Version: 2,
		Name:    "dataset state, pipeline events, dead letters, deliveries, aggregates",
		Steps: append(append(
			addColumns("datasets", datasetColumnsV2),
			addColumns("harvest_runs", runColumnsV2)...),
			// pipeline_events has one row per message of the normalised,
			// enriched and catalogue streams: which stage emitted what,
			// when, and how long after the harvest. Keyed by the stream
			// (stage) and its sequence, so that a redelivered or replayed
			// message replaces its own row; queries use FINAL (or count
			// distinct seq). A replay keeps its message's time, so the row
			// stays in its month's partition.
			Step{SQL: `CREATE TABLE IF NOT EXISTS {db}.pipeline_events (
    stage String,
    seq UInt64,
    outcome String,
    key String,
    facility String,
    feed_id String,
    run_id String,
    harvested_at DateTime,
    at DateTime,
    latency_ms UInt64
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (stage, seq)`},
			// dead_letters has one row per message of the dead-letter
			// stream, keyed by its sequence there.
			Step{SQL: `CREATE TABLE IF NOT EXISTS {db}.dead_letters (
    seq UInt64,
    stage String,
    reason String,
    key String,
    feed_id String,
    facility String,
    subject String,
    attempts UInt32,
    at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY seq`},
			// deliveries has one row per delivery outcome the delivery
			// manager reported on the ops stream, keyed by its sequence.
			Step{SQL: `CREATE TABLE IF NOT EXISTS {db}.deliveries (
    seq UInt64,
    destination String,
    key String,
    facility String,
    outcome String,
    attempts UInt32,
    error String,
    catalogue_seq UInt64,
    at DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (destination, seq)`},
			// datasets_by_month counts the live datasets per facility,
			// technique (with every broader technique: a dataset counts
			// under each) and month of issue. The writer rebuilds it from
			// datasets FINAL (the current state, not the versions) as a
			// new snapshot and then deletes the older ones: queries read
			// the latest snapshot. Technique '' is the facility's total.
			Step{SQL: `CREATE TABLE IF NOT EXISTS {db}.datasets_by_month (
    snapshot DateTime,
    facility String,
    technique String,
    month Date,
    datasets UInt64,
    open UInt64,
    quality_sum Float64
) ENGINE = MergeTree()
ORDER BY (snapshot, facility, technique, month)`},
		),
	},
	{
		Version: 3,
		Name:    "usage events, monthly COUNTER counts, citations",
		Steps:   usageSteps(),
	},
	{
		Version: 4,
		Name:    "citation counts, usage totals and datasets by technique, for the statistics",
		Steps:   reuseSteps(),
	},
	{
		Version: 5,
		Name:    "technique sets, for the techniques statistic",
		Steps:   techniqueSetSteps(),
	},
	{
		Version: 6,
		Name:    "usage counts versioned by the events they counted: usage_monthly.events, usage_all_months",
		Steps:   usageVersionSteps(),
	},
	{
		// A rebuild of datasets_by_month is told from another stamped in
		// the same second by a number of its own: readers take the
		// greatest (snapshot, rebuild), so two rebuilds at once are never
		// summed together (see Store.RefreshAggregates).
		Version: 7,
		Name:    "datasets_by_month.rebuild, which of two snapshots stamped alike is read",
		Steps:   []Step{{Table: "datasets_by_month", Column: "rebuild", Type: "UInt64"}},
	},
}

// column is a column a migration adds to an existing table.
type column struct{ name, typ string }

// addColumns returns the steps adding cols to table when missing.
func addColumns(table string, cols []column) []Step {
	steps := make([]Step, len(cols))
	for i, c := range cols {
		steps[i] = Step{Table: table, Column: c.name, Type: c.typ}
	}
	return steps
}

// datasetColumnsV2 are the columns migration 2 adds to datasets.
var datasetColumnsV2 = []column{
	// Every technique with its broader techniques, deduplicated.
	{"techniques_all", "Array(String)"},
	// The quality score's parts: dimension names and their scores, index
	// by index, and the rubric checks the dataset failed.
	{"quality_dimensions", "Array(String)"},
	{"quality_scores", "Array(Float64)"},
	{"quality_gaps", "Array(String)"},
	{"modified", "DateTime"},
	{"created", "DateTime"},
	{"available", "DateTime"},
	{"collected_start", "DateTime"},
	{"collected_end", "DateTime"},
	// The dataset's version as the source gives it.
	{"entry_version", "String"},
	// Versions of the mappings that made the entry, as far as the entry
	// says: the PaNET release and the source's metadata format.
	{"panet_version", "String"},
	{"metadata_format", "String"},
	{"run_id", "String"},
	{"harvested_at", "DateTime"},
	{"enriched_at", "DateTime"},
}

// runColumnsV2 are the columns migration 2 adds to harvest_runs.
var runColumnsV2 = []column{
	{"bytes", "UInt64"},
	{"retries", "UInt64"},
	{"list_size", "UInt64"},
	{"requested_from", "String"},
	{"response_date", "DateTime"},
}
