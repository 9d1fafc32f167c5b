package analytics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/usage"
)

// rollupWave is a set of usage events whose counts are worked out by hand:
// in each month given, dataset i of the datasets given gets inv[i]
// investigations and req[i] requests, each in a session of its own, so
// that every event counts once as a total and once as a unique metric
// (requests count as investigations too).
type rollupWave struct {
	tag      string
	months   []time.Month
	datasets []int
	inv, req func(i int) int
}

// rollupDataset is the key of dataset i of the rollup tests.
func rollupDataset(i int) string { return fmt.Sprintf("doi:10.5072/rollup.%d", i) }

// events returns the wave's events.
func (w rollupWave) events() []usage.Event {
	var out []usage.Event
	for _, m := range w.months {
		for _, i := range w.datasets {
			add := func(kind usage.Kind, n int) {
				for j := range n {
					id := fmt.Sprintf("%s-%d-%d-%s-%d", w.tag, m, i, kind, j)
					out = append(out, usage.Event{ID: id, Dataset: rollupDataset(i), Time: at(m, 3+j%20, j%24, 0, 0), Kind: kind,
						Session: id, AccessMethod: usage.Regular, Client: usage.Human, Status: 200, Source: "test", Facility: "ESRF"})
				}
			}
			add(usage.Investigation, w.inv(i))
			add(usage.Request, w.req(i))
		}
	}
	return out
}

// rollupCounts are COUNTER's four metrics and the events counted.
type rollupCounts struct{ ti, ui, tr, ur, events uint64 }

// want adds the wave's counts per dataset over all months to c.
func (w rollupWave) want(c map[string]rollupCounts) {
	for range w.months {
		for _, i := range w.datasets {
			inv, req := uint64(w.inv(i)), uint64(w.req(i))
			k := c[rollupDataset(i)]
			k.ti, k.ui, k.tr, k.ur, k.events = k.ti+inv+req, k.ui+inv+req, k.tr+req, k.ur+req, k.events+inv+req
			c[rollupDataset(i)] = k
		}
	}
}

// firstWave gives each of six datasets i+1 investigations and i requests
// in April and May.
var firstWave = rollupWave{tag: "a", months: []time.Month{time.April, time.May}, datasets: []int{0, 1, 2, 3, 4, 5},
	inv: func(i int) int { return i + 1 }, req: func(i int) int { return i }}

