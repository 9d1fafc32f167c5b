package aai_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testop"
	"github.com/panosc/fairway/pkg/aai"
)

const (
	audience    = "https://fairway.test"
	esrfManager = "urn:geant:eosc-federation.eu:group:panosc:esrf:manager#aai.eosc.eu"
	illManager  = "urn:geant:eosc-federation.eu:group:panosc:ill:manager#aai.eosc.eu"
	operatorEnt = "urn:geant:eosc-federation.eu:group:panosc:fairway:operator#aai.eosc.eu"
)

func issuerConfig(url string) aai.Issuer {
	return aai.Issuer{
		URL: url, Audience: audience,
		Operators: aai.Rule{Entitlements: []string{operatorEnt}, Subjects: []string{"root@op"}},
		Facilities: map[string]aai.Rule{
			"ESRF": {Entitlements: []string{esrfManager}},
			"ILL":  {Entitlements: []string{illManager}, Subjects: []string{"ill-robot"}},
		},
	}
}

func newVerifier(t *testing.T, op *testop.OP) *aai.Verifier {
	t.Helper()
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{issuerConfig(op.URL())}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ents(v ...string) map[string]any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return map[string]any{"eduperson_entitlement": out}
}

func TestVerify(t *testing.T) {
	op := testop.Start(t, audience)
	v := newVerifier(t, op)
	other := testop.Start(t, audience)
	tests := []struct {
		name    string
		token   string
		want    aai.Identity
		wantErr error
		reason  string
	}{
		{"operator by entitlement", op.Token(t, testop.Claims{Subject: "alice", Extra: ents(operatorEnt)}),
			aai.Identity{Issuer: op.URL(), Subject: "alice", Operator: true}, nil, ""},
		{"operator by subject", op.Token(t, testop.Claims{Subject: "root@op"}),
			aai.Identity{Issuer: op.URL(), Subject: "root@op", Operator: true}, nil, ""},
		{"ESRF manager", op.Token(t, testop.Claims{Subject: "bob", Extra: ents("urn:other", esrfManager)}),
			aai.Identity{Issuer: op.URL(), Subject: "bob", Facility: "ESRF"}, nil, ""},
		{"ILL by subject", op.Token(t, testop.Claims{Subject: "ill-robot"}),
			aai.Identity{Issuer: op.URL(), Subject: "ill-robot", Facility: "ILL"}, nil, ""},
		{"entitlement as a single string", op.Token(t, testop.Claims{Subject: "bob", Extra: map[string]any{"eduperson_entitlement": esrfManager}}),
			aai.Identity{Issuer: op.URL(), Subject: "bob", Facility: "ESRF"}, nil, ""},
		{"groups claim", op.Token(t, testop.Claims{Subject: "bob", Extra: map[string]any{"groups": []any{illManager}}}),
			aai.Identity{Issuer: op.URL(), Subject: "bob", Facility: "ILL"}, nil, ""},
		{"expired within the skew", op.Token(t, testop.Claims{Subject: "bob", Expiry: time.Now().Add(-10 * time.Second), Extra: ents(esrfManager)}),
			aai.Identity{Issuer: op.URL(), Subject: "bob", Facility: "ESRF"}, nil, ""},
		{"expired", op.Token(t, testop.Claims{Subject: "bob", Expiry: time.Now().Add(-time.Minute), Extra: ents(esrfManager)}),
			aai.Identity{}, aai.ErrInvalidToken, "expired"},
		{"other audience", op.Token(t, testop.Claims{Subject: "bob", Audience: "https://elsewhere.test", Extra: ents(esrfManager)}),
			aai.Identity{}, aai.ErrInvalidToken, "audience"},
		{"unknown key", op.UnknownKeyToken(t, testop.Claims{Subject: "bob", Extra: ents(esrfManager)}),
			aai.Identity{}, aai.ErrInvalidToken, "signature"},
		{"other issuer", other.Token(t, testop.Claims{Subject: "bob", Extra: ents(esrfManager)}),
			aai.Identity{}, aai.ErrInvalidToken, "not accepted"},
		{"no matching claim", op.Token(t, testop.Claims{Subject: "carol", Extra: ents("urn:geant:eosc-federation.eu:group:panosc:psi:manager")}),
			aai.Identity{}, aai.ErrNoRole, "maps to a role"},
		{"entitlement in a claim not configured", op.Token(t, testop.Claims{Subject: "carol", Extra: map[string]any{"roles": []any{esrfManager}}}),
			aai.Identity{}, aai.ErrNoRole, "maps to a role"},
		{"several facilities", op.Token(t, testop.Claims{Subject: "dave", Extra: ents(esrfManager, illManager)}),
			aai.Identity{}, aai.ErrNoRole, "several facilities"},
		{"not a JWT", "static-token-0123456789", aai.Identity{}, aai.ErrInvalidToken, "JWT"},
		{"garbage payload", "a.!!!.c", aai.Identity{}, aai.ErrInvalidToken, "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.token)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Verify = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Verify = %+v, %v; want %v with %q", got, err, tt.wantErr, tt.reason)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error quotes the token: %v", err)
			}
		})
	}
}

