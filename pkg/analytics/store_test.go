package analytics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"google.golang.org/protobuf/types/known/timestamppb"

	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// testAddr is the ClickHouse the tests use: FAIRWAY_CLICKHOUSE_ADDR, or the
// server scripts/clickhouse.sh starts.
func testAddr() string {
	if a := os.Getenv("FAIRWAY_CLICKHOUSE_ADDR"); a != "" {
		return a
	}
	return DefaultAddr
}

// openTestStore opens a store on the test server, on a database of its
// own, dropped when the test ends. It fails the test when ClickHouse does
// not answer.
func openTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	cfg.Addr = testAddr()
	return openTestStoreAt(t, cfg)
}

// openTestStoreAt is openTestStore at cfg.Addr. The database is dropped
// through a connection of its own, so that a test may break cfg.Addr.
func openTestStoreAt(t testing.TB, cfg Config) *Store {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cfg.Database = "fairway_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			t.Fatalf("ClickHouse at %s does not answer: run scripts/clickhouse.sh start (or set FAIRWAY_CLICKHOUSE_ADDR): %v", cfg.Addr, err)
		}
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		dropDatabase(t, cfg.Database)
	})
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// row builds a valid dataset row.
func row(key, facility string, version uint64, deleted bool, techniques ...string) DatasetRow {
	labels := make([]string, len(techniques))
	for i, iri := range techniques {
		labels[i] = "label of " + iri[strings.LastIndexByte(iri, '/')+1:]
	}
	return DatasetRow{
		Key:             key,
		DOI:             strings.TrimPrefix(key, "doi:"),
		Facility:        facility,
		FeedID:          strings.ToLower(facility) + "-oai",
		Title:           "Dataset " + key,
		PublicationYear: 2024,
		Issued:          time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		AccessRights:    "open",
		License:         "https://creativecommons.org/licenses/by/4.0/",
		Techniques:      techniques,
		TechniqueLabels: labels,
		Creators:        2,
		ORCIDs:          1,
		Quality:         0.5,
		Deleted:         deleted,
		ContentHash:     fmt.Sprintf("hash-%s-%d", key, version),
		Version:         version,
		PublishedAt:     time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC),
	}
}

func mustInsert(t *testing.T, s *Store, rows ...DatasetRow) {
	t.Helper()
	if err := s.InsertDatasets(testContext(t), rows); err != nil {
		t.Fatalf("insert: %v", err)
	}
}

func liveCount(t *testing.T, s *Store) uint64 {
	t.Helper()
	n, err := s.LiveCount(testContext(t))
	if err != nil {
		t.Fatalf("live count: %v", err)
	}
	return n
}

func TestOpenTwiceKeepsSchemaAndData(t *testing.T) {
	s := openTestStore(t, Config{})
	mustInsert(t, s, row("doi:10.1/a", "ESRF", 1, false))

	again, err := Open(testContext(t), Config{Addr: s.cfg.Addr, Database: s.Database()})
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer again.Close()
	if err := again.EnsureSchema(testContext(t)); err != nil {
		t.Fatalf("ensure schema again: %v", err)
	}
	if n := liveCount(t, again); n != 1 {
		t.Fatalf("live count after reopening = %d, want 1", n)
	}
	if got, want := tablesOf(t, s), wantTables(); !slices.Equal(got, want) {
		t.Fatalf("tables in %s = %v, want %v", s.Database(), got, want)
	}
}

