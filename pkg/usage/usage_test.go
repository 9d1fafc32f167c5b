package usage

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testHasher(t *testing.T) *Hasher {
	t.Helper()
	h, err := NewHasher([]byte("0123456789abcdef-test-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var now = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

func TestIntakeEvent(t *testing.T) {
	in := NewIntake(testHasher(t), nil)
	in.now = func() time.Time { return now }
	good := Input{Dataset: "10.5072/ESRF.1", Time: now.Add(-time.Hour), Kind: Request, Session: "a1b2", AccessMethod: "regular", Country: "fr"}
	tests := []struct {
		name   string
		edit   func(*Input)
		reason string // "" valid
		check  func(*testing.T, Event)
	}{
		{name: "valid", edit: func(*Input) {}, check: func(t *testing.T, e Event) {
			if e.Dataset != "doi:10.5072/esrf.1" || e.Country != "FR" || e.AccessMethod != Regular || e.Client != Human || e.Status != 200 || e.Source != "api:ESRF" {
				t.Errorf("event %+v", e)
			}
			if e.Session == "" || strings.Contains(e.Session, "a1b2") || len(e.ID) != 32 {
				t.Errorf("session %q id %q", e.Session, e.ID)
			}
		}},
		{name: "resolver DOI", edit: func(i *Input) { i.Dataset = "https://doi.org/10.5072/esrf.1" }, check: func(t *testing.T, e Event) {
			if e.Dataset != "doi:10.5072/esrf.1" {
				t.Errorf("dataset %q", e.Dataset)
			}
		}},
		{name: "source key", edit: func(i *Input) { i.Dataset = "src:ESRF:oai:esrf:42" }, check: func(t *testing.T, e Event) {
			if e.Dataset != "src:esrf:oai:esrf:42" {
				t.Errorf("dataset %q", e.Dataset)
			}
		}},
		{name: "curl is machine", edit: func(i *Input) { i.UserAgent = "curl/8.5.0" }, check: func(t *testing.T, e Event) {
			if e.AccessMethod != Machine || e.Robot {
				t.Errorf("event %+v", e)
			}
		}},
		{name: "crawler is robot", edit: func(i *Input) { i.UserAgent = "Mozilla/5.0 (compatible; Googlebot/2.1)" }, check: func(t *testing.T, e Event) {
			if !e.Robot || e.Counted() {
				t.Errorf("event %+v", e)
			}
		}},
		{name: "agent", edit: func(i *Input) { i.UserAgent = "Mozilla/5.0 ChatGPT-User/1.0" }, check: func(t *testing.T, e Event) {
			if e.Client != Agent || e.Robot {
				t.Errorf("event %+v", e)
			}
		}},
		{name: "failed answer kept, not counted", edit: func(i *Input) { i.Status = 404 }, check: func(t *testing.T, e Event) {
			if e.Counted() {
				t.Error("a 404 counts")
			}
		}},
		{name: "no dataset", edit: func(i *Input) { i.Dataset = "" }, reason: "dataset: missing"},
		{name: "not a DOI", edit: func(i *Input) { i.Dataset = "hello" }, reason: "neither a DOI"},
		{name: "huge dataset", edit: func(i *Input) { i.Dataset = "10.5072/" + strings.Repeat("x", MaxDatasetBytes) }, reason: "at most 2048"},
		{name: "control character", edit: func(i *Input) { i.Dataset = "10.5072/a\x00b" }, reason: "printable"},
		{name: "no time", edit: func(i *Input) { i.Time = time.Time{} }, reason: "time: missing"},
		{name: "future", edit: func(i *Input) { i.Time = now.Add(time.Hour) }, reason: "in the future"},
		{name: "slightly ahead", edit: func(i *Input) { i.Time = now.Add(time.Minute) }},
		{name: "ancient", edit: func(i *Input) { i.Time = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC) }, reason: "before 2000"},
		{name: "kind", edit: func(i *Input) { i.Kind = "download" }, reason: "kind"},
		{name: "access method", edit: func(i *Input) { i.AccessMethod = "tdm" }, reason: "access_method"},
		{name: "client", edit: func(i *Input) { i.Client = "robot" }, reason: "client"},
		{name: "country", edit: func(i *Input) { i.Country = "XX" }, reason: "country"},
		{name: "country word", edit: func(i *Input) { i.Country = "France" }, reason: "country"},
		{name: "status", edit: func(i *Input) { i.Status = 9999 }, reason: "status"},
		{name: "long session", edit: func(i *Input) { i.Session = strings.Repeat("s", MaxSessionBytes+1) }, reason: "session"},
		{name: "long id", edit: func(i *Input) { i.ID = strings.Repeat("i", MaxIDBytes+1) }, reason: "id"},
		{name: "long user agent", edit: func(i *Input) { i.UserAgent = strings.Repeat("u", MaxUserAgentBytes+1) }, reason: "user_agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.edit(&e)
			ev, err := in.Event("ESRF", e)
			if tt.reason != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("err %v, want one naming %q", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
			// What the intake makes, the writer accepts.
			if err := ev.Validate(now); err != nil {
				t.Errorf("writer refuses the intake's event: %v", err)
			}
		})
	}
}

func TestEventIDs(t *testing.T) {
	in := NewIntake(testHasher(t), nil)
	in.now = func() time.Time { return now }
	e := Input{Dataset: "10.5072/x", Time: now, Kind: Investigation, Session: "s"}
	a, _ := in.Event("ESRF", e)
	b, _ := in.Event("ESRF", e)
	c, _ := in.Event("ILL", e)
	if a.ID != b.ID {
		t.Error("the same event submitted twice has two ids")
	}
	if a.ID == c.ID || a.Session == c.Session {
		t.Error("two facilities' events share an id or a session")
	}
	e.ID = "evt-1"
	d, _ := in.Event("ESRF", e)
	e.Time = now.Add(-time.Minute)
	f, _ := in.Event("ESRF", e)
	if d.ID != f.ID || d.ID == a.ID {
		t.Errorf("a given id: %s %s %s", d.ID, f.ID, a.ID)
	}
}

func TestEventValidate(t *testing.T) {
	good := Event{ID: "abc", Dataset: "10.5072/X", Time: now, Kind: Request, Source: "nats"}
	tests := []struct {
		name   string
		edit   func(*Event)
		reason string
	}{
		{"valid", func(*Event) {}, ""},
		{"no id", func(e *Event) { e.ID = "" }, "id"},
		{"bad kind", func(e *Event) { e.Kind = "" }, "kind"},
		{"bad dataset", func(e *Event) { e.Dataset = "nope" }, "dataset"},
		{"future", func(e *Event) { e.Time = now.Add(24 * time.Hour) }, "future"},
		{"long source", func(e *Event) { e.Source = strings.Repeat("x", 200) }, "source"},
		{"bad method", func(e *Event) { e.AccessMethod = "x" }, "access_method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.edit(&e)
			err := e.Validate(now)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e.Dataset != "doi:10.5072/x" || e.AccessMethod != Regular || e.Client != Human || e.Status != 200 {
					t.Errorf("defaults not applied: %+v", e)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err %v, want one naming %q", err, tt.reason)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	c := DefaultClassifier()
	tests := []struct {
		ua   string
		want Class
	}{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", Class{}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", Class{}},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", Class{Robot: true}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)", Class{Robot: true}},
		{"Screaming Frog SEO Spider/19.0", Class{Robot: true}},
		{"curl/8.5.0", Class{Machine: true}},
		{"python-requests/2.32.3", Class{Machine: true}},
		{"Go-http-client/1.1", Class{Machine: true}},
		{"", Class{Machine: true}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0", Class{Agent: true}},
		{"fairway-mcp/1 (MCP)", Class{Agent: true}},
	}
	for _, tt := range tests {
		if got := c.Classify(tt.ua); got != tt.want {
			t.Errorf("Classify(%q) = %+v, want %+v", tt.ua, got, tt.want)
		}
	}
}

func TestRobotsFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "robots.txt")
	if err := os.WriteFile(path, []byte("# local list\nexamplecrawler\n\n^Mozilla/4\\.0 \\(compatible; Ubuntu\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadRobots(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Robots() != 2 || !c.Classify("ExampleCrawler/1.0").Robot || c.Classify("bingbot/2.0").Robot {
		t.Fatalf("list from the file not in force: %d patterns", c.Robots())
	}
	if changed, err := c.Reload(); changed || err != nil {
		t.Fatalf("unchanged file reloaded: %v %v", changed, err)
	}
	// A COUNTER-style JSON list replaces it.
	if err := os.WriteFile(path, []byte(`[{"pattern":"bingbot","last_changed":"2024-01-01"},{"pattern":"other"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(path, future, future)
	if changed, err := c.Reload(); !changed || err != nil {
		t.Fatalf("changed file not reloaded: %v %v", changed, err)
	}
	if !c.Classify("bingbot/2.0").Robot || c.Classify("ExampleCrawler").Robot {
		t.Error("new list not in force")
	}
	// A broken file keeps the list in force.
	if err := os.WriteFile(path, []byte("(unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(path, future.Add(time.Minute), future.Add(time.Minute))
	if _, err := c.Reload(); err == nil {
		t.Fatal("a broken pattern loads")
	}
	if !c.Classify("bingbot/2.0").Robot {
		t.Error("a failed reload dropped the list")
	}
}

func TestClientSession(t *testing.T) {
	h := testHasher(t)
	at := time.Date(2026, 5, 1, 10, 15, 0, 0, time.UTC)
	a := h.ClientSession("192.0.2.1:5000", "Firefox", at)
	if a != h.ClientSession("192.0.2.1:6000", "Firefox", at.Add(40*time.Minute)) {
		t.Error("one client in one hour: two sessions")
	}
	if a == h.ClientSession("192.0.2.1:5000", "Firefox", at.Add(time.Hour)) {
		t.Error("the next hour is the same session")
	}
	if a == h.ClientSession("192.0.2.2:5000", "Firefox", at) || a == h.ClientSession("192.0.2.1:5000", "Chrome", at) {
		t.Error("two clients share a session")
	}
	if strings.Contains(a, "192") || len(a) != 32 {
		t.Errorf("session %q", a)
	}
	other, _ := NewHasher([]byte("another secret of the node...."))
	if a == other.ClientSession("192.0.2.1:5000", "Firefox", at) {
		t.Error("the secret changes nothing")
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadSecret(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no file: %v", err)
	}
	tests := []struct {
		name, file string
		ok         bool
	}{
		{"32 bytes in hex", strings.Repeat("ab", 32) + "\n", true},
		{"16 bytes", strings.Repeat("01", 16), true},
		{"too short", "abcd\n", false},
		{"not hex", strings.Repeat("zz", 32), false},
	}
	for _, tc := range tests {
		if err := os.WriteFile(filepath.Join(dir, SecretFile), []byte(tc.file), 0o600); err != nil {
			t.Fatal(err)
		}
		key, err := ReadSecret(dir)
		if (err == nil) != tc.ok || tc.ok && len(key) < MinSecretBytes {
			t.Errorf("%s: %d bytes, %v", tc.name, len(key), err)
		}
	}
}

func TestCountries(t *testing.T) {
	if n := len(countrySet); n != 249 {
		t.Errorf("%d codes, ISO 3166-1 assigns 249", n)
	}
	for _, c := range []string{"FR", "DE", "SE", "CH", "GB", "US", "JP"} {
		if !IsCountry(c) {
			t.Errorf("%s missing", c)
		}
	}
}

func TestRecorder(t *testing.T) {
	var mu sync.Mutex
	var got []Event
	block := make(chan struct{})
	publish := func(ctx context.Context, evs []Event) error {
		<-block
		mu.Lock()
		got = append(got, evs...)
		mu.Unlock()
		return nil
	}
	r, err := NewRecorder(RecorderConfig{Queue: 3, Batch: 2, Hasher: testHasher(t)}, publish)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	req := httptest.NewRequest("GET", "/datasets/doi:10.5072/x", nil)
	req.Header.Set("User-Agent", "Firefox")
	// The publisher is stuck: Viewed must still return at once, and drop
	// what the queue cannot hold.
	start := time.Now()
	for range 20 {
		r.Viewed(req, "doi:10.5072/x", "ESRF", "page")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Viewed waited %s for a stuck publisher", d)
	}
	if r.Dropped() == 0 {
		t.Fatal("no drop counted with a full queue")
	}
	close(block)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if uint64(len(got))+r.Dropped() != 20 || r.Sent() != uint64(len(got)) {
		t.Fatalf("sent %d + dropped %d != 20", len(got), r.Dropped())
	}
	e := got[0]
	if e.Kind != Investigation || e.Dataset != "doi:10.5072/x" || e.Session == "" || e.Source != "node:page" || e.Robot {
		t.Errorf("event %+v", e)
	}
	if err := e.Validate(time.Now()); err != nil {
		t.Errorf("writer refuses the recorder's event: %v", err)
	}
}

// TestRecorderAgentInvestigated records agent investigations: each is an
// investigation by an AI agent with machine access, the writer takes it,
// and its session key is the same for the same agent session within the
// hour, another for another session, and never the raw session.
func TestRecorderAgentInvestigated(t *testing.T) {
	var got []Event
	r, err := NewRecorder(RecorderConfig{Hasher: testHasher(t)}, func(_ context.Context, evs []Event) error {
		got = append(got, evs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	tests := []struct{ key, facility, source, session string }{
		{"doi:10.5072/x", "ESRF", "mcp:get_dataset", "192.0.2.7\x00claude-code/2.0"},
		{"doi:10.5072/y", "ILL", "mcp:resource", "192.0.2.7\x00claude-code/2.0"},
		{"doi:10.5072/x", "ESRF", "mcp:get_dataset", "stdio:1234"},
	}
	for _, tc := range tests {
		r.AgentInvestigated(tc.key, tc.facility, tc.source, tc.session)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tests) {
		t.Fatalf("%d events, want %d", len(got), len(tests))
	}
	for i, tc := range tests {
		e := got[i]
		if e.Kind != Investigation || e.Client != Agent || e.AccessMethod != Machine || e.Dataset != tc.key ||
			e.Facility != tc.facility || e.Source != "node:"+tc.source || e.Robot || e.Session == "" || e.Session == tc.session {
			t.Errorf("event %d: %+v", i, e)
		}
		if err := e.Validate(time.Now()); err != nil {
			t.Errorf("the writer refuses event %d: %v", i, err)
		}
	}
	if got[0].Session != got[1].Session || got[0].Session == got[2].Session {
		t.Errorf("sessions %q %q %q: want the first two alike, the third apart", got[0].Session, got[1].Session, got[2].Session)
	}
}
