package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
)

// ArtifactsEnv names the folder where tests keep what a person may want to
// look at after a run (the node page's screenshots); unset, they go to the
// test's temporary folder.
const ArtifactsEnv = "FAIRWAY_TEST_ARTIFACTS"

// pageCheck is what tools/node/page-check.mjs prints.
type pageCheck struct {
	Outside       []string
	ConsoleErrors []string
	PageErrors    []string
	Home          struct {
		Status       int
		ContentType  string
		Title        string
		Datasets     int
		AnalyticsOff bool
		Feeds        int
		Charts       []struct {
			Name   string
			Points int
			Total  float64
			SVG    bool
			Paths  int
			Rows   int
			Width  float64
		}
	}
	Search struct {
		URL   string
		Total int
		Hits  int
		Value string
		First *struct{ Title, Href string }
	}
	Dataset *struct {
		URL        string
		Title      string
		Quality    string
		Techniques int
		Formats    []string
		FormatType string
	}
}

// TestNodePageChromium runs a whole node (the demo feeds, embedded NATS,
// the analytics writer on the test ClickHouse), waits for the demo in the
// catalogue and in ClickHouse, and opens the node's page in headless
// Chromium (tools/node/page-check.mjs): the page renders with data in its
// charts, fetches nothing from elsewhere, its search form finds a dataset
// and the dataset's page shows its record. The screenshots are kept (see
// ArtifactsEnv).
func TestNodePageChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	tools := testenv.NodeTools(t)
	const records = 60
	chAddr := os.Getenv("FAIRWAY_CLICKHOUSE_ADDR")
	if chAddr == "" {
		chAddr = analytics.DefaultAddr
	}
	db := fmt.Sprintf("fairway_nodepage_%d", rand.Uint32())
	httpAddr := freePort(t)
	log, _ := testenv.CaptureLog()
	cfg := Config{
		Target: TargetAll, DataDir: t.TempDir(), HTTPAddr: httpAddr,
		Demo: true, DemoRecords: records, PaNET: testenv.PaNET(t), Ready: make(chan struct{}),
		ClickHouse: analytics.Config{Addr: chAddr, Database: db, FlushInterval: 200 * time.Millisecond},
	}
	cfg.Harvester.PollInterval = 100 * time.Millisecond
	ctx, stop := runUntilReady(t, cfg, log)
	defer stop()
	defer func() {
		if store, err := analytics.Open(context.Background(), analytics.Config{Addr: chAddr, Database: db}); err == nil {
			_ = store.DropDatabase(context.Background())
			store.Close()
		}
	}()
	base := "http://" + httpAddr

	corpus := DemoCorpus(records)
	live, query := 0, ""
	for i := range records {
		if r := corpus.Record(i); !r.Deleted {
			live++
			if query == "" {
				query = strings.Fields(r.Sample)[0]
			}
		}
	}
	// The demo harvested, in the catalogue and counted in ClickHouse.
	var home string
	waitFor(t, 3*time.Minute, "the demo on the node's page, in the catalogue and in the analytics", func() (bool, string) {
		home = getHTML(t, ctx, base+"/")
		facilities := chartAttr(home, "facilities", "data-total")
		timeline := chartAttr(home, "timeline", "data-total")
		return facilities == strconv.Itoa(live) && timeline == strconv.Itoa(live),
			fmt.Sprintf("facilities chart total %q, timeline total %q, want %d", facilities, timeline, live)
	})

	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "node-page.png")
	cmd := exec.CommandContext(ctx, "node", filepath.Join(tools, "page-check.mjs"), base, query, shot)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("page-check.mjs: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	t.Logf("page-check.mjs took %s; screenshots: %s and %s", time.Since(start).Round(time.Millisecond), shot, strings.TrimSuffix(shot, ".png")+"-dataset.png")
	var got pageCheck
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Outside) > 0 {
		t.Errorf("the pages asked for what is not on the node: %v", got.Outside)
	}
	if len(got.ConsoleErrors)+len(got.PageErrors) > 0 {
		t.Errorf("console errors %v, page errors %v", got.ConsoleErrors, got.PageErrors)
	}
	h := got.Home
	if h.Status != http.StatusOK || !strings.HasPrefix(h.ContentType, "text/html") || h.Datasets != live || h.AnalyticsOff || h.Feeds == 0 {
		t.Errorf("home: status %d, type %q, %d datasets (want %d), analytics off %v, %d feeds", h.Status, h.ContentType, h.Datasets, live, h.AnalyticsOff, h.Feeds)
	}
	// The charts that must have data; the dead letters' says there are
	// none.
	want := map[string]bool{"facilities": true, "techniques": true, "quality": true, "gaps": true, "lag": true, "timeline": true, "reuse": true}
	for _, c := range h.Charts {
		if c.Points == 0 && !want[c.Name] {
			continue
		}
		delete(want, c.Name)
		// Every chart draws its bars, each with a row of its table.
		if c.Points == 0 || !c.SVG || c.Paths < c.Points || c.Rows != c.Points || c.Width < 100 {
			t.Errorf("chart %s: %+v", c.Name, c)
		}
	}
	if len(want) > 0 {
		t.Errorf("no charts %v among %+v", want, h.Charts)
	}
	s := got.Search
	if s.Total == 0 || s.Hits == 0 || s.Value != query || !strings.Contains(s.URL, "q="+query) || s.First == nil || !strings.HasPrefix(s.First.Href, "/datasets/") {
		t.Errorf("search %q: %+v", query, s)
	}
	d := got.Dataset
	if d == nil || s.First == nil || d.Title != strings.TrimSpace(s.First.Title) || d.Quality == "" || d.Techniques == 0 || len(d.Formats) != 4 || !strings.HasPrefix(d.FormatType, "text/turtle") {
		t.Errorf("dataset page: %+v", d)
	}
	// A client that does not ask for HTML still gets the catalogue's RDF.
	if d != nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+strings.TrimPrefix(d.URL, base), nil)
		req.Header.Set("Accept", "application/ld+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/ld+json") {
			t.Errorf("JSON-LD of %s: %d %s", d.URL, resp.StatusCode, ct)
		}
	}
}

// getHTML returns the page at u as a browser asks for it ("" when it does
// not answer 200).
func getHTML(t *testing.T, ctx context.Context, u string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// chartAttr returns the attribute attr of the chart name in page.
func chartAttr(page, name, attr string) string {
	re := regexp.MustCompile(`<figure class="chart" data-chart="` + regexp.QuoteMeta(name) + `"[^>]*\s` + regexp.QuoteMeta(attr) + `="([^"]*)"`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}
