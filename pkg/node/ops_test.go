package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/natsembed"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics at addr and parses it: a malformed exposition
// fails the test.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// sum adds the values of a family's series whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total, true
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, d, last)
}

func readyz(addr string) (int, readiness, error) {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, readiness{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, readiness{}, err
	}
	var st readiness
	if err := json.Unmarshal(b, &st); err != nil {
		return resp.StatusCode, st, fmt.Errorf("readyz body %q: %w", b, err)
	}
	return resp.StatusCode, st, nil
}

// TestMetricsAfterDemoHarvest runs a whole node on an embedded JetStream,
// harvests the demo and checks the counters of /metrics by name and value.
func TestMetricsAfterDemoHarvest(t *testing.T) {
	const records = 60
	ops := make(chan string, 1)
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Target: TargetAll, DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", Demo: true, DemoRecords: records, DemoPageSize: 10,
		NoAnalytics: true, PaNET: testenv.PaNET(t), Ready: ready, OpsAddr: ops}
	cfg.Harvester.PollInterval = 200 * time.Millisecond
	log, _ := testenv.CaptureLog()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ops:
	case err := <-done:
		t.Fatalf("node stopped: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("node did not start")
	}
	<-ready

	var fams map[string]*dto.MetricFamily
	waitFor(t, 2*time.Minute, "the demo harvested and every consumer caught up", func() (bool, string) {
		fams = scrape(t, addr)
		harvested, _ := sum(fams, "fairway_harvest_records_total", nil)
		in, _ := sum(fams, "fairway_stage_messages_in_total", map[string]string{"stage": "normaliser"})
		// The stages' consumers (the analytics writer's wait: it is off).
		var pending, acks float64
		okP := true
		for _, c := range []string{"normaliser", "enricher", "publisher"} {
			p, ok := sum(fams, "fairway_consumer_pending_messages", map[string]string{"consumer": c})
			a, _ := sum(fams, "fairway_consumer_ack_pending_messages", map[string]string{"consumer": c})
			pending, acks, okP = pending+p, acks+a, okP && ok
		}
		published, _ := sum(fams, "fairway_stage_messages_in_total", map[string]string{"stage": "publisher"})
		msg := fmt.Sprintf("harvested %v, normaliser in %v, publisher in %v, pending %v, ack pending %v", harvested, in, published, pending, acks)
		return harvested == records && in == harvested && published > 0 && okP && pending == 0 && acks == 0, msg
	})
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"fairway_harvest_pages_total", nil, records / 10},
		{"fairway_harvest_bytes_total", nil, 1},
		{"fairway_stage_messages_out_total", map[string]string{"stage": "normaliser"}, 1},
		{"fairway_stage_processing_seconds", map[string]string{"stage": "enricher"}, 1},
		{"fairway_consumer_lag_up", nil, 1},
		{"go_goroutines", nil, 1},
		{"process_resident_memory_bytes", nil, 1},
	} {
		if v, ok := sum(fams, c.name, c.labels); !ok || v < c.min {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.name, c.labels, v, ok, c.min)
		}
	}
	if v, _ := sum(fams, "fairway_stage_messages_dead_lettered_total", nil); v != 0 {
		t.Errorf("dead-lettered %v messages of the demo", v)
	}
	// Each demo feed is a label of its own; no dataset key is.
	if f := fams["fairway_harvest_records_total"]; len(f.GetMetric()) != len(DemoFeeds("")) {
		t.Errorf("harvest records in %d series, want one per demo feed (%d)", len(f.GetMetric()), len(DemoFeeds("")))
	}
	// The HTTP counters know the route pattern, not the path.
	if _, err := http.Get("http://" + addr + "/catalogue/datasets/no-such-key-1234"); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, addr)
	for _, m := range fams["fairway_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "no-such-key") {
				t.Errorf("a route label holds the path: %q", l.GetValue())
			}
		}
	}
	if v, ok := sum(fams, "fairway_http_requests_total", map[string]string{"route": "GET /metrics", "code": "200"}); !ok || v < 1 {
		t.Errorf("GET /metrics counted %v times", v)
	}
	code, st, err := readyz(addr)
	if err != nil || code != http.StatusOK || !st.Ready {
		t.Errorf("readyz: %d %+v %v", code, st, err)
	}
	for _, name := range []string{"nats", "harvester", "normaliser", "enricher", "publisher", "catalogue", "read model"} {
		if c, ok := st.Components[name]; !ok || !c.OK || !c.Required {
			t.Errorf("readyz component %s: %+v (present %v)", name, c, ok)
		}
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReadyzFollowsNATS runs the normaliser as a service of its own
// against a NATS server that stops and comes back: /readyz says 503 with
// the reason while it is away, 200 again once it is back; /healthz says
// 200 throughout.
func TestReadyzFollowsNATS(t *testing.T) {
	dir := t.TempDir()
	natsAddr := freeLoopback(t)
	ecfg := natsembed.Config{StoreDir: filepath.Join(dir, "nats"), Listen: natsAddr, CredentialsFile: filepath.Join(dir, "creds")}
	ns, err := natsembed.Start(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown() })
	ops := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Target: TargetNormaliser, NATSURL: "nats://" + natsAddr, NATSCredentials: ecfg.CredentialsFile, OpsListen: "127.0.0.1:0", OpsAddr: ops}
	log, buf := testenv.CaptureLog()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, log) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("LOG:\n%s", buf.String())
		}
	})
	t.Cleanup(func() {
		cancel()
		if err := <-done; t.Failed() {
			t.Logf("the node returned: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ops:
	case err := <-done:
		t.Fatalf("node stopped: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("node did not start")
	}
	waitFor(t, 30*time.Second, "ready", func() (bool, string) {
		code, st, err := readyz(addr)
		return code == http.StatusOK && st.Ready, fmt.Sprintf("%d %+v %v", code, st, err)
	})

	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, 30*time.Second, "unready without NATS", func() (bool, string) {
		code, st, err := readyz(addr)
		return code == http.StatusServiceUnavailable && !st.Ready && !st.Components["nats"].OK && st.Components["nats"].Error != "",
			fmt.Sprintf("%d %+v %v", code, st, err)
	})
	if resp, err := http.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz without NATS: %v %v", resp, err)
	}
	// The metrics still answer, the lag marked as not collected.
	if v, ok := sum(scrape(t, addr), "fairway_consumer_lag_up", nil); !ok || v != 0 {
		t.Errorf("fairway_consumer_lag_up = %v (present %v) without NATS, want 0", v, ok)
	}

	ns2, err := natsembed.Start(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns2.Shutdown() })
	waitFor(t, time.Minute, "ready again once NATS is back", func() (bool, string) {
		code, st, err := readyz(addr)
		return code == http.StatusOK && st.Ready, fmt.Sprintf("%d %+v %v", code, st, err)
	})
}

