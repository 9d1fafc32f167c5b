package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/spf13/cobra"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
)

const statsSAXS = analytics.PaNETBase + "PaNET01188"

// statsTestConfig fills a database of its own (dropped at the end) on the
// test ClickHouse with three datasets, one of them withdrawn:
//
//	doi:10.1/a  ESRF  SAXS  quality 0.5  open
//	doi:10.1/b  ESRF  withdrawn (tombstone after a first version)
//	doi:10.1/c  ILL         quality 0.25 restricted
func statsTestConfig(t *testing.T) analytics.Config {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cfg := analytics.Config{Addr: os.Getenv("FAIRWAY_CLICKHOUSE_ADDR"), Database: "fairway_test_" + hex.EncodeToString(b[:])}
	if cfg.Addr == "" {
		cfg.Addr = analytics.DefaultAddr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := analytics.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("ClickHouse at %s (scripts/clickhouse.sh start): %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{cfg.Addr}})
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database); err != nil {
			t.Error(err)
		}
	})
	ds := func(key, facility string, version uint64, deleted bool, quality float64, access string, techniques ...string) analytics.DatasetRow {
		labels := make([]string, len(techniques))
		for i := range labels {
			labels[i] = "small angle scattering"
		}
		return analytics.DatasetRow{Key: key, DOI: strings.TrimPrefix(key, "doi:"), Facility: facility, FeedID: strings.ToLower(facility) + "-oai",
			Title: "Dataset " + key, Issued: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), AccessRights: access, Techniques: techniques,
			TechniqueLabels: labels, TechniquesAll: techniques, Quality: quality, Deleted: deleted, ContentHash: key, Version: version,
			PublishedAt: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}
	}
	if err := s.InsertDatasets(ctx, []analytics.DatasetRow{
		ds("doi:10.1/a", "ESRF", 1, false, 0.5, "open", statsSAXS),
		ds("doi:10.1/b", "ESRF", 2, false, 0.9, "open", statsSAXS),
		ds("doi:10.1/c", "ILL", 3, false, 0.25, "restricted"),
		ds("doi:10.1/b", "ESRF", 4, true, 0, ""),
	}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startStatsAPI serves the API with stats read from cfg (none when nil).
func startStatsAPI(t *testing.T, cfg *analytics.Config) *httptest.Server {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	access, err := api.NewAccess(api.TokensFile{Operator: []string{cliOperatorToken}})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	acfg := api.Config{Access: access, Checker: checker}
	if cfg != nil {
		r, err := analytics.NewReader(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		acfg.Stats = r
	}
	h, err := api.New(acfg, testenv.Bus(t), log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// TestStatsHTTP: /api/v1/stats/{name} answers JSON by default and CSV when
// asked, without a token; a miss says why.
func TestStatsHTTP(t *testing.T) {
	cfg := statsTestConfig(t)
	srv := startStatsAPI(t, &cfg)
	off := startStatsAPI(t, nil)
	const holdingsCSV = "facility,datasets,open,with_doi,with_technique,mean_quality\nESRF,1,1,1,1,0.5\nILL,1,0,1,0,0.25\n"
	tests := []struct {
		name, url, accept string
		status            int
		ctype             string
		want              string // the body, or a part of it for JSON
	}{
		{"JSON by default", srv.URL + "/api/v1/stats/holdings", "", 200, "application/json",
			`"rows": [` + "\n" + `    [` + "\n" + `      "ESRF",` + "\n" + `      1,`},
		{"CSV by Accept", srv.URL + "/api/v1/stats/holdings", "text/csv", 200, "text/csv", holdingsCSV},
		{"CSV by format", srv.URL + "/api/v1/stats/holdings?format=csv", "application/json", 200, "text/csv", holdingsCSV},
		{"JSON when preferred", srv.URL + "/api/v1/stats/holdings", "application/json, text/csv", 200, "application/json", `"stat": "holdings"`},
		{"technique rolled up", srv.URL + "/api/v1/stats/techniques?format=csv", "", 200, "text/csv",
			"technique,label,datasets,direct,facilities\n" + statsSAXS + ",small angle scattering,1,1,1\n"},
		{"facility filter", srv.URL + "/api/v1/stats/holdings?facility=ill&format=csv", "", 200, "text/csv",
			"facility,datasets,open,with_doi,with_technique,mean_quality\nILL,1,0,1,0,0.25\n"},
		{"unknown statistic", srv.URL + "/api/v1/stats/popularity", "", 404, "application/json", "want one of holdings, techniques"},
		{"unknown technique", srv.URL + "/api/v1/stats/holdings?technique=PaNET09999", "", 404, "application/json", "no dataset of this node carries"},
		{"not a technique", srv.URL + "/api/v1/stats/holdings?technique=saxs", "", 400, "application/json", "want a PaNET id"},
		{"bad limit", srv.URL + "/api/v1/stats/holdings?limit=0", "", 400, "application/json", "limit"},
		{"bad date", srv.URL + "/api/v1/stats/timeline?since=yesterday", "", 400, "application/json", "since"},
		{"bad format", srv.URL + "/api/v1/stats/timeline?format=xml", "", 400, "application/json", "want json or csv"},
		{"no ClickHouse", off.URL + "/api/v1/stats/holdings", "", 503, "application/json", "ClickHouse is not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Fatalf("content type = %q, want %s", ct, tt.ctype)
			}
			if tt.ctype == "text/csv" {
				if string(body) != tt.want {
					t.Fatalf("body:\n%s\nwant:\n%s", body, tt.want)
				}
				return
			}
			if !json.Valid(body) || !strings.Contains(string(body), tt.want) {
				t.Fatalf("body lacks %q:\n%s", tt.want, body)
			}
		})
	}
}

// TestStatsCLI: `fairway stats` prints an aligned table, CSV and JSON.
func TestStatsCLI(t *testing.T) {
	cfg := statsTestConfig(t)
	srv := startStatsAPI(t, &cfg)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"table", []string{"stats", "holdings"},
			"FACILITY  DATASETS  OPEN  WITH_DOI  WITH_TECHNIQUE  MEAN_QUALITY\n" +
				"ESRF      1         1     1         1               0.5\n" +
				"ILL       1         0     1         0               0.25\n"},
		{"csv", []string{"stats", "holdings", "--format", "csv", "--facility", "ESRF"},
			"facility,datasets,open,with_doi,with_technique,mean_quality\nESRF,1,1,1,1,0.5\n"},
		{"json", []string{"stats", "quality", "--format", "json"}, `{
  "stat": "quality",
  "columns": [
    {
      "name": "facility",
      "kind": "string"
    },
    {
      "name": "bucket",
      "kind": "string"
    },
    {
      "name": "from",
      "kind": "float"
    },
    {
      "name": "to",
      "kind": "float"
    },
    {
      "name": "datasets",
      "kind": "int"
    }
  ],
  "rows": [
    [
      "ESRF",
      "0.5-0.6",
      0.5,
      0.6,
      1
    ],
    [
      "ILL",
      "0.2-0.3",
      0.2,
      0.3,
      1
    ]
  ]
}
`},
		{"empty table", []string{"stats", "holdings", "--technique", "PaNET01188", "--facility", "ILL"},
			"FACILITY  DATASETS  OPEN  WITH_DOI  WITH_TECHNIQUE  MEAN_QUALITY\n(no rows)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runStatsCLI(t, append(tt.args, "--server", srv.URL)...)
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.want {
				t.Fatalf("output:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
	for _, args := range [][]string{
		{"stats", "holdings", "--format", "xml"},
		{"stats", "holdings", "--technique", "PaNET09999"},
	} {
		if _, err := runStatsCLI(t, append(args, "--server", srv.URL)...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func runStatsCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "fairway", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(StatsCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}
