package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
	"github.com/panosc/fairway/pkg/usage"
)

func clickhouseAddr() string {
	if a := os.Getenv("FAIRWAY_CLICKHOUSE_ADDR"); a != "" {
		return a
	}
	return analytics.DefaultAddr
}

// usageEnv is the API with its usage intake and reports on a real bus and
// a real ClickHouse database of its own, the analytics writer running.
type usageEnv struct {
	*env
	reader *analytics.Reader
}

func newUsageEnv(t *testing.T) *usageEnv {
	t.Helper()
	e := &env{t: t, bus: testenv.Bus(t)}
	log, logs := testenv.CaptureLog()
	e.logs = logs
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg := analytics.Config{Addr: clickhouseAddr(), Database: "fairway_test_" + hex.EncodeToString(b[:]), FlushInterval: 100 * time.Millisecond}
	reader, err := analytics.NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = reader.Close()
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{cfg.Addr}})
		if err == nil {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
			_ = conn.Close()
		}
	})
	if err := reader.Ping(context.Background()); err != nil {
		t.Fatalf("ClickHouse at %s does not answer (scripts/clickhouse.sh start): %v", cfg.Addr, err)
	}
	sink, err := analytics.NewSink(analytics.SinkConfig{Store: cfg, RetryDelay: 200 * time.Millisecond, UsageRollup: 200 * time.Millisecond}, e.bus, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sink.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	access, err := api.NewAccess(tokensFile())
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Timeout: 5 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := usage.NewHasher([]byte("a test secret of the node, 32 b"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Access: access, Checker: checker, Usage: usage.NewIntake(h, nil), Reports: reader, MaxUsageEvents: 50}, e.bus, log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(srv)
	t.Cleanup(s.Close)
	e.url = s.URL
	for key, facility := range map[string]string{"doi:10.5072/esrf.1": "ESRF", "doi:10.5072/esrf.2": "ESRF", "doi:10.5072/ill.1": "ILL"} {
		if _, err := e.bus.Owners().Claim(context.Background(), key, facility, strings.ToLower(facility)); err != nil {
			t.Fatal(err)
		}
	}
	return &usageEnv{env: e, reader: reader}
}

func TestUsageIntake(t *testing.T) {
	e := newUsageEnv(t)
	batch := `{"events":[
	  {"dataset":"10.5072/esrf.1","time":"2026-05-01T10:00:00Z","kind":"request","session":"a1b2","access_method":"regular","country":"FR"},
	  {"dataset":"10.5072/esrf.1","time":"2026-05-01T10:00:10Z","kind":"request","session":"a1b2"},
	  {"dataset":"https://doi.org/10.5072/ESRF.2","time":"2026-05-01T10:05:00Z","kind":"investigation","session":"a1b2","user_agent":"curl/8.5"},
	  {"dataset":"10.5072/esrf.1","time":"2026-05-01T10:00:00Z","kind":"download","session":"x"},
	  {"dataset":"10.5072/ill.1","time":"2026-05-01T10:00:00Z","kind":"request","session":"x"},
	  {"dataset":"10.5072/unknown","time":"2026-05-01T10:00:00Z","kind":"request"},
	  {"dataset":"10.5072/esrf.1","time":"2999-01-01T00:00:00Z","kind":"request"},
	  {"dataset":"10.5072/esrf.1","time":"2026-05-01T11:00:00Z","kind":"request","colour":"blue"},
	  {"dataset":"10.5072/esrf.1","time":"2026-05-01T12:00:00Z","kind":"investigation","user_agent":"Googlebot/2.1"}
	]}`
	status, body := e.do(esrfToken, "POST", "/api/v1/usage", batch)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var ans api.UsageAnswer
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Accepted != 4 || ans.Refused != 5 || len(ans.Errors) != 5 {
		t.Fatalf("answer %+v", ans)
	}
	wantReasons := map[int]string{3: "kind", 4: "belongs to ILL", 5: "not in this node's catalogue", 6: "future", 7: "unknown field"}
	for _, r := range ans.Errors {
		if !strings.Contains(r.Reason, wantReasons[r.Index]) || wantReasons[r.Index] == "" {
			t.Errorf("event %d refused for %q, want %q", r.Index, r.Reason, wantReasons[r.Index])
		}
	}
	// The operator may report any well-formed dataset.
	if status, body := e.do(opToken, "POST", "/api/v1/usage", `{"events":[{"dataset":"10.5072/ill.1","time":"2026-05-02T10:00:00Z","kind":"request"},{"dataset":"10.5072/elsewhere","time":"2026-05-02T10:00:00Z","kind":"investigation"}]}`); status != 200 || !strings.Contains(body, `"accepted": 2`) {
		t.Fatalf("operator: %d %s", status, body)
	}
	// Every event refused: 422. No token: 401. Too many: 400. Too big: 413.
	if status, _ := e.do(illToken, "POST", "/api/v1/usage", `{"events":[{"dataset":"10.5072/esrf.1","time":"2026-05-01T10:00:00Z","kind":"request"}]}`); status != 422 {
		t.Errorf("another facility's dataset only: %d", status)
	}
	if status, _ := e.do("", "POST", "/api/v1/usage", `{"events":[]}`); status != 401 {
		t.Errorf("no token: %d", status)
	}
	many := `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"dataset":"10.5072/esrf.1","time":"2026-05-01T10:00:00Z","kind":"request"},`, 51), ",") + `]}`
	if status, body := e.do(esrfToken, "POST", "/api/v1/usage", many); status != 400 || !strings.Contains(body, "at most 50") {
		t.Errorf("51 events: %d %s", status, body)
	}
	if status, _ := e.do(esrfToken, "POST", "/api/v1/usage", `{"events":["`+strings.Repeat("x", 2<<20)+`"]}`); status != 413 {
		t.Errorf("a body over the limit: %d", status)
	}
	// The same batch sent again counts once.
	if status, _ := e.do(esrfToken, "POST", "/api/v1/usage", batch); status != 200 {
		t.Fatal("second send refused")
	}

	// What was accepted reaches the reports: esrf.1 two requests 10 s
	// apart (a double click) in one session; esrf.2 a curl investigation
	// (machine); the robot's view is not counted.
	var counts []api.UsageCountView
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := e.do("", "GET", "/api/v1/usage/counts?begin=2026-05&end=2026-05&facility=ESRF", "")
		if status == 200 {
			_ = json.Unmarshal([]byte(body), &counts)
			if len(counts) == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts: %d %s", status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := map[string]string{}
	for _, c := range counts {
		got[c.Dataset+" "+c.AccessMethod] = fmt.Sprintf("%d %d %d %d", c.TotalInvestigations, c.UniqueInvestigations, c.TotalRequests, c.UniqueRequests)
	}
	// The operator's event for ILL's dataset is not ESRF's.
	want := map[string]string{
		"doi:10.5072/esrf.1 regular": "1 1 1 1",
		"doi:10.5072/esrf.2 machine": "1 1 0 0",
	}
	if len(got) != len(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}

	// The DSR.
	status, body = e.do("", "GET", "/api/v1/sushi/reports/dsr?begin_date=2026-05-01&end_date=2026-05-31&item_id=10.5072/esrf.1", "")
	if status != 200 {
		t.Fatalf("dsr: %d %s", status, body)
	}
	var dsr struct {
		Header struct {
			Report_ID  string
			Exceptions []struct{ Code int }
		} `json:"Report_Header"`
		Items []struct {
			Item_ID map[string]string
			Attrs   []struct {
				Access_Method string
				Performance   map[string]map[string]int
			} `json:"Attribute_Performance"`
		} `json:"Report_Items"`
	}
	if err := json.Unmarshal([]byte(body), &dsr); err != nil {
		t.Fatal(err)
	}
	if dsr.Header.Report_ID != "DSR" || len(dsr.Items) != 1 || dsr.Items[0].Item_ID["DOI"] != "10.5072/esrf.1" ||
		dsr.Items[0].Attrs[0].Performance["Total_Dataset_Requests"]["2026-05"] != 1 {
		t.Errorf("dsr %s", body)
	}
	// COUNTER exceptions for bad parameters.
	for q, code := range map[string]string{
		"end_date=2026-05-31":                                          `"Code": 3070`,
		"begin_date=2026-05-01&end_date=2026-04-30":                    `"Code": 3020`,
		"begin_date=2026-05-01&end_date=2026-05-31&access_method=Fast": `"Code": 3060`,
		"begin_date=2026-05-01&end_date=2026-05-31&granularity=Day":    `"Code": 3062`,
	} {
		if status, body := e.do("", "GET", "/api/v1/sushi/reports/dsr?"+q, ""); status != 400 || !strings.Contains(body, code) {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
	if status, body := e.do("", "GET", "/api/v1/sushi/reports/dsr?begin_date=2025-01&end_date=2025-02", ""); status != 200 || !strings.Contains(body, `"Code": 3030`) {
		t.Errorf("no usage: %d %s", status, body)
	}
	if status, body := e.do("", "GET", "/api/v1/sushi/status", ""); status != 200 || !strings.Contains(body, `"Service_Active": true`) {
		t.Errorf("status: %d %s", status, body)
	}
	if status, body := e.do("", "GET", "/api/v1/sushi/reports", ""); status != 200 || !strings.Contains(body, `"Report_ID": "DSR"`) {
		t.Errorf("reports: %d %s", status, body)
	}
}

func TestSUSHIWithoutAnalytics(t *testing.T) {
	e := newEnv(t, urlguard.Policy{})
	if status, body := e.do("", "GET", "/api/v1/sushi/reports/dsr?begin_date=2026-05&end_date=2026-05", ""); status != 503 || !strings.Contains(body, `"Code": 1000`) {
		t.Errorf("dsr: %d %s", status, body)
	}
	if status, body := e.do("", "GET", "/api/v1/sushi/status", ""); status != 200 || !strings.Contains(body, `"Service_Active": false`) {
		t.Errorf("status: %d %s", status, body)
	}
	if status, _ := e.do(opToken, "POST", "/api/v1/usage", `{"events":[]}`); status != 503 {
		t.Errorf("usage intake: %d", status)
	}
}
