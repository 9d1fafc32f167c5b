package analytics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/usage"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// usageColumns are the columns of usage_events, in the order
// insertUsage gives their values.
const usageColumns = "id, dataset, time, kind, session, access_method, client, robot, status, country, source, facility, received"

// InsertUsage writes usage events, at most Config.BatchSize per insert.
// Every event is validated first (usage.Event.Validate: the bus may carry
// what a facility published directly); an invalid one fails the call with
// an error wrapping ErrInvalidRow before anything is sent. The session key
// is stored as usage.StoredSession of what the event carries. Writing an
// event again (a redelivery, a replay) does not change any count.
//
// The events are stamped received at ClickHouse's clock, as the rollup
// stamps what it counted: two writers whose clocks disagree would
// otherwise stamp an event before a rollup that could not see it, and
// its month would not be counted again.
func (s *Store) InsertUsage(ctx context.Context, events []usage.Event) error {
	return s.insertUsage(ctx, events, s.serverNow)
}

// serverNow returns ClickHouse's clock, to the second.
func (s *Store) serverNow(ctx context.Context) (time.Time, error) {
	var now time.Time
	if err := s.conn.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		return time.Time{}, err
	}
	return now.UTC(), nil
}

// insertUsage is InsertUsage with the events stamped received by stamp
// (tests stamp events received earlier). The events are validated before
// anything is asked of the server.
func (s *Store) insertUsage(ctx context.Context, events []usage.Event, stamp func(context.Context) (time.Time, error)) error {
	if len(events) == 0 {
		return nil
	}
	now := time.Now()
	values := make([][]any, len(events))
	for i, e := range events {
		if err := e.Validate(now); err != nil {
			return fmt.Errorf("analytics: insert usage: event %d: %w: %w", i, ErrInvalidRow, err)
		}
		robot := uint8(0)
		if e.Robot {
			robot = 1
		}
		country := e.Country
		if country == "" {
			country = "\x00\x00"
		}
		values[i] = []any{e.ID, e.Dataset, e.Time, string(e.Kind), usage.StoredSession(e.Session),
			string(e.AccessMethod), string(e.Client), robot, uint16(e.Status), country, e.Source, e.Facility, nil}
	}
	// An insert must finish well within rollupSlack of its received
	// stamp, or a rollup that ran meanwhile would never count its month
	// again: the stamp and the insert share one bound; one that takes
	// longer fails, and the batch is written again later with a new stamp
	// (the same events: no count changes).
	ctx, cancel := context.WithTimeout(ctx, usageInsertTimeout)
	defer cancel()
	received, err := stamp(ctx)
	if err != nil {
		return wrap("insert usage: the server's clock", err)
	}
	received = received.UTC().Truncate(time.Second)
	for _, v := range values {
		v[len(v)-1] = received
	}
	return s.insert(ctx, "usage_events", usageColumns, values)
}

// usageInsertTimeout bounds an insert of usage events: less than
// rollupSlack, so that the rollup after it sees its rows.
const usageInsertTimeout = rollupSlack / 2

// CitationRow is one catalogue version of one dataset with its related
// identifiers, in the dataset_citations table.
type CitationRow struct {
	Key      string
	DOI      string
	Facility string
	Title    string
	Deleted  bool
	// Relations, Identifiers and Types are the related identifiers, index
	// by index (relation type as harvested, e.g. IsCitedBy).
	Relations   []string
	Identifiers []string
	Types       []string
	// Version is the catalogue stream's sequence of the entry.
	Version     uint64
	PublishedAt time.Time
}

// MaxRelated bounds the related identifiers kept per dataset.
const MaxRelated = 1024

