package analytics

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The statistics the node answers (fairway stats, /api/v1/stats/…). Each
// counts the current state of the catalogue: the latest version of every
// dataset, tombstones and superseded versions left out.
const (
	StatHoldings   = "holdings"
	StatTechniques = "techniques"
	StatTimeline   = "timeline"
	StatReuse      = "reuse"
	StatQuality    = "quality"
	StatGaps       = "gaps"
	StatHarvests   = "harvests"
)

// StatNames lists the statistics in the order the CLI and docs show them.
var StatNames = []string{StatHoldings, StatTechniques, StatTimeline, StatReuse, StatQuality, StatGaps, StatHarvests}

// ErrUnknownStat is wrapped by the error for a statistic that does not exist.
var ErrUnknownStat = errors.New("analytics: unknown statistic")

// ErrUnknownTechnique is wrapped by the error for a technique that no live
// dataset carries, even through a narrower technique.
var ErrUnknownTechnique = errors.New("analytics: unknown technique")

// PaNETBase is the IRI prefix of PaNET techniques; a bare id such as
// PaNET01168 is read as PaNETBase + id.
const PaNETBase = "http://purl.org/pan-science/PaNET/"

// DefaultStatsLimit and MaxStatsLimit bound StatsQuery.Limit.
const (
	DefaultStatsLimit = 100
	MaxStatsLimit     = 10000
)

// RecentRuns is how many of a feed's last finished runs its error rate is
// taken over.
const RecentRuns = 10

var panetID = regexp.MustCompile(`^PaNET[0-9]{5}$`)

// StatsQuery holds the parameters of a statistic. Zero values select
// everything.
type StatsQuery struct {
	// Facility keeps that facility's datasets or feeds (any letter case).
	Facility string
	// Technique keeps the datasets carrying this PaNET technique or a
	// narrower one: an IRI or a bare id (PaNET01168). Not for harvests.
	Technique string
	// Since (inclusive) and Until (exclusive) bound the time: the date of
	// issue of datasets, the month of usage for reuse (citations carry no
	// time and always count), the start of harvest runs.
	Since, Until time.Time
	// Limit bounds the rows (per facility for gaps). Default
	// DefaultStatsLimit, at most MaxStatsLimit.
	Limit int
	// Now is the time lag is measured to. Default time.Now().
	Now time.Time
}

// TechniqueIRI returns the IRI of a technique given as an IRI or a bare
// PaNET id, or an error wrapping ErrBadQuery.
func TechniqueIRI(t string) (string, error) {
	switch {
	case panetID.MatchString(t):
		return PaNETBase + t, nil
	case strings.HasPrefix(t, PaNETBase) && panetID.MatchString(strings.TrimPrefix(t, PaNETBase)):
		return t, nil
	case strings.HasPrefix(t, "https://purl.org/pan-science/PaNET/") && panetID.MatchString(strings.TrimPrefix(t, "https://purl.org/pan-science/PaNET/")):
		return PaNETBase + strings.TrimPrefix(t, "https://purl.org/pan-science/PaNET/"), nil
	}
	return "", fmt.Errorf("%w: technique %.80q: want a PaNET id (PaNET01168) or its IRI", ErrBadQuery, t)
}

