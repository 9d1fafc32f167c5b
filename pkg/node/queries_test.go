package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/pflag"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/ratelimit"
	"github.com/panosc/fairway/pkg/search"
)

const (
	mcpOperatorToken = "operator-token-0123456789"
	mcpFacilityToken = "esrf-token-0123456789abcd"
	mcpBaseURL       = "http://fairway.test:8080"
)

// initializeBody is an MCP initialize request, as a client's first POST.
const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`

// queryNode returns the node's handler over the test catalogue, with the
// feed API's static tokens (an operator's and ESRF's) unless access is
// given, MCP mounted and the query endpoints configured by q.
func queryNode(t *testing.T, q QueryEndpoints, access *api.Access, panosc http.Handler) (http.Handler, error) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if access == nil {
		var err error
		access, err = api.NewAccess(api.TokensFile{Operator: []string{mcpOperatorToken}, Facilities: map[string][]string{"ESRF": {mcpFacilityToken}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	feedAPI, err := api.New(api.Config{Access: access, Checker: checker, ResourceMetadataURL: aai.MetadataURL(mcpBaseURL)}, testenv.Bus(t), log)
	if err != nil {
		t.Fatal(err)
	}
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	mcpH, err := mcpHandler(mcpParts{search: s, model: model, techniques: search.NewTerms(m)})
	if err != nil {
		t.Fatal(err)
	}
	return httpHandler(mcpBaseURL, feedAPI, http.NotFoundHandler(), panosc, nil, mcpH, nil, q, log)
}

// postMCP posts an MCP initialize to /mcp of h from addr, with the
// Authorization header auth (none when empty).
func postMCP(h http.Handler, addr, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, MCPPath, strings.NewReader(initializeBody))
	r.Host = "fairway.test:8080"
	r.RemoteAddr = addr
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// TestMCPAuthToken runs /mcp on the node's handler with --mcp-auth token:
// an initialize without a token, or with one the node does not know, is
// 401 with the challenge naming the protected resource metadata; with an
// operator's or a facility's token, the Go SDK's client initializes and
// calls search_datasets.
func TestMCPAuthToken(t *testing.T) {
	h, err := queryNode(t, QueryEndpoints{MCPAuth: MCPAuthToken}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	challenge := `Bearer realm="fairway", resource_metadata="` + mcpBaseURL + aai.MetadataPath + `"`
	tests := []struct {
		name, auth string
		status     int
		challenge  string
	}{
		{"no token", "", http.StatusUnauthorized, challenge},
		{"unknown token", "Bearer not-a-token-of-this-node", http.StatusUnauthorized, challenge + `, error="invalid_token"`},
		{"not a bearer token", "Basic b3A6cGFzcw==", http.StatusUnauthorized, challenge + `, error="invalid_token"`},
		{"operator token", "Bearer " + mcpOperatorToken, http.StatusOK, ""},
		{"facility token", "Bearer " + mcpFacilityToken, http.StatusOK, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case from an address of its own: the rate limit is
			// not what this test is about.
			w := postMCP(h, "192.0.2."+string(rune('1'+i))+":4000", tt.auth)
			if w.Code != tt.status {
				t.Fatalf("initialize: %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if tt.status == http.StatusOK && !strings.Contains(w.Body.String(), `"serverInfo"`) {
				t.Errorf("initialize answered without serverInfo: %s", w.Body)
			}
		})
	}

	// The Go SDK's client, with a token, over a real connection.
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	for _, tok := range []string{mcpOperatorToken, mcpFacilityToken} {
		hc := &http.Client{Transport: bearer{token: tok, next: http.DefaultTransport}}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + MCPPath, HTTPClient: hc}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_datasets", Arguments: map[string]any{"facility": "esrf"}})
		if err != nil || res.IsError {
			t.Fatalf("search_datasets with a token: %v %v", res, err)
		}
		_ = cs.Close()
	}
	// Without a token the SDK's client cannot connect.
	if _, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + MCPPath}, nil); err == nil {
		t.Error("the SDK's client connected without a token")
	}
}

// TestMCPAuthModes: open (the default) needs no token; token mode on an
// API that accepts no token (the open demo) stops the node at start.
func TestMCPAuthModes(t *testing.T) {
	h, err := queryNode(t, QueryEndpoints{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := postMCP(h, "192.0.2.1:4000", ""); w.Code != http.StatusOK {
		t.Errorf("open /mcp without a token: %d: %s", w.Code, w.Body)
	}
	if _, err := queryNode(t, QueryEndpoints{MCPAuth: MCPAuthToken}, api.OpenAccess(), nil); !errors.Is(err, api.ErrNoReaderTokens) {
		t.Errorf("token mode on an open API: %v, want ErrNoReaderTokens", err)
	}
	if _, err := queryNode(t, QueryEndpoints{MCPAuth: "oauth"}, nil, nil); err == nil {
		t.Error("an unknown --mcp-auth was accepted")
	}
}

// TestRateLimitQueryEndpoints checks the rate limit of the node's query
// endpoints: beyond its burst a client gets 429 with Retry-After, another
// client is served; /panosc-api and /mcp count apart; with tokens, /mcp
// counts by token, and requests without a valid token by address.
func TestRateLimitQueryEndpoints(t *testing.T) {
	panosc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "[]") })
	q := QueryEndpoints{MCPAuth: MCPAuthToken, RateLimit: ratelimit.Config{Rate: 0.1, Burst: 2}}
	h, err := queryNode(t, q, nil, panosc)
	if err != nil {
		t.Fatal(err)
	}
	getPaNOSC := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/panosc-api/Datasets", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const one, two = "198.51.100.1:5000", "198.51.100.2:5000"
	operator, facility := "Bearer "+mcpOperatorToken, "Bearer "+mcpFacilityToken
	steps := []struct {
		name   string
		call   func() *httptest.ResponseRecorder
		status int
	}{
		{"panosc 1", func() *httptest.ResponseRecorder { return getPaNOSC(one) }, 200},
		{"panosc 2", func() *httptest.ResponseRecorder { return getPaNOSC(one) }, 200},
		{"panosc beyond the burst", func() *httptest.ResponseRecorder { return getPaNOSC(one) }, 429},
		{"panosc, another client", func() *httptest.ResponseRecorder { return getPaNOSC(two) }, 200},
		{"mcp from the same address, operator", func() *httptest.ResponseRecorder { return postMCP(h, one, operator) }, 200},
		{"mcp, operator again", func() *httptest.ResponseRecorder { return postMCP(h, one, operator) }, 200},
		{"mcp, operator beyond the burst", func() *httptest.ResponseRecorder { return postMCP(h, two, operator) }, 429},
		{"mcp, another token from the same address", func() *httptest.ResponseRecorder { return postMCP(h, one, facility) }, 200},
		{"mcp without a token", func() *httptest.ResponseRecorder { return postMCP(h, one, "") }, 401},
		{"mcp with a bad token", func() *httptest.ResponseRecorder { return postMCP(h, one, "Bearer wrong-token-0123456789") }, 401},
		{"mcp, failed attempts are limited too", func() *httptest.ResponseRecorder { return postMCP(h, one, "") }, 429},
		{"mcp without a token, another address", func() *httptest.ResponseRecorder { return postMCP(h, two, "") }, 401},
	}
	for _, s := range steps {
		w := s.call()
		if w.Code != s.status {
			t.Fatalf("%s: %d, want %d: %s", s.name, w.Code, s.status, w.Body)
		}
		if s.status == 429 && w.Header().Get("Retry-After") != "10" {
			t.Errorf("%s: Retry-After %q, want 10 (one token per 10s)", s.name, w.Header().Get("Retry-After"))
		}
	}
	// Forged tokens from one address: the first are refused as such, the
	// next by the address's bucket; past addressSlack bursts the address
	// itself is refused before any token is checked, even a good one whose
	// own bucket has room.
	const three = "198.51.100.3:5000"
	for i := range addressSlack * 2 {
		want := http.StatusTooManyRequests
		if i < 2 {
			want = http.StatusUnauthorized
		}
		if w := postMCP(h, three, fmt.Sprintf("Bearer forged-%d-0123456789", i)); w.Code != want {
			t.Fatalf("forged token %d: %d, want %d", i, w.Code, want)
		}
	}
	if w := postMCP(h, three, facility); w.Code != http.StatusTooManyRequests {
		t.Fatalf("a good token from an address past its slack: %d, want 429", w.Code)
	}
	if w := postMCP(h, two, facility); w.Code != http.StatusOK {
		t.Fatalf("the same token from another address: %d, want 200", w.Code)
	}
}

// TestConfigurationQueryFlags parses the query endpoints' flags and
// checks what Validate refuses.
func TestConfigurationQueryFlags(t *testing.T) {
	tests := []struct {
		args []string
		want QueryEndpoints
		ok   bool
	}{
		{nil, QueryEndpoints{MCPAuth: MCPAuthOpen}, true},
		{[]string{"--mcp-auth", "token", "--query-rate", "2.5", "--query-burst", "5"}, QueryEndpoints{MCPAuth: MCPAuthToken, RateLimit: ratelimit.Config{Rate: 2.5, Burst: 5}}, true},
		{[]string{"--mcp-auth", "oauth"}, QueryEndpoints{MCPAuth: "oauth"}, false},
		{[]string{"--query-rate", "-1"}, QueryEndpoints{MCPAuth: MCPAuthOpen, RateLimit: ratelimit.Config{Rate: -1}}, false},
		{[]string{"--query-burst", "-3"}, QueryEndpoints{MCPAuth: MCPAuthOpen, RateLimit: ratelimit.Config{Burst: -3}}, false},
	}
	for _, target := range []string{TargetAll, TargetPublisher} {
		for _, tt := range tests {
			var cfg Config
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			cfg.BindFlags(fs, target)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if cfg.Queries != tt.want {
				t.Errorf("%s %v: %+v, want %+v", target, tt.args, cfg.Queries, tt.want)
			}
			cfg.NATSURL = "nats://127.0.0.1:4222"
			if err := cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("%s %v: Validate = %v, want ok %v", target, tt.args, err, tt.ok)
			}
		}
	}
}

// TestCapabilitiesOfQueryEndpoints checks that the capabilities document
// announces the PaNOSC search API and MCP where the node serves them, and
// that MCP needs a token.
func TestCapabilitiesOfQueryEndpoints(t *testing.T) {
	panosc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "[]") })
	h, err := queryNode(t, QueryEndpoints{MCPAuth: MCPAuthToken}, nil, panosc)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, CapabilitiesPath, nil))
	var doc Capabilities
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	got := map[string]Capability{}
	for _, c := range doc.Capabilities {
		got[c.Type] = c
	}
	if c := got["search"]; c.Status != StatusUp || c.Endpoint != mcpBaseURL+"/panosc-api" {
		t.Errorf("search: %+v", c)
	}
	if c := got["mcp"]; c.Endpoint != mcpBaseURL+MCPPath || c.Version == "" || !strings.Contains(c.Note, "bearer token") {
		t.Errorf("mcp: %+v", c)
	}
}