// CitationRowFromEntry returns the citations row of a catalogue entry.
func CitationRowFromEntry(e *fairwayv1.CatalogueEntry, version uint64) CitationRow {
	d := e.GetDataset().GetDataset()
	r := CitationRow{
		Key: e.GetKey(), DOI: d.GetDoi(), Facility: d.GetFacility(), Title: truncate(d.GetTitle(), 4096),
		Deleted: e.GetDeleted(), Version: version, PublishedAt: clampTime(timeOf(e.GetPublishedAt())),
		Relations: []string{}, Identifiers: []string{}, Types: []string{},
	}
	if r.Key == "" {
		r.Key = d.GetKey()
	}
	if r.Deleted {
		return r
	}
	for _, rel := range d.GetRelated() {
		if len(r.Relations) == MaxRelated {
			break
		}
		if rel.GetIdentifier() == "" {
			continue
		}
		r.Relations = append(r.Relations, truncate(rel.GetRelation(), 64))
		r.Identifiers = append(r.Identifiers, truncate(rel.GetIdentifier(), 2048))
		r.Types = append(r.Types, truncate(rel.GetType(), 64))
	}
	return r
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func clampTime(t time.Time) time.Time {
	if t.Before(minStoredTime) || t.After(maxStoredTime) {
		return minStoredTime
	}
	return t
}

const citationColumns = "key, doi, facility, title, deleted, relations, identifiers, identifier_types, version, published_at"

// InsertCitations writes citations rows; a row without a key or with
// mismatched arrays fails the call with ErrInvalidRow before anything is
// sent. A version written again changes nothing.
func (s *Store) InsertCitations(ctx context.Context, rows []CitationRow) error {
	if len(rows) == 0 {
		return nil
	}
	for i, r := range rows {
		if r.Key == "" {
			return fmt.Errorf("analytics: insert citations: row %d: %w: no key", i, ErrInvalidRow)
		}
		if len(r.Relations) != len(r.Identifiers) || len(r.Relations) != len(r.Types) {
			return fmt.Errorf("analytics: insert citations: row %d: %w: related identifiers do not line up", i, ErrInvalidRow)
		}
	}
	return s.insertColumns(ctx, "dataset_citations", citationColumns, len(rows), func(start, end int) []any {
		return citationColumnsOf(rows[start:end])
	})
}

// citationColumnsOf returns the rows' values column by column, in the
// order of citationColumns.
func citationColumnsOf(rows []CitationRow) []any {
	n := len(rows)
	key, doi, facility, title := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	deleted := make([]uint8, n)
	relations, identifiers, types := make([][]string, n), make([][]string, n), make([][]string, n)
	version, published := make([]uint64, n), make([]time.Time, n)
	for i, r := range rows {
		key[i], doi[i], facility[i], title[i], deleted[i] = r.Key, r.DOI, r.Facility, r.Title, boolToUint8(r.Deleted)
		relations[i], identifiers[i], types[i] = nonNil(r.Relations), nonNil(r.Identifiers), nonNil(r.Types)
		version[i], published[i] = r.Version, clampTime(r.PublishedAt)
	}
	return []any{key, doi, facility, title, deleted, relations, identifiers, types, version, published}
}

// ReuseRelations are the DataCite relation types (compared without regard
// to case) by which another work says it uses a dataset: each distinct
// related identifier with one of them counts as one reuse of the dataset.
var ReuseRelations = []string{"IsCitedBy", "IsReferencedBy", "IsSupplementedBy", "IsSourceOf", "IsDocumentedBy", "IsReviewedBy"}

// Reuse is the reuse of one dataset, from its harvested related
// identifiers.
type Reuse struct {
	Dataset  string
	Facility string
	Title    string
	// Citations is the number of distinct works related to the dataset by
	// one of ReuseRelations.
	Citations uint64
}

// Reuses returns the datasets with the most reuse, most first (ties by
// key), at most limit of them (1 to 10,000); facility, when not empty,
// keeps that facility's datasets (without regard to case).
func (s *Store) Reuses(ctx context.Context, facility string, limit int) ([]Reuse, error) {
	if limit < 1 || limit > 10000 {
		return nil, fmt.Errorf("analytics: reuse: limit %d: want 1 to 10000", limit)
	}
	q := s.citedSQL(facility) + fmt.Sprintf(" ORDER BY n DESC, key LIMIT %d", limit)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, wrap("reuse", err)
	}
	defer rows.Close()
	var out []Reuse
	for rows.Next() {
		var r Reuse
		if err := rows.Scan(&r.Dataset, &r.Facility, &r.Title, &r.Citations); err != nil {
			return nil, wrap("reuse", err)
		}
		out = append(out, r)
	}
	return out, wrap("reuse", rows.Err())
}

