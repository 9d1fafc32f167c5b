package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/urlguard"
)

const (
	records  = 60
	pageSize = 10
)

// env is an API on a real embedded bus, over a real sample facility.
type env struct {
	t      *testing.T
	bus    *bus.Bus
	url    string
	logs   *testenv.Buffer
	sample string
	// gate, when set, holds every request for a page after the first
	// until it is closed.
	gate chan struct{}
	mu   sync.Mutex
}

func newEnv(t *testing.T, policy urlguard.Policy) *env {
	t.Helper()
	e := &env{t: t, bus: testenv.Bus(t)}
	log, logs := testenv.CaptureLog()
	e.logs = logs
	t.Cleanup(func() {
		if t.Failed() {
			// What the API, the harvester and the sample facility did.
			t.Logf("logs:\n%s", logs.String())
		}
	})
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: samplefeed.NewCorpus(3, records), PageSize: pageSize, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sample := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		gate := e.gate
		e.mu.Unlock()
		if gate != nil && r.URL.Query().Get("resumptionToken") != "" {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(sample.Close)
	e.sample = sample.URL + "/oai"
	access, err := api.NewAccess(tokensFile())
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: policy, Timeout: 5 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Access: access, Checker: checker}, e.bus, log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	e.url = s.URL
	return e
}

// hold makes the sample facility hold every page after the first until
// the returned function is called.
func (e *env) hold() (release func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := make(chan struct{})
	e.gate = g
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		close(g)
		e.gate = nil
	}
}

