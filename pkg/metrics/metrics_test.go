package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type lagSource struct {
	calls int
	lags  []bus.ConsumerLag
	err   error
}

func (s *lagSource) ConsumerLags(ctx context.Context) ([]bus.ConsumerLag, error) {
	s.calls++
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("no deadline")
	}
	return s.lags, s.err
}

func exposition(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String())); err != nil {
		t.Fatalf("malformed exposition: %v", err)
	}
	return rec.Body.String()
}

func TestObserverCounters(t *testing.T) {
	for _, c := range []struct {
		name                  string
		outcome               bus.Outcome
		emitted               int
		in, out, failed, dead float64
	}{
		{"ok", bus.OutcomeOK, 2, 1, 2, 0, 0},
		{"failed", bus.OutcomeFailed, 0, 1, 0, 1, 0},
		{"dead-lettered", bus.OutcomeDeadLettered, 0, 1, 0, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := New()
			m.Handled(bus.StageNormaliser, time.Millisecond, c.emitted, c.outcome)
			for _, v := range []struct {
				name string
				got  float64
				want float64
			}{
				{"in", testutil.ToFloat64(m.messagesIn.WithLabelValues("normaliser")), c.in},
				{"out", testutil.ToFloat64(m.messagesOut.WithLabelValues("normaliser")), c.out},
				{"failed", testutil.ToFloat64(m.messagesFailed.WithLabelValues("normaliser")), c.failed},
				{"dead", testutil.ToFloat64(m.deadLettered.WithLabelValues("normaliser")), c.dead},
			} {
				if v.got != v.want {
					t.Errorf("%s = %v, want %v", v.name, v.got, v.want)
				}
			}
			exposition(t, m)
		})
	}
}

func TestBatchAndHarvestCounters(t *testing.T) {
	m := New()
	m.Batch(bus.StageAnalytics, 10, 20, time.Millisecond, nil) // 10 messages, 20 rows
	m.Batch(bus.StageAnalytics, 4, 8, time.Millisecond, errors.New("clickhouse away"))
	m.DeadLettered(bus.StageAnalytics)
	m.Delivered("eosc", "pushed")
	m.Delivered("eosc", "pushed")
	m.Delivered("eosc", "failed")
	m.HarvestPage("feed-a", 1, 25, 1000, 2)
	m.HarvestPage("feed-a", 1, 5, 200, -1) // a list restarted: never a negative count
	if got := testutil.ToFloat64(m.batches.WithLabelValues("analytics")); got != 1 {
		t.Errorf("batches %v", got)
	}
	if got := testutil.ToFloat64(m.batchRows.WithLabelValues("analytics")); got != 20 {
		t.Errorf("rows %v, want the 20 rows written", got)
	}
	if got := testutil.ToFloat64(m.batchMessages.WithLabelValues("analytics")); got != 10 {
		t.Errorf("messages %v, want the 10 of the batch written", got)
	}
	if got := testutil.ToFloat64(m.deadLettered.WithLabelValues("analytics")); got != 1 {
		t.Errorf("dead letters of the batch stage %v", got)
	}
	if got := testutil.ToFloat64(m.batchFailures.WithLabelValues("analytics")); got != 1 {
		t.Errorf("failures %v", got)
	}
	if got := testutil.ToFloat64(m.harvestRecords.WithLabelValues("feed-a")); got != 30 {
		t.Errorf("records %v", got)
	}
	if got := testutil.ToFloat64(m.pushes.WithLabelValues("eosc", "pushed")); got != 2 {
		t.Errorf("pushes %v", got)
	}
	if got := testutil.ToFloat64(m.pushes.WithLabelValues("eosc", "failed")); got != 1 {
		t.Errorf("push failures %v", got)
	}
	if got := testutil.ToFloat64(m.retries.WithLabelValues("feed-a")); got != 2 {
		t.Errorf("retries %v", got)
	}
}

func TestReplayCounters(t *testing.T) {
	m := New()
	r := bus.Replay{ID: "r1", Stage: bus.StageEnricher, State: bus.ReplayRunning, Total: 5, Read: 2}
	m.ReplayProgress(r, true)
	for _, o := range []bus.ReplayOutcome{bus.ReplayedChanged, bus.ReplayedChanged, bus.ReplayedRefused} {
		events := 0
		if o == bus.ReplayedChanged {
			events = 2
		}
		m.Replayed(bus.StageEnricher, o, events)
	}
	body := exposition(t, m)
	for _, want := range []string{
		`fairway_replay_running{stage="enricher"} 1`,
		`fairway_replay_keys{stage="enricher"} 5`,
		`fairway_replay_keys_read{stage="enricher"} 2`,
		`fairway_replay_keys_total{outcome="changed",stage="enricher"} 2`,
		`fairway_replay_keys_total{outcome="refused",stage="enricher"} 1`,
		`fairway_replay_events_total{stage="enricher"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
	r.State = bus.ReplayRetrying
	m.ReplayProgress(r, false)
	r.State, r.Read = bus.ReplayFailed, 3
	m.ReplayProgress(r, false)
	body = exposition(t, m)
	for _, want := range []string{
		`fairway_replay_running{stage="enricher"} 0`,
		`fairway_replay_keys_read{stage="enricher"} 3`,
		`fairway_replay_attempts_failed_total{stage="enricher"} 1`,
		`fairway_replays_total{stage="enricher",state="failed"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
}

func TestLagCollectedOnScrapeAndCached(t *testing.T) {
	src := &lagSource{lags: []bus.ConsumerLag{{Stream: bus.Raw, Consumer: "normaliser", Pending: 7, AckPending: 2}}}
	m := New()
	if err := m.RegisterLag(src, LagConfig{CacheFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	body := exposition(t, m)
	for _, want := range []string{
		`fairway_consumer_pending_messages{consumer="normaliser",stream="FAIRWAY_RAW"} 7`,
		`fairway_consumer_ack_pending_messages{consumer="normaliser",stream="FAIRWAY_RAW"} 2`,
		"fairway_consumer_lag_up 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
	exposition(t, m)
	if src.calls != 1 {
		t.Errorf("lag read %d times in two scrapes within the cache time, want 1", src.calls)
	}

	failing := &lagSource{err: errors.New("nats away")}
	m = New()
	if err := m.RegisterLag(failing, LagConfig{}); err != nil {
		t.Fatal(err)
	}
	if body := exposition(t, m); !strings.Contains(body, "fairway_consumer_lag_up 0") {
		t.Errorf("a failed lag read is not reported:\n%s", body)
	}
	if err := New().RegisterLag(src, LagConfig{Timeout: -1}); err == nil {
		t.Error("a negative timeout is accepted")
	}
}

func TestHTTPMiddlewareLabelsRoutePatterns(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /datasets/{key}", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	m := New()
	h := m.HTTP(mux)
	for _, c := range []struct{ path, route, code string }{
		{"/datasets/some-key", "GET /datasets/{key}", "404"},
		{"/datasets/another-key", "GET /datasets/{key}", "404"},
		{"/ok", "GET /ok", "200"},
		{"/nowhere", "unmatched", "404"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, c.path, nil))
	}
	for _, c := range []struct {
		route, code string
		want        float64
	}{
		{"GET /datasets/{key}", "404", 2},
		{"GET /ok", "200", 1},
		{"unmatched", "404", 1},
	} {
		if got := testutil.ToFloat64(m.httpRequests.WithLabelValues(c.route, c.code)); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.route, c.code, got, c.want)
		}
	}
	if body := exposition(t, m); strings.Contains(body, "some-key") {
		t.Error("a path reached a label")
	}
}
