package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/node"
)

// httpGet returns the body of a 200 answer.
func httpGet(url string) ([]byte, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", resp.Status, b)
	}
	return b, err
}

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

	// What the node serves is DCAT-AP 3.0.1 as the official shapes define
	// it, judged by a SHACL validator nobody here wrote: the export, a
	// page, the changes feed (deletions included) and one dataset, in
	// Turtle and JSON-LD.
	dir := t.TempDir()
	for i, doc := range []struct{ path, ext string }{
		{"/export", "ttl"}, {"/export?format=jsonld", "jsonld"}, {"/catalogue?pageSize=50&page=2", "ttl"},
		{"/catalogue/esrf?format=rdfxml", "rdf"}, {"/changes?since=0&pageSize=1000", "ttl"}, {"/doi/" + corpus.Record(0).DOI, "ttl"},
	} {
		b, err := httpGet("http://" + httpAddr + doc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", doc.path, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("doc%d.%s", i, doc.ext))
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if report, bad := testenv.SHACL(t, file); bad {
			t.Errorf("GET %s is not valid DCAT-AP 3.0.1:\n%s", doc.path, report)
		}
	}

	// The PaNOSC search API is mounted: every live dataset counts, and a
	// filtered page holds datasets of the asked facility's instruments.
	b, err := httpGet("http://" + httpAddr + "/panosc-api/datasets/count")
	var count struct{ Count int }
	if err != nil || json.Unmarshal(b, &count) != nil || count.Count != live {
		t.Errorf("GET /panosc-api/datasets/count = %s %v, want %d", b, err, live)
	}
	filter := url.QueryEscape(`{"limit":3,"include":["instrument"]}`)
	b, err = httpGet("http://" + httpAddr + "/panosc-api/datasets?filter=" + filter)
	var datasets []struct{ Pid, Title string }
	if err != nil || json.Unmarshal(b, &datasets) != nil || len(datasets) != 3 || datasets[0].Pid == "" {
		t.Errorf("GET /panosc-api/datasets?filter=%s = %s %v", filter, b, err)
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
