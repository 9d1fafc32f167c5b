// Package testop is a small OpenID Provider for tests, served on loopback
// in the test process: it signs real JWTs (RS256, go-jose) with keys of its
// own, publishes its discovery document and JWKS, rotates keys, and runs
// the OAuth 2.0 device authorization grant (RFC 8628) with refresh tokens.
// A test approves a device code on the provider's side, as a person would
// in a browser.
package testop

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims are the claims of a token the provider signs.
type Claims struct {
	// Subject is "sub".
	Subject string
	// Audience is "aud"; default the provider's Audience.
	Audience string
	// Expiry is "exp"; default one hour after now.
	Expiry time.Time
	// Extra holds further claims (eduperson_entitlement, groups, …).
	Extra map[string]any
}

type key struct {
	id   string
	priv *rsa.PrivateKey
}

type device struct {
	clientID, userCode string
	expires            time.Time
	approved           *Claims
	denied             bool
}

// OP is the provider. Its zero value is not usable: call Start.
type OP struct {
	// Audience is the default "aud" of the tokens it issues.
	Audience string
	// AccessTTL is the lifetime of the access tokens of the token
	// endpoint. Default one hour.
	AccessTTL time.Duration

	srv *httptest.Server

	mu        sync.Mutex
	keys      []key // keys[0] signs; all are published
	devices   map[string]*device
	byUser    map[string]string // user code → device code
	refresh   map[string]Claims
	refreshes int
	jwksHits  int
	seq       int
}

// Start starts a provider on loopback, stopped when the test ends.
func Start(t testing.TB, audience string) *OP {
	t.Helper()
	op := &OP{Audience: audience, devices: map[string]*device{}, byUser: map[string]string{}, refresh: map[string]Claims{}}
	op.keys = []key{op.newKey(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /jwks", op.jwks)
	mux.HandleFunc("POST /device", op.deviceAuthorization)
	mux.HandleFunc("POST /token", op.token)
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

// URL is the issuer identifier.
func (op *OP) URL() string { return op.srv.URL }

func (op *OP) newKey(t testing.TB) key {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op.seq++
	return key{id: fmt.Sprintf("key-%d", op.seq), priv: priv}
}

// Rotate makes a new key the signing key and removes every older one
// from the JWKS.
func (op *OP) Rotate(t testing.TB) {
	t.Helper()
	op.mu.Lock()
	defer op.mu.Unlock()
	op.keys = []key{op.newKey(t)}
}

// JWKSHits is how often the JWKS was fetched.
func (op *OP) JWKSHits() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.jwksHits
}

// Refreshes is how many refresh-token grants the token endpoint served.
func (op *OP) Refreshes() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.refreshes
}

// Token returns an access token with claims c, signed with the current
// key.
func (op *OP) Token(t testing.TB, c Claims) string {
	t.Helper()
	op.mu.Lock()
	k := op.keys[0]
	op.mu.Unlock()
	tok, err := op.sign(k, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// UnknownKeyToken returns a token with claims c signed by a key the
// provider never publishes (under a key id of its own).
func (op *OP) UnknownKeyToken(t testing.TB, c Claims) string {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := op.sign(key{id: "stranger", priv: priv}, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (op *OP) sign(k key, c Claims) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.priv},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", k.id))
	if err != nil {
		return "", err
	}
	now := time.Now()
	if c.Audience == "" {
		c.Audience = op.Audience
	}
	if c.Expiry.IsZero() {
		c.Expiry = now.Add(time.Hour)
	}
	std := jwt.Claims{
		Issuer: op.URL(), Subject: c.Subject, Audience: jwt.Audience{c.Audience},
		Expiry: jwt.NewNumericDate(c.Expiry), IssuedAt: jwt.NewNumericDate(now), ID: randomString(),
	}
	b := jwt.Signed(signer).Claims(std)
	if len(c.Extra) > 0 {
		b = b.Claims(c.Extra)
	}
	return b.Serialize()
}

func (op *OP) discovery(w http.ResponseWriter, _ *http.Request) {
	u := op.URL()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                u,
		"jwks_uri":                              u + "/jwks",
		"authorization_endpoint":                u + "/authorize",
		"token_endpoint":                        u + "/token",
		"device_authorization_endpoint":         u + "/device",
		"grant_types_supported":                 []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (op *OP) jwks(w http.ResponseWriter, _ *http.Request) {
	op.mu.Lock()
	op.jwksHits++
	set := jose.JSONWebKeySet{}
	for _, k := range op.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.id, Algorithm: string(jose.RS256), Use: "sig"})
	}
	op.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

func (op *OP) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	code, user := randomString(), fmt.Sprintf("%04X-%04X", randomUint16(), randomUint16())
	op.mu.Lock()
	op.devices[code] = &device{clientID: r.PostForm.Get("client_id"), userCode: user, expires: time.Now().Add(5 * time.Minute)}
	op.byUser[user] = code
	op.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": code, "user_code": user,
		"verification_uri":          op.URL() + "/activate",
		"verification_uri_complete": op.URL() + "/activate?user_code=" + user,
		"expires_in":                300, "interval": 1,
	})
}

// PendingUserCodes returns the user codes of device requests not yet
// approved or denied.
func (op *OP) PendingUserCodes() []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	var out []string
	for user, code := range op.byUser {
		if d := op.devices[code]; d.approved == nil && !d.denied {
			out = append(out, user)
		}
	}
	return out
}

// Approve approves the device request of userCode for a person whose
// tokens carry c.
func (op *OP) Approve(userCode string, c Claims) error {
	op.mu.Lock()
	defer op.mu.Unlock()
	d, ok := op.devices[op.byUser[userCode]]
	if !ok {
		return fmt.Errorf("testop: no device request with user code %q", userCode)
	}
	d.approved = &c
	return nil
}

func (op *OP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	var c Claims
	op.mu.Lock()
	switch r.PostForm.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code":
		d, ok := op.devices[r.PostForm.Get("device_code")]
		switch {
		case !ok || d.clientID != r.PostForm.Get("client_id"):
			op.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		case time.Now().After(d.expires):
			op.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "expired_token"})
			return
		case d.denied:
			op.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "access_denied"})
			return
		case d.approved == nil:
			op.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "authorization_pending"})
			return
		}
		c = *d.approved
		delete(op.devices, r.PostForm.Get("device_code"))
		delete(op.byUser, d.userCode)
	case "refresh_token":
		var ok bool
		c, ok = op.refresh[r.PostForm.Get("refresh_token")]
		if !ok {
			op.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		delete(op.refresh, r.PostForm.Get("refresh_token"))
		op.refreshes++
	default:
		op.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	ttl := op.AccessTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	refresh := randomString()
	op.refresh[refresh] = c
	k := op.keys[0]
	op.mu.Unlock()
	c.Expiry = time.Now().Add(ttl)
	tok, err := op.sign(k, c)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds()), "refresh_token": refresh,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomUint16() uint16 {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return uint16(b[0])<<8 | uint16(b[1])
}
