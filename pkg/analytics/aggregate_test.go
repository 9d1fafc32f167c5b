package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
)

// TestAggregatesCountTheCurrentState writes several versions of datasets,
// a withdrawal and a re-written version: the monthly counts count each live
// dataset once, under each of its techniques and their broader terms, and a
// second snapshot replaces the first.
func TestAggregatesCountTheCurrentState(t *testing.T) {
	s := openTestStore(t, Config{})
	const saxs, scattering, xrd = PaNETNamespace + "PaNET01188", PaNETNamespace + "PaNET01127", PaNETNamespace + "PaNET01168"
	with := func(r DatasetRow, month time.Month, all ...string) DatasetRow {
		r.Issued = time.Date(2025, month, 15, 0, 0, 0, 0, time.UTC)
		r.TechniquesAll = all
		return r
	}
	mustInsert(t, s,
		with(row("doi:a", "ESRF", 1, false, saxs), 1, saxs, scattering),
		with(row("doi:a", "ESRF", 2, false, saxs), 1, saxs, scattering), // a new version of a
		with(row("doi:a", "ESRF", 2, false, saxs), 1, saxs, scattering), // written twice
		with(row("doi:b", "ESRF", 3, false, xrd), 2, xrd),
		with(row("doi:c", "ESRF", 4, false, saxs), 2, saxs, scattering),
		with(row("doi:c", "ESRF", 5, true), 2), // c withdrawn
		with(row("doi:d", "ILL", 6, false), 1),
	)
	first, err := s.RefreshAggregates(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.RefreshAggregates(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if !second.After(first) {
		t.Fatalf("second snapshot %v not after %v", second, first)
	}
	got, err := s.MonthlyCounts(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	jan, feb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	want := []MonthlyCount{
		{"ESRF", "", jan, 1, 1},
		{"ESRF", "", feb, 1, 1},
		{"ESRF", scattering, jan, 1, 1},
		{"ESRF", xrd, feb, 1, 1},
		{"ESRF", saxs, jan, 1, 1},
		{"ILL", "", jan, 1, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("monthly counts %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		if g.Facility != want[i].Facility || g.Technique != want[i].Technique || !g.Month.Equal(want[i].Month) ||
			g.Datasets != want[i].Datasets || g.Open != want[i].Open {
			t.Errorf("row %d = %+v, want %+v", i, g, want[i])
		}
	}
	waitMutations(t, s)
	if n := count(t, s, "SELECT uniqExact(snapshot) FROM %[1]s.datasets_by_month"); n != 1 {
		t.Errorf("%d snapshots kept, want the latest only", n)
	}
}

// facilityTotals returns the latest aggregate snapshot's count of datasets
// per facility (technique ”, every month).
func facilityTotals(t *testing.T, s *Store) map[string]uint64 {
	t.Helper()
	rows, err := s.MonthlyCounts(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, r := range rows {
		if r.Technique == "" {
			out[r.Facility] += r.Datasets
		}
	}
	return out
}

// sameTotals reports whether got and want hold the same counts.
func sameTotals(got, want map[string]uint64) bool {
	if len(got) != len(want) {
		return false
	}
	for f, n := range want {
		if got[f] != n {
			return false
		}
	}
	return true
}

// insertFacilityDatasets writes n datasets of facility, keyed from first.
func insertFacilityDatasets(t *testing.T, s *Store, facility string, first, n int) {
	t.Helper()
	rows := make([]DatasetRow, n)
	for i := range rows {
		rows[i] = row(fmt.Sprintf("doi:10.5072/%s.%d", facility, first+i), facility, 1, false)
	}
	mustInsert(t, s, rows...)
}

// refreshCounter is a log handler that counts the writer's "aggregates
// refreshed" lines.
type refreshCounter struct{ n *atomic.Int64 }

func (refreshCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h refreshCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == aggregatesRefreshed {
		h.n.Add(1)
	}
	return nil
}
func (h refreshCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h refreshCounter) WithGroup(string) slog.Handler      { return h }

// TestAggregatesLeaseOneWriterRefreshes runs two writers (replicas) on one
// real embedded JetStream and one database: only the one the aggregates'
// lease names rebuilds them; when it stops, the other takes the lease and
// rebuilds, and the aggregates count what was written.
func TestAggregatesLeaseOneWriterRefreshes(t *testing.T) {
	b := testenv.Bus(t)
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	counts := map[string]*atomic.Int64{}
	stops := map[string]func(){}
	for _, holder := range []string{"writer-1", "writer-2"} {
		counts[holder] = new(atomic.Int64)
		stops[holder] = runSinkWith(t, b, SinkConfig{
			Store:             Config{Addr: testAddr(), Database: s.Database(), FlushInterval: 100 * time.Millisecond},
			RetryDelay:        200 * time.Millisecond,
			AggregateInterval: 100 * time.Millisecond,
			Holder:            holder,
		}, slog.New(refreshCounter{counts[holder]}))
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	insertFacilityDatasets(t, s, "ESRF", 0, 5)
	insertFacilityDatasets(t, s, "ILL", 0, 2)
	want := map[string]uint64{"ESRF": 5, "ILL": 2}
	waitAggregates := func(holder string, rounds int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !sameTotals(facilityTotals(t, s), want) || counts[holder].Load() < rounds {
			if time.Now().After(deadline) {
				t.Fatalf("aggregates %v after %d rebuilds by %s; want %v after %d", facilityTotals(t, s), counts[holder].Load(), holder, want, rounds)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	lease := func() string {
		t.Helper()
		e, err := b.State(bus.BucketLeases).Get(ctx, AggregatesLease(s.Database()))
		if err != nil {
			t.Fatalf("aggregates lease: %v", err)
		}
		return string(e.Value)
	}
	// Whoever took the lease first rebuilds, round after round; the other
	// never does.
	deadline := time.Now().Add(20 * time.Second)
	for counts["writer-1"].Load()+counts["writer-2"].Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	first := lease()
	other := map[string]string{"writer-1": "writer-2", "writer-2": "writer-1"}[first]
	if other == "" {
		t.Fatalf("aggregates lease held by %q, want one of the writers", first)
	}
	waitAggregates(first, 5)
	if n := counts[other].Load(); n != 0 {
		t.Errorf("%s rebuilt the aggregates %d times while %s held the lease", other, n, first)
	}
	t.Logf("%s rebuilt %d times, %s %d", first, counts[first].Load(), other, counts[other].Load())

	// The holder stops (and releases its lease): the other takes over and
	// counts what came since.
	stops[first]()
	delete(stops, first)
	stopped := counts[first].Load()
	insertFacilityDatasets(t, s, "ESRF", 5, 3)
	insertFacilityDatasets(t, s, "HZB", 0, 1)
	want = map[string]uint64{"ESRF": 8, "ILL": 2, "HZB": 1}
	waitAggregates(other, 3)
	if got := lease(); got != other {
		t.Errorf("aggregates lease after %s stopped: %q, want %s", first, got, other)
	}
	if n := counts[first].Load(); n != stopped {
		t.Errorf("%s rebuilt %d times after it stopped", first, n-stopped)
	}
}

// TestAggregatesReadOneRebuildWhoeverLandsLast writes what two rebuilds at
// once and a paused writer's late rebuild would leave: readers take one
// snapshot, the greatest (snapshot, rebuild), never two summed, and not an
// older one that landed after it; the next rebuild replaces them all.
func TestAggregatesReadOneRebuildWhoeverLandsLast(t *testing.T) {
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	insertFacilityDatasets(t, s, "ESRF", 0, 4)
	snap, err := s.RefreshAggregates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"ESRF": 4}
	if got := facilityTotals(t, s); !sameTotals(got, want) {
		t.Fatalf("aggregates %v, want %v", got, want)
	}
	var rebuild uint64
	if err := s.conn.QueryRow(ctx, "SELECT any(rebuild) FROM "+s.db+".datasets_by_month").Scan(&rebuild); err != nil {
		t.Fatal(err)
	}
	// landAs writes the first snapshot's rows again, stamped at and
	// numbered as, with datasets times factor: another rebuild's result.
	landAs := func(at time.Time, as, factor uint64) {
		t.Helper()
		q := fmt.Sprintf("INSERT INTO %[1]s.datasets_by_month (snapshot, rebuild, facility, technique, month, datasets, open, quality_sum) "+
			"SELECT toDateTime(%[2]d), toUInt64(%[3]d), facility, technique, month, datasets * %[4]d, open, quality_sum "+
			"FROM %[1]s.datasets_by_month WHERE snapshot = toDateTime(%[5]d) AND rebuild = %[6]d",
			s.db, at.Unix(), as, factor, snap.Unix(), rebuild)
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		at     time.Time
		as     uint64
		factor uint64
		want   uint64
	}{
		// Stamped alike, numbered higher: it is read, alone.
		{"a rebuild stamped alike", snap, rebuild + 1, 2, 8},
		// Stamped alike, numbered lower, landing last: not read.
		{"a lower rebuild stamped alike", snap, rebuild - 1, 3, 8},
		// Stamped earlier (it began earlier), landing last: not read.
		{"an earlier rebuild landing late", snap.Add(-10 * time.Second), rebuild + 5, 5, 8},
	} {
		landAs(c.at, c.as, c.factor)
		if got := facilityTotals(t, s); got["ESRF"] != c.want || len(got) != 1 {
			t.Errorf("after %s: aggregates %v, want ESRF %d", c.name, got, c.want)
		}
	}
	// The next rebuild is stamped later, counts the current state, and
	// removes every snapshot before it.
	insertFacilityDatasets(t, s, "ESRF", 4, 1)
	next, err := s.RefreshAggregates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !next.After(snap) {
		t.Errorf("next rebuild stamped %v, not after %v", next, snap)
	}
	if got, want := facilityTotals(t, s), map[string]uint64{"ESRF": 5}; !sameTotals(got, want) {
		t.Errorf("after the next rebuild: aggregates %v, want %v", got, want)
	}
	waitMutations(t, s)
	if n := count(t, s, "SELECT uniqExact(snapshot, rebuild) FROM %[1]s.datasets_by_month"); n != 1 {
		t.Errorf("%d rebuilds kept after the next one, want it alone", n)
	}
}

// TestAggregatesRebuildsAtOnce rebuilds the aggregates from two clients
// at once, round after round, as two writers without the lease (or one
// whose lease expired mid-rebuild) would, while datasets arrive: after
// each round the aggregates count the datasets once, however the rebuilds
// were stamped.
func TestAggregatesRebuildsAtOnce(t *testing.T) {
	s1 := openTestStore(t, Config{})
	s2 := secondStore(t, s1)
	ctx := testContext(t)
	ties := 0
	for round := range 8 {
		insertFacilityDatasets(t, s1, "ESRF", round*3, 3)
		atOnce(t, []*Store{s1, s2}, func(s *Store) error {
			_, err := s.RefreshAggregates(ctx)
			return err
		})
		if got, want := facilityTotals(t, s1), map[string]uint64{"ESRF": uint64(round+1) * 3}; !sameTotals(got, want) {
			t.Errorf("round %d: aggregates %v, want %v", round, got, want)
		}
		ties += int(count(t, s1, "SELECT toUInt64(uniqExact(rebuild) > 1) FROM %[1]s.datasets_by_month WHERE snapshot = (SELECT max(snapshot) FROM %[1]s.datasets_by_month)"))
	}
	t.Logf("%d rounds of 8 stamped both rebuilds alike", ties)
}

// TestAggregatesLostLeaseCancelsTheRebuild runs the writer's leased loop
// (whileLeased, which the aggregates and the rollup use) on a real
// embedded JetStream with a round that runs until its context ends: when
// another holder takes the lease (as after it expired), the round in
// flight is cancelled, no round runs while the other holds it, and the
// loop takes the lease again once it is free.
func TestAggregatesLostLeaseCancelsTheRebuild(t *testing.T) {
	b := testenv.Bus(t)
	sink, err := NewSink(SinkConfig{Holder: "writer-1"}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const key = "analytics.aggregates.test"
	started, ended := make(chan struct{}, 8), make(chan struct{}, 8)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sink.whileLeased(ctx, key, "test", tick, func(ctx context.Context) {
			started <- struct{}{}
			<-ctx.Done()
			ended <- struct{}{}
		})
	}()
	wait := func(c chan struct{}, what string, within time.Duration) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(within):
			t.Fatalf("%s not within %s", what, within)
		}
	}
	wait(started, "a round under the lease", 5*time.Second)
	kv := b.State(bus.BucketLeases)
	if err := kv.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, key, []byte("writer-2")); err != nil {
		t.Fatal(err)
	}
	wait(ended, "the round cancelled after the lease was lost", bus.LeaseTTL/3+5*time.Second)
	select {
	case <-started:
		t.Fatal("a round ran while another holder held the lease")
	case <-time.After(500 * time.Millisecond):
	}
	if err := kv.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	wait(started, "a round once the lease was free again", 5*time.Second)
	cancel()
	wait(ended, "the round ended with the writer", 5*time.Second)
	<-done
	if _, err := kv.Get(context.Background(), key); !errors.Is(err, bus.ErrNotFound) {
		t.Errorf("lease after the writer stopped: %v, want it released", err)
	}
}
