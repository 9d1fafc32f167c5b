package analytics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/usage"
)

// at is a time of 2026 in UTC.
func at(month time.Month, day, h, m, s int) time.Time {
	return time.Date(2026, month, day, h, m, s, 0, time.UTC)
}

// craftedLog is an event log whose COUNTER counts are worked out by hand in
// TestUsageCountsCOUNTER.
func craftedLog() []usage.Event {
	const a, b = "doi:10.5072/a", "doi:10.5072/b"
	n := 0
	ev := func(dataset string, t time.Time, kind usage.Kind, session string) usage.Event {
		n++
		return usage.Event{ID: fmt.Sprintf("e%03d", n), Dataset: dataset, Time: t, Kind: kind, Session: session,
			AccessMethod: usage.Regular, Client: usage.Human, Status: 200, Source: "test", Facility: "ESRF"}
	}
	inv, req := usage.Investigation, usage.Request
	log := []usage.Event{
		// s1, hour 10: a run of three clicks each within 30 s of the next
		// counts once; 75 s later counts again; 10:59:50 again.
		ev(a, at(5, 1, 10, 0, 0), inv, "s1"),
		ev(a, at(5, 1, 10, 0, 20), inv, "s1"),
		ev(a, at(5, 1, 10, 0, 45), inv, "s1"),
		ev(a, at(5, 1, 10, 2, 0), inv, "s1"),
		ev(a, at(5, 1, 10, 5, 0), req, "s1"),
		ev(a, at(5, 1, 10, 5, 10), req, "s1"), // double click
		ev(a, at(5, 1, 10, 59, 50), inv, "s1"),
		// 15 s later, but the next hour: another session.
		ev(a, at(5, 1, 11, 0, 5), inv, "s1"),
		// A session across midnight at the end of April.
		ev(a, at(4, 30, 23, 59, 50), inv, "s1"),
		ev(a, at(5, 1, 0, 0, 10), inv, "s1"),
		// s2: exactly 30 s apart is a double click.
		ev(a, at(5, 1, 10, 10, 0), inv, "s2"),
		ev(a, at(5, 1, 10, 10, 30), inv, "s2"),
		ev(b, at(5, 1, 10, 20, 0), req, "s2"),
		// Without a session key, every event is a session of its own.
		ev(b, at(5, 1, 10, 0, 0), inv, ""),
		ev(b, at(5, 1, 10, 0, 1), inv, ""),
	}
	robot := ev(a, at(5, 1, 10, 0, 0), inv, "s3")
	robot.Robot = true
	failed := ev(a, at(5, 1, 10, 0, 0), req, "s4")
	failed.Status = 404
	notModified := ev(b, at(5, 2, 9, 0, 0), inv, "s8")
	notModified.Status = 304
	m1, m2 := ev(a, at(5, 1, 10, 0, 0), req, "s5"), ev(a, at(5, 1, 10, 1, 0), req, "s5")
	m1.AccessMethod, m2.AccessMethod = usage.Machine, usage.Machine
	agent := ev(a, at(5, 1, 10, 0, 0), inv, "s6")
	agent.Client = usage.Agent
	harvester := ev(b, at(5, 1, 12, 0, 0), inv, "s7")
	harvester.Client = usage.MachineClient // made machine access by validation
	// Delivered twice (a redelivery): counted once.
	dup := log[12]
	return append(log, robot, failed, notModified, m1, m2, agent, harvester, dup)
}

