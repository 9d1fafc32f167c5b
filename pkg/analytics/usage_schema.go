package analytics

import "strings"

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
// that month's events only: a month is built in a staging table (the
// datasets with new events counted again, the others copied, since
// migration 6) and swapped in for the month's partition (REPLACE
// PARTITION, atomic), so a report never sees a month half computed nor
// twice, and reads no FINAL.
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

// reuseRelationsV4 are the relation types migration 4 counts as reuse: the
// lower-case ReuseRelations of its release. A change of ReuseRelations is a
// new migration that recreates the view (a test checks the two agree).
var reuseRelationsV4 = []string{"iscitedby", "isreferencedby", "issupplementedby", "issourceof", "isdocumentedby", "isreviewedby"}

// citationsExpr counts the distinct related identifiers of a row of
// dataset_citations whose relation is one of rels (lower case).
func citationsExpr(rels []string) string {
	q := make([]string, len(rels))
	for i, r := range rels {
		q[i] = quote(r)
	}
	return "toUInt64(arrayUniq(arrayFilter((i, r) -> has([" + strings.Join(q, ", ") + "], lower(r)), identifiers, relations)))"
}

// reuseSteps are the steps of migration 4: what the statistics of reuse and
// of one technique read instead of counting every dataset's citations,
// usage and techniques at each query.
//
// citation_counts holds, per row of dataset_citations, its number of
// citations (see ReuseRelations) and nothing else: a materialized view
// fills it as dataset_citations is written, and the migration fills it from
// the rows written before. ReplacingMergeTree(version) keeps the latest
// version per dataset, as dataset_citations does, so readers use FINAL;
// a row written twice (a redelivery, a replay, or the view and the filling
// step both) is the same row.
//
// datasets_by_technique holds a row per version of a dataset and technique
// it carries (techniques_all: with the broader ones), with the columns the
// statistics of one technique read: a materialized view fills it as
// datasets is written, the migration from the rows written before. Keyed by
// technique, then dataset, a technique's datasets are one range of it, and
// ReplacingMergeTree(version) keeps, per technique and dataset, the latest
// version that carried the technique. That version counts only when it is
// the dataset's current version: a newer version without the technique, or
// a tombstone, leaves its old row here, and readers join the current
// versions of datasets (see Store.liveStats).
//
// usage_totals holds the COUNTER counts of every dataset, access method
// and client kind over all months: the sums of usage_monthly, computed
// again by each rollup that changed a month (Store.RollupUsage) and stamped
// with the time it began. ReplacingMergeTree(computed) keeps the latest
// sums per row; a count never disappears from usage_monthly (a month
// counted again has every event it had), so the latest computation holds
// every row. The migration computes it from usage_monthly as it is.
func reuseSteps() []Step {
	cite := citationsExpr(reuseRelationsV4)
	return []Step{
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.citation_counts (
    key String,
    version UInt64,
    deleted UInt8,
    citations UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY key`},
		{SQL: `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.citation_counts_mv TO {db}.citation_counts AS
SELECT key, version, deleted, ` + cite + ` AS citations FROM {db}.dataset_citations`},
		{SQL: `INSERT INTO {db}.citation_counts (key, version, deleted, citations)
SELECT key, version, deleted, ` + cite + ` FROM {db}.dataset_citations`},
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.usage_totals (
    dataset String,
    access_method Enum8('regular' = 1, 'machine' = 2),
    client Enum8('human' = 1, 'machine' = 2, 'agent' = 3),
    total_investigations UInt64,
    unique_investigations UInt64,
    total_requests UInt64,
    unique_requests UInt64,
    computed DateTime('UTC')
) ENGINE = ReplacingMergeTree(computed)
ORDER BY (dataset, access_method, client)`},
		{SQL: "INSERT INTO {db}.usage_totals (" + usageTotalsColumns + ") " + usageTotalsSelect("{db}", "now()")},
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.datasets_by_technique (
    technique String,
    key String,
    version UInt64,
    deleted UInt8,
    doi String,
    facility String,
    title String,
    issued Date,
    access_rights String,
    techniques Array(String),
    quality Float64,
    quality_gaps Array(String)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (technique, key)`},
		{SQL: "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.datasets_by_technique_mv TO {db}.datasets_by_technique AS\n" + byTechniqueSelect},
		{SQL: "INSERT INTO {db}.datasets_by_technique (" + byTechniqueColumns + ")\n" + byTechniqueSelect},
	}
}

// byTechniqueColumns are the columns of datasets_by_technique, in the order
// byTechniqueSelect gives them.
const byTechniqueColumns = "technique, key, version, deleted, doi, facility, title, issued, access_rights, techniques, quality, quality_gaps"

// byTechniqueSelect is a row of datasets_by_technique per version of a
// dataset and technique it carries, with its broader techniques.
const byTechniqueSelect = "SELECT " + byTechniqueColumns + " FROM {db}.datasets ARRAY JOIN techniques_all AS technique"

// usageTotalsColumns are the columns of usage_totals, in the order
// usageTotalsSelect gives them.
const usageTotalsColumns = "dataset, access_method, client, total_investigations, unique_investigations, total_requests, unique_requests, computed"

// usageTotalsSelect sums usage_monthly of database db per dataset, access
// method and client, stamped computed (a SQL DateTime expression).
func usageTotalsSelect(db, computed string) string {
	return `SELECT dataset, access_method, client, sum(total_investigations), sum(unique_investigations),
  sum(total_requests), sum(unique_requests), toDateTime(` + computed + `, 'UTC')
FROM ` + db + `.usage_monthly GROUP BY dataset, access_method, client`
}

// techniqueSetExpr is the technique set of a row of datasets: one number
// for its techniques, their labels and techniques_all together. Datasets
// share a few hundred such sets, so the techniques statistic counts the
// current datasets per set (8 bytes a row under FINAL, not three arrays)
// and reads the arrays of each set once, from technique_sets. cityHash64
// is the hash ClickHouse keeps stable across releases (sharding keys rely
// on it), so a set keeps its number when the server is upgraded.
const techniqueSetExpr = "cityHash64(techniques_all, techniques, technique_labels)"

// techniqueSetSelect is a row of technique_sets per set of the rows it
// reads from datasets (an insert block, or the whole table). LIMIT 1 BY,
// not GROUP BY with any() (18.16 does not resolve the aliases of
// aggregates in a view's query as it inserts) nor DISTINCT over the arrays
// (it cost an insert of 200,000 rows 0.6–1.0 s more, LIMIT 1 BY about 0.2 s).
const techniqueSetSelect = "SELECT " + techniqueSetExpr + ` AS technique_set, techniques, technique_labels, techniques_all
FROM {db}.datasets LIMIT 1 BY technique_set`

// techniqueSetSteps are the steps of migration 5: datasets gets the
// column technique_set, computed by ClickHouse as rows are written (the
// writer does not send it; parts written before are computed when read
// until they merge), and technique_sets holds the arrays of each set, kept
// by a materialized view as datasets is written and filled from the rows
// already there. A set is never removed: the statistic joins only the sets
// of live datasets, so a set no current version has does not count.
func techniqueSetSteps() []Step {
	return []Step{
		{Table: "datasets", Column: "technique_set", Type: "UInt64 MATERIALIZED " + techniqueSetExpr},
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.technique_sets (
    technique_set UInt64,
    techniques Array(String),
    technique_labels Array(String),
    techniques_all Array(String)
) ENGINE = ReplacingMergeTree()
ORDER BY technique_set`},
		{SQL: "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.technique_sets_mv TO {db}.technique_sets AS\n" + techniqueSetSelect},
		{SQL: "INSERT INTO {db}.technique_sets (technique_set, techniques, technique_labels, techniques_all)\n" + techniqueSetSelect},
	}
}

