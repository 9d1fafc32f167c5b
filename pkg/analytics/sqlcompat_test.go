package analytics

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSQLRunsOnCurrentReleases reads the package's SQL for what ClickHouse
// 18.16 (the version CI runs) accepts and current releases refuse: ANY
// FULL and ANY RIGHT joins ("not implemented" there without
// any_join_distinct_right_table_keys). CI cannot run a current release, so
// this keeps such SQL from reaching one.
func TestSQLRunsOnCurrentReleases(t *testing.T) {
	refused := regexp.MustCompile(`(?i)\bANY\s+(GLOBAL\s+)?(FULL|RIGHT)(\s+OUTER)?\s+JOIN\b`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if refused.MatchString(line) {
				t.Errorf("%s:%d: %s: current ClickHouse releases refuse ANY FULL/RIGHT JOIN; use ALL", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