// runHarvester runs a real harvester on the env's bus until the test ends.
func (e *env) runHarvester() {
	h, err := harvester.New(harvester.Config{PollInterval: 50 * time.Millisecond, Transport: fetch.Transport{PageTimeout: 10 * time.Second, MaxRetries: 1}}, e.bus, slog.New(slog.NewTextHandler(e.logs, nil)))
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// do sends one request and returns the status and body.
func (e *env) do(token, method, path, body string) (int, string) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (e *env) client(token string) *api.Client {
	e.t.Helper()
	c, err := api.NewClient(e.url, token, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// feedJSON is the body registering an oai_dc feed of the sample facility.
func (e *env) feedJSON(id, facility string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "facility": facility, "url": e.sample, "format": "oai_dc", "every": "0s", "enabled": false})
	return string(b)
}

// TestFacilityScope runs a sequence of writes: each token may manage the
// feeds of its own facility only; the operator token manages all; reads
// are open.
func TestFacilityScope(t *testing.T) {
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	steps := []struct {
		name   string
		token  string
		method string
		path   string
		body   string
		status int
		want   string // in the answer
	}{
		{"no token", "", "POST", "/api/v1/feeds", e.feedJSON("esrf", "ESRF"), 401, "bearer token"},
		{"wrong token", "not-a-token-of-this-node", "POST", "/api/v1/feeds", e.feedJSON("esrf", "ESRF"), 401, "bearer token"},
		{"facility registers its own feed", esrfToken, "POST", "/api/v1/feeds", e.feedJSON("esrf", "ESRF"), 201, `"facility": "ESRF"`},
		{"facility registers another's feed", esrfToken, "POST", "/api/v1/feeds", e.feedJSON("ill", "ILL"), 403, `cannot register a feed of facility \"ILL\"`},
		{"facility token fills in its facility", esrfToken, "POST", "/api/v1/feeds", `{"id":"esrf2","url":"` + e.sample + `","format":"oai_dc","enabled":false}`, 201, `"facility": "ESRF"`},
		{"operator registers any feed", opToken, "POST", "/api/v1/feeds", e.feedJSON("ill", "ILL"), 201, `"facility": "ILL"`},
		{"id taken", opToken, "POST", "/api/v1/feeds", e.feedJSON("ill", "ILL"), 409, "already registered"},
		{"reads are open", "", "GET", "/api/v1/feeds/ill", "", 200, `"id": "ill"`},
		{"list is open", "", "GET", "/api/v1/feeds?facility=ESRF", "", 200, `"esrf2"`},
		{"facility updates another's feed", esrfToken, "PATCH", "/api/v1/feeds/ill", `{"every":"1h"}`, 403, "cannot manage feed ill"},
		{"facility updates its own feed", esrfToken, "PATCH", "/api/v1/feeds/esrf", `{"every":"1h"}`, 200, `"every": "1h0m0s"`},
		{"facility lowers its caps", esrfToken, "PATCH", "/api/v1/feeds/esrf", `{"max_pages":10,"max_duration":"1h"}`, 200, `"max_pages": 10`},
		{"facility raises its caps", esrfToken, "PATCH", "/api/v1/feeds/esrf", `{"max_duration":"1000h"}`, 403, "only an operator may raise max_duration"},
		{"facility registers with raised caps", esrfToken, "POST", "/api/v1/feeds", `{"id":"esrf3","url":"` + e.sample + `","format":"oai_dc","enabled":false,"max_pages":100000000}`, 403, "only an operator may raise max_pages"},
		{"operator raises a facility's caps", opToken, "PATCH", "/api/v1/feeds/esrf", `{"max_duration":"1000h"}`, 200, `"max_duration": "1000h0m0s"`},
		{"the facility changes something else", esrfToken, "PATCH", "/api/v1/feeds/esrf", `{"every":"2h"}`, 200, `"max_duration": "1000h0m0s"`},
		{"facility moves its feed away", esrfToken, "PATCH", "/api/v1/feeds/esrf", `{"facility":"ILL"}`, 403, `cannot move feed esrf to facility \"ILL\"`},
		{"facility checks another's feed", esrfToken, "POST", "/api/v1/feeds/ill/check", "", 403, "cannot manage"},
		{"facility harvests another's feed", esrfToken, "POST", "/api/v1/feeds/ill/harvest", "", 403, "cannot manage"},
		{"facility deletes another's feed", esrfToken, "DELETE", "/api/v1/feeds/ill", "", 403, "cannot manage"},
		{"facility token cannot write without Bearer", "", "DELETE", "/api/v1/feeds/esrf2", "", 401, "bearer token"},
		{"operator moves a feed", opToken, "PATCH", "/api/v1/feeds/esrf2", `{"facility":"ILL"}`, 200, `"facility": "ILL"`},
		{"moved feed is out of reach", esrfToken, "DELETE", "/api/v1/feeds/esrf2", "", 403, "cannot manage"},
		{"ILL manages the moved feed", illToken, "DELETE", "/api/v1/feeds/esrf2", "", 204, ""},
		{"facility deletes its own feed", esrfToken, "DELETE", "/api/v1/feeds/esrf", "", 204, ""},
		{"deleted", "", "GET", "/api/v1/feeds/esrf", "", 404, "feed not found"},
		{"unknown endpoint", "", "GET", "/api/v1/nothing", "", 404, "no such endpoint"},
	}
	for _, s := range steps {
		status, body := e.do(s.token, s.method, s.path, s.body)
		if status != s.status || !strings.Contains(body, s.want) {
			t.Fatalf("%s: %s %s = %d %s; want %d with %q", s.name, s.method, s.path, status, body, s.status, s.want)
		}
		if status >= 400 {
			var eb struct{ Error string }
			if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error == "" {
				t.Fatalf("%s: error answer %q is not {\"error\": …}", s.name, body)
			}
		}
	}
	status, body := e.do("", "GET", "/api/v1/feeds", "")
	var list []api.Feed
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 || list[0].ID != "ill" {
		t.Fatalf("remaining feeds: %d %s", status, body)
	}
}

// TestRegistrationValidation checks that a feed is validated and its
// source checked before it is saved, and that a refusal says why.
func TestRegistrationValidation(t *testing.T) {
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/oai"
	ln.Close()
	feed := func(change func(map[string]any)) string {
		m := map[string]any{"id": "f1", "facility": "ESRF", "url": e.sample, "format": "oai_dc", "enabled": false}
		change(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"format not offered", feed(func(m map[string]any) { m["format"] = "marc21" }), 422, `metadata format \"marc21\" is not offered`},
		{"set not offered", feed(func(m map[string]any) { m["set"] = "nowhere" }), 422, `set \"nowhere\" is not offered`},
		{"unreachable", feed(func(m map[string]any) { m["url"] = closed }), 422, "no OAI-PMH repository answers"},
		{"bad id", feed(func(m map[string]any) { m["id"] = "Bad Id" }), 422, "id"},
		{"no id", feed(func(m map[string]any) { delete(m, "id") }), 422, "id is required"},
		{"ftp", feed(func(m map[string]any) { m["url"] = "ftp://127.0.0.1/oai" }), 422, "want an http or https URL"},
		{"unknown kind", feed(func(m map[string]any) { m["kind"] = "ftp" }), 422, "kind"},
		{"negative rate limit", feed(func(m map[string]any) { m["rate_limit"] = "-1s" }), 422, "negative rate limit"},
		{"negative cap", feed(func(m map[string]any) { m["max_pages"] = -1 }), 422, "negative cap"},
		{"unknown field", feed(func(m map[string]any) { m["formt"] = "oai_dc" }), 400, "unknown field"},
		{"not JSON", "{", 400, "body"},
		{"bad duration", feed(func(m map[string]any) { m["every"] = "often" }), 400, "body"},
		{"valid", feed(func(map[string]any) {}), 201, `"granularity": "YYYY-MM-DDThh:mm:ssZ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.do(opToken, "POST", "/api/v1/feeds", tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("POST = %d %s; want %d with %q", status, body, tt.status, tt.want)
			}
		})
	}
	saved, err := e.client("").GetFeed(context.Background(), "f1")
	if err != nil || saved.Source == nil || saved.Source.DeletedRecord != "persistent" || saved.Source.EarliestDatestamp == "" || saved.Source.CheckedAt.IsZero() {
		t.Fatalf("check not recorded: %+v %v", saved, err)
	}
	if status, _ := e.do("", "GET", "/api/v1/feeds/f2", ""); status != 404 {
		t.Fatalf("a refused feed was saved")
	}

	// A change of source is checked again; a refused change stores nothing.
	status, body := e.do(opToken, "PATCH", "/api/v1/feeds/f1", `{"format":"marc21"}`)
	if status != 422 || !strings.Contains(body, "not offered") {
		t.Fatalf("PATCH to an unoffered format = %d %s", status, body)
	}
	status, body = e.do(opToken, "PATCH", "/api/v1/feeds/f1", `{"format":"oai_datacite","rate_limit":"500ms"}`)
	if status != 200 || !strings.Contains(body, `"format": "oai_datacite"`) || !strings.Contains(body, `"rate_limit": "500ms"`) {
		t.Fatalf("PATCH = %d %s", status, body)
	}
	status, body = e.do(opToken, "PATCH", "/api/v1/feeds/f1", `{"max_pages":500,"max_bytes":1048576,"max_duration":"2h"}`)
	if status != 200 || !strings.Contains(body, `"max_pages": 500`) || !strings.Contains(body, `"max_bytes": 1048576`) ||
		!strings.Contains(body, `"max_duration": "2h0m0s"`) || !strings.Contains(body, `"rate_limit": "500ms"`) {
		t.Fatalf("PATCH of the caps = %d %s", status, body)
	}
	status, body = e.do(opToken, "PATCH", "/api/v1/feeds/f1", `{"id":"f9"}`)
	if status != 422 || !strings.Contains(body, "cannot change") {
		t.Fatalf("PATCH of the id = %d %s", status, body)
	}

	// Check again: the source has gone away.
	f, err := e.client(opToken).CheckFeed(context.Background(), "f1")
	if err != nil || !f.Source.CheckedAt.After(saved.Source.CheckedAt) && !f.Source.CheckedAt.Equal(saved.Source.CheckedAt) {
		t.Fatalf("check = %+v %v", f, err)
	}
	if _, err := e.client(opToken).UpdateFeed(context.Background(), "f1", api.FeedInput{URL: &closed}); err == nil {
		t.Fatal("update to an unreachable URL accepted")
	} else if ae := new(api.Error); !errors.As(err, &ae) || ae.Status != 422 {
		t.Fatalf("update to an unreachable URL: %v", err)
	}
}

// TestAddressRule checks that a node that does not allow private feeds
// refuses a feed on loopback, and one that redirects there.
func TestAddressRule(t *testing.T) {
	strict := newEnv(t, urlguard.Policy{})
	// Allowed: 127.0.0.1 only, so that a redirect to 127.0.0.2 stands
	// for a redirect to a forbidden address.
	only1 := urlguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	redirecting := newEnv(t, only1)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	inner := httptest.NewUnstartedServer(http.NotFoundHandler())
	inner.Listener.Close()
	inner.Listener = ln
	inner.Start()
	defer inner.Close()
	redirect := httptest.NewServer(http.RedirectHandler(inner.URL+"/oai", http.StatusFound))
	defer redirect.Close()

	tests := []struct {
		name string
		e    *env
		url  string
		want string
	}{
		{"loopback", strict, strict.sample, "loopback"},
		{"private", strict, "http://10.1.2.3/oai", "private"},
		{"link-local", strict, "http://169.254.169.254/oai", "link-local"},
		{"localhost", strict, "http://localhost:1/oai", "loopback"},
		{"redirect to a forbidden address", redirecting, redirect.URL + "/oai", "redirect to"},
		{"connection to a forbidden address", redirecting, inner.URL + "/oai", "127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id":"x","facility":"ESRF","url":"` + tt.url + `","format":"oai_dc"}`
			status, answer := tt.e.do(opToken, "POST", "/api/v1/feeds", body)
			if status != 422 || !strings.Contains(answer, tt.want) || !strings.Contains(answer, "forbidden address") {
				t.Fatalf("POST = %d %s; want 422 saying %q", status, answer, tt.want)
			}
		})
	}
}

