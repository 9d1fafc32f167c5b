package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
)

const (
	hubKey     = "hub-api-key-5e4d3c2b1a09"
	hubKey2    = "hub-api-key-2-aa11bb22cc33"
	scicatPass = "scicat-pass-0f1e2d3c4b5a"
)

// fakeStatus is a StatusReader that answers what the registry holds.
type fakeStatus struct {
	mu   sync.Mutex
	seen []string
}

func (f *fakeStatus) Status(_ context.Context, d destinations.Destination) (destinations.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, d.ID)
	return destinations.Status{ID: d.ID, Kind: d.Kind, URL: d.URL, Enabled: d.Enabled, Held: 3, Pending: 2, LastError: "x"}, nil
}

// denv is an API with the destination routes, over a real bus and a test
// hub-repo and SciCat.
type denv struct {
	t      *testing.T
	bus    *bus.Bus
	url    string
	logs   *testenv.Buffer
	hub    *piveautest.Server
	scicat *scicattest.Server
	status *fakeStatus
}

// newDestEnv starts the API; access nil means the tokens of tokensFile;
// withChecker and withStatus say whether the node has a checker and a
// status reader.
func newDestEnv(t *testing.T, access *api.Access, withChecker, withStatus bool) *denv {
	t.Helper()
	log, logs := testenv.CaptureLog()
	e := &denv{t: t, bus: testenv.Bus(t), logs: logs, status: &fakeStatus{}}
	e.hub = piveautest.Start(piveautest.Config{APIKey: hubKey, Catalogues: []string{"panosc"}})
	t.Cleanup(e.hub.Close)
	e.scicat = scicattest.Start(scicattest.Config{Users: map[string]string{"fairway": scicatPass}})
	t.Cleanup(e.scicat.Close)
	if access == nil {
		var err error
		if access, err = api.NewAccess(tokensFile()); err != nil {
			t.Fatal(err)
		}
	}
	fc := &fakeFeedChecker{}
	cfg := api.Config{Access: access, Checker: fc}
	if withChecker {
		c, err := destinations.NewChecker(destinations.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Timeout: 5 * time.Second, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		cfg.DestinationChecker = c
	}
	if withStatus {
		cfg.Destinations = e.status
	}
	h, err := api.New(cfg, e.bus, log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	e.url = s.URL
	return e
}

func (e *denv) do(token, method, path, body string) (int, string) {
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

func (e *denv) piveauJSON(id, key string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "kind": "piveau", "url": e.hub.URL, "catalogue": "panosc", "api_key": key})
	return string(b)
}

func (e *denv) scicatJSON(id, pw string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "kind": "scicat", "url": e.scicat.URL, "username": "fairway", "password": pw, "owner_group": "daphne"})
	return string(b)
}

// TestDestinationAccess: every destination route, reads included, wants an
// operator token; a facility token gets 403 with the reason, no token 401.
func TestDestinationAccess(t *testing.T) {
	e := newDestEnv(t, nil, true, true)
	if status, body := e.do(opToken, "POST", "/api/v1/destinations", e.piveauJSON("eosc", hubKey)); status != 201 {
		t.Fatalf("operator POST = %d %s", status, body)
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/destinations", ""},
		{"POST", "/api/v1/destinations", e.piveauJSON("other", hubKey)},
		{"GET", "/api/v1/destinations/status", ""},
		{"GET", "/api/v1/destinations/eosc", ""},
		{"PATCH", "/api/v1/destinations/eosc", `{"in_flight":4}`},
		{"GET", "/api/v1/destinations/eosc/status", ""},
		{"POST", "/api/v1/destinations/eosc/replay", `{"all":true}`},
		{"DELETE", "/api/v1/destinations/eosc", ""},
	}
	for _, rt := range routes {
		if status, body := e.do(esrfToken, rt.method, rt.path, rt.body); status != 403 || !strings.Contains(body, "only an operator token") {
			t.Errorf("facility %s %s = %d %s, want 403 with the reason", rt.method, rt.path, status, body)
		}
		if status, body := e.do("", rt.method, rt.path, rt.body); status != 401 {
			t.Errorf("anonymous %s %s = %d %s, want 401", rt.method, rt.path, status, body)
		}
	}
	want := []int{200, 201, 200, 200, 200, 200, 202, 204}
	for i, rt := range routes {
		if status, body := e.do(opToken, rt.method, rt.path, rt.body); status != want[i] {
			t.Errorf("operator %s %s = %d %s, want %d", rt.method, rt.path, status, body, want[i])
		}
	}
	if all, _ := destinations.NewRegistry(e.bus.State(bus.BucketDestinations)).List(context.Background()); len(all) != 1 || all[0].ID != "other" {
		t.Errorf("registry after the sequence: %+v, want only other", all)
	}
}