// clock is a test clock: the real time plus an offset the test moves.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func newClockedVerifier(t *testing.T, op *testop.OP) (*aai.Verifier, *clock) {
	t.Helper()
	c := &clock{}
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{issuerConfig(op.URL())}}, slog.New(slog.DiscardHandler), aai.WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	return v, c
}

// TestVerifyKeyRotation: after the provider rotates its key and removes
// the old one, a token of the new key is accepted (the verifier fetches
// the JWKS again), and a token of the removed key is refused.
func TestVerifyKeyRotation(t *testing.T) {
	op := testop.Start(t, audience)
	v, clk := newClockedVerifier(t, op)
	claims := testop.Claims{Subject: "bob", Extra: ents(esrfManager)}
	old := op.Token(t, claims)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	hits := op.JWKSHits()
	op.Rotate(t)
	clk.advance(aai.DefaultMinKeyRefresh)
	rotated := op.Token(t, claims)
	id, err := v.Verify(context.Background(), rotated)
	if err != nil || id.Facility != "ESRF" {
		t.Fatalf("token of the new key: %+v, %v", id, err)
	}
	if op.JWKSHits() != hits+1 {
		t.Errorf("JWKS fetched %d times after the rotation, want once", op.JWKSHits()-hits)
	}
	if _, err := v.Verify(context.Background(), old); !errors.Is(err, aai.ErrInvalidToken) {
		t.Errorf("token of the removed key: %v, want ErrInvalidToken", err)
	}
}