// TestSecretsNeverReturned registers a SciCat feed with a token and checks
// that no answer and no log line holds it (nor any API token).
func TestSecretsNeverReturned(t *testing.T) {
	const secret = "scicat-secret-9f8e7d6c5b4a"
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	scicat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v4/datasets" && r.URL.Path != "/api/v4/datasets/public" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+secret {
			http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer scicat.Close()

	var answers []string
	record := func(status int, body string) (int, string) {
		answers = append(answers, body)
		return status, body
	}
	status, body := record(e.do(esrfToken, "POST", "/api/v1/feeds",
		`{"id":"psi","facility":"ESRF","kind":"scicat","url":"`+scicat.URL+`","token":"`+secret+`","enabled":false}`))
	if status != 201 || !strings.Contains(body, `"has_token": true`) || !strings.Contains(body, `"api_version": "v4"`) {
		t.Fatalf("POST = %d %s", status, body)
	}
	record(e.do("", "GET", "/api/v1/feeds/psi", ""))
	record(e.do("", "GET", "/api/v1/feeds", ""))
	record(e.do(esrfToken, "POST", "/api/v1/feeds/psi/check", ""))
	if status, body := record(e.do(esrfToken, "PATCH", "/api/v1/feeds/psi", `{"token":"wrong-`+secret+`"}`)); status != 422 || !strings.Contains(body, "refused the feed's token") {
		t.Fatalf("PATCH with a wrong token = %d %s", status, body)
	}
	record(e.do("Bearer-"+secret, "DELETE", "/api/v1/feeds/psi", ""))
	if status, body := record(e.do(esrfToken, "PATCH", "/api/v1/feeds/psi", `{"token":""}`)); status != 422 || !strings.Contains(body, "wants a token") {
		t.Fatalf("PATCH removing the token = %d %s", status, body)
	}
	stored, err := feeds.NewRegistry(e.bus.State(bus.BucketFeeds)).Get(context.Background(), "psi")
	if err != nil || stored.Token.Reveal() != secret {
		t.Fatalf("stored token changed by a refused update: %v", err)
	}
	for _, a := range answers {
		if strings.Contains(a, secret) {
			t.Errorf("answer shows the feed's token: %s", a)
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "feed registered") {
		t.Fatalf("the log was not captured: %s", logs)
	}
	for _, s := range []string{secret, opToken, esrfToken, illToken} {
		if strings.Contains(logs, s) {
			t.Errorf("log holds a secret %q:\n%s", s, logs)
		}
	}
}

// TestHarvestTriggerAndFollow asks for harvests over HTTP, with a real
// harvester on the bus, and follows them to their end.
func TestHarvestTriggerAndFollow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	e.runHarvester()
	c := e.client(opToken)
	no := false
	if _, err := c.CreateFeed(ctx, api.FeedInput{ID: ptr("all"), Facility: ptr("ESRF"), URL: &e.sample, Format: ptr("oai_dc"), Enabled: &no}); err != nil {
		t.Fatal(err)
	}

	// A first run, held after its first page: its progress shows.
	release := e.hold()
	acc, err := c.Harvest(ctx, "all", api.HarvestRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.PreviousRuns) != 0 || acc.FeedID != "all" {
		t.Fatalf("accepted %+v", acc)
	}
	var first api.Run
	for first.Pages == 0 {
		runs, err := c.Runs(ctx, "all", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].Status == api.StatusRunning {
			first = runs[0]
		}
		if ctx.Err() != nil {
			t.Fatalf("no progress of the run: %+v", runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if first.Pages != 1 || first.Records != pageSize {
		t.Fatalf("progress %+v; want 1 page of %d records", first, pageSize)
	}
	release()
	var seen []api.Run
	done, err := c.Follow(ctx, acc, 20*time.Millisecond, func(r api.Run) { seen = append(seen, r) })
	if err != nil {
		t.Fatal(err)
	}
	if done.RunID != first.RunID || done.Status != api.StatusComplete || done.Records != records || done.Pages != records/pageSize {
		t.Fatalf("followed run %+v; want %s complete with %d records", done, first.RunID, records)
	}
	if len(seen) == 0 || seen[len(seen)-1].RunID != done.RunID || seen[len(seen)-1].Status != api.StatusComplete {
		t.Fatalf("progress reports %+v", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Status == seen[i-1].Status && seen[i].Pages == seen[i-1].Pages && seen[i].Records == seen[i-1].Records {
			t.Fatalf("progress reported an unchanged state: %+v", seen)
		}
	}

	// A second, full run is a new run; the first is among the previous.
	acc, err = c.Harvest(ctx, "all", api.HarvestRequest{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(acc.PreviousRuns, []string{first.RunID}) || !acc.Full {
		t.Fatalf("accepted %+v", acc)
	}
	second, err := c.Follow(ctx, acc, 20*time.Millisecond, nil)
	if err != nil || second.RunID == first.RunID || second.Status != api.StatusComplete || second.Records != records {
		t.Fatalf("second run %+v, %v", second, err)
	}
	runs, err := c.Runs(ctx, "all", 10)
	if err != nil || len(runs) != 2 || runs[0].RunID != second.RunID || runs[1].RunID != first.RunID {
		t.Fatalf("runs %+v %v", runs, err)
	}

	// A run from a date; the date is checked and written at the source's
	// granularity.
	acc, err = c.Harvest(ctx, "all", api.HarvestRequest{From: "2020-01-01T01:00:00+02:00"})
	if err != nil || acc.From != "2019-12-31T23:00:00Z" {
		t.Fatalf("from: %+v %v", acc, err)
	}
	third, err := c.Follow(ctx, acc, 20*time.Millisecond, nil)
	if err != nil || third.From != acc.From {
		t.Fatalf("third run %+v %v", third, err)
	}
	for _, body := range []string{`{"from":"2024-13-01"}`, `{"from":"yesterday"}`} {
		if status, answer := e.do(opToken, "POST", "/api/v1/feeds/all/harvest", body); status != 422 || !strings.Contains(answer, "from") {
			t.Errorf("harvest %s = %d %s", body, status, answer)
		}
	}
	if status, _ := e.do(opToken, "POST", "/api/v1/feeds/none/harvest", ""); status != 404 {
		t.Errorf("harvest of an unknown feed: %d", status)
	}
	if status, _ := e.do("", "GET", "/api/v1/feeds/all/runs?limit=0", ""); status != 400 {
		t.Errorf("runs?limit=0: %d", status)
	}
}

// TestFollowFailedRun follows a run that fails: the source has gone.
func TestFollowFailedRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	e.runHarvester()
	c := e.client(opToken)
	no := false
	if _, err := c.CreateFeed(ctx, api.FeedInput{ID: ptr("gone"), Facility: ptr("ILL"), URL: &e.sample, Format: ptr("oai_dc"), Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	// The registry now points at a port where nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/oai"
	ln.Close()
	if _, err := feeds.NewRegistry(e.bus.State(bus.BucketFeeds)).Update(ctx, "gone", func(f *feeds.Feed) error { f.URL = dead; return nil }); err != nil {
		t.Fatal(err)
	}
	acc, err := c.Harvest(ctx, "gone", api.HarvestRequest{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Follow(ctx, acc, 20*time.Millisecond, nil)
	if !errors.Is(err, api.ErrRunFailed) || run.Status != api.StatusFailed || run.Error == "" {
		t.Fatalf("Follow = %+v, %v; want a failed run", run, err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestHarvestRequestCarriesUntilAndConfirmation checks that a request's
// bounds and its confirmation of held deletions reach the harvester.
func TestHarvestRequestCarriesUntilAndConfirmation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	c := e.client(opToken)
	no := false
	if _, err := c.CreateFeed(ctx, api.FeedInput{ID: ptr("all"), Facility: ptr("ESRF"), URL: &e.sample, Format: ptr("oai_dc"), Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	acc, err := c.Harvest(ctx, "all", api.HarvestRequest{Full: true, Until: "2025-06-30", ConfirmDeletions: true})
	if err != nil || acc.Until != "2025-06-30" || !acc.ConfirmDeletions {
		t.Fatalf("accepted %+v, %v", acc, err)
	}
	entry, err := e.bus.KV(bus.BucketRequests).Get(ctx, "all")
	if err != nil {
		t.Fatal(err)
	}
	var req harvester.RunRequest
	if err := json.Unmarshal(entry.Value(), &req); err != nil {
		t.Fatal(err)
	}
	if !req.Full || req.Until != "2025-06-30" || !req.ConfirmDeletions {
		t.Errorf("harvester request %+v", req)
	}
	if status, answer := e.do(opToken, "POST", "/api/v1/feeds/all/harvest", `{"until":"soon"}`); status != 422 || !strings.Contains(answer, "until") {
		t.Errorf("bad until: %d %s", status, answer)
	}
}

// TestBrowserWritesRefused checks that a web page cannot drive the API: a
// write from another origin, or with a body that is not JSON, is refused.
func TestBrowserWritesRefused(t *testing.T) {
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	body := e.feedJSON("web", "ESRF")
	for _, tt := range []struct {
		name, origin, ctype string
		want                int
	}{
		{"another origin", "https://evil.example", "text/plain", 403},
		{"another origin, JSON", "http://evil.example:8080", "application/json", 403},
	} {
		req, err := http.NewRequest("POST", e.url+"/api/v1/feeds", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+opToken)
		req.Header.Set("Content-Type", tt.ctype)
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
}

// TestTokenNeverOverPlainHTTP checks that the client sends a token over
// https or to loopback only: a plain-http server elsewhere gets no request.
func TestTokenNeverOverPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		server string
		token  string
		want   error
	}{
		{"http://fairway.example", "secret", api.ErrPlainToken},
		{"http://127.evil.example:8080", "secret", api.ErrPlainToken},
		{"http://10.0.0.7:8080", "secret", api.ErrPlainToken},
		{"http://fairway.example", "", nil}, // no token: the request goes
		{"https://fairway.example", "secret", nil},
		{"http://[::1]:8080", "secret", nil},
	} {
		t.Run(tc.server+"/"+tc.token, func(t *testing.T) {
			hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				return nil, errSent
			})}
			c, err := api.NewClient(tc.server, tc.token, hc)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CreateFeed(context.Background(), api.FeedInput{})
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err = %v, want %v", err, tc.want)
			case tc.want == nil && !errors.Is(err, errSent):
				t.Errorf("err = %v, want the request sent", err)
			}
		})
	}
}

// errSent is what roundTripFunc transports answer in
// TestTokenNeverOverPlainHTTP: the request left the client.
var errSent = errors.New("sent")

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