// TestDestinationOpenNode: an open demo node lets destination requests
// through as it lets its writes, and still refuses a cross-site one.
func TestDestinationOpenNode(t *testing.T) {
	e := newDestEnv(t, api.OpenAccess(), true, false)
	if status, body := e.do("", "POST", "/api/v1/destinations", e.piveauJSON("eosc", hubKey)); status != 201 {
		t.Fatalf("POST on an open node = %d %s", status, body)
	}
	if status, body := e.do("", "GET", "/api/v1/destinations", ""); status != 200 || !strings.Contains(body, `"eosc"`) {
		t.Fatalf("GET on an open node = %d %s", status, body)
	}
	req, _ := http.NewRequest("GET", e.url+"/api/v1/destinations", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-origin GET on an open node = %d, want 403", resp.StatusCode)
	}
	if status, body := e.do("", "GET", "/api/v1/destinations/status", ""); status != 503 || !strings.Contains(body, "no delivery status here") {
		t.Errorf("status without a reader = %d %s, want 503", status, body)
	}
	if status, body := e.do("", "GET", "/api/v1/destinations/eosc/status", ""); status != 503 || !strings.Contains(body, "no delivery status here") {
		t.Errorf("status of one without a reader = %d %s, want 503", status, body)
	}
	if status, _ := e.do("", "GET", "/api/v1/destinations/nowhere/status", ""); status != 404 {
		t.Errorf("status of an unknown destination = %d, want 404", status)
	}
}

// TestDestinationWithoutChecker: a node without a checker refuses
// destination writes with 503, and still lists.
func TestDestinationWithoutChecker(t *testing.T) {
	e := newDestEnv(t, nil, false, true)
	if status, body := e.do(opToken, "POST", "/api/v1/destinations", e.piveauJSON("eosc", hubKey)); status != 503 || !strings.Contains(body, "cannot check destinations") {
		t.Errorf("POST without a checker = %d %s, want 503", status, body)
	}
	if status, body := e.do(opToken, "GET", "/api/v1/destinations", ""); status != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET without a checker = %d %s", status, body)
	}
}

// TestDestinationCreateChecked: registration validates, checks, and says
// what is wrong.
func TestDestinationCreateChecked(t *testing.T) {
	e := newDestEnv(t, nil, true, true)
	tests := []struct {
		name, body string
		status     int
		reason     string
	}{
		{"piveau", e.piveauJSON("eosc", hubKey), 201, `"has_api_key": true`},
		{"taken", e.piveauJSON("eosc", hubKey), 409, "already registered"},
		{"bad key", e.piveauJSON("eosc2", "wrong-"+hubKey), 422, "refused the API key"},
		{"missing catalogue", strings.Replace(e.piveauJSON("eosc3", hubKey), `"panosc"`, `"absent"`, 1), 422, "use --create-catalogue"},
		{"scicat", e.scicatJSON("daphne", scicatPass), 201, `"has_password": true`},
		{"scicat bad password", e.scicatJSON("daphne2", "wrong-"+scicatPass), 422, `SciCat login refused for user \"fairway\"`},
		{"invalid", `{"id":"x","kind":"ftp","url":"https://x.example"}`, 422, "want piveau or scicat"},
		{"no id", `{"kind":"piveau"}`, 422, "id is required"},
		{"reserved id", strings.Replace(e.piveauJSON("eosc", hubKey), `"eosc"`, `"status"`, 1), 422, "reserved"},
		{"unknown field", `{"id":"y","secret":"x"}`, 400, "unknown field"},
		{"replay given", `{"id":"z","kind":"piveau","url":"` + e.hub.URL + `","catalogue":"panosc","api_key":"k","replay":{"id":"r"}}`, 422, "/replay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.do(opToken, "POST", "/api/v1/destinations", tt.body)
			if status != tt.status || !strings.Contains(body, tt.reason) {
				t.Errorf("POST = %d %s, want %d with %q", status, body, tt.status, tt.reason)
			}
		})
	}
	got, err := e.client(opToken).GetDestination(context.Background(), "eosc")
	if err != nil || !got.Enabled || !got.HasAPIKey || got.Catalogue != "panosc" || got.APIKey != "" {
		t.Errorf("GetDestination = %+v, %v: want enabled by default, has_api_key, no key", got, err)
	}
	if status, body := e.do(opToken, "POST", "/api/v1/destinations", strings.Replace(e.piveauJSON("off", hubKey), `{`, `{"enabled":false,`, 1)); status != 201 || !strings.Contains(body, `"enabled": false`) {
		t.Errorf("POST enabled false = %d %s", status, body)
	}
}