func TestLiveCount(t *testing.T) {
	const (
		saxs  = "http://purl.org/pan-science/PaNET/PaNET01188"
		diffr = "http://purl.org/pan-science/PaNET/PaNET01168"
	)
	tests := []struct {
		name      string
		batchSize int
		// inserts are sent one call each, in order.
		inserts [][]DatasetRow
		want    uint64
	}{
		{
			name:    "empty",
			inserts: nil,
			want:    0,
		},
		{
			name: "three datasets",
			inserts: [][]DatasetRow{{
				row("doi:10.1/a", "ESRF", 1, false, saxs),
				row("doi:10.1/b", "ESRF", 2, false),
				row("doi:10.1/c", "ILL", 3, false, diffr),
			}},
			want: 3,
		},
		{
			name:      "more rows than the batch size",
			batchSize: 2,
			inserts: [][]DatasetRow{{
				row("doi:10.1/a", "ESRF", 1, false),
				row("doi:10.1/b", "ESRF", 2, false),
				row("doi:10.1/c", "ILL", 3, false),
				row("doi:10.1/d", "ILL", 4, false),
				row("doi:10.1/e", "PSI", 5, false),
			}},
			want: 5,
		},
		{
			name: "new version of the same dataset counts once",
			inserts: [][]DatasetRow{
				{row("doi:10.1/a", "ESRF", 1, false)},
				{row("doi:10.1/a", "ESRF", 5, false, saxs)},
			},
			want: 1,
		},
		{
			name: "same version written twice counts once",
			inserts: [][]DatasetRow{
				{row("doi:10.1/a", "ESRF", 1, false), row("doi:10.1/b", "ILL", 2, false)},
				{row("doi:10.1/a", "ESRF", 1, false), row("doi:10.1/b", "ILL", 2, false)},
			},
			want: 2,
		},
		{
			name: "tombstone hides the dataset",
			inserts: [][]DatasetRow{
				{row("doi:10.1/a", "ESRF", 1, false), row("doi:10.1/b", "ILL", 2, false)},
				{row("doi:10.1/a", "ESRF", 3, true)},
			},
			want: 1,
		},
		{
			name: "older live version replayed after the tombstone stays hidden",
			inserts: [][]DatasetRow{
				{row("doi:10.1/a", "ESRF", 7, true)},
				{row("doi:10.1/a", "ESRF", 4, false)},
			},
			want: 0,
		},
		{
			name: "dataset published again after a tombstone is live",
			inserts: [][]DatasetRow{
				{row("doi:10.1/a", "ESRF", 1, false)},
				{row("doi:10.1/a", "ESRF", 2, true)},
				{row("doi:10.1/a", "ESRF", 3, false)},
			},
			want: 1,
		},
		{
			name: "tombstone in the same insert as the live version",
			inserts: [][]DatasetRow{
				{row("doi:10.1/a", "ESRF", 1, false), row("doi:10.1/a", "ESRF", 2, true), row("doi:10.1/b", "ILL", 3, false)},
			},
			want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTestStore(t, Config{BatchSize: tt.batchSize})
			for _, rows := range tt.inserts {
				mustInsert(t, s, rows...)
			}
			if got := liveCount(t, s); got != tt.want {
				t.Fatalf("live count = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	const (
		saxs  = "http://purl.org/pan-science/PaNET/PaNET01188"
		diffr = "http://purl.org/pan-science/PaNET/PaNET01168"
		tomo  = "http://purl.org/pan-science/PaNET/PaNET01190"
	)
	s := openTestStore(t, Config{BatchSize: 2})
	mustInsert(t, s,
		row("doi:10.1/a", "ESRF", 1, false, saxs, diffr),
		row("doi:10.1/b", "ESRF", 2, false, saxs),
		row("doi:10.1/c", "ILL", 3, false, diffr),
		row("doi:10.1/d", "ILL", 4, false, tomo),
		row("doi:10.1/e", "PSI", 5, false),
	)
	// Written again (a redelivery), then d withdrawn and e moved to another
	// facility by a new version.
	mustInsert(t, s,
		row("doi:10.1/a", "ESRF", 1, false, saxs, diffr),
		row("doi:10.1/b", "ESRF", 2, false, saxs),
	)
	mustInsert(t, s,
		row("doi:10.1/d", "ILL", 6, true),
		row("doi:10.1/e", "MAX IV", 7, false, tomo),
	)

	byFacility, err := s.CountsByFacility(testContext(t))
	if err != nil {
		t.Fatalf("counts by facility: %v", err)
	}
	wantFacility := map[string]uint64{"ESRF": 2, "ILL": 1, "MAX IV": 1}
	if fmt.Sprint(byFacility) != fmt.Sprint(wantFacility) {
		t.Errorf("counts by facility = %v, want %v", byFacility, wantFacility)
	}

	byTechnique, err := s.CountsByTechnique(testContext(t))
	if err != nil {
		t.Fatalf("counts by technique: %v", err)
	}
	wantTechnique := []TechniqueCount{
		{IRI: diffr, Label: "label of PaNET01168", Datasets: 2},
		{IRI: saxs, Label: "label of PaNET01188", Datasets: 2},
		{IRI: tomo, Label: "label of PaNET01190", Datasets: 1},
	}
	if fmt.Sprint(byTechnique) != fmt.Sprint(wantTechnique) {
		t.Errorf("counts by technique = %v\nwant %v", byTechnique, wantTechnique)
	}
	if n := liveCount(t, s); n != 4 {
		t.Errorf("live count = %d, want 4", n)
	}
}

func TestInsertDatasetsRoundTrip(t *testing.T) {
	s := openTestStore(t, Config{})
	in := row("doi:10.5072/esrf-ab-123", "ESRF", 42, false,
		"http://purl.org/pan-science/PaNET/PaNET01188", "http://purl.org/pan-science/PaNET/PaNET01168")
	in.Title = "Ünïcode title, with 'quotes' and \\ backslash"
	in.Quality = 0.8125
	in.PublishedAt = time.Date(2025, 11, 30, 23, 59, 58, 0, time.FixedZone("CET", 3600))
	in.Issued = time.Date(2021, 6, 15, 23, 30, 0, 0, time.FixedZone("X", -2*3600)) // 16 June in UTC
	mustInsert(t, s, in, row("src:ILL:9", "ILL", 43, false))

	var (
		got                   DatasetRow
		deleted               uint8
		issued, publishedAt   time.Time
		techniques, labels    []string
		key, doi, title, hash string
	)
	err := s.conn.QueryRow(testContext(t), "SELECT key, doi, title, publication_year, issued, techniques, technique_labels, "+
		"creators, orcids, quality, deleted, content_hash, version, published_at FROM "+s.db+".datasets FINAL WHERE key = 'doi:10.5072/esrf-ab-123'").
		Scan(&key, &doi, &title, &got.PublicationYear, &issued, &techniques, &labels,
			&got.Creators, &got.ORCIDs, &got.Quality, &deleted, &hash, &got.Version, &publishedAt)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"key", key, in.Key},
		{"doi", doi, in.DOI},
		{"title", title, in.Title},
		{"publication year", got.PublicationYear, in.PublicationYear},
		{"issued", issued.Format(time.DateOnly), "2021-06-16"},
		{"techniques", fmt.Sprint(techniques), fmt.Sprint(in.Techniques)},
		{"labels", fmt.Sprint(labels), fmt.Sprint(in.TechniqueLabels)},
		{"creators", got.Creators, in.Creators},
		{"orcids", got.ORCIDs, in.ORCIDs},
		{"quality", got.Quality, in.Quality},
		{"deleted", deleted, uint8(0)},
		{"content hash", hash, in.ContentHash},
		{"version", got.Version, in.Version},
		{"published at", publishedAt.Unix(), in.PublishedAt.Unix()},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestInsertDatasetsRejectsInvalidRows(t *testing.T) {
	s := openTestStore(t, Config{})
	noLabels := row("doi:10.1/x", "ESRF", 1, false, "http://purl.org/pan-science/PaNET/PaNET01188")
	noLabels.TechniqueLabels = nil
	nan := row("doi:10.1/y", "ESRF", 1, false)
	nan.Quality = math.NaN()
	tests := []struct {
		name string
		rows []DatasetRow
	}{
		{"empty key", []DatasetRow{row("doi:10.1/ok", "ESRF", 1, false), row(" ", "ESRF", 2, false)}},
		{"techniques without labels", []DatasetRow{noLabels}},
		{"quality not a number", []DatasetRow{nan}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.InsertDatasets(testContext(t), tt.rows)
			if !errors.Is(err, ErrInvalidRow) {
				t.Fatalf("err = %v, want ErrInvalidRow", err)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v also wraps ErrUnavailable", err)
			}
		})
	}
	// Nothing of a rejected call is written, and the store still works.
	if n := liveCount(t, s); n != 0 {
		t.Fatalf("live count after rejected inserts = %d, want 0", n)
	}
	mustInsert(t, s, row("doi:10.1/ok", "ESRF", 1, false))
	if n := liveCount(t, s); n != 1 {
		t.Fatalf("live count = %d, want 1", n)
	}
}

func TestInsertRuns(t *testing.T) {
	s := openTestStore(t, Config{})
	started := timestamppb.New(time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC))
	running := &fairwayv1.HarvestRun{RunId: "r1", FeedId: "esrf-oai", Facility: "ESRF",
		Status: fairwayv1.HarvestStatus_HARVEST_STATUS_RUNNING, StartedAt: started, Pages: 1, Records: 10}
	complete := &fairwayv1.HarvestRun{RunId: "r1", FeedId: "esrf-oai", Facility: "ESRF",
		Status: fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE, StartedAt: started,
		FinishedAt: timestamppb.New(time.Date(2025, 1, 2, 3, 5, 0, 0, time.UTC)), Pages: 3, Records: 250, Deleted: 2, Rejected: 1}
	failed := &fairwayv1.HarvestRun{RunId: "r2", FeedId: "ill-oai", Facility: "ILL",
		Status: fairwayv1.HarvestStatus_HARVEST_STATUS_FAILED, StartedAt: started,
		FinishedAt: timestamppb.New(time.Date(2025, 1, 2, 3, 1, 0, 0, time.UTC)), Error: "503 Service Unavailable"}

	ctx := testContext(t)
	// The complete report arrives, then a redelivered "running" one, then
	// the complete one again.
	for _, runs := range [][]*fairwayv1.HarvestRun{{complete, failed}, {running}, {complete}} {
		if err := s.InsertRuns(ctx, runs); err != nil {
			t.Fatalf("insert runs: %v", err)
		}
	}
	rows, err := s.conn.Query(ctx, "SELECT run_id, status, pages, records, deleted, rejected, error FROM "+
		s.db+".harvest_runs FINAL ORDER BY run_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var (
			id, status, msg                   string
			pages, records, deleted, rejected uint64
		)
		if err := rows.Scan(&id, &status, &pages, &records, &deleted, &rejected, &msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %d %d %d %d %q", id, status, pages, records, deleted, rejected, msg))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{`r1 complete 3 250 2 1 ""`, `r2 failed 0 0 0 0 "503 Service Unavailable"`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("runs = %q, want %q", got, want)
	}

	invalid := []struct {
		name string
		runs []*fairwayv1.HarvestRun
	}{
		{"nil run", []*fairwayv1.HarvestRun{complete, nil}},
		{"no run id", []*fairwayv1.HarvestRun{{FeedId: "x"}}},
		{"negative records", []*fairwayv1.HarvestRun{{RunId: "r3", Records: -1}}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.InsertRuns(ctx, tt.runs); !errors.Is(err, ErrInvalidRow) {
				t.Fatalf("err = %v, want ErrInvalidRow", err)
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestUnavailable(t *testing.T) {
	t.Run("open on a closed port", func(t *testing.T) {
		_, err := Open(testContext(t), Config{Addr: closedPort(t), DialTimeout: 2 * time.Second})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if errors.Is(err, ErrInvalidRow) {
			t.Fatalf("err = %v also wraps ErrInvalidRow", err)
		}
	})
	t.Run("server that accepts and never answers", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		_, err = Open(ctx, Config{Addr: ln.Addr().String(), DialTimeout: time.Second})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("server that closes the connection", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		_, err = Open(testContext(t), Config{Addr: ln.Addr().String(), DialTimeout: time.Second})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("server going away under an open store, then coming back", func(t *testing.T) {
		p := startProxy(t, "127.0.0.1:0", testAddr())
		s := openTestStoreAt(t, Config{Addr: p.addr, DialTimeout: time.Second})
		mustInsert(t, s, row("doi:10.1/a", "ESRF", 1, false))
		p.stop()
		if _, err := s.LiveCount(testContext(t)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("live count with the server gone: err = %v, want ErrUnavailable", err)
		}
		err := s.InsertDatasets(testContext(t), []DatasetRow{row("doi:10.1/b", "ESRF", 2, false)})
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidRow) {
			t.Fatalf("insert with the server gone: err = %v, want ErrUnavailable only", err)
		}
		if err := s.Ping(testContext(t)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("ping with the server gone: err = %v, want ErrUnavailable", err)
		}
		startProxy(t, p.addr, testAddr())
		mustInsert(t, s, row("doi:10.1/b", "ESRF", 2, false))
		if n := liveCount(t, s); n != 2 {
			t.Fatalf("live count after the server came back = %d, want 2", n)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := Open(testContext(t), Config{Addr: testAddr(), Password: "not-the-password"})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("database dropped under an open store", func(t *testing.T) {
		s := openTestStore(t, Config{})
		dropDatabase(t, s.Database())
		if _, err := s.LiveCount(testContext(t)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("live count: err = %v, want ErrUnavailable", err)
		}
		err := s.InsertDatasets(testContext(t), []DatasetRow{row("doi:10.1/a", "ESRF", 1, false)})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("insert: err = %v, want ErrUnavailable", err)
		}
		if err := s.EnsureSchema(testContext(t)); err != nil {
			t.Fatalf("ensure schema: %v", err)
		}
		mustInsert(t, s, row("doi:10.1/a", "ESRF", 1, false))
		if n := liveCount(t, s); n != 1 {
			t.Fatalf("live count after recreating the schema = %d, want 1", n)
		}
	})
	t.Run("cancelled context is not unavailability", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Open(ctx, Config{Addr: testAddr()})
		if err == nil || errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled without ErrUnavailable", err)
		}
	})
	t.Run("server error is not unavailability", func(t *testing.T) {
		s := openTestStore(t, Config{})
		err := s.conn.Exec(testContext(t), "SELECT no_such_column FROM "+s.db+".datasets")
		if err == nil {
			t.Fatal("query of a missing column succeeded")
		}
		if wrapped := wrap("select", err); errors.Is(wrapped, ErrUnavailable) {
			t.Fatalf("err = %v wraps ErrUnavailable", wrapped)
		}
		// The pooled connection still works after the error.
		if n := liveCount(t, s); n != 0 {
			t.Fatalf("live count = %d, want 0", n)
		}
	})
}

// dropDatabase drops a test database on the test server.
func dropDatabase(t testing.TB, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{testAddr()}})
	if err != nil {
		t.Errorf("drop %s: %v", db, err)
		return
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+db+"`"); err != nil {
		t.Errorf("drop %s: %v", db, err)
	}
}

// proxy forwards TCP connections from addr to a target, and can cut them
// all, as a server going away would.
type proxy struct {
	addr  string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

// startProxy listens on addr (host:0 for any port) and forwards to target
// until stop or the end of the test.
func startProxy(t *testing.T, addr, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &proxy{addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go p.serve(target)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) serve(target string) {
	defer close(p.done)
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

// stop closes the listener and every forwarded connection.
func (p *proxy) stop() {
	_ = p.ln.Close()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