// citedSQL is the query of the live datasets of facility (every
// facility's when empty) that are cited, from their related identifiers:
// key, facility, title and n, the distinct identifiers that cite it.
func (s *Store) citedSQL(facility string) string {
	rels := make([]string, len(ReuseRelations))
	for i, r := range ReuseRelations {
		rels[i] = quote(strings.ToLower(r))
	}
	where := ""
	if facility != "" {
		where = " AND lower(facility) = " + quote(strings.ToLower(facility))
	}
	return fmt.Sprintf(`SELECT key, any(facility), any(title), uniqExact(identifier) AS n
FROM (SELECT key, facility, title, deleted, relations, identifiers FROM %s.dataset_citations FINAL)
ARRAY JOIN relations AS relation, identifiers AS identifier
WHERE deleted = 0 AND lower(relation) IN (%s)%s
GROUP BY key`, s.db, strings.Join(rels, ", "), where)
}

// Citations returns the citations of the live datasets of facility
// (every facility's when empty), summed as Reuses counts them per dataset.
func (s *Store) Citations(ctx context.Context, facility string) (uint64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT toUInt64(sum(n)) FROM ("+s.citedSQL(facility)+")").Scan(&n); err != nil {
		return 0, wrap("citations", err)
	}
	return n, nil
}

// UsageQuery selects the usage a report counts. COUNTER counts by month:
// the months from Begin's to End's are counted whole.
type UsageQuery struct {
	// Begin is in the first month counted; End in the last. Required.
	Begin, End time.Time
	// Datasets keeps these dataset keys only (none: every dataset).
	Datasets []string
	// AccessMethods keeps these access methods only (none: both).
	AccessMethods []usage.AccessMethod
	// Clients keeps these client kinds only (none: human and machine —
	// AI agents are counted apart, and only when asked for).
	Clients []usage.Client
	// Facility keeps the events of the datasets of this facility (as the
	// intake recorded it; without regard to case).
	Facility string
}

// UsageCount holds COUNTER's four metrics of one dataset in one month, for
// one access method and one client kind.
type UsageCount struct {
	Dataset      string
	Month        time.Time
	AccessMethod usage.AccessMethod
	Client       usage.Client
	// TotalInvestigations counts investigations and requests (COUNTER
	// counts every request as an investigation too), double clicks once.
	TotalInvestigations uint64
	// UniqueInvestigations counts the sessions that investigated or
	// requested the dataset.
	UniqueInvestigations uint64
	// TotalRequests counts requests, double clicks once.
	TotalRequests uint64
	// UniqueRequests counts the sessions that requested the dataset.
	UniqueRequests uint64
	// Facility that owns the dataset (as the intake recorded it, else as
	// the catalogue holds it).
	Facility string
	// Title and DOI of the dataset, from its latest catalogue version
	// (empty for a dataset the catalogue does not hold).
	Title, DOI string
}

// DoubleClick is the window within which a repeated action of one session
// on one dataset counts once.
const DoubleClick = 30 * time.Second

// ErrBadQuery is wrapped by errors about a report's parameters.
var ErrBadQuery = errors.New("analytics: bad usage query")