// Validate reports whether the query is usable; it fails with an error
// wrapping ErrBadQuery.
func (q StatsQuery) Validate() error {
	if q.Limit < 0 || q.Limit > MaxStatsLimit {
		return fmt.Errorf("%w: limit %d: want 1 to %d", ErrBadQuery, q.Limit, MaxStatsLimit)
	}
	if len(q.Facility) > 512 {
		return fmt.Errorf("%w: facility longer than 512 bytes", ErrBadQuery)
	}
	if q.Technique != "" {
		if _, err := TechniqueIRI(q.Technique); err != nil {
			return err
		}
	}
	for _, t := range []time.Time{q.Since, q.Until} {
		if !t.IsZero() && (t.Before(minStoredTime) || t.After(maxStoredTime)) {
			return fmt.Errorf("%w: time %s: want one from 1970 to 2105", ErrBadQuery, t.UTC().Format(time.DateOnly))
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return fmt.Errorf("%w: until %s is not after since %s", ErrBadQuery, q.Until.Format(time.DateOnly), q.Since.Format(time.DateOnly))
	}
	return nil
}

// Column kinds of a statistic's result.
const (
	KindString = "string"
	KindInt    = "int"
	KindFloat  = "float"
	KindDate   = "date"
	KindTime   = "time"
)

// Column is a column of a statistic's result.
type Column struct {
	Name string `json:"name"`
	// Kind is one of KindString, KindInt, KindFloat, KindDate (YYYY-MM-DD)
	// and KindTime (RFC 3339, UTC; empty when unknown).
	Kind string `json:"kind"`
}

// StatsResult is the answer to a statistic: its columns and rows, each
// row's values index by index with the columns (string, int64, float64;
// dates and times as strings).
type StatsResult struct {
	Stat    string   `json:"stat"`
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// stat is the SQL of one statistic and the kinds of its columns.
type stat struct {
	columns []Column
	sql     func(s *Store, q StatsQuery, iri string) (string, error)
}

func cols(spec ...string) []Column {
	out := make([]Column, 0, len(spec)/2)
	for i := 0; i+1 < len(spec); i += 2 {
		out = append(out, Column{Name: spec[i], Kind: spec[i+1]})
	}
	return out
}

var stats = map[string]stat{
	StatHoldings: {
		columns: cols("facility", KindString, "datasets", KindInt, "open", KindInt, "with_doi", KindInt,
			"with_technique", KindInt, "mean_quality", KindFloat),
		sql: func(s *Store, q StatsQuery, iri string) (string, error) {
			return fmt.Sprintf(`SELECT facility, count() AS datasets, countIf(access_rights = 'open') AS open,
  countIf(doi != '') AS with_doi, countIf(notEmpty(techniques)) AS with_technique, round(avg(quality), 4) AS mean_quality
FROM %s WHERE %s
GROUP BY facility ORDER BY datasets DESC, facility LIMIT %d`,
				s.liveStats(iri), datasetWhere(q, ""), q.Limit), nil
		},
	},
	StatTechniques: {
		columns: cols("technique", KindString, "label", KindString, "datasets", KindInt, "direct", KindInt, "facilities", KindInt),
		sql: func(s *Store, q StatsQuery, iri string) (string, error) {
			// Datasets share a few hundred sets of techniques: the
			// current datasets are counted per facility and set (one
			// number each), the arrays of each set read from
			// technique_sets, and the ARRAY JOIN and its has() run over
			// those, not over every dataset.
			where := datasetWhere(q, "")
			sets := "1"
			if iri != "" {
				sets = "has(techniques_all, " + quote(iri) + ")"
			}
			return fmt.Sprintf(`SELECT technique, max(technique_labels[indexOf(techniques, technique)]) AS label,
  sum(n) AS datasets, sumIf(n, has(techniques, technique)) AS direct, uniqExact(facility) AS facilities
FROM (
  SELECT facility, techniques, technique_labels, techniques_all, n
  FROM (SELECT facility, technique_set, count() AS n FROM %s WHERE %s GROUP BY facility, technique_set)
  ANY INNER JOIN (
    SELECT technique_set, t AS techniques, l AS technique_labels, a AS techniques_all FROM (
      SELECT technique_set, any(techniques) AS t, any(technique_labels) AS l, any(techniques_all) AS a
      FROM %s.technique_sets GROUP BY technique_set
    )
  ) USING technique_set
  WHERE %s
)
ARRAY JOIN techniques_all AS technique
GROUP BY technique ORDER BY datasets DESC, technique LIMIT %d`,
				s.live("facility, issued, technique_set, deleted"), where, s.db, sets, q.Limit), nil
		},
	},
	StatTimeline: {
		columns: cols("month", KindDate, "facility", KindString, "datasets", KindInt, "open", KindInt),
		sql: func(s *Store, q StatsQuery, iri string) (string, error) {
			return fmt.Sprintf(`SELECT toStartOfMonth(issued) AS month, facility, count() AS datasets, countIf(access_rights = 'open') AS open
FROM %s WHERE %s
GROUP BY month, facility ORDER BY month, facility LIMIT %d`,
				s.liveStats(iri), datasetWhere(q, ""), q.Limit), nil
		},
	},
	StatReuse: {
		columns: cols("dataset", KindString, "doi", KindString, "facility", KindString, "title", KindString,
			"investigations", KindInt, "requests", KindInt, "unique_investigations", KindInt, "unique_requests", KindInt,
			"citations", KindInt, "reuse", KindInt),
		sql: func(s *Store, q StatsQuery, iri string) (string, error) {
			return s.reuseSQL(q, iri, 0), nil
		},
	},
	StatQuality: {
		columns: cols("facility", KindString, "bucket", KindString, "from", KindFloat, "to", KindFloat, "datasets", KindInt),
		sql: func(s *Store, q StatsQuery, iri string) (string, error) {
			// Ten buckets of 0.1; the last one holds 1.0 too.
			return fmt.Sprintf(`SELECT facility, concat(toString(b / 10), '-', toString((b + 1) / 10)) AS bucket,
  b / 10 AS from, (b + 1) / 10 AS to, count() AS datasets
FROM (SELECT facility, toFloat64(least(floor(quality * 10), 9)) AS b FROM %s WHERE %s)
GROUP BY facility, b ORDER BY facility, b LIMIT %d`,
				s.liveStats(iri), datasetWhere(q, ""), q.Limit), nil
		},
	},
	StatGaps: {
		columns: cols("facility", KindString, "gap", KindString, "datasets", KindInt, "share", KindFloat),
		sql: func(s *Store, q StatsQuery, iri string) (string, error) {
			where := datasetWhere(q, "")
			return fmt.Sprintf(`SELECT facility, gap, datasets, round(datasets / total, 4) AS share
FROM (SELECT facility, gap, count() AS datasets FROM %[1]s ARRAY JOIN quality_gaps AS gap WHERE %[2]s GROUP BY facility, gap)
ANY LEFT JOIN (SELECT facility, count() AS total FROM %[1]s WHERE %[2]s GROUP BY facility) USING facility
ORDER BY facility, datasets DESC, gap LIMIT %[3]d BY facility`,
				s.liveStats(iri), where, q.Limit), nil
		},
	},
	StatHarvests: {
		columns: cols("feed", KindString, "facility", KindString, "runs", KindInt, "failed", KindInt, "error_rate", KindFloat,
			"last_run", KindTime, "last_status", KindString, "last_success", KindTime, "lag_seconds", KindInt,
			"records", KindInt, "retries", KindInt, "last_error", KindString),
		sql: func(s *Store, q StatsQuery, iri string) (string, error) {
			if iri != "" {
				return "", fmt.Errorf("%w: harvests are per feed, not per technique", ErrBadQuery)
			}
			where := []string{"1"}
			if q.Facility != "" {
				where = append(where, "lower(facility) = "+quote(strings.ToLower(q.Facility)))
			}
			if !q.Since.IsZero() {
				where = append(where, "started_at >= toDateTime("+quote(q.Since.UTC().Format(time.DateTime))+", 'UTC')")
			}
			if !q.Until.IsZero() {
				where = append(where, "started_at < toDateTime("+quote(q.Until.UTC().Format(time.DateTime))+", 'UTC')")
			}
			now := q.Now.UTC().Format(time.DateTime)
			runs := fmt.Sprintf("(SELECT feed_id, facility, status, started_at, finished_at, records, retries, error FROM %s.harvest_runs FINAL)", s.db)
			return fmt.Sprintf(`SELECT feed_id AS feed, facility, runs, failed, round(failed / runs, 4) AS error_rate,
  last_run, last_status, last_success,
  if(last_success > toDateTime(0), toInt64(toDateTime(%[4]s, 'UTC')) - toInt64(last_success), toInt64(-1)) AS lag_seconds,
  records, retries, last_error
FROM (
  SELECT feed_id, any(facility) AS facility, count() AS runs, countIf(status = 'failed') AS failed,
    max(started_at) AS last_run, argMax(status, started_at) AS last_status, sum(records) AS records,
    sum(retries) AS retries, argMax(error, started_at) AS last_error
  FROM (SELECT * FROM %[1]s WHERE status != 'running' AND %[2]s ORDER BY feed_id, started_at DESC LIMIT %[5]d BY feed_id)
  GROUP BY feed_id
)
ANY LEFT JOIN (
  SELECT feed_id, maxIf(finished_at, status = 'complete') AS last_success FROM %[1]s WHERE %[2]s GROUP BY feed_id
) USING feed_id
ORDER BY error_rate DESC, lag_seconds DESC, feed LIMIT %[3]d`,
				runs, strings.Join(where, " AND "), q.Limit, quote(now), RecentRuns), nil
		},
	},
}

// reuseSQL is the SQL of the reuse statistic. With candidates 0, every
// live dataset is joined to its usage, then to its citations (18.16 has
// one JOIN per SELECT): exact, and the slowest. With candidates n, the
// usage and the citations are joined first, the n datasets most reused,
// live or not, kept (reuseCandidatesSQL), and the live datasets joined to
// those: the same rows whenever they are at least q.Limit, or the
// candidates fewer than n (see Store.Stats).
func (s *Store) reuseSQL(q StatsQuery, iri string, candidates int) string {
	// Since and until select months of usage, not datasets.
	dq := q
	dq.Since, dq.Until = time.Time{}, time.Time{}
	live := fmt.Sprintf("(SELECT key AS dataset, doi, facility, title FROM %s WHERE %s)", s.liveStats(iri), datasetWhere(dq, ""))
	if candidates > 0 {
		return fmt.Sprintf(`SELECT dataset, doi, facility, title, investigations, requests, unique_investigations, unique_requests, citations, reuse
FROM %s
ANY INNER JOIN (%s) USING dataset
ORDER BY reuse DESC, dataset LIMIT %d`, live, s.reuseCandidatesSQL(q, candidates), q.Limit)
	}
	return fmt.Sprintf(`SELECT dataset, doi, facility, title, investigations, requests, unique_investigations, unique_requests,
  citations, investigations + citations AS reuse
FROM (
  SELECT dataset, doi, facility, title, investigations, requests, unique_investigations, unique_requests
  FROM %s
  ANY LEFT JOIN %s USING dataset
)
ANY LEFT JOIN %s USING dataset
WHERE reuse > 0
ORDER BY reuse DESC, dataset LIMIT %d`, live, s.reuseUsage(q), s.reuseCitations(), q.Limit)
}

// reuseCandidatesSQL is the n datasets most reused, live or not, most
// first: their citations (streamed) joined to their usage, and the usage
// of the datasets without citations after them (a FULL JOIN: ALL, as
// current ClickHouse releases implement no FULL join of kind ANY; both sides hold
// one row per dataset, so ALL and ANY give the same rows).
func (s *Store) reuseCandidatesSQL(q StatsQuery, n int) string {
	return fmt.Sprintf(`SELECT dataset, investigations, requests, unique_investigations, unique_requests, citations,
  investigations + citations AS reuse
FROM %s
ALL FULL JOIN %s USING dataset
WHERE reuse > 0
ORDER BY reuse DESC, dataset LIMIT %d`, s.reuseCitations(), s.reuseUsage(q), n)
}

// reuseUsage is the usage per dataset of the months q selects, AI agents
// left out: usage_all_months for all months, usage_monthly for some.
func (s *Store) reuseUsage(q StatsQuery) string {
	from := "(SELECT * FROM " + s.db + ".usage_all_months FINAL)"
	months := []string{"client != 'agent'"}
	if !q.Since.IsZero() || !q.Until.IsZero() {
		from = s.db + ".usage_monthly"
	}
	if !q.Since.IsZero() {
		months = append(months, "month >= toStartOfMonth(toDate("+quote(q.Since.UTC().Format(time.DateOnly))+"))")
	}
	if !q.Until.IsZero() {
		months = append(months, "month < toDate("+quote(q.Until.UTC().Format(time.DateOnly))+")")
	}
	return fmt.Sprintf(`(
  SELECT dataset, sum(total_investigations) AS investigations, sum(total_requests) AS requests,
    sum(unique_investigations) AS unique_investigations, sum(unique_requests) AS unique_requests
  FROM %s WHERE %s GROUP BY dataset
)`, from, strings.Join(months, " AND "))
}

// reuseCitations is the number of citations of every dataset cited, as
// its latest row of dataset_citations has them (counted once per row by
// the view that fills citation_counts).
func (s *Store) reuseCitations() string {
	return fmt.Sprintf(`(
  SELECT key AS dataset, citations FROM (SELECT key, deleted, citations FROM %s.citation_counts FINAL)
  WHERE deleted = 0 AND citations > 0
)`, s.db)
}

// reuseCandidates is how many of the most reused datasets, live or not,
// the reuse statistic looks among for the limit most reused live ones
// before it looks at every dataset.
func reuseCandidates(limit int) int { return max(1000, 100*limit) }

// statsColumns are the columns of datasets the statistics read.
const statsColumns = "key, doi, facility, title, issued, access_rights, techniques, technique_labels, techniques_all, quality, quality_gaps, deleted"

// liveStats is the current state of every dataset with the columns the
// statistics read; callers filter deleted = 0 (datasetWhere does). With iri,
// it holds the datasets whose current version carries that technique (or a
// narrower one), without the technique columns but techniques: the current
// versions of datasets joined to the technique's range of
// datasets_by_technique, on key and version (a row there of an older
// version is a technique the dataset no longer carries).
func (s *Store) liveStats(iri string) string {
	if iri == "" {
		return s.live(statsColumns)
	}
	return fmt.Sprintf(`(
  SELECT key, doi, facility, title, issued, access_rights, techniques, quality, quality_gaps, toUInt8(0) AS deleted
  FROM (SELECT key, version FROM %s WHERE deleted = 0)
  ANY INNER JOIN (
    SELECT key, version, doi, facility, title, issued, access_rights, techniques, quality, quality_gaps
    FROM %s.datasets_by_technique FINAL WHERE technique = %s
  ) USING (key, version)
)`, s.live("key, version, deleted"), s.db, quote(iri))
}

// datasetWhere is the filter of live datasets by q; iri, when given,
// keeps those carrying it (liveStats(iri) holds those only already).
func datasetWhere(q StatsQuery, iri string) string {
	where := []string{"deleted = 0"}
	if q.Facility != "" {
		where = append(where, "lower(facility) = "+quote(strings.ToLower(q.Facility)))
	}
	if iri != "" {
		where = append(where, "has(techniques_all, "+quote(iri)+")")
	}
	if !q.Since.IsZero() {
		where = append(where, "issued >= toDate("+quote(q.Since.UTC().Format(time.DateOnly))+")")
	}
	if !q.Until.IsZero() {
		where = append(where, "issued < toDate("+quote(q.Until.UTC().Format(time.DateOnly))+")")
	}
	return strings.Join(where, " AND ")
}

// StatsSQL returns the SQL of the statistic name for q, for tests,
// benchmarks and whoever wants to run it by hand.
func (s *Store) StatsSQL(name string, q StatsQuery) (string, error) {
	st, ok := stats[name]
	if !ok {
		return "", fmt.Errorf("%w %.40q: want one of %s", ErrUnknownStat, name, strings.Join(StatNames, ", "))
	}
	if err := q.Validate(); err != nil {
		return "", err
	}
	if q.Limit == 0 {
		q.Limit = DefaultStatsLimit
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	iri := ""
	if q.Technique != "" {
		iri, _ = TechniqueIRI(q.Technique)
	}
	return st.sql(s, q, iri)
}

// Stats answers the statistic name (one of StatNames) for q. An unknown
// name wraps ErrUnknownStat, bad parameters ErrBadQuery, a technique no
// live dataset carries ErrUnknownTechnique, a server that does not answer
// ErrUnavailable.
func (s *Store) Stats(ctx context.Context, name string, q StatsQuery) (*StatsResult, error) {
	sql, err := s.StatsSQL(name, q)
	if err != nil {
		return nil, err
	}
	if q.Technique != "" && name != StatHarvests {
		iri, _ := TechniqueIRI(q.Technique)
		// The first live dataset that carries it ends the scan.
		check := fmt.Sprintf("SELECT count() FROM (SELECT 1 FROM %s WHERE deleted = 0 AND has(techniques_all, ?) LIMIT 1)",
			s.live("deleted, techniques_all"))
		var n uint64
		if err := s.conn.QueryRow(ctx, check, iri).Scan(&n); err != nil {
			return nil, wrap("stats "+name, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: no dataset of this node carries %s or a narrower technique", ErrUnknownTechnique, iri)
		}
	}
	if name == StatReuse {
		return s.reuseStats(ctx, q, sql)
	}
	return s.statsQuery(ctx, name, sql)
}

// reuseStats answers the reuse statistic from its candidates (see
// reuseSQL): when they give fewer rows than the limit although they were
// as many as asked for, the live datasets they missed may be reused less
// but still enough to be listed, and full, the exact SQL, answers.
func (s *Store) reuseStats(ctx context.Context, q StatsQuery, full string) (*StatsResult, error) {
	if q.Limit == 0 {
		q.Limit = DefaultStatsLimit
	}
	iri := ""
	if q.Technique != "" {
		iri, _ = TechniqueIRI(q.Technique)
	}
	n := reuseCandidates(q.Limit)
	res, err := s.statsQuery(ctx, StatReuse, s.reuseSQL(q, iri, n))
	if err != nil || len(res.Rows) >= q.Limit {
		return res, err
	}
	var found uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM ("+s.reuseCandidatesSQL(q, n)+")").Scan(&found); err != nil {
		return nil, wrap("stats "+StatReuse, err)
	}
	if found < uint64(n) {
		return res, nil
	}
	return s.statsQuery(ctx, StatReuse, full)
}

// statsQuery runs the SQL of the statistic name and reads its rows.
func (s *Store) statsQuery(ctx context.Context, name, sql string) (*StatsResult, error) {
	st := stats[name]
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, wrap("stats "+name, err)
	}
	defer rows.Close()
	res := &StatsResult{Stat: name, Columns: slices.Clone(st.columns), Rows: [][]any{}}
	types := rows.ColumnTypes()
	if len(types) != len(st.columns) {
		return nil, fmt.Errorf("analytics: stats %s: %d columns, want %d", name, len(types), len(st.columns))
	}
	for rows.Next() {
		dest := make([]any, len(st.columns))
		for i, c := range st.columns {
			dest[i] = newScan(c.Kind, types[i].DatabaseTypeName())
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, wrap("stats "+name, err)
		}
		row := make([]any, len(dest))
		for i, c := range st.columns {
			row[i] = scanned(c.Kind, dest[i])
		}
		res.Rows = append(res.Rows, row)
	}
	return res, wrap("stats "+name, rows.Err())
}

// newScan returns a pointer to scan a value of the ClickHouse type dbType
// into, for a column of kind.
func newScan(kind, dbType string) any {
	switch kind {
	case KindInt:
		switch dbType {
		case "Int64":
			return new(int64)
		case "UInt8":
			return new(uint8)
		case "UInt16":
			return new(uint16)
		case "UInt32":
			return new(uint32)
		}
		return new(uint64)
	case KindFloat:
		return new(float64)
	case KindDate, KindTime:
		return new(time.Time)
	}
	return new(string)
}

// scanned returns the value of a scanned pointer as a result value.
func scanned(kind string, p any) any {
	switch v := p.(type) {
	case *int64:
		return *v
	case *uint8:
		return int64(*v)
	case *uint16:
		return int64(*v)
	case *uint32:
		return int64(*v)
	case *uint64:
		return int64(*v)
	case *float64:
		return *v
	case *time.Time:
		t := v.UTC()
		if kind == KindDate {
			return t.Format(time.DateOnly)
		}
		if t.Unix() <= 0 {
			return ""
		}
		return t.Format(time.RFC3339)
	case *string:
		return *v
	}
	return nil
}
