package node

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
)

// TestAnalyticsMigrateCommand runs `fairway analytics migrate` against the
// test ClickHouse: a dry run lists every migration as pending and changes
// nothing, a run applies them, and a second run finds them applied.
func TestAnalyticsMigrateCommand(t *testing.T) {
	addr := os.Getenv("FAIRWAY_CLICKHOUSE_ADDR")
	if addr == "" {
		addr = analytics.DefaultAddr
	}
	db := fmt.Sprintf("fairway_cli_%d", rand.Uint32())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if s, err := analytics.Connect(context.Background(), analytics.Config{Addr: addr, Database: db}); err == nil {
			_ = s.DropDatabase(context.Background())
			_ = s.Close()
		}
	})
	run := func(args ...string) string {
		t.Helper()
		cmd := AnalyticsCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"migrate", "--clickhouse", addr, "--clickhouse-db", db}, args...))
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("migrate %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	n := len(analytics.Migrations())
	out := run("--dry-run")
	if strings.Count(out, "pending") != n || !strings.Contains(out, "CREATE TABLE IF NOT EXISTS `"+db+"`.datasets") {
		t.Fatalf("dry run:\n%s", out)
	}
	if out := run(); strings.Count(out, "applied now") != n {
		t.Fatalf("first run:\n%s", out)
	}
	if out := run(); strings.Count(out, "applied 20") != n || strings.Contains(out, "applied now") {
		t.Fatalf("second run:\n%s", out)
	}
}