// startNode runs cfg until the test ends and returns its ops address.
func startNode(t *testing.T, cfg Config) string {
	t.Helper()
	ops := make(chan string, 1)
	cfg.OpsAddr = ops
	ctx, cancel := context.WithCancel(context.Background())
	log, _ := testenv.CaptureLog()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, log) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case addr := <-ops:
		return addr
	case err := <-done:
		t.Fatalf("node stopped: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("node did not start")
	}
	return ""
}

// TestReadyzClickHouse: ClickHouse is required by the analytics service
// and only reported by the publisher, whose catalogue stays ready without
// it.
func TestReadyzClickHouse(t *testing.T) {
	dir := t.TempDir()
	natsAddr := freeLoopback(t)
	ecfg := natsembed.Config{StoreDir: filepath.Join(dir, "nats"), Listen: natsAddr, CredentialsFile: filepath.Join(dir, "creds")}
	ns, err := natsembed.Start(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown() })
	chAddr := os.Getenv("FAIRWAY_CLICKHOUSE_ADDR")
	if chAddr == "" {
		chAddr = analytics.DefaultAddr
	}
	away := freeLoopback(t) // nothing listens there
	for _, c := range []struct {
		name       string
		target     string
		clickHouse string
		code       int
		chOK       bool
		required   bool
	}{
		{"analytics with ClickHouse", TargetAnalytics, chAddr, http.StatusOK, true, true},
		{"analytics without ClickHouse", TargetAnalytics, away, http.StatusServiceUnavailable, false, true},
		{"publisher without ClickHouse", TargetPublisher, away, http.StatusOK, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Target: c.target, NATSURL: "nats://" + natsAddr, NATSCredentials: ecfg.CredentialsFile, OpsListen: "127.0.0.1:0",
				DataDir: t.TempDir(), ClickHouse: analytics.Config{Addr: c.clickHouse, Database: fmt.Sprintf("fairway_readyz_%d", time.Now().UnixNano()), DialTimeout: 500 * time.Millisecond}}
			if c.clickHouse == chAddr {
				// Registered first: runs after the node has stopped.
				t.Cleanup(func() {
					if s, err := analytics.Connect(context.Background(), cfg.ClickHouse); err == nil {
						_ = s.DropDatabase(context.Background())
						_ = s.Close()
					}
				})
			}
			addr := startNode(t, cfg)
			waitFor(t, 30*time.Second, "readyz", func() (bool, string) {
				code, st, err := readyz(addr)
				ch := st.Components["clickhouse"]
				return err == nil && code == c.code && ch.OK == c.chOK && ch.Required == c.required && st.Components["nats"].OK,
					fmt.Sprintf("%d %+v %v", code, st, err)
			})
		})
	}
}