func TestUsageCountsCOUNTER(t *testing.T) {
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	events := craftedLog()
	if err := s.InsertUsage(ctx, events); err != nil {
		t.Fatal(err)
	}
	// A replay of the whole log changes nothing.
	if err := s.InsertUsage(ctx, events); err != nil {
		t.Fatal(err)
	}
	if months, err := s.RollupUsage(ctx); err != nil || len(months) != 2 {
		t.Fatalf("rollup: %v %v, want April and May", months, err)
	}
	var stored uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".usage_events FINAL").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := uint64(len(events) - 1); stored != want {
		t.Errorf("%d events stored, want %d (deduplicated by id)", stored, want)
	}
	type key struct {
		dataset string
		month   time.Month
		method  usage.AccessMethod
		client  usage.Client
	}
	type counts struct{ ti, ui, tr, ur uint64 }
	get := func(q UsageQuery) map[key]counts {
		t.Helper()
		rows, err := s.UsageCounts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		m := map[key]counts{}
		for _, r := range rows {
			m[key{r.Dataset, r.Month.Month(), r.AccessMethod, r.Client}] = counts{r.TotalInvestigations, r.UniqueInvestigations, r.TotalRequests, r.UniqueRequests}
		}
		return m
	}
	got := get(UsageQuery{Begin: at(4, 1, 0, 0, 0), End: at(6, 1, 0, 0, 0)})
	want := map[key]counts{
		// April: one view, one session.
		{"doi:10.5072/a", time.April, usage.Regular, usage.Human}: {1, 1, 0, 0},
		// May, a, regular: investigations s1h10 3 + s1h11 1 + s1h0 1 +
		// s2h10 1, plus the request of s1h10 (1) = 7; sessions s1h0,
		// s1h10, s1h11, s2h10 = 4; requests 1 in 1 session. Robot, 404
		// and agent left out.
		{"doi:10.5072/a", time.May, usage.Regular, usage.Human}: {7, 4, 1, 1},
		// May, a, machine: two requests 60 s apart, one session.
		{"doi:10.5072/a", time.May, usage.Machine, usage.Human}: {2, 1, 2, 1},
		// May, b, regular: s2's request (delivered twice) and two
		// sessionless views, and a 304 answer.
		{"doi:10.5072/b", time.May, usage.Regular, usage.Human}: {4, 4, 1, 1},
		// A harvester is machine access.
		{"doi:10.5072/b", time.May, usage.Machine, usage.MachineClient}: {1, 1, 0, 0},
	}
	if len(got) != len(want) {
		t.Errorf("got %d rows, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%v: got %+v, want %+v", k, got[k], w)
		}
	}
	// Agents apart.
	agents := get(UsageQuery{Begin: at(5, 1, 0, 0, 0), End: at(6, 1, 0, 0, 0), Clients: []usage.Client{usage.Agent}})
	if len(agents) != 1 || agents[key{"doi:10.5072/a", time.May, usage.Regular, usage.Agent}] != (counts{1, 1, 0, 0}) {
		t.Errorf("agents: %v", agents)
	}
	// Filters: one dataset, machine access, one month.
	one := get(UsageQuery{Begin: at(5, 1, 0, 0, 0), End: at(5, 31, 0, 0, 0), Datasets: []string{"doi:10.5072/a"}, AccessMethods: []usage.AccessMethod{usage.Machine}})
	if len(one) != 1 || one[key{"doi:10.5072/a", time.May, usage.Machine, usage.Human}] != (counts{2, 1, 2, 1}) {
		t.Errorf("filtered: %v", one)
	}
	if other := get(UsageQuery{Begin: at(4, 1, 0, 0, 0), End: at(6, 1, 0, 0, 0), Facility: "ill"}); len(other) != 0 {
		t.Errorf("another facility's usage: %v", other)
	}
	if _, err := s.UsageCounts(ctx, UsageQuery{Begin: at(6, 1, 0, 0, 0), End: at(5, 1, 0, 0, 0)}); err == nil {
		t.Error("an end before the begin is accepted")
	}
	// Events that arrive late for May are counted at the next rollup, and
	// only May is counted again.
	late := usage.Event{ID: "late", Dataset: "doi:10.5072/b", Time: at(5, 20, 8, 0, 0), Kind: usage.Request, Session: "s9", Status: 200, Source: "test"}
	if err := s.InsertUsage(ctx, []usage.Event{late}); err != nil {
		t.Fatal(err)
	}
	if months, err := s.RollupUsage(ctx); err != nil || len(months) != 2 {
		// April too: it was counted less than rollupSlack ago.
		t.Fatalf("rollup: %v %v", months, err)
	}
	if got := get(UsageQuery{Begin: at(5, 1, 0, 0, 0), End: at(5, 1, 0, 0, 0)}); got[key{"doi:10.5072/b", time.May, usage.Regular, usage.Human}] != (counts{5, 5, 2, 2}) {
		t.Errorf("after a late event: %v", got)
	}
}

func TestInsertUsageRefusesInvalid(t *testing.T) {
	s := openTestStore(t, Config{})
	err := s.InsertUsage(testContext(t), []usage.Event{{ID: "x", Dataset: "not a doi", Time: at(5, 1, 0, 0, 0), Kind: usage.Request}})
	if err == nil || !errorsIs(err, ErrInvalidRow) {
		t.Fatalf("err %v, want ErrInvalidRow", err)
	}
}