// usageVersionSteps are the steps of migration 6: usage counts that carry
// how many events they counted, so that the rollup's result depends on the
// events only, not on which writer stamped it when (see Store.RollupUsage).
//
// usage_monthly gets the column events: the number of distinct events
// (by id) a row counted. Events are only ever added, so a row counted again
// counts as many events or more, and the same number means the same events
// and the same counts.
//
// usage_all_months holds the COUNTER counts of every dataset, access
// method and client kind over all months: the sums of its rows of
// usage_monthly, events included, computed again for the datasets a rollup
// counted again. ReplacingMergeTree(events) keeps the sums that counted
// the most events, which are the latest: a writer that summed older counts
// and wrote them later does not win, and two that summed the same counts
// wrote the same row (computed, when it was summed, is only informative).
// It replaces usage_totals of migration 4, versioned by the time a writer
// summed it (which two writers could stamp alike from different counts);
// that table stays for the builds before this migration and is written by
// no later one. The migration fills usage_all_months from usage_monthly as
// it is, and empties usage_rollups, so that the next rollup counts every
// month whole again, with its events.
func usageVersionSteps() []Step {
	return []Step{
		{Table: "usage_monthly", Column: "events", Type: "UInt64"},
		{SQL: `CREATE TABLE IF NOT EXISTS {db}.usage_all_months (
    dataset String,
    access_method Enum8('regular' = 1, 'machine' = 2),
    client Enum8('human' = 1, 'machine' = 2, 'agent' = 3),
    total_investigations UInt64,
    unique_investigations UInt64,
    total_requests UInt64,
    unique_requests UInt64,
    events UInt64,
    computed DateTime('UTC')
) ENGINE = ReplacingMergeTree(events)
ORDER BY (dataset, access_method, client)`},
		{SQL: "INSERT INTO {db}.usage_all_months (" + usageAllMonthsColumns + ") " + usageAllMonthsSelect("{db}", "", "now()")},
		{SQL: "TRUNCATE TABLE {db}.usage_rollups"},
	}
}

// usageAllMonthsColumns are the columns of usage_all_months, in the order
// usageAllMonthsSelect gives them.
const usageAllMonthsColumns = "dataset, access_method, client, total_investigations, unique_investigations, total_requests, unique_requests, events, computed"

// usageAllMonthsSelect sums usage_monthly of database db per dataset,
// access method and client, for the datasets where selects (a condition;
// empty: all), stamped computed (a SQL DateTime expression).
func usageAllMonthsSelect(db, where, computed string) string {
	if where == "" {
		where = "1"
	}
	return `SELECT dataset, access_method, client, sum(total_investigations), sum(unique_investigations),
  sum(total_requests), sum(unique_requests), sum(events), toDateTime(` + computed + `, 'UTC')
FROM ` + db + `.usage_monthly WHERE ` + where + ` GROUP BY dataset, access_method, client`
}
