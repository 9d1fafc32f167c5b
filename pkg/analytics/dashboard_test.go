package analytics

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dashboardFile is the Grafana dashboard of deploy/grafana.
const dashboardFile = "../../deploy/grafana/dashboards/fairway.json"

// grafanaDashboard is what the test reads of a dashboard.
type grafanaDashboard struct {
	Panels []struct {
		Title      string `json:"title"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			RawSQL string `json:"rawSql"`
		} `json:"targets"`
	} `json:"panels"`
}

var (
	timeFilter = regexp.MustCompile(`\$__timeFilter\(([^()]*(?:\([^()]*\))?[^()]*)\)`)
	// fairwayTable is a table of the database the dashboard names.
	fairwayTable = regexp.MustCompile(`\bfairway\.([a-z_]+)\b`)
)

// expandMacros does what the ClickHouse data source does with the macros
// the dashboard uses, for the range [from, to], and points the tables at db.
func expandMacros(sql, db string, from, to time.Time) string {
	sql = timeFilter.ReplaceAllString(sql, fmt.Sprintf("$1 >= toDateTime(%d) AND $1 <= toDateTime(%d)", from.Unix(), to.Unix()))
	sql = strings.NewReplacer("$__fromTime", fmt.Sprintf("toDateTime(%d)", from.Unix()),
		"$__toTime", fmt.Sprintf("toDateTime(%d)", to.Unix())).Replace(sql)
	return fairwayTable.ReplaceAllString(sql, db+".$1")
}

// TestDashboardPanelsRun runs the SQL of every panel of the Grafana
// dashboard against the real ClickHouse, over the stats fixture, so that a
// schema change cannot break the dashboard unseen; the panels over the
// catalogue and the harvests must find rows.
func TestDashboardPanelsRun(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if len(d.Panels) < 10 {
		t.Fatalf("%d panels", len(d.Panels))
	}
	s := openTestStore(t, Config{})
	fillStats(t, s)
	from, to := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mustFind := regexp.MustCompile(`\.(datasets|harvest_runs|usage_monthly|dataset_citations)\b`)
	for _, p := range d.Panels {
		t.Run(p.Title, func(t *testing.T) {
			if p.Datasource.Type != "grafana-clickhouse-datasource" || p.Datasource.UID != "fairway-clickhouse" {
				t.Fatalf("data source %+v", p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Fatal("no query")
			}
			for _, tg := range p.Targets {
				sql := expandMacros(tg.RawSQL, s.db, from, to)
				if strings.Contains(sql, "$") || strings.Contains(sql, "fairway.") {
					t.Fatalf("unexpanded macro or table left:\n%s", sql)
				}
				rows, err := s.conn.Query(testContext(t), sql)
				if err != nil {
					t.Fatalf("%v\n%s", err, sql)
				}
				n := 0
				for rows.Next() {
					n++
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				rows.Close()
				if n == 0 && mustFind.MatchString(sql) {
					t.Fatalf("no rows from the fixture:\n%s", sql)
				}
			}
		})
	}
}