// usageTotals returns usage_all_months as readers see it (FINAL), per
// dataset.
func usageTotals(t *testing.T, s *Store) map[string]rollupCounts {
	t.Helper()
	rows, err := s.conn.Query(testContext(t), "SELECT dataset, sum(total_investigations), sum(unique_investigations), sum(total_requests), "+
		"sum(unique_requests), sum(events) FROM "+s.db+".usage_all_months FINAL GROUP BY dataset")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]rollupCounts{}
	for rows.Next() {
		var (
			d string
			c rollupCounts
		)
		if err := rows.Scan(&d, &c.ti, &c.ui, &c.tr, &c.ur, &c.events); err != nil {
			t.Fatal(err)
		}
		out[d] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// monthlyTotals sums the monthly reports (UsageCounts) per dataset.
func monthlyTotals(t *testing.T, s *Store) map[string]rollupCounts {
	t.Helper()
	rows, err := s.UsageCounts(testContext(t), UsageQuery{Begin: at(1, 1, 0, 0, 0), End: at(12, 1, 0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]rollupCounts{}
	for _, r := range rows {
		c := out[r.Dataset]
		c.ti, c.ui, c.tr, c.ur = c.ti+r.TotalInvestigations, c.ui+r.UniqueInvestigations, c.tr+r.TotalRequests, c.ur+r.UniqueRequests
		out[r.Dataset] = c
	}
	return out
}

// checkByMonth fails the test unless UsageByMonth gives the sums per
// month of UsageCounts' rows.
func checkByMonth(t *testing.T, s *Store) {
	t.Helper()
	q := UsageQuery{Begin: at(1, 1, 0, 0, 0), End: at(12, 1, 0, 0, 0)}
	rows, err := s.UsageCounts(testContext(t), q)
	if err != nil {
		t.Fatal(err)
	}
	want := map[time.Time]MonthUsage{}
	for _, r := range rows {
		m := want[r.Month]
		m.Month = r.Month
		m.TotalInvestigations += r.TotalInvestigations
		m.UniqueInvestigations += r.UniqueInvestigations
		m.TotalRequests += r.TotalRequests
		m.UniqueRequests += r.UniqueRequests
		want[r.Month] = m
	}
	got, err := s.UsageByMonth(testContext(t), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("usage by month: %d months, want %d", len(got), len(want))
	}
	for i, m := range got {
		if m != want[m.Month] {
			t.Errorf("usage by month: %s: %+v, want %+v", m.Month.Format("2006-01"), m, want[m.Month])
		}
		if i > 0 && !got[i-1].Month.Before(m.Month) {
			t.Errorf("usage by month: %s after %s", m.Month.Format("2006-01"), got[i-1].Month.Format("2006-01"))
		}
	}
}

// checkTotals fails the test unless the totals and the monthly reports
// hold want (the monthly reports carry no event counts), and the sums per
// month agree with them.
func checkTotals(t *testing.T, s *Store, want map[string]rollupCounts) {
	t.Helper()
	checkByMonth(t, s)
	got := usageTotals(t, s)
	monthly := monthlyTotals(t, s)
	if len(got) != len(want) || len(monthly) != len(want) {
		t.Errorf("totals of %d datasets, monthly counts of %d; want %d: %v", len(got), len(monthly), len(want), got)
	}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("%s: totals %+v, want %+v", d, got[d], w)
		}
		w.events = 0
		if monthly[d] != w {
			t.Errorf("%s: monthly counts %+v, want %+v", d, monthly[d], w)
		}
	}
	// Two computations of a row that counted the same events are the
	// same row, whoever wrote them.
	var variants uint64
	q := "SELECT count() FROM (SELECT uniqExact(total_investigations, unique_investigations, total_requests, unique_requests) AS n FROM " +
		s.db + ".usage_all_months GROUP BY dataset, access_method, client, events) WHERE n > 1"
	if err := s.conn.QueryRow(testContext(t), q).Scan(&variants); err != nil || variants != 0 {
		t.Errorf("%d rows of usage_all_months differ from another that counted as many events (err %v)", variants, err)
	}
}

// secondStore opens another client of s's database, as a second replica
// of the writer would.
func secondStore(t *testing.T, s *Store) *Store {
	t.Helper()
	s2, err := Open(testContext(t), Config{Addr: testAddr(), Database: s.Database()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

// TestRollupTwoReplicasAtOnce runs the rollup from two clients at once, as
// two replicas of the writer would: first both together on the same
// events (they must give the rows one gives), then each under the rollup's
// lease on a real embedded JetStream while events keep arriving (one at a
// time; the totals end right).
func TestRollupTwoReplicasAtOnce(t *testing.T) {
	s1 := openTestStore(t, Config{})
	s2 := secondStore(t, s1)
	ctx := testContext(t)
	want := map[string]rollupCounts{}
	if err := s1.InsertUsage(ctx, firstWave.events()); err != nil {
		t.Fatal(err)
	}
	firstWave.want(want)

	atOnce(t, []*Store{s1, s2}, func(s *Store) error {
		_, err := s.RollupUsage(ctx)
		return err
	})
	checkTotals(t, s1, want)

	// Under the lease, with events arriving meanwhile.
	b := testenv.Bus(t)
	key := RollupLease(s1.Database())
	var (
		wg                       sync.WaitGroup
		errs                     [2]error
		active, overlaps, rounds atomic.Int32
		arrived                  atomic.Bool
	)
	replica := func(s *Store, holder string) error {
		final := false
		for !final {
			final = arrived.Load()
			lctx, release, err := b.Lease(ctx, key, holder, nil)
			if errors.Is(err, bus.ErrExists) {
				final = false // the last round must be this replica's own
				time.Sleep(20 * time.Millisecond)
				continue
			}
			if err != nil {
				return err
			}
			if active.Add(1) > 1 {
				overlaps.Add(1)
			}
			_, err = s.RollupUsage(lctx)
			active.Add(-1)
			rounds.Add(1)
			release()
			if err != nil {
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	}
	for i, s := range []*Store{s1, s2} {
		wg.Go(func() { errs[i] = replica(s, fmt.Sprint("replica-", i)) })
	}
	for n, months := range [][]time.Month{{time.May}, {time.May, time.June}, {time.April}, {time.June}} {
		w := rollupWave{tag: fmt.Sprint("b", n), months: months, datasets: []int{n, n + 1, 7},
			inv: func(i int) int { return i%3 + 1 }, req: func(i int) int { return n }}
		if err := s2.InsertUsage(ctx, w.events()); err != nil {
			t.Fatal(err)
		}
		w.want(want)
		time.Sleep(150 * time.Millisecond)
	}
	arrived.Store(true)
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	if overlaps.Load() != 0 {
		t.Errorf("%d rollups ran while another held the lease", overlaps.Load())
	}
	t.Logf("%d rollups under the lease", rounds.Load())
	checkTotals(t, s1, want)
}

// atOnce runs f on every store at the same moment, as replicas of the
// writer would, and fails the test if one fails.
func atOnce(t *testing.T, stores []*Store, f func(*Store) error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, len(stores))
	)
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = f(s)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestRollupRecountsOnlyTheChangedDatasets counts events received long
// ago, then a new event of one dataset: the recount updates its month and
// its totals, and leaves the other datasets' totals as they were written.
func TestRollupRecountsOnlyTheChangedDatasets(t *testing.T) {
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	want := map[string]rollupCounts{}
	if err := s.insertUsage(ctx, firstWave.events(), func(context.Context) (time.Time, error) { return time.Now().Add(-2 * time.Hour), nil }); err != nil {
		t.Fatal(err)
	}
	firstWave.want(want)
	if months, err := s.RollupUsage(ctx); err != nil || len(months) != 2 {
		t.Fatalf("rollup: %v %v, want April and May", months, err)
	}
	checkTotals(t, s, want)
	before := totalsComputed(t, s)
	time.Sleep(1100 * time.Millisecond) // the next rollup's stamp is a later second
	late := rollupWave{tag: "late", months: []time.Month{time.May}, datasets: []int{2},
		inv: func(int) int { return 2 }, req: func(int) int { return 1 }}
	if err := s.InsertUsage(ctx, late.events()); err != nil {
		t.Fatal(err)
	}
	late.want(want)
	months, err := s.RollupUsage(ctx)
	if err != nil || len(months) != 1 || months[0].Month() != time.May {
		t.Fatalf("rollup: %v %v, want May only", months, err)
	}
	checkTotals(t, s, want)
	after := totalsComputed(t, s)
	for d, c := range before {
		if changed := d == rollupDataset(2); changed != after[d].After(c) {
			t.Errorf("%s: totals computed %v, then %v; want them summed again only for %s", d, c, after[d], rollupDataset(2))
		}
	}
	// Nothing new: nothing counted.
	if months, err := s.RollupUsage(ctx); err != nil || len(months) != 1 {
		// May again: its last events arrived within rollupSlack.
		t.Fatalf("rollup: %v %v", months, err)
	}
	checkTotals(t, s, want)
}

// totalsComputed returns when each dataset's totals were last summed (every
// row written, merged or not).
func totalsComputed(t *testing.T, s *Store) map[string]time.Time {
	t.Helper()
	rows, err := s.conn.Query(testContext(t), "SELECT dataset, max(computed) FROM "+s.db+".usage_all_months GROUP BY dataset")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			d string
			c time.Time
		)
		if err := rows.Scan(&d, &c); err != nil {
			t.Fatal(err)
		}
		out[d] = c
	}
	return out
}

// TestRollupKeepsTheCountsThatCountedMore writes what a replica that
// counted earlier and wrote later would: totals of fewer events stamped
// later, and a month in which a row counted more events than a recount
// finds. Readers keep the totals that counted more events, and the rollup
// does not swap in the month.
func TestRollupKeepsTheCountsThatCountedMore(t *testing.T) {
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	want := map[string]rollupCounts{}
	if err := s.InsertUsage(ctx, firstWave.events()); err != nil {
		t.Fatal(err)
	}
	firstWave.want(want)
	if _, err := s.RollupUsage(ctx); err != nil {
		t.Fatal(err)
	}
	stale := usageTotals(t, s)[rollupDataset(3)]
	more := rollupWave{tag: "more", months: []time.Month{time.May}, datasets: []int{3},
		inv: func(int) int { return 4 }, req: func(int) int { return 2 }}
	if err := s.InsertUsage(ctx, more.events()); err != nil {
		t.Fatal(err)
	}
	more.want(want)
	if _, err := s.RollupUsage(ctx); err != nil {
		t.Fatal(err)
	}
	// The slow replica's sums, from before the new events, an hour later.
	if err := s.insert(ctx, "usage_all_months", usageAllMonthsColumns, [][]any{{rollupDataset(3), "regular", "human",
		stale.ti, stale.ui, stale.tr, stale.ur, stale.events, time.Now().Add(time.Hour).UTC().Truncate(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	checkTotals(t, s, want)

	// A row of May that counted more events than May's events give now
	// (as a rollup that began later would have written), of a dataset
	// that gets an event: the next rollup of May leaves the month as it
	// is.
	if err := s.insert(ctx, "usage_monthly", usageMonthlyColumns, [][]any{{at(5, 1, 0, 0, 0), rollupDataset(0), "regular", "human",
		"ESRF", "", "", uint64(1), uint64(1), uint64(0), uint64(0), uint64(1000)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertUsage(ctx, rollupWave{tag: "after", months: []time.Month{time.May}, datasets: []int{0},
		inv: func(int) int { return 1 }, req: func(int) int { return 0 }}.events()); err != nil {
		t.Fatal(err)
	}
	months, err := s.RollupUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range months {
		if m.Month() == time.May {
			t.Errorf("May swapped in over a row that counted more events: %v", months)
		}
	}
	var held uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".usage_monthly WHERE events = 1000").Scan(&held); err != nil || held != 1 {
		t.Errorf("the row that counted more: %d rows, %v; want it kept", held, err)
	}
}

// TestMigrationSixCountsUsageAgain writes a database as migration 5 left
// it (monthly counts without their events, totals stamped by time, every
// month counted), then migrates: the totals read as before at once, and
// the next rollup counts every month again with its events.
func TestMigrationSixCountsUsageAgain(t *testing.T) {
	all := migrations
	migrations = all[:5]
	t.Cleanup(func() { migrations = all })
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	want := map[string]rollupCounts{}
	if err := s.InsertUsage(ctx, firstWave.events()); err != nil {
		t.Fatal(err)
	}
	firstWave.want(want)
	// As the rollup of migration 5 counted them, an hour from now (so
	// that only the migration has the months counted again).
	var monthly [][]any
	for _, m := range firstWave.months {
		for _, i := range firstWave.datasets {
			inv, req := uint64(firstWave.inv(i)), uint64(firstWave.req(i))
			monthly = append(monthly, []any{at(m, 1, 0, 0, 0), rollupDataset(i), "regular", "human", "ESRF", "", "", inv + req, inv + req, req, req})
		}
		q := fmt.Sprintf("INSERT INTO %s.usage_rollups (month, computed) SELECT toDate(toDateTime(%d, 'UTC')), toDateTime(%d, 'UTC')",
			s.db, at(m, 1, 0, 0, 0).Unix(), time.Now().Add(time.Hour).Unix())
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.insert(ctx, "usage_monthly", "month, dataset, access_method, client, facility, doi, title, "+
		"total_investigations, unique_investigations, total_requests, unique_requests", monthly); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+".usage_totals ("+usageTotalsColumns+") "+usageTotalsSelect(s.db, "now()")); err != nil {
		t.Fatal(err)
	}
	migrations = all
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if got := recordedMigrations(t, s); got[6] != 1 {
		t.Fatalf("migrations recorded: %v, want 6 once", got)
	}
	// At once: the totals of the rows there were, without their events.
	noEvents := map[string]rollupCounts{}
	for d, c := range want {
		c.events = 0
		noEvents[d] = c
	}
	checkTotals(t, s, noEvents)
	months, err := s.RollupUsage(ctx)
	if err != nil || len(months) != 2 {
		t.Fatalf("rollup after migration 6: %v %v, want April and May counted again", months, err)
	}
	checkTotals(t, s, want)
	// Migrating again changes nothing.
	if st, err := s.Migrate(ctx, false); err != nil || st[5].Ran {
		t.Fatalf("migrate again: %v, ran %v", err, err == nil && st[5].Ran)
	}
	checkTotals(t, s, want)
}

// TestRollupLeaseOneWriterCounts runs two writers (replicas) on one bus
// and database: the usage arriving is counted, by one writer at a time,
// and the lease names one of them.
func TestRollupLeaseOneWriterCounts(t *testing.T) {
	b := testenv.Bus(t)
	s := openTestStore(t, Config{})
	stops := map[string]func(){"writer-1": runUsageSinkAs(t, b, s, "writer-1"), "writer-2": runUsageSinkAs(t, b, s, "writer-2")}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	ctx := testContext(t)
	want := map[string]rollupCounts{}
	if err := s.InsertUsage(ctx, firstWave.events()); err != nil {
		t.Fatal(err)
	}
	firstWave.want(want)
	waitTotals(t, s, want)
	lease, err := b.State(bus.BucketLeases).Get(ctx, RollupLease(s.Database()))
	if err != nil || stops[string(lease.Value)] == nil {
		t.Fatalf("rollup lease: %q, %v; want one of the writers", lease.Value, err)
	}
	// The holder stops and releases its lease: the other takes it and
	// counts.
	stops[string(lease.Value)]()
	delete(stops, string(lease.Value))
	late := rollupWave{tag: "late", months: []time.Month{time.June}, datasets: []int{1},
		inv: func(int) int { return 3 }, req: func(int) int { return 0 }}
	if err := s.InsertUsage(ctx, late.events()); err != nil {
		t.Fatal(err)
	}
	late.want(want)
	waitTotals(t, s, want)
	if next, err := b.State(bus.BucketLeases).Get(ctx, RollupLease(s.Database())); err != nil || next.Value == nil || string(next.Value) == string(lease.Value) {
		t.Fatalf("rollup lease after its holder stopped: %q, %v; want the other writer", next.Value, err)
	}
}

// waitTotals waits until the totals hold want.
func waitTotals(t *testing.T, s *Store, want map[string]rollupCounts) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := usageTotals(t, s)
		same := len(got) == len(want)
		for d, w := range want {
			same = same && got[d] == w
		}
		if same {
			checkTotals(t, s, want)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("totals %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