// monthCounts is the SELECT that counts the usage of one month [m0, m1)
// (Unix seconds) as the COUNTER Code of Practice for Research Data does,
// per dataset, access method and client kind, in the columns of
// usage_monthly:
//
//   - only successful answers count (2xx, 304), and never robots;
//   - a session is a session key in one clock hour (the node's own pages
//     key it by the client's address and user agent of that hour; an
//     event without a session key is a session of its own);
//   - within a session, the same action on the same dataset repeated
//     within 30 seconds of the previous one counts once (a double click:
//     of a run of clicks each within 30 s of the next, the last counts);
//   - a unique investigation (request) is a session that investigated
//     (requested) the dataset; requests are investigations too.
//
// An event delivered twice falls in its own session, hour and action at
// the same second: it is a double click of itself, so duplicates never
// change a count, even before ReplacingMergeTree merges them away (the
// query needs no FINAL). Array functions do what window functions would,
// which ClickHouse 18.16 lacks. The dataset's DOI, title and facility
// come from the catalogue's latest version (dataset_citations). The last
// column is how many distinct events the row counted (usage_monthly's
// events); only, when set, is a further condition on the events read (the
// datasets a rollup counts again).
func (s *Store) monthCounts(m0, m1 int64, only string) string {
	clicks := func(times string) string {
		return fmt.Sprintf("if(empty(%[1]s), 0, 1 + arrayCount(d -> d > %[2]d, arrayPopFront(arrayDifference(arraySort(%[1]s)))))", times, int(DoubleClick.Seconds()))
	}
	events := fmt.Sprintf("time >= toDateTime(%d, 'UTC') AND time < toDateTime(%d, 'UTC')", m0, m1)
	if only != "" {
		events += " AND " + only
	}
	return fmt.Sprintf(`SELECT month, dataset, access_method, client, if(cfacility != '', cfacility, facility), doi, title, ti, ui, tr, ur, n FROM (
  SELECT toDate(toDateTime(%[1]d, 'UTC')) AS month, dataset, access_method, client, any(facility) AS facility,
    sum(ci + cr) AS ti, count() AS ui, sum(cr) AS tr, countIf(cr > 0) AS ur, sum(ids) AS n
  FROM (
    SELECT dataset, access_method, client, any(facility) AS facility,
      if(session = '', id, session) AS sess, toStartOfHour(time) AS hour, uniqExact(id) AS ids,
      groupArrayIf(toUInt32(time), kind = 'investigation') AS inv, groupArrayIf(toUInt32(time), kind = 'request') AS req,
      %[4]s AS ci, %[5]s AS cr
    FROM %[2]s.usage_events
    WHERE %[3]s AND robot = 0 AND (status >= 200 AND status < 300 OR status = 304)
    GROUP BY dataset, access_method, client, sess, hour
  )
  GROUP BY dataset, access_method, client
) ANY LEFT JOIN (
  SELECT key AS dataset, doi, title, facility AS cfacility FROM %[2]s.dataset_citations FINAL
  WHERE key IN (SELECT dataset FROM %[2]s.usage_events WHERE %[3]s)
) USING dataset`, m0, s.db, events, clicks("inv"), clicks("req"))
}

// rollupSlack is how long before its start a rollup says it counted a
// month: an insert under way as it started (usageInsertTimeout bounds it)
// is seen by the next rollup.
const rollupSlack = time.Minute

// usageMonthlyColumns are the columns of usage_monthly, in the order
// monthCounts gives them.
const usageMonthlyColumns = "month, dataset, access_method, client, facility, doi, title, " +
	"total_investigations, unique_investigations, total_requests, unique_requests, events"

// RollupUsage counts the usage that arrived since the last rollup, and
// returns the months it counted. For every month that received usage
// events since it was last counted, the datasets that received them (all
// the month's datasets the first time) are counted again from their events
// (see monthCounts), the others are kept as they were, and the month is
// swapped in whole for its partition of usage_monthly, so that a report
// never sees a month half counted. Then the totals over all months of the
// datasets counted again, and of no others, are summed again into
// usage_all_months, and each month records when it was counted
// (usage_rollups, rollupSlack before the rollup began): a rollup that
// fails before counts the same months again.
//
// Its result depends on the events only, not on who counted them when:
// every row of usage_monthly and usage_all_months carries how many
// distinct events it counted, a number that only grows as events arrive,
// and both tables keep, of two computations of a row, the one that counted
// more (usage_all_months by its ReplacingMergeTree version, usage_monthly
// by refusing to swap in a month in which a row would count fewer events
// than it holds). Two rollups at once (two writers) leave the rows one
// would; the writer runs it under a lease all the same (see Sink), so that
// one replica does the work.
func (s *Store) RollupUsage(ctx context.Context) ([]time.Time, error) {
	// By ClickHouse's clock, as the events' received stamps.
	now, err := s.serverNow(ctx)
	if err != nil {
		return nil, wrap("usage rollup: the server's clock", err)
	}
	stamp := now.Add(-rollupSlack).Unix()
	todo, err := s.monthsToCount(ctx)
	if err != nil || len(todo) == 0 {
		return nil, err
	}
	suffix := randomSuffix()
	staging := fmt.Sprintf("%s.usage_monthly_staging_%s", s.db, suffix)
	keys := fmt.Sprintf("%s.usage_rollup_keys_%s", s.db, suffix)
	defer s.dropStaging(ctx, staging, keys)
	for _, create := range []string{
		fmt.Sprintf("CREATE TABLE %s AS %s.usage_monthly", staging, s.db),
		fmt.Sprintf("CREATE TABLE %s (month Date, dataset String) ENGINE = Memory", keys),
	} {
		if err := s.conn.Exec(ctx, create); err != nil {
			return nil, wrap("usage rollup: staging tables", err)
		}
	}
	var (
		counted []time.Time
		failed  error
	)
	for _, m := range todo {
		swapped, err := s.countMonth(ctx, m, staging, keys)
		if err != nil {
			failed = wrap("usage rollup "+m.month.Format("2006-01"), err)
			break
		}
		if swapped {
			counted = append(counted, m.month)
		}
	}
	if len(counted) == 0 {
		return nil, failed
	}
	if err := s.sumUsageTotals(ctx, "dataset IN (SELECT dataset FROM "+keys+")", strconv.FormatInt(stamp, 10)); err != nil {
		return nil, errors.Join(failed, err)
	}
	for i, m := range counted {
		q := fmt.Sprintf("INSERT INTO %s.usage_rollups (month, computed) SELECT toDate(toDateTime(%d, 'UTC')), toDateTime(%d, 'UTC')",
			s.db, m.Unix(), stamp)
		if err := s.conn.Exec(ctx, q); err != nil {
			return counted[:i], errors.Join(failed, wrap("usage rollup "+m.Format("2006-01"), err))
		}
		s.log.DebugContext(ctx, "usage counted", "month", m.Format("2006-01"))
	}
	return counted, failed
}

