package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/node"
)

// TestFairwayUpDemo runs `fairway up --demo` as a user would and checks
// that GET /export returns valid Turtle with every live demo dataset.
func TestFairwayUpDemo(t *testing.T) {
	const records = 150
	corpus := node.DemoCorpus(records)
	live := 0
	for i := range records {
		if !corpus.Record(i).Deleted {
			live++
		}
	}
	httpAddr := freeAddr(t)
	p := start(t, "fairway", "up", "--demo", "--demo-records", fmt.Sprint(records), "--demo-page-size", "25",
		"--data", t.TempDir(), "--http", httpAddr, "--poll", "200ms",
		"--clickhouse", clickhouseAddr(), "--clickhouse-db", fmt.Sprintf("fairway_up_%d", rand.Uint32()),
		"--panet", testenv.PaNET(t))

	var body string
	eventually(t, 2*time.Minute, "the demo datasets in GET /export", func() (bool, string) {
		resp, err := httpClient.Get("http://" + httpAddr + "/export")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("%d %v", resp.StatusCode, err)
		}
		body = string(b)
		n, err := parseDatasets(body)
		if err != nil {
			return false, "invalid Turtle: " + err.Error()
		}
		return n >= live, fmt.Sprintf("%d datasets", n)
	})
	if n := countDatasets(t, body); n != live {
		t.Errorf("catalogue describes %d datasets, want %d", n, live)
	}
	if !strings.Contains(body, "http://purl.org/pan-science/PaNET/PaNET") {
		t.Error("catalogue has no PaNET technique")
	}

	// The demo's feed API, through the CLI: open to writes on loopback.
	server := "http://" + httpAddr
	if out := string(run(t, "fairway", "feeds", "list", "--server", server)); !strings.Contains(out, "demo-esrf") || !strings.Contains(out, "demo-desy") {
		t.Errorf("feeds list:\n%s", out)
	}
	var demo struct{ URL string }
	if err := json.Unmarshal(run(t, "fairway", "feeds", "show", "demo-esrf", "--server", server), &demo); err != nil || demo.URL == "" {
		t.Fatalf("feeds show: %+v %v", demo, err)
	}
	out := string(run(t, "fairway", "harvest", "demo-esrf", "--full", "--server", server, "--interval", "100ms", "--timeout", "1m"))
	if !strings.Contains(out, "requested (the whole list)") || !strings.Contains(out, " complete: ") {
		t.Errorf("harvest:\n%s", out)
	}
	_, stderr, err := runResult(nil, "fairway", "feeds", "add", "--server", server, "--id", "extra", "--facility", "ESRF",
		"--url", demo.URL, "--format", "marc21")
	if err == nil || !strings.Contains(stderr, `metadata format "marc21" is not offered`) {
		t.Errorf("adding a feed in a format the source lacks: %v\n%s", err, stderr)
	}
	run(t, "fairway", "feeds", "add", "--server", server, "--id", "extra", "--facility", "ESRF", "--url", demo.URL, "--format", "oai_dc", "--set", "esrf", "--disabled")
	if !strings.Contains(p.out.String(), "writes are open") {
		t.Error("the log does not say that the demo's API is open")
	}
	if err := p.stop(t); err != nil {
		t.Errorf("fairway up exited with %v after SIGTERM", err)
	}
}