// TestVerifyKeyFlood: tokens naming made-up keys make the verifier fetch
// the JWKS at most once per DefaultMinKeyRefresh; keys older than
// DefaultMaxKeyAge are fetched again, so a key the issuer withdrew stops
// working even when no token names a new one.
func TestVerifyKeyFlood(t *testing.T) {
	op := testop.Start(t, audience)
	v, clk := newClockedVerifier(t, op)
	claims := testop.Claims{Subject: "bob", Extra: ents(esrfManager)}
	good := op.Token(t, claims)
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	stranger := op.UnknownKeyToken(t, claims)
	hits := op.JWKSHits()
	for range 50 {
		if _, err := v.Verify(context.Background(), stranger); !errors.Is(err, aai.ErrInvalidToken) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if op.JWKSHits() != hits {
		t.Errorf("50 tokens of an unknown key fetched the JWKS %d times within the interval, want 0", op.JWKSHits()-hits)
	}
	clk.advance(aai.DefaultMinKeyRefresh)
	for range 10 {
		_, _ = v.Verify(context.Background(), stranger)
	}
	if op.JWKSHits() != hits+1 {
		t.Errorf("after the interval: %d fetches, want 1", op.JWKSHits()-hits)
	}
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Errorf("a good token after the flood: %v", err)
	}
	// The issuer withdraws its key: once the keys are stale, the first
	// token still verified by them is accepted and makes the verifier
	// fetch them again in the background; then the token of the
	// withdrawn key is refused.
	op.Rotate(t)
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Errorf("before the keys are stale: %v", err)
	}
	clk.advance(aai.DefaultMaxKeyAge + time.Second)
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Errorf("stale keys, refreshed in the background: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(context.Background(), good)
		if errors.Is(err, aai.ErrInvalidToken) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a withdrawn key after the keys were refreshed: %v, want ErrInvalidToken", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestVerifyIssuerDown: an issuer that cannot be reached makes its tokens
// fail with ErrUnavailable, not ErrInvalidToken.
func TestVerifyIssuerDown(t *testing.T) {
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{issuerConfig("http://127.0.0.1:1")}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	raw := forgeIssuer(t, "http://127.0.0.1:1")
	if _, err := v.Verify(context.Background(), raw); !errors.Is(err, aai.ErrUnavailable) {
		t.Fatalf("Verify = %v, want ErrUnavailable", err)
	}
}

// forgeIssuer returns an unsigned-looking JWT whose payload names iss.
func forgeIssuer(t *testing.T, iss string) string {
	t.Helper()
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + iss + `","sub":"x"}`))
	return "eyJhbGciOiJSUzI1NiJ9." + payload + ".c2ln"
}