// monthToCount is a month that received usage events since it was last
// counted, and when that was (the Unix epoch: never).
type monthToCount struct {
	month, counted time.Time
}

// monthsToCount returns the months that received usage events since they
// were last counted, in order.
func (s *Store) monthsToCount(ctx context.Context) ([]monthToCount, error) {
	q := fmt.Sprintf(`SELECT m, c FROM (
  SELECT toStartOfMonth(time) AS m, max(received) AS r FROM %[1]s.usage_events GROUP BY m
) ANY LEFT JOIN (
  SELECT month AS m, max(computed) AS c FROM %[1]s.usage_rollups GROUP BY m
) USING m WHERE r >= c ORDER BY m`, s.db)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, wrap("usage rollup", err)
	}
	defer rows.Close()
	var out []monthToCount
	for rows.Next() {
		var m monthToCount
		if err := rows.Scan(&m.month, &m.counted); err != nil {
			return nil, wrap("usage rollup", err)
		}
		m.month = m.month.UTC()
		out = append(out, m)
	}
	return out, wrap("usage rollup", rows.Err())
}

// countMonth counts month m again into the empty table staging (the
// structure of usage_monthly): the datasets that received events since
// the month was last counted (all of them when it never was) from their
// events, the others as usage_monthly holds them, and records the datasets
// counted again in keys. It then swaps the month in for its partition of
// usage_monthly, unless a row there counted more events than staging's
// (a rollup that began later swapped the month in meanwhile: its rows are
// the newer, and this month is counted again next time), and reports
// whether it did. It leaves staging empty.
func (s *Store) countMonth(ctx context.Context, m monthToCount, staging, keys string) (bool, error) {
	m0, m1 := m.month.Unix(), m.month.AddDate(0, 1, 0).Unix()
	month := fmt.Sprintf("toDate(toDateTime(%d, 'UTC'))", m0)
	changed := fmt.Sprintf("time >= toDateTime(%d, 'UTC') AND time < toDateTime(%d, 'UTC')", m0, m1)
	whole := m.counted.Unix() <= 0
	if !whole {
		changed += fmt.Sprintf(" AND received >= toDateTime(%d, 'UTC')", m.counted.Unix())
	}
	steps := []string{fmt.Sprintf("INSERT INTO %s (month, dataset) SELECT DISTINCT %s, dataset FROM %s.usage_events WHERE %s",
		keys, month, s.db, changed)}
	only := ""
	if !whole {
		// Fixed in keys, the datasets counted again are the same in the
		// two statements, whatever arrives in between.
		again := fmt.Sprintf("(SELECT dataset FROM %s WHERE month = %s)", keys, month)
		steps = append(steps, fmt.Sprintf("INSERT INTO %s (%s) SELECT %[2]s FROM %[3]s.usage_monthly WHERE month = %[4]s AND dataset NOT IN %[5]s",
			staging, usageMonthlyColumns, s.db, month, again))
		only = "dataset IN " + again
	}
	steps = append(steps, fmt.Sprintf("INSERT INTO %s (%s) %s", staging, usageMonthlyColumns, s.monthCounts(m0, m1, only)))
	partition := m.month.Format("200601")
	defer func() {
		if err := s.conn.Exec(context.WithoutCancel(ctx), fmt.Sprintf("ALTER TABLE %s DROP PARTITION %s", staging, partition)); err != nil {
			s.log.Warn("usage rollup: staging partition left behind", "table", staging, "err", err)
		}
	}()
	for _, q := range steps {
		if err := s.conn.Exec(ctx, q); err != nil {
			return false, err
		}
	}
	var behind uint64
	q := fmt.Sprintf(`SELECT count() FROM (
  SELECT dataset, access_method, client, events AS held FROM %[1]s.usage_monthly WHERE month = %[2]s
) ANY LEFT JOIN (
  SELECT dataset, access_method, client, events AS counted FROM %[3]s
) USING (dataset, access_method, client) WHERE counted < held`, s.db, month, staging)
	if err := s.conn.QueryRow(ctx, q).Scan(&behind); err != nil {
		return false, err
	}
	if behind > 0 {
		s.log.InfoContext(ctx, "usage rollup: a later rollup counted the month; kept", "month", m.month.Format("2006-01"), "rows", behind)
		return false, nil
	}
	return true, s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.usage_monthly REPLACE PARTITION %s FROM %s", s.db, partition, staging))
}

