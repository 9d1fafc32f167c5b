package api_test

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/internal/testop"
	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
)

// TestReadGate sends reads with every kind of token through a ReadGate:
// static operator and facility tokens and sign-in tokens with a role pass
// (with their principal in the context); none, an unknown or expired one is
// 401 with the challenge, a sign-in token without a role 403, one of an
// issuer that cannot be reached 503. No token is logged.
func TestReadGate(t *testing.T) {
	op := testop.Start(t, nodeAudience)
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	down := "http://127.0.0.1:1"
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{
		{URL: op.URL(), Audience: nodeAudience, Facilities: map[string]aai.Rule{"ESRF": {Entitlements: []string{entESRF}}}},
		{URL: down, Audience: nodeAudience, Operators: aai.Rule{Subjects: []string{"olga"}}},
	}}, log)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.SetupAccess(api.AccessConfig{Tokens: tokensFile(), OIDC: v}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := newReadServer(t, access, log)
	gate, err := srv.ReadGate()
	if err != nil {
		t.Fatal(err)
	}
	var seen api.Principal
	h := gate.Identify(gate.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := api.PrincipalFrom(r.Context())
		if !ok {
			t.Error("a request let through without a principal")
		}
		seen = p
	})))
	esrf := op.Token(t, entitled("emma@esrf", entESRF))
	nobody := op.Token(t, entitled("nina@psi", "urn:other"))
	expired := op.Token(t, testop.Claims{Subject: "emma@esrf", Expiry: time.Now().Add(-time.Hour), Extra: entitled("", entESRF).Extra})
	unreachable := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+down+`","sub":"olga"}`)) + ".c2ln"
	tests := []struct {
		name      string
		header    string
		status    int
		challenge string // in WWW-Authenticate; "" means none
		subject   string
	}{
		{"operator token", "Bearer " + opToken, 200, "", "token:operator#1"},
		{"facility token", "bearer " + illToken, 200, "", "token:ILL#1"},
		{"sign-in token with a role", "Bearer " + esrf, 200, "", "emma@esrf"},
		{"no token", "", 401, `Bearer realm="fairway", resource_metadata="` + metadataURL + `"`, ""},
		{"another scheme", "Basic b3A6cGFzcw==", 401, `error="invalid_token"`, ""},
		{"unknown token", "Bearer not-a-token-of-this-node", 401, `error="invalid_token"`, ""},
		{"expired sign-in token", "Bearer " + expired, 401, `error="invalid_token"`, ""},
		{"sign-in token without a role", "Bearer " + nobody, 403, `error="insufficient_scope"`, ""},
		{"issuer down", "Bearer " + unreachable, 503, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = api.Principal{}
			r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("{}"))
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			c := w.Header().Get("WWW-Authenticate")
			if tt.challenge == "" && c != "" || !strings.Contains(c, tt.challenge) {
				t.Errorf("WWW-Authenticate %q, want %q", c, tt.challenge)
			}
			if seen.Subject != tt.subject {
				t.Errorf("principal %q, want %q", seen.Subject, tt.subject)
			}
			if tt.status == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
	for _, tok := range []string{opToken, illToken, esrf, nobody, expired, "not-a-token-of-this-node"} {
		if strings.Contains(logs.String(), tok) {
			t.Fatal("a token is in the log")
		}
	}
	// Require without Identify lets nothing through.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+opToken)
	gate.Require(http.NotFoundHandler()).ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("Require alone: %d, want 401", w.Code)
	}
}

// TestReadGateNeedsTokens: an API that is open, or accepts no token at
// all, has no gate to give.
func TestReadGateNeedsTokens(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	empty, err := api.NewAccess(api.TokensFile{})
	if err != nil {
		t.Fatal(err)
	}
	for name, access := range map[string]*api.Access{"open": api.OpenAccess(), "no token": empty} {
		if _, err := newReadServer(t, access, log).ReadGate(); !errors.Is(err, api.ErrNoReaderTokens) {
			t.Errorf("%s: ReadGate = %v, want ErrNoReaderTokens", name, err)
		}
	}
}

func newReadServer(t *testing.T, access *api.Access, log *slog.Logger) *api.Server {
	t.Helper()
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Access: access, Checker: checker, ResourceMetadataURL: metadataURL}, testenv.Bus(t), log)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}