func (e *denv) client(token string) *api.Client {
	c, err := api.NewClient(e.url, token, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestDestinationPatch: fields given change; credentials are kept when not
// given; a change of address or credentials is checked again, and a
// refused one changes nothing.
func TestDestinationPatch(t *testing.T) {
	e := newDestEnv(t, nil, true, true)
	ctx := context.Background()
	c := e.client(opToken)
	reg := destinations.NewRegistry(e.bus.State(bus.BucketDestinations))
	if _, err := c.CreateDestination(ctx, destinations.NewInput(destinations.Destination{
		ID: "eosc", Kind: destinations.KindPiveau, URL: e.hub.URL, Catalogue: "panosc", APIKey: hubKey, Enabled: true,
	})); err != nil {
		t.Fatal(err)
	}
	checks := func() int { return e.hub.Count(piveautest.RouteGetCatalogue) }
	before := checks()
	got, err := c.UpdateDestination(ctx, "eosc", api.DestinationPatch{InFlight: ptr(8), Facilities: &[]string{"ESRF"}, Enabled: ptr(false)})
	if err != nil || got.InFlight != 8 || got.Enabled || len(got.Facilities) != 1 || !got.HasAPIKey {
		t.Fatalf("PATCH = %+v, %v", got, err)
	}
	if checks() != before {
		t.Errorf("a change of in_flight and selection checked the hub again")
	}
	if d, _ := reg.Get(ctx, "eosc"); d.APIKey.Reveal() != hubKey {
		t.Errorf("PATCH without a key lost the key")
	}
	// A wrong key is checked and refused; nothing changes.
	_, err = c.UpdateDestination(ctx, "eosc", api.DestinationPatch{APIKey: ptr("wrong-" + hubKey)})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(ae.Message, "refused the API key") {
		t.Fatalf("PATCH with a wrong key = %v", err)
	}
	if d, _ := reg.Get(ctx, "eosc"); d.APIKey.Reveal() != hubKey {
		t.Errorf("a refused PATCH changed the key")
	}
	// A new catalogue with create_catalogue is checked and created.
	if _, err := c.UpdateDestination(ctx, "eosc", api.DestinationPatch{Catalogue: ptr("fresh"), CreateCatalogue: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if !e.hub.HasCatalogue("fresh") {
		t.Error("the re-check did not create the new catalogue")
	}
	// A bearer token replaces the key.
	e.hub.Close()
	hub := piveautest.Start(piveautest.Config{BearerToken: hubKey2, Catalogues: []string{"fresh"}})
	defer hub.Close()
	got, err = c.UpdateDestination(ctx, "eosc", api.DestinationPatch{URL: &hub.URL, BearerToken: ptr(hubKey2)})
	if err != nil || got.HasAPIKey || !got.HasBearerToken {
		t.Fatalf("PATCH to a bearer token = %+v, %v", got, err)
	}
	if d, _ := reg.Get(ctx, "eosc"); d.APIKey != "" || d.BearerToken.Reveal() != hubKey2 || d.InFlight != 8 {
		t.Errorf("stored after the switch: %+v", d)
	}
	for _, bad := range []struct {
		p    api.DestinationPatch
		want int
	}{
		{api.DestinationPatch{ID: ptr("other")}, 422},
		{api.DestinationPatch{OnDelete: ptr("unpublish")}, 422},
		{api.DestinationPatch{InFlight: ptr(-1)}, 422},
	} {
		if _, err := c.UpdateDestination(ctx, "eosc", bad.p); !errors.As(err, &ae) || ae.Status != bad.want {
			t.Errorf("PATCH %+v = %v, want %d", bad.p, err, bad.want)
		}
	}
	if _, err := c.UpdateDestination(ctx, "nowhere", api.DestinationPatch{InFlight: ptr(1)}); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("PATCH of an unknown destination = %v, want 404", err)
	}
}

// TestDestinationReplayAndStatus: a replay writes a new Replay into the
// record each time; status comes from the reader.
func TestDestinationReplayAndStatus(t *testing.T) {
	e := newDestEnv(t, nil, true, true)
	ctx := context.Background()
	c := e.client(opToken)
	if _, err := c.CreateDestination(ctx, destinations.NewInput(destinations.Destination{
		ID: "daphne", Kind: destinations.KindSciCat, URL: e.scicat.URL, Username: "fairway", Password: scicatPass, Enabled: true,
	})); err != nil {
		t.Fatal(err)
	}
	first, err := c.ReplayDestination(ctx, "daphne", api.ReplayRequest{FromSeq: 42})
	if err != nil || first.Replay == nil || first.Replay.FromSeq != 42 || first.Replay.ID == "" || first.Replay.Requested.IsZero() {
		t.Fatalf("replay = %+v, %v", first.Replay, err)
	}
	second, err := c.ReplayDestination(ctx, "daphne", api.ReplayRequest{Since: "2026-01-02T03:04:05+01:00", All: true})
	if err != nil || second.Replay == nil || second.Replay.ID == first.Replay.ID || !second.Replay.All ||
		!second.Replay.Since.Equal(time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)) || second.Replay.FromSeq != 0 {
		t.Fatalf("second replay = %+v, %v (first %+v)", second.Replay, err, first.Replay)
	}
	d, err := destinations.NewRegistry(e.bus.State(bus.BucketDestinations)).Get(ctx, "daphne")
	if err != nil || d.Replay == nil || d.Replay.ID != second.Replay.ID || d.Password.Reveal() != scicatPass {
		t.Fatalf("stored = %+v, %v", d.Replay, err)
	}
	// A PATCH keeps the replay asked for.
	if got, err := c.UpdateDestination(ctx, "daphne", api.DestinationPatch{InFlight: ptr(2)}); err != nil || got.Replay == nil || got.Replay.ID != second.Replay.ID {
		t.Errorf("PATCH after a replay = %+v, %v", got.Replay, err)
	}
	var ae *api.Error
	for _, bad := range []api.ReplayRequest{{Since: "yesterday"}, {FromSeq: 1, Since: "2026-01-02T03:04:05Z"}} {
		if _, err := c.ReplayDestination(ctx, "daphne", bad); !errors.As(err, &ae) || ae.Status != 400 {
			t.Errorf("replay %+v = %v, want 400", bad, err)
		}
	}
	if _, err := c.ReplayDestination(ctx, "nowhere", api.ReplayRequest{}); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("replay of an unknown destination = %v, want 404", err)
	}
	st, err := c.DestinationStatus(ctx, "daphne")
	if err != nil || st.ID != "daphne" || st.Held != 3 || st.Pending != 2 {
		t.Errorf("status = %+v, %v", st, err)
	}
	all, err := c.DestinationsStatus(ctx)
	if err != nil || len(all) != 1 || all[0].ID != "daphne" {
		t.Errorf("all status = %+v, %v", all, err)
	}
	if err := c.DeleteDestination(ctx, "daphne"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDestination(ctx, "daphne"); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("get after delete = %v, want 404", err)
	}
}

// TestDestinationCredentialsNeverShown: no answer and no log line holds a
// destination's credential, whatever the route and its outcome.
func TestDestinationCredentialsNeverShown(t *testing.T) {
	e := newDestEnv(t, nil, true, true)
	var answers []string
	do := func(method, path, body string) {
		_, b := e.do(opToken, method, path, body)
		answers = append(answers, b)
	}
	do("POST", "/api/v1/destinations", e.piveauJSON("eosc", hubKey))
	do("POST", "/api/v1/destinations", e.piveauJSON("eosc2", "wrong-"+hubKey))
	do("POST", "/api/v1/destinations", e.scicatJSON("daphne", scicatPass))
	do("POST", "/api/v1/destinations", e.scicatJSON("daphne2", "wrong-"+scicatPass))
	do("GET", "/api/v1/destinations", "")
	do("GET", "/api/v1/destinations/eosc", "")
	do("PATCH", "/api/v1/destinations/eosc", `{"api_key":"wrong-`+hubKey+`"}`)
	do("PATCH", "/api/v1/destinations/daphne", `{"password":"`+scicatPass+`","in_flight":3}`)
	do("POST", "/api/v1/destinations/eosc/replay", `{}`)
	do("GET", "/api/v1/destinations/status", "")
	for _, a := range answers {
		for _, s := range []string{hubKey, scicatPass} {
			if strings.Contains(a, s) {
				t.Errorf("an answer holds a credential: %s", a)
			}
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "destination registered") || !strings.Contains(logs, "destination check failed") {
		t.Fatalf("the log was not captured: %s", logs)
	}
	for _, s := range []string{hubKey, scicatPass, opToken} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a secret %q:\n%s", s, logs)
		}
	}
}

// fakeFeedChecker passes every feed (the destination tests register none).
type fakeFeedChecker struct{}

func (fakeFeedChecker) Check(context.Context, feeds.Feed) (feeds.SourceInfo, error) {
	return feeds.SourceInfo{}, nil
}