// dropStaging drops a rollup's staging tables.
func (s *Store) dropStaging(ctx context.Context, tables ...string) {
	for _, t := range tables {
		if err := s.conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+t); err != nil {
			s.log.Warn("usage rollup: staging table left behind", "table", t, "err", err)
		}
	}
}

// sumUsageTotals sums usage_monthly over all months into usage_all_months
// for the datasets that where selects (a condition on dataset; empty: every
// dataset), stamped computed (a SQL DateTime expression).
func (s *Store) sumUsageTotals(ctx context.Context, where, computed string) error {
	q := fmt.Sprintf("INSERT INTO %s.usage_all_months (%s) %s", s.db, usageAllMonthsColumns, usageAllMonthsSelect(s.db, where, computed))
	return wrap("usage totals", s.conn.Exec(ctx, q))
}

// randomSuffix returns 12 random hexadecimal digits.
func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// UsageCounts returns the COUNTER counts of the months q asks for, per
// dataset, month (UTC), access method and client kind, as the last rollup
// counted them (RollupUsage). Rows come by dataset, then month. It holds
// them all: EachUsageCount hands them over one at a time.
func (s *Store) UsageCounts(ctx context.Context, q UsageQuery) ([]UsageCount, error) {
	var out []UsageCount
	err := s.EachUsageCount(ctx, q, func(c UsageCount) error {
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachUsageCount calls fn with each count UsageCounts would return, in
// the same order (by dataset, then month, access method and client), as
// they arrive from ClickHouse, and stops at the first error fn returns
// (which it returns as it is).
func (s *Store) EachUsageCount(ctx context.Context, q UsageQuery, fn func(UsageCount) error) error {
	sql, err := s.usageCountsSQL(q)
	if err != nil {
		return err
	}
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return wrap("usage counts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c          UsageCount
			am, client string
		)
		if err := rows.Scan(&c.Dataset, &c.Month, &am, &client, &c.TotalInvestigations, &c.UniqueInvestigations,
			&c.TotalRequests, &c.UniqueRequests, &c.Facility, &c.Title, &c.DOI); err != nil {
			return wrap("usage counts", err)
		}
		c.AccessMethod, c.Client = usage.AccessMethod(am), usage.Client(client)
		c.Month = c.Month.UTC()
		if err := fn(c); err != nil {
			return err
		}
	}
	return wrap("usage counts", rows.Err())
}

// MonthUsage holds COUNTER's four metrics of one month, summed over the
// datasets, access methods and clients a UsageQuery keeps (unique counts
// are summed per dataset, as COUNTER's per-dataset reports give them).
type MonthUsage struct {
	Month                                     time.Time
	TotalInvestigations, UniqueInvestigations uint64
	TotalRequests, UniqueRequests             uint64
}

// UsageByMonth returns the counts of the months q asks for, summed per
// month by ClickHouse (the months without usage are left out), in order:
// one row a month whatever the number of datasets.
func (s *Store) UsageByMonth(ctx context.Context, q UsageQuery) ([]MonthUsage, error) {
	where, err := s.usageWhere(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT month, sum(total_investigations), sum(unique_investigations),
  sum(total_requests), sum(unique_requests)
FROM %s.usage_monthly WHERE %s GROUP BY month ORDER BY month`, s.db, where))
	if err != nil {
		return nil, wrap("usage by month", err)
	}
	defer rows.Close()
	var out []MonthUsage
	for rows.Next() {
		var m MonthUsage
		if err := rows.Scan(&m.Month, &m.TotalInvestigations, &m.UniqueInvestigations, &m.TotalRequests, &m.UniqueRequests); err != nil {
			return nil, wrap("usage by month", err)
		}
		m.Month = m.Month.UTC()
		out = append(out, m)
	}
	return out, wrap("usage by month", rows.Err())
}

// usageCountsSQL is the query of UsageCounts.
func (s *Store) usageCountsSQL(q UsageQuery) (string, error) {
	where, err := s.usageWhere(q)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`SELECT dataset, month, access_method, client, total_investigations, unique_investigations,
  total_requests, unique_requests, facility, title, doi
FROM %s.usage_monthly WHERE %s
ORDER BY dataset, month, access_method, client`, s.db, where), nil
}

// monthOf returns the first instant of t's month, in UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// usageWhere is the filter of q on usage_monthly (its partition key first,
// so that only the months asked for are read).
func (s *Store) usageWhere(q UsageQuery) (string, error) {
	if q.Begin.IsZero() || q.End.IsZero() || q.End.Before(q.Begin) {
		return "", fmt.Errorf("%w: want a begin before the end", ErrBadQuery)
	}
	if len(q.Datasets) > 1000 {
		return "", fmt.Errorf("%w: %d datasets, at most 1000", ErrBadQuery, len(q.Datasets))
	}
	// Outside the months a row can have (1970 to 2105) nothing is held:
	// a period wholly outside is refused (clamped, its ends would have
	// become 1970 and asked for every month), one that overlaps them is
	// cut to them.
	if q.Begin.After(maxStoredTime) || q.End.Before(minStoredTime) {
		return "", fmt.Errorf("%w: months %s to %s: usage is held from %s to %s", ErrBadQuery,
			q.Begin.UTC().Format("2006-01"), q.End.UTC().Format("2006-01"), minStoredTime.Format("2006-01"), maxStoredTime.Format("2006-01"))
	}
	begin, end := q.Begin, q.End
	if begin.Before(minStoredTime) {
		begin = minStoredTime
	}
	if end.After(maxStoredTime) {
		end = maxStoredTime
	}
	begin, end = monthOf(begin), monthOf(end)
	conds := []string{fmt.Sprintf("month >= toDate('%s') AND month <= toDate('%s')", begin.Format("2006-01-02"), end.Format("2006-01-02"))}
	if len(q.Datasets) > 0 {
		ds := make([]string, len(q.Datasets))
		for i, d := range q.Datasets {
			ds[i] = quote(d)
		}
		conds = append(conds, "dataset IN ("+strings.Join(ds, ", ")+")")
	}
	if len(q.AccessMethods) > 0 {
		var ms []string
		for _, m := range q.AccessMethods {
			if m != usage.Regular && m != usage.Machine {
				return "", fmt.Errorf("%w: access method %.40q", ErrBadQuery, string(m))
			}
			ms = append(ms, quote(string(m)))
		}
		conds = append(conds, "access_method IN ("+strings.Join(ms, ", ")+")")
	}
	clients := q.Clients
	if len(clients) == 0 {
		clients = []usage.Client{usage.Human, usage.MachineClient}
	}
	var cs []string
	for _, c := range clients {
		if c != usage.Human && c != usage.MachineClient && c != usage.Agent {
			return "", fmt.Errorf("%w: client %.40q", ErrBadQuery, string(c))
		}
		cs = append(cs, quote(string(c)))
	}
	conds = append(conds, "client IN ("+strings.Join(cs, ", ")+")")
	if q.Facility != "" {
		conds = append(conds, "lower(facility) = "+quote(strings.ToLower(q.Facility)))
	}
	return strings.Join(conds, " AND "), nil
}

// quote returns s as a ClickHouse string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