func TestReuses(t *testing.T) {
	s := openTestStore(t, Config{})
	ctx := testContext(t)
	rows := []CitationRow{
		{Key: "doi:10.5072/a", Facility: "ESRF", Title: "A", Version: 1,
			Relations:   []string{"IsCitedBy", "IsCitedBy", "isreferencedby", "IsDerivedFrom", "IsCitedBy"},
			Identifiers: []string{"10.1000/p1", "10.1000/p2", "10.1000/p3", "10.1000/src", "10.1000/p1"},
			Types:       []string{"DOI", "DOI", "DOI", "DOI", "DOI"}},
		{Key: "doi:10.5072/b", Facility: "ILL", Title: "B", Version: 2,
			Relations: []string{"IsSupplementedBy"}, Identifiers: []string{"10.1000/q"}, Types: []string{"DOI"}},
		// b's next version lost its relation; c was withdrawn.
		{Key: "doi:10.5072/b", Facility: "ILL", Title: "B", Version: 5, Relations: []string{}, Identifiers: []string{}, Types: []string{}},
		{Key: "doi:10.5072/c", Facility: "ESRF", Version: 3, Relations: []string{"IsCitedBy"}, Identifiers: []string{"10.1000/r"}, Types: []string{"DOI"}},
		{Key: "doi:10.5072/c", Facility: "ESRF", Version: 4, Deleted: true},
	}
	if err := s.InsertCitations(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// Written again (a replay): nothing changes.
	if err := s.InsertCitations(ctx, rows); err != nil {
		t.Fatal(err)
	}
	got, err := s.Reuses(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	// a: p1, p2 cited (p1 twice), p3 referenced; the source it derives from
	// is not reuse.
	if len(got) != 1 || got[0].Dataset != "doi:10.5072/a" || got[0].Citations != 3 || got[0].Title != "A" {
		t.Fatalf("reuse %+v", got)
	}
	if got, _ := s.Reuses(ctx, "ill", 10); len(got) != 0 {
		t.Errorf("ILL's reuse: %+v", got)
	}
	// The sums, as reuse_stats reads them: every facility's, ESRF's
	// (any case), ILL's (none left) and an unknown one's.
	for facility, want := range map[string]uint64{"": 3, "esrf": 3, "ESRF": 3, "ill": 0, "nowhere": 0} {
		if n, err := s.Citations(ctx, facility); err != nil || n != want {
			t.Errorf("Citations(%q) = %d, %v; want %d", facility, n, err, want)
		}
	}
	if err := s.InsertCitations(ctx, []CitationRow{{Key: "k", Relations: []string{"x"}}}); !errorsIs(err, ErrInvalidRow) {
		t.Errorf("mismatched arrays: %v", err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// TestUsageWhereMonths: the months asked for are the months read, cut to
// those a row can have; a period wholly outside them is refused rather
// than clamped into every month.
func TestUsageWhereMonths(t *testing.T) {
	s := &Store{db: "db"}
	day := func(y int, m time.Month) time.Time { return time.Date(y, m, 15, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name       string
		begin, end time.Time
		want       string // the month condition; "" when refused
	}{
		{"a year", day(2026, 1), day(2026, 12), "month >= toDate('2026-01-01') AND month <= toDate('2026-12-01')"},
		{"from before 1970", day(1900, 5), day(1971, 2), "month >= toDate('1970-01-01') AND month <= toDate('1971-02-01')"},
		{"until past 2105", day(2100, 1), day(2300, 1), "month >= toDate('2100-01-01') AND month <= toDate('2105-12-01')"},
		{"wholly after 2105", day(2200, 1), day(2200, 12), ""},
		{"wholly before 1970", day(1900, 1), day(1960, 1), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			where, err := s.usageWhere(UsageQuery{Begin: tc.begin, End: tc.end})
			if tc.want == "" {
				if !errors.Is(err, ErrBadQuery) {
					t.Fatalf("where %q, err %v: want ErrBadQuery", where, err)
				}
				return
			}
			if err != nil || !strings.HasPrefix(where, tc.want+" AND ") {
				t.Errorf("where %q, err %v: want it to begin with %q", where, err, tc.want)
			}
		})
	}
}
