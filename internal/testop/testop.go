// Package testop is a small OpenID Provider for tests, served on loopback
// in the test process. It is zitadel's OpenID Provider (pkg/op: discovery,
// JWKS, the device authorization grant of RFC 8628, refresh tokens, JWT
// access tokens) over a storage of its own: RSA keys it generates and
// rotates, one public client, and the people a test approves. A test
// approves a device code on the provider's side, as a person would in a
// browser, and may also have tokens signed directly (expired ones, for
// another audience, by an unknown key).
package testop

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// ClientID is the public client the provider knows (device grant and
// refresh tokens, JWT access tokens).
const ClientID = "fairway-cli"

// Claims are the claims of a token the provider signs.
type Claims struct {
	// Subject is "sub".
	Subject string
	// Audience is "aud"; default the provider's Audience.
	Audience string
	// Expiry is "exp"; default one hour after now.
	Expiry time.Time
	// NoExpiry leaves "exp" out.
	NoExpiry bool
	// NotBefore, when set, is "nbf" (and "iat").
	NotBefore time.Time
	// Type is the header's "typ"; default "at+jwt"; "-" leaves it out.
	Type string
	// Extra holds further claims (eduperson_entitlement, groups, …).
	Extra map[string]any
}

// OP is the provider. Its zero value is not usable: call Start.
type OP struct {
	// Audience is the default "aud" of the tokens it issues.
	Audience string

	srv  *httptest.Server
	st   *storage
	hang chan struct{} // closed when hanging ends
}

// Start starts a provider on loopback, stopped when the test ends; its
// tokens are for audience.
func Start(t testing.TB, audience string) *OP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	st := newStorage(t, audience)
	var crypto [32]byte
	if _, err := rand.Read(crypto[:]); err != nil {
		t.Fatal(err)
	}
	provider, err := op.NewOpenIDProvider(issuer, &op.Config{
		CryptoKey:             crypto,
		GrantTypeRefreshToken: true,
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: 5 * time.Minute, PollInterval: time.Second, UserFormPath: "/activate",
			UserCode: op.UserCodeConfig{CharSet: op.CharSetBase20, CharAmount: 8, DashInterval: 4},
		},
	}, st, op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	h := provider.HttpHandler()
	o := &OP{Audience: audience, st: st}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		hang := o.hang
		st.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		if r.URL.Path == "/keys" {
			st.mu.Lock()
			st.jwksHits++
			st.mu.Unlock()
		}
		if r.Method == http.MethodPost && r.ParseForm() == nil && r.PostForm.Get("grant_type") == "refresh_token" {
			st.mu.Lock()
			st.refreshResource = r.PostForm.Get("resource")
			st.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	o.srv = srv
	t.Cleanup(func() {
		o.Hang(false)
		srv.Close()
	})
	return o
}

// URL is the issuer identifier.
func (o *OP) URL() string { return o.srv.URL }

// Stop stops the provider: its address then refuses connections.
func (o *OP) Stop() {
	o.Hang(false)
	o.srv.CloseClientConnections()
	o.srv.Listener.Close()
}

// Hang makes every request wait (on) until Hang(false), the request's
// end or the test's.
func (o *OP) Hang(on bool) {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	switch {
	case on && o.hang == nil:
		o.hang = make(chan struct{})
	case !on && o.hang != nil:
		close(o.hang)
		o.hang = nil
	}
}

// RefreshResource is the "resource" parameter of the last refresh-token
// grant.
func (o *OP) RefreshResource() string {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	return o.st.refreshResource
}

// Rotate makes a new key the signing key and removes every older one
// from the JWKS.
func (o *OP) Rotate(t testing.TB) {
	t.Helper()
	k := newKey(t)
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	o.st.keys = []*key{k}
}

// JWKSHits is how often the JWKS was fetched.
func (o *OP) JWKSHits() int {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	return o.st.jwksHits
}

// Refreshes is how many refresh-token grants the provider served.
func (o *OP) Refreshes() int {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	return o.st.refreshes
}

// PendingUserCodes returns the user codes of device requests neither
// approved nor denied.
func (o *OP) PendingUserCodes() []string {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	var out []string
	for _, d := range o.st.devices {
		if !d.state.Done && !d.state.Denied {
			out = append(out, d.userCode)
		}
	}
	return out
}

// Approve approves the device request of userCode for a person with the
// subject and extra claims of c (the provider puts them in the access
// tokens of that request and of its refreshes).
func (o *OP) Approve(userCode string, c Claims) error {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	for _, d := range o.st.devices {
		if d.userCode == userCode {
			d.state.Done, d.state.Subject, d.state.AuthTime = true, c.Subject, time.Now()
			d.state.AMR = []string{"pwd"}
			o.st.people[c.Subject] = c.Extra
			return nil
		}
	}
	return fmt.Errorf("testop: no device request with user code %q", userCode)
}

// Token returns an access token with claims c, signed with the current
// key.
func (o *OP) Token(t testing.TB, c Claims) string {
	t.Helper()
	o.st.mu.Lock()
	k := o.st.keys[0]
	o.st.mu.Unlock()
	return o.sign(t, k, c)
}

// UnknownKeyToken returns a token with claims c signed by a key the
// provider never publishes.
func (o *OP) UnknownKeyToken(t testing.TB, c Claims) string {
	t.Helper()
	k := newKey(t)
	k.id = "stranger"
	return o.sign(t, k, c)
}

func (o *OP) sign(t testing.TB, k *key, c Claims) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", k.id)
	switch c.Type {
	case "":
		opts = opts.WithType("at+jwt")
	case "-":
	default:
		opts = opts.WithType(jose.ContentType(c.Type))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if c.Audience == "" {
		c.Audience = o.Audience
	}
	if c.Expiry.IsZero() {
		c.Expiry = now.Add(time.Hour)
	}
	std := jwt.Claims{
		Issuer: o.URL(), Subject: c.Subject, Audience: jwt.Audience{c.Audience},
		Expiry: jwt.NewNumericDate(c.Expiry), IssuedAt: jwt.NewNumericDate(now), ID: randomString(),
	}
	if c.NoExpiry {
		std.Expiry = nil
	}
	if !c.NotBefore.IsZero() {
		std.NotBefore, std.IssuedAt = jwt.NewNumericDate(c.NotBefore), jwt.NewNumericDate(c.NotBefore)
	}
	b := jwt.Signed(signer).Claims(std)
	if len(c.Extra) > 0 {
		b = b.Claims(c.Extra)
	}
	tok, err := b.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// key is an RSA key pair; it is both the op.SigningKey and the op.Key the
// JWKS publishes.
type key struct {
	id   string
	priv *rsa.PrivateKey
}

var keySeq struct {
	sync.Mutex
	n int
}

func newKey(t testing.TB) *key {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keySeq.Lock()
	keySeq.n++
	id := fmt.Sprintf("key-%d", keySeq.n)
	keySeq.Unlock()
	return &key{id: id, priv: priv}
}

type signingKey struct{ *key }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.priv }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ *key }

func (k publicKey) ID() string                         { return k.id }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.priv.PublicKey }
