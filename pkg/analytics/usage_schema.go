package analytics

// usageSteps are the steps of migration 3: the usage and reuse tables.
//
// usage_events holds one row per usage event (COUNTER investigations and
// requests). ReplacingMergeTree keeps one row per event when parts merge
// (the sorting key ends with the event id, and a redelivered or replayed
// event is the same row), and the reports read it with FINAL, so a
// redelivery never counts twice even before the merge. Months are
// partitions: a report of some months reads only those.
//
// usage_monthly holds the COUNTER counts of every dataset, month, access
// method and client kind, computed from usage_events by the writer's
// rollup (Store.RollupUsage) whenever events of that month arrived since
// its last rollup (usage_rollups records when each month was last
// computed). Sessions are hourly, so every count of a month depends on
// that month's events only: a month is computed whole into a staging table
// and swapped in for the month's partition (REPLACE PARTITION, atomic), so
// a report never sees a month half computed nor twice, and reads no FINAL.
// Each row carries the dataset's DOI, title and facility as the catalogue
// held them when the month was computed.
//
// dataset_citations holds, per catalogue version of every dataset, its
// related identifiers as harvested (relation types, identifiers and their
// types, index by index): the datasets table holds none, so the writer
// fills this one from the catalogue stream with a consumer of its own.
// ReplacingMergeTree(version) keeps the latest version per dataset, so a
// relation removed at the source stops counting as reuse.
func usageSteps() []Step {
	return []Step{
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.usage_events (
    id String,
    dataset String,
    time DateTime('UTC'),
    kind Enum8('investigation' = 1, 'request' = 2),
    session String,
    access_method Enum8('regular' = 1, 'machine' = 2),
    client Enum8('human' = 1, 'machine' = 2, 'agent' = 3),
    robot UInt8,
    status UInt16,
    country FixedString(2),
    source String,
    facility String,
    received DateTime('UTC')
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (dataset, time, id)`},
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.usage_monthly (
    month Date,
    dataset String,
    access_method Enum8('regular' = 1, 'machine' = 2),
    client Enum8('human' = 1, 'machine' = 2, 'agent' = 3),
    facility String,
    doi String,
    title String,
    total_investigations UInt64,
    unique_investigations UInt64,
    total_requests UInt64,
    unique_requests UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(month)
ORDER BY (month, dataset, access_method, client)`},
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.usage_rollups (
    month Date,
    computed DateTime('UTC')
) ENGINE = ReplacingMergeTree(computed)
ORDER BY month`},
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.dataset_citations (
    key String,
    doi String,
    facility String,
    title String,
    deleted UInt8,
    relations Array(String),
    identifiers Array(String),
    identifier_types Array(String),
    version UInt64,
    published_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(version)
ORDER BY key`},
	}
}