func TestConfigValidate(t *testing.T) {
	good := issuerConfig("https://aai.example")
	mod := func(f func(*aai.Issuer)) aai.Config {
		is := issuerConfig("https://aai.example")
		f(&is)
		return aai.Config{Issuers: []aai.Issuer{is}}
	}
	tests := []struct {
		name string
		cfg  aai.Config
		ok   bool
	}{
		{"none", aai.Config{}, true},
		{"good", aai.Config{Issuers: []aai.Issuer{good}}, true},
		{"loopback http", mod(func(is *aai.Issuer) { is.URL = "http://127.0.0.1:9000/realm" }), true},
		{"no url", mod(func(is *aai.Issuer) { is.URL = "" }), false},
		{"plain http", mod(func(is *aai.Issuer) { is.URL = "http://aai.example" }), false},
		{"http to a look-alike of loopback", mod(func(is *aai.Issuer) { is.URL = "http://127.evil.example/realm" }), false},
		{"http to localhost", mod(func(is *aai.Issuer) { is.URL = "http://localhost:8080/realm" }), true},
		{"query", mod(func(is *aai.Issuer) { is.URL = "https://aai.example/?a=b" }), false},
		{"no audience", mod(func(is *aai.Issuer) { is.Audience = " " }), false},
		{"negative skew", mod(func(is *aai.Issuer) { is.ClockSkew = -time.Second }), false},
		{"huge skew", mod(func(is *aai.Issuer) { is.ClockSkew = time.Hour }), false},
		{"no role", mod(func(is *aai.Issuer) { is.Operators = aai.Rule{}; is.Facilities = nil }), false},
		{"bad facility", mod(func(is *aai.Issuer) { is.Facilities["a b/c"] = aai.Rule{Subjects: []string{"x"}} }), false},
		{"empty facility rule", mod(func(is *aai.Issuer) { is.Facilities["PSI"] = aai.Rule{} }), false},
		{"empty entitlement", mod(func(is *aai.Issuer) { is.Operators.Entitlements = []string{""} }), false},
		{"empty claim", mod(func(is *aai.Issuer) { is.Claims = []string{""} }), false},
		{"twice", aai.Config{Issuers: []aai.Issuer{good, good}}, false},
		{"negative timeout", aai.Config{HTTPTimeout: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, aai.ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestFlagIssuer(t *testing.T) {
	f := aai.FlagIssuer{URL: "https://aai.example", Audience: audience,
		Operators:        []string{operatorEnt, "sub:root@op"},
		FacilityManagers: []string{"ESRF=" + esrfManager, "ILL=sub:ill-robot", "ILL=" + illManager}}
	is, ok, err := f.Issuer()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := (aai.Config{Issuers: []aai.Issuer{is}}).Validate(); err != nil {
		t.Fatal(err)
	}
	if len(is.Operators.Entitlements) != 1 || is.Operators.Subjects[0] != "root@op" ||
		is.Facilities["ILL"].Subjects[0] != "ill-robot" || is.Facilities["ILL"].Entitlements[0] != illManager || is.Facilities["ESRF"].Entitlements[0] != esrfManager {
		t.Errorf("issuer = %+v", is)
	}
	for _, bad := range []aai.FlagIssuer{
		{Audience: audience},
		{URL: "https://aai.example", FacilityManagers: []string{"ESRF"}},
		{URL: "https://aai.example", FacilityManagers: []string{"=x"}},
	} {
		if _, _, err := bad.Issuer(); !errors.Is(err, aai.ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", bad, err)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "aai.yaml")
	doc := `issuers:
  - url: https://proxy.aai.eosc.eu/auth/realms/core
    audience: https://fairway.example.org
    clock_skew: 1m
    operators:
      subjects: [1234@eosc-federation.eu]
    facilities:
      ESRF:
        entitlements: ["` + esrfManager + `"]
`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := aai.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || c.Issuers[0].ClockSkew != time.Minute || c.Issuers[0].Facilities["ESRF"].Entitlements[0] != esrfManager {
		t.Fatalf("%+v, %v", c, err)
	}
	if err := os.WriteFile(path, []byte("issuers:\n  - url: https://x\n    audiance: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := aai.LoadFile(path); !errors.Is(err, aai.ErrConfig) {
		t.Errorf("a misspelt key: %v, want ErrConfig", err)
	}
}

func TestMetadata(t *testing.T) {
	op := testop.Start(t, audience)
	m := aai.Metadata("https://fairway.test/", newVerifier(t, op))
	if m.Resource != "https://fairway.test" || len(m.AuthorizationServers) != 1 || m.AuthorizationServers[0] != op.URL() || m.BearerMethodsSupported[0] != "header" {
		t.Errorf("metadata = %+v", m)
	}
}

// TestDocExample reads the issuers file of docs/aai.md.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "aai.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "```yaml\nhttp_timeout")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/aai.md lacks its issuers file")
	}
	path := filepath.Join(t.TempDir(), "aai.yaml")
	if err := os.WriteFile(path, []byte("http_timeout"+block), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := aai.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || len(c.Issuers) != 2 || c.Issuers[0].Facilities["ILL"].Subjects[0] != "ill-harvest-robot@egi.eu" || c.HTTPTimeout != 10*time.Second {
		t.Fatalf("%+v, %v", c, err)
	}
}

// TestVerifyConcurrent: tokens verified at once on a fresh verifier make
// one discovery and one JWKS fetch between them.
func TestVerifyConcurrent(t *testing.T) {
	op := testop.Start(t, audience)
	v := newVerifier(t, op)
	tok := op.Token(t, testop.Claims{Subject: "bob", Extra: ents(esrfManager)})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if op.JWKSHits() != 1 {
		t.Errorf("JWKS fetched %d times, want 1", op.JWKSHits())
	}
}

// TestVerifyKeysUnavailable: once the issuer is discovered, keys that
// cannot be fetched make a token the held keys cannot verify fail with
// ErrUnavailable (a 503), not ErrInvalidToken.
func TestVerifyKeysUnavailable(t *testing.T) {
	claims := testop.Claims{Subject: "bob", Extra: ents(esrfManager)}
	tests := []struct {
		name  string
		token func(op *testop.OP) string
		wait  time.Duration // clock moved after the provider stopped
	}{
		{"unknown key", func(op *testop.OP) string { return op.UnknownKeyToken(t, claims) }, aai.DefaultMinKeyRefresh},
		{"unknown key, again within the interval", func(op *testop.OP) string { return op.UnknownKeyToken(t, claims) }, 0},
		{"rotated key, stale keys", func(op *testop.OP) string { op.Rotate(t); return op.Token(t, claims) }, aai.DefaultMaxKeyAge + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := testop.Start(t, audience)
			v, clk := newClockedVerifier(t, op)
			if _, err := v.Verify(context.Background(), op.Token(t, claims)); err != nil {
				t.Fatal(err)
			}
			tok := tt.token(op)
			op.Stop()
			clk.advance(tt.wait)
			if tt.wait == 0 {
				// A first try fails the fetch; the next, within the
				// interval, is told the issuer is still unavailable.
				clk.advance(aai.DefaultMinKeyRefresh)
				_, _ = v.Verify(context.Background(), tok)
			}
			_, err := v.Verify(context.Background(), tok)
			if !errors.Is(err, aai.ErrUnavailable) {
				t.Fatalf("Verify = %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestVerifyClockSkew: the skew allows an issuer's clock ahead of the
// node's ("nbf" and "iat" in the future) as much as behind ("exp" in the
// past), beyond go-oidc's fixed five minutes; a token without "exp" is
// refused.
func TestVerifyClockSkew(t *testing.T) {
	op := testop.Start(t, audience)
	is := issuerConfig(op.URL())
	is.ClockSkew = 8 * time.Minute
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{is}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name   string
		c      testop.Claims
		reason string // empty: accepted
	}{
		{"issuer 7 minutes ahead", testop.Claims{NotBefore: now.Add(7 * time.Minute), Expiry: now.Add(67 * time.Minute)}, ""},
		{"issuer 9 minutes ahead", testop.Claims{NotBefore: now.Add(9 * time.Minute), Expiry: now.Add(69 * time.Minute)}, "not valid before"},
		{"expired 7 minutes ago", testop.Claims{Expiry: now.Add(-7 * time.Minute)}, ""},
		{"expired 9 minutes ago", testop.Claims{Expiry: now.Add(-9 * time.Minute)}, "expired at"},
		{"no expiry", testop.Claims{NoExpiry: true}, "no expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Subject, tt.c.Extra = "bob", ents(esrfManager)
			_, err := v.Verify(context.Background(), op.Token(t, tt.c))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want accepted", err)
				}
				return
			}
			if !errors.Is(err, aai.ErrInvalidToken) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Verify = %v, want ErrInvalidToken with %q", err, tt.reason)
			}
		})
	}
}

// TestVerifyNotIDToken: ID tokens are refused as access tokens, by the
// header's typ, Keycloak's payload typ, or the claims only ID tokens have.
func TestVerifyNotIDToken(t *testing.T) {
	op := testop.Start(t, audience)
	v := newVerifier(t, op)
	tests := []struct {
		name   string
		typ    string
		extra  map[string]any
		reason string // empty: accepted
	}{
		{"at+jwt", "", nil, ""},
		{"JWT", "JWT", nil, ""},
		{"application/at+jwt", "application/at+jwt", nil, ""},
		{"AT+JWT", "AT+JWT", nil, ""},
		{"no typ", "-", nil, ""},
		{"Keycloak access token", "JWT", map[string]any{"typ": "Bearer"}, ""},
		{"Keycloak ID token", "JWT", map[string]any{"typ": "ID"}, "ID token"},
		{"nonce", "JWT", map[string]any{"nonce": "n-0S6_WzA2Mj"}, "nonce"},
		{"at_hash", "JWT", map[string]any{"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}, "at_hash"},
		{"logout token", "logout+jwt", nil, "header typ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := ents(esrfManager)
			for k, val := range tt.extra {
				extra[k] = val
			}
			_, err := v.Verify(context.Background(), op.Token(t, testop.Claims{Subject: "bob", Type: tt.typ, Extra: extra}))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want accepted", err)
				}
				return
			}
			if !errors.Is(err, aai.ErrInvalidToken) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Verify = %v, want ErrInvalidToken with %q", err, tt.reason)
			}
		})
	}
}

// TestVerifyStaleKeysHangingIssuer: keys that are stale but verify the
// token answer at once, however long the issuer takes to answer the
// refresh (which runs in the background).
func TestVerifyStaleKeysHangingIssuer(t *testing.T) {
	op := testop.Start(t, audience)
	clk := &clock{}
	v, err := aai.NewVerifier(aai.Config{HTTPTimeout: 3 * time.Second, Issuers: []aai.Issuer{issuerConfig(op.URL())}},
		slog.New(slog.DiscardHandler), aai.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	tok := op.Token(t, testop.Claims{Subject: "bob", Extra: ents(esrfManager)})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	op.Hang(true)
	clk.advance(aai.DefaultMaxKeyAge + time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("10 tokens with stale keys and a hanging issuer took %s, want at once", took)
	}
}

// TestVerifyCancelled: a request cancelled while the issuer is discovered
// or its keys fetched does not count as the issuer failing: the next
// token is verified at once.
func TestVerifyCancelled(t *testing.T) {
	claims := testop.Claims{Subject: "bob", Extra: ents(esrfManager)}
	tests := []struct {
		name  string
		setup func(t *testing.T, op *testop.OP, v *aai.Verifier) // before the cancelled request
	}{
		{"discovery", func(*testing.T, *testop.OP, *aai.Verifier) {}},
		{"keys of a rotated key", func(t *testing.T, op *testop.OP, v *aai.Verifier) {
			if _, err := v.Verify(context.Background(), op.Token(t, claims)); err != nil {
				t.Fatal(err)
			}
			op.Rotate(t)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := testop.Start(t, audience)
			v, clk := newClockedVerifier(t, op)
			tt.setup(t, op, v)
			clk.advance(aai.DefaultMinKeyRefresh)
			tok := op.Token(t, claims)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, _ = v.Verify(ctx, tok)
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatalf("after a cancelled request: %v", err)
			}
		})
	}
}

// countingTransport counts the requests for a JWKS that have ended.
type countingTransport struct {
	keys atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if strings.HasSuffix(r.URL.Path, "/keys") {
		c.keys.Add(1)
	}
	return resp, err
}

// TestVerifyKeyBackoff: while the issuer cannot be reached, stale keys
// are fetched again less and less often (after 1 s, then 2 s, 4 s, …),
// and the held keys keep answering.
func TestVerifyKeyBackoff(t *testing.T) {
	op := testop.Start(t, audience)
	clk := &clock{}
	ct := &countingTransport{}
	v, err := aai.NewVerifier(aai.Config{Issuers: []aai.Issuer{issuerConfig(op.URL())}}, slog.New(slog.DiscardHandler),
		aai.WithClock(clk.now), aai.WithHTTPClient(&http.Client{Transport: ct, Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	tok := op.Token(t, testop.Claims{Subject: "bob", Extra: ents(esrfManager)})
	verify := func(wantFetches int64) {
		t.Helper()
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("Verify with the held keys: %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for ct.keys.Load() < wantFetches && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // room for an unwanted fetch, and for the failure to be recorded
		if got := ct.keys.Load(); got != wantFetches {
			t.Fatalf("%d key fetches, want %d", got, wantFetches)
		}
	}
	verify(1)
	op.Stop()
	clk.advance(aai.DefaultMaxKeyAge + time.Second)
	verify(2) // stale: fetched in the background, which fails
	steps := []struct {
		advance time.Duration
		fetches int64
	}{
		{time.Second, 2},     // one failure: wait 2 s
		{time.Second, 3},     // 2 s: fetched again, failing again
		{3 * time.Second, 3}, // two failures: wait 4 s
		{time.Second, 4},
	}
	for _, s := range steps {
		clk.advance(s.advance)
		verify(s.fetches)
	}
}
