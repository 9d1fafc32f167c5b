package api_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testop"
	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
	"github.com/panosc/fairway/pkg/usage"
)

const (
	nodeAudience = "https://fairway.test"
	entOperator  = "urn:geant:eosc-federation.eu:group:panosc:fairway:operator#aai.eosc.eu"
	entESRF      = "urn:geant:eosc-federation.eu:group:panosc:esrf:manager#aai.eosc.eu"
	entILL       = "urn:geant:eosc-federation.eu:group:panosc:ill:manager#aai.eosc.eu"
	metadataURL  = "https://fairway.test/.well-known/oauth-protected-resource"
)

// newOIDCEnv is newEnv with an API that also accepts the sign-in tokens
// of op (beside the static tokens), takes usage events and names its
// resource metadata.
func newOIDCEnv(t *testing.T, op *testop.OP) *env {
	t.Helper()
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{{
		URL: op.URL(), Audience: nodeAudience,
		Operators:  aai.Rule{Entitlements: []string{entOperator}},
		Facilities: map[string]aai.Rule{"ESRF": {Entitlements: []string{entESRF}}, "ILL": {Entitlements: []string{entILL}}},
	}}}, log)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.SetupAccess(api.AccessConfig{Tokens: tokensFile(), OIDC: v}, log)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Timeout: 5 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := usage.NewHasher([]byte("a test secret of the node, 32 b"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Access: access, Checker: checker, Usage: usage.NewIntake(h, nil), ResourceMetadataURL: metadataURL}, e.bus, log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(srv)
	t.Cleanup(s.Close)
	e.url = s.URL
	for key, facility := range map[string]string{"doi:10.5072/esrf.1": "ESRF", "doi:10.5072/ill.1": "ILL"} {
		if _, err := e.bus.Owners().Claim(context.Background(), key, facility, strings.ToLower(facility)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func entitled(sub string, ents ...string) testop.Claims {
	list := make([]any, len(ents))
	for i, v := range ents {
		list[i] = v
	}
	return testop.Claims{Subject: sub, Extra: map[string]any{"eduperson_entitlement": list}}
}

// TestSignInRoles runs writes with the sign-in tokens of a real provider:
// each role may do what the static token of that role may, no more; a
// token without a role is refused with 403 and the reason; an invalid one
// with 401 and the challenge that names the resource metadata.
func TestSignInRoles(t *testing.T) {
	op := testop.Start(t, nodeAudience)
	e := newOIDCEnv(t, op)
	operator := op.Token(t, entitled("olga@eosc", entOperator))
	esrf := op.Token(t, entitled("emma@esrf", entESRF))
	ill := op.Token(t, entitled("ivan@ill", "urn:other", entILL))
	nobody := op.Token(t, entitled("nina@psi", "urn:geant:eosc-federation.eu:group:panosc:psi:manager#aai.eosc.eu"))
	expired := op.Token(t, testop.Claims{Subject: "emma@esrf", Expiry: time.Now().Add(-time.Hour), Extra: entitled("", entESRF).Extra})
	elsewhere := op.Token(t, testop.Claims{Subject: "emma@esrf", Audience: "https://other-node.test", Extra: entitled("", entESRF).Extra})
	stranger := op.UnknownKeyToken(t, entitled("emma@esrf", entESRF))
	usageOf := func(doi string) string {
		return `{"events":[{"dataset":"` + doi + `","time":"2026-05-01T10:00:00Z","kind":"request","session":"s"}]}`
	}
	steps := []struct {
		name   string
		token  string
		method string
		path   string
		body   string
		status int
		want   string
	}{
		{"ESRF manager registers an ESRF feed", esrf, "POST", "/api/v1/feeds", e.feedJSON("esrf", "ESRF"), 201, `"facility": "ESRF"`},
		{"ESRF manager's facility is filled in", esrf, "POST", "/api/v1/feeds", `{"id":"esrf2","url":"` + e.sample + `","format":"oai_dc","enabled":false}`, 201, `"facility": "ESRF"`},
		{"ESRF manager registers an ILL feed", esrf, "POST", "/api/v1/feeds", e.feedJSON("ill", "ILL"), 403, `cannot register a feed of facility \"ILL\"`},
		{"ILL manager registers an ILL feed", ill, "POST", "/api/v1/feeds", e.feedJSON("ill", "ILL"), 201, `"facility": "ILL"`},
		{"ESRF manager changes ILL's feed", esrf, "PATCH", "/api/v1/feeds/ill", `{"every":"1h"}`, 403, "cannot manage feed ill"},
		{"ESRF manager harvests ILL's feed", esrf, "POST", "/api/v1/feeds/ill/harvest", "", 403, "cannot manage"},
		{"ESRF manager deletes ILL's feed", esrf, "DELETE", "/api/v1/feeds/ill", "", 403, "cannot manage"},
		{"ESRF manager raises its caps", esrf, "PATCH", "/api/v1/feeds/esrf", `{"max_duration":"1000h"}`, 403, "only an operator may raise"},
		{"ESRF manager changes its own feed", esrf, "PATCH", "/api/v1/feeds/esrf", `{"every":"1h"}`, 200, `"every": "1h0m0s"`},
		{"operator raises ESRF's caps", operator, "PATCH", "/api/v1/feeds/esrf", `{"max_duration":"1000h"}`, 200, `"max_duration": "1000h0m0s"`},
		{"a token in the query is not logged", operator, "PATCH", "/api/v1/feeds/esrf?access_token=query-secret-0123&x=1", `{"every":"2h"}`, 200, `"every": "2h0m0s"`},
		{"operator moves a feed", operator, "PATCH", "/api/v1/feeds/esrf2", `{"facility":"ILL"}`, 200, `"facility": "ILL"`},
		{"ESRF manager reports ESRF usage", esrf, "POST", "/api/v1/usage", usageOf("10.5072/esrf.1"), 200, `"accepted": 1`},
		{"ESRF manager reports ILL usage", esrf, "POST", "/api/v1/usage", usageOf("10.5072/ill.1"), 422, "belongs to ILL"},
		{"operator reports ILL usage", operator, "POST", "/api/v1/usage", usageOf("10.5072/ill.1"), 200, `"accepted": 1`},
		{"ESRF manager lists destinations", esrf, "GET", "/api/v1/destinations", "", 403, "only an operator"},
		{"operator lists destinations", operator, "GET", "/api/v1/destinations", "", 200, "["},
		{"ESRF manager lists dead letters", esrf, "GET", "/api/v1/deadletters", "", 403, "operator"},
		{"ESRF manager asks for a replay", esrf, "POST", "/api/v1/replays", `{"stage":"enricher"}`, 403, "operator"},
		{"ESRF manager transfers a dataset", esrf, "POST", "/api/v1/datasets/transfer", `{"key":"doi:10.5072/ill.1","facility":"ESRF"}`, 403, "operator"},
		{"no role", nobody, "POST", "/api/v1/feeds", e.feedJSON("psi", "PSI"), 403, `subject \"nina@psi\"`},
		{"expired", expired, "POST", "/api/v1/feeds", e.feedJSON("x", "ESRF"), 401, "expired"},
		{"other audience", elsewhere, "POST", "/api/v1/feeds", e.feedJSON("x", "ESRF"), 401, "audience"},
		{"unknown key", stranger, "POST", "/api/v1/feeds", e.feedJSON("x", "ESRF"), 401, "invalid token"},
		{"static tokens still work", illToken, "DELETE", "/api/v1/feeds/esrf2", "", 204, ""},
		{"ILL manager deletes its feed", ill, "DELETE", "/api/v1/feeds/ill", "", 204, ""},
	}
	for _, s := range steps {
		status, hdr, body := doHeader(t, e.url, s.token, s.method, s.path, s.body)
		if status != s.status || !strings.Contains(body, s.want) {
			t.Fatalf("%s: %s %s = %d %s; want %d with %q", s.name, s.method, s.path, status, body, s.status, s.want)
		}
		if s.token == nobody {
			if c := hdr.Get("WWW-Authenticate"); !strings.Contains(c, `error="insufficient_scope"`) {
				t.Errorf("%s: WWW-Authenticate %q", s.name, c)
			}
		}
		if status == 401 {
			if c := hdr.Get("WWW-Authenticate"); !strings.Contains(c, `resource_metadata="`+metadataURL+`"`) || !strings.Contains(c, `error="invalid_token"`) {
				t.Errorf("%s: WWW-Authenticate %q", s.name, c)
			}
		}
	}
	if _, hdr, _ := doHeader(t, e.url, "", "POST", "/api/v1/feeds", "{}"); !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `Bearer realm="fairway", resource_metadata="`) {
		t.Errorf("no token: WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
	}
	logs := e.logs.String()
	if strings.Contains(logs, "query-secret-0123") || !strings.Contains(logs, `query="x=1"`) {
		t.Error("the audit line logs the query's access_token, or not the rest of the query")
	}
	for _, tok := range []string{operator, esrf, ill, nobody, expired, stranger} {
		if strings.Contains(logs, tok) || strings.Contains(logs, tok[strings.LastIndex(tok, ".")+1:]) {
			t.Fatal("a token is in the log")
		}
	}
	for _, want := range []string{
		`msg=audit by.role=facility-manager by.facility=ESRF by.subject=emma@esrf by.issuer=` + op.URL() + ` method=PATCH route="PATCH /api/v1/feeds/{id}" path=/api/v1/feeds/esrf status=200 fields=[every]`,
		`msg=audit by.role=operator by.subject=olga@eosc by.issuer=` + op.URL() + ` method=PATCH route="PATCH /api/v1/feeds/{id}" path=/api/v1/feeds/esrf status=200 fields=[max_duration]`,
		`msg=audit by.role=facility-manager by.facility=ESRF by.subject=emma@esrf by.issuer=` + op.URL() + ` method=DELETE route="DELETE /api/v1/feeds/{id}" path=/api/v1/feeds/ill status=403`,
		`msg=audit by.role=facility-manager by.facility=ILL by.subject=token:ILL#1 `,
		`msg="feed updated" feed=esrf facility=ESRF rechecked=false by.role=facility-manager by.facility=ESRF by.subject=emma@esrf`,
		`path=/api/v1/usage status=200 fields=[events]`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

func doHeader(t *testing.T, base, token, method, path, body string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// TestSignInIssuerDown: a token of an issuer the node cannot reach is
// 503 (try again), not 401; static tokens still work.
func TestSignInIssuerDown(t *testing.T) {
	e := newEnv(t, urlguard.Policy{AllowPrivate: true})
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	down := "http://127.0.0.1:1"
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{{URL: down, Audience: nodeAudience, Operators: aai.Rule{Subjects: []string{"olga"}}}}}, log)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.SetupAccess(api.AccessConfig{Tokens: tokensFile(), OIDC: v}, log)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: urlguard.Policy{AllowPrivate: true}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Access: access, Checker: checker}, e.bus, log)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(srv)
	t.Cleanup(s.Close)
	// A JWT naming the unreachable issuer (its signature is never reached).
	forged := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+down+`","sub":"olga"}`)) + ".c2ln"
	if status, _, body := doHeader(t, s.URL, forged, "DELETE", "/api/v1/feeds/x", ""); status != 503 || !strings.Contains(body, "issuer unavailable") {
		t.Errorf("issuer down: %d %s, want 503", status, body)
	}
	if status, _, body := doHeader(t, s.URL, opToken, "DELETE", "/api/v1/feeds/x", ""); status != 404 {
		t.Errorf("static token with the issuer down: %d %s, want 404", status, body)
	}
}
