package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// clock is a settable time for a Limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestLimiter(t *testing.T, cfg Config) (*Limiter, *clock) {
	t.Helper()
	l, err := New(cfg, ClientAddress)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	l.now = clk.now
	return l, clk
}

// serve sends one request from addr through l's handler and returns the
// answer.
func serve(h http.Handler, addr string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestRateLimitHandler sends bursts from two clients: beyond its burst a
// client gets 429 with Retry-After, the other one is served, and tokens
// come back at the rate.
func TestRateLimitHandler(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		burst int
		// retry is the Retry-After expected on the first 429.
		retry string
		// refill is how long one token takes to come back.
		refill time.Duration
	}{
		{"defaults", Config{}, DefaultBurst, "1", 100 * time.Millisecond},
		{"slow", Config{Rate: 0.25, Burst: 3}, 3, "4", 4 * time.Second},
		{"burst of one", Config{Rate: 2, Burst: 1}, 1, "1", 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clk := newTestLimiter(t, tt.cfg)
			served := 0
			h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served++ }))
			for i := range tt.burst {
				if w := serve(h, "192.0.2.1:1000"); w.Code != http.StatusOK {
					t.Fatalf("request %d within the burst: %d", i+1, w.Code)
				}
			}
			w := serve(h, "192.0.2.1:1001") // another port, the same client
			if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != tt.retry {
				t.Fatalf("beyond the burst: %d, Retry-After %q, want 429 and %q", w.Code, w.Header().Get("Retry-After"), tt.retry)
			}
			if served != tt.burst {
				t.Errorf("the handler ran %d times, want %d", served, tt.burst)
			}
			if w := serve(h, "198.51.100.7:1000"); w.Code != http.StatusOK {
				t.Errorf("a second client: %d, want 200", w.Code)
			}
			// A refused request takes no token: one refill later, one
			// more request passes, and only one.
			clk.advance(tt.refill)
			if w := serve(h, "192.0.2.1:1000"); w.Code != http.StatusOK {
				t.Errorf("after a refill: %d, want 200", w.Code)
			}
			if w := serve(h, "192.0.2.1:1000"); w.Code != http.StatusTooManyRequests {
				t.Errorf("second request after one refill: %d, want 429", w.Code)
			}
		})
	}
}

// TestRateLimitEviction checks that the map of buckets stays bounded: idle
// clients are forgotten once their bucket is full again, and a flood of
// new clients beyond MaxClients shares one bucket.
func TestRateLimitEviction(t *testing.T) {
	l, clk := newTestLimiter(t, Config{Rate: 10, Burst: 5, MaxClients: 100})
	// Idle for the refill time (5/10 s): forgotten when the next new client
	// comes; a client seen since is kept.
	for i := range 50 {
		l.Allow(fmt.Sprintf("a%d", i))
	}
	clk.advance(300 * time.Millisecond)
	l.Allow("a0")
	clk.advance(200 * time.Millisecond)
	l.Allow("b")
	if n := l.Clients(); n != 2 {
		t.Errorf("after the idle ones were forgotten: %d clients, want 2 (a0 and b)", n)
	}
	// A client that is not idle keeps its bucket: a0, drained, is still
	// refused after new clients came.
	for ok := true; ok; ok, _ = l.Allow("a0") {
	}
	l.Allow("c")
	if ok, _ := l.Allow("a0"); ok {
		t.Error("a drained client was let through after a new client came")
	}

	// A flood of distinct clients at one instant: the map stops at
	// MaxClients, and the rest share the overflow bucket.
	refused := 0
	for i := range 1000 {
		if ok, _ := l.Allow("flood" + strconv.Itoa(i)); !ok {
			refused++
		}
	}
	if n := l.Clients(); n != 100 {
		t.Errorf("after a flood: %d clients, want MaxClients (100)", n)
	}
	// 97 flood clients got buckets of their own (beside a0, b and c); the
	// other 903 shared one bucket of 5.
	if want := 1000 - 97 - 5; refused != want {
		t.Errorf("flood: %d refused, want %d", refused, want)
	}
	// A known client is unaffected by the flood.
	if ok, _ := l.Allow("b"); !ok {
		t.Error("a known client refused during the flood")
	}
	// Once idle, the flood is forgotten.
	clk.advance(time.Second)
	l.Allow("d")
	if n := l.Clients(); n != 1 {
		t.Errorf("after the flood went idle: %d clients, want 1", n)
	}
}

func TestClientAddress(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.1:5000", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:5000", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"192.0.2.9", "192.0.2.9"},
		{"@", "@"},
		{"", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
		if got := ClientAddress(r); got != tt.want {
			t.Errorf("ClientAddress(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

func TestRateLimitConfig(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Rate: 0.5, Burst: 1, MaxClients: 1}, true},
		{Config{Rate: -1}, false},
		{Config{Burst: -1}, false},
		{Config{MaxClients: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate = %v, want ok %v", tt.cfg, err, tt.ok)
		}
		if _, err := New(tt.cfg, ClientAddress); (err == nil) != tt.ok {
			t.Errorf("%+v: New = %v, want ok %v", tt.cfg, err, tt.ok)
		}
	}
	l, err := New(Config{}, ClientAddress)
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Config(); c.Rate != DefaultRate || c.Burst != DefaultBurst || c.MaxClients != DefaultMaxClients {
		t.Errorf("defaults: %+v", c)
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New without a key function passed")
	}
}

// BenchmarkAllow measures one client's requests.
func BenchmarkAllow(b *testing.B) {
	l, err := New(Config{Rate: 1e9, Burst: 1 << 30}, ClientAddress)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		l.Allow("192.0.2.1")
	}
}

// BenchmarkAllowFlood measures requests from ever new addresses: the map
// stays at MaxClients.
func BenchmarkAllowFlood(b *testing.B) {
	l, err := New(Config{}, ClientAddress)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		l.Allow("flood" + strconv.Itoa(i))
		i++
	}
	if n := l.Clients(); n > DefaultMaxClients {
		b.Fatalf("%d clients kept, more than %d", n, DefaultMaxClients)
	}
	b.ReportMetric(float64(l.Clients()), "clients")
}
