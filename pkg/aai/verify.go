package aai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
)

var (
	// ErrInvalidToken is returned for a token that is not a valid access
	// token of a configured issuer (malformed, unknown issuer, bad
	// signature, other audience, expired).
	ErrInvalidToken = errors.New("invalid token")
	// ErrNoRole is returned for a valid token whose claims map to no role
	// on this node.
	ErrNoRole = errors.New("no role")
	// ErrUnavailable is returned when the token's issuer cannot be reached
	// for its discovery document or keys.
	ErrUnavailable = errors.New("issuer unavailable")
)

// signingAlgs are the signature algorithms accepted (never "none", never
// HMAC: the node holds no shared secret with an issuer).
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// retryDiscovery is how long a failed discovery is remembered before the
// next token of that issuer tries again.
const retryDiscovery = 5 * time.Second

// Identity is who a verified token speaks for and the role it maps to.
type Identity struct {
	// Issuer and Subject identify the person or agent.
	Issuer, Subject string
	// Operator is set when the token maps to the operator role.
	Operator bool
	// Facility is the facility a facility manager manages (empty for an
	// operator).
	Facility string
}

// Verifier checks tokens of the configured issuers. It is safe for
// concurrent use; each issuer is discovered at its first token, and again
// after a failure.
type Verifier struct {
	issuers map[string]*issuer
	client  *http.Client
	log     *slog.Logger
	now     func() time.Time
}

type issuer struct {
	cfg      Issuer
	claims   []string
	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	failedAt time.Time
	lastErr  error
}

// Option changes a Verifier.
type Option func(*Verifier)

// WithHTTPClient makes the verifier reach issuers through c (its timeout
// then applies instead of HTTPTimeout).
func WithHTTPClient(c *http.Client) Option { return func(v *Verifier) { v.client = c } }

// WithClock makes the verifier read the time from now (tests).
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// NewVerifier returns the verifier of cfg, which it validates first. It
// does not reach the issuers yet.
func NewVerifier(cfg Config, log *slog.Logger, opts ...Option) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.HTTPTimeout
	if timeout == 0 {
		timeout = DefaultHTTPTimeout
	}
	v := &Verifier{issuers: map[string]*issuer{}, client: &http.Client{Timeout: timeout}, log: log, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	for _, is := range cfg.Issuers {
		if is.ClockSkew == 0 {
			is.ClockSkew = DefaultClockSkew
		}
		claims := is.Claims
		if len(claims) == 0 {
			claims = DefaultClaims
		}
		v.issuers[is.URL] = &issuer{cfg: is, claims: claims}
	}
	return v, nil
}

// Issuers returns the URLs of the configured issuers, sorted.
func (v *Verifier) Issuers() []string {
	out := make([]string, 0, len(v.issuers))
	for u := range v.issuers {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// LooksLikeJWT reports whether tok has the shape of a signed JWT (three
// base64url parts), as the node's static tokens never do.
func LooksLikeJWT(tok string) bool {
	return strings.Count(tok, ".") == 2 && !strings.ContainsAny(tok, " \t\r\n")
}

// Verify checks raw, a bearer access token, and returns the identity and
// the role it maps to. The errors wrap ErrInvalidToken, ErrNoRole (with
// the reason) or ErrUnavailable; they never quote the token.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return Identity{}, err
	}
	is, ok := v.issuers[iss]
	if !ok {
		return Identity{}, fmt.Errorf("%w: issuer %q is not accepted by this node", ErrInvalidToken, truncate(iss, 200))
	}
	ver, err := v.verifier(ctx, is)
	if err != nil {
		return Identity{}, err
	}
	unavailable := new(atomic.Bool)
	tok, err := ver.Verify(context.WithValue(ctx, unavailableKey{}, unavailable), raw)
	if err != nil {
		if unavailable.Load() {
			return Identity{}, fmt.Errorf("%w: %s: the issuer's keys cannot be fetched: %w", ErrUnavailable, is.cfg.URL, err)
		}
		if ctx.Err() != nil {
			return Identity{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if tok.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	if err := is.checkTimes(v.now(), tok.Expiry, claims["nbf"]); err != nil {
		return Identity{}, err
	}
	if err := accessToken(raw, claims); err != nil {
		return Identity{}, err
	}
	return is.role(tok.Issuer, tok.Subject, claims)
}

// verifier returns the issuer's token verifier, discovering the issuer the
// first time (and again after retryDiscovery when that failed).
func (v *Verifier) verifier(ctx context.Context, is *issuer) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	if !is.failedAt.IsZero() && v.now().Sub(is.failedAt) < retryDiscovery {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, is.cfg.URL, is.lastErr)
	}
	// Discovery goes through the verifier's client, with its timeout but
	// not the request's cancellation: a request cancelled half-way must
	// not count as the issuer failing (and make its next tokens wait
	// retryDiscovery).
	timeout := v.client.Timeout
	if timeout == 0 {
		timeout = DefaultHTTPTimeout
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), v.client), timeout)
	defer cancel()
	p, err := oidc.NewProvider(dctx, is.cfg.URL)
	if err != nil {
		is.failedAt, is.lastErr = v.now(), err
		v.log.Warn("sign-in: issuer discovery failed", "issuer", is.cfg.URL, "err", err)
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, is.cfg.URL, err)
	}
	var claims struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&claims); err != nil || claims.JWKS == "" {
		is.failedAt, is.lastErr = v.now(), errors.New("discovery has no jwks_uri")
		return nil, fmt.Errorf("%w: %s: discovery has no jwks_uri", ErrUnavailable, is.cfg.URL)
	}
	keys := &keySet{url: claims.JWKS, client: v.client, timeout: timeout, now: v.now, minRefresh: DefaultMinKeyRefresh, maxAge: DefaultMaxKeyAge, log: v.log}
	is.verifier = oidc.NewVerifier(is.cfg.URL, keys, &oidc.Config{
		ClientID:             is.cfg.Audience,
		SupportedSigningAlgs: signingAlgs,
		// "exp" and "nbf" are checked by checkTimes, with the issuer's
		// skew either way (go-oidc's own check adds a fixed allowance to
		// "nbf" only).
		SkipExpiryCheck: true,
	})
	v.log.Info("sign-in: issuer discovered", "issuer", is.cfg.URL, "jwks", claims.JWKS)
	return is.verifier, nil
}

// checkTimes checks a token's expiry and, when it has one, its "nbf"
// against now, allowing the issuer's clock skew either way: a token is
// valid from nbf-skew to exp+skew. A token without "exp" is refused.
func (is *issuer) checkTimes(now, exp time.Time, nbf any) error {
	skew := is.cfg.ClockSkew
	if exp.IsZero() {
		return fmt.Errorf("%w: no expiry (\"exp\"): this node accepts only tokens that expire", ErrInvalidToken)
	}
	if now.After(exp.Add(skew)) {
		return fmt.Errorf("%w: expired at %s (clock skew allowed: %s)", ErrInvalidToken, exp.UTC().Format(time.RFC3339), skew)
	}
	if nbf == nil {
		return nil
	}
	n, ok := nbf.(float64)
	if !ok {
		return fmt.Errorf("%w: \"nbf\" is not a number", ErrInvalidToken)
	}
	if from := time.Unix(int64(n), 0); now.Before(from.Add(-skew)) {
		return fmt.Errorf("%w: not valid before %s (clock skew allowed: %s)", ErrInvalidToken, from.UTC().Format(time.RFC3339), skew)
	}
	return nil
}

// accessToken refuses a token that is an ID token rather than an access
// token: a header "typ" other than at+jwt or JWT (RFC 9068; absent is
// allowed), a payload "typ" of "ID" (Keycloak), or a "nonce" or "at_hash"
// claim (which only ID tokens carry). An ID token's audience is a client,
// so one issued to a client configured as the audience would otherwise
// pass.
func accessToken(raw string, claims map[string]any) error {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrInvalidToken)
	}
	var h struct {
		Type *string `json:"typ"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("%w: header is not a JSON object", ErrInvalidToken)
	}
	if h.Type != nil {
		typ := strings.TrimPrefix(strings.ToLower(*h.Type), "application/")
		if typ != "at+jwt" && typ != "jwt" {
			return fmt.Errorf("%w: header typ %q: want an access token (at+jwt or JWT)", ErrInvalidToken, truncate(*h.Type, 40))
		}
	}
	if t, ok := claims["typ"].(string); ok && strings.EqualFold(t, "ID") {
		return fmt.Errorf("%w: an ID token, not an access token (typ %q)", ErrInvalidToken, t)
	}
	for _, c := range []string{"nonce", "at_hash"} {
		if _, ok := claims[c]; ok {
			return fmt.Errorf("%w: an ID token, not an access token (it has %q)", ErrInvalidToken, c)
		}
	}
	return nil
}

// role maps a verified token's subject and claims to a role.
func (is *issuer) role(iss, sub string, claims map[string]any) (Identity, error) {
	id := Identity{Issuer: iss, Subject: sub}
	values := map[string]bool{}
	for _, name := range is.claims {
		for _, val := range claimValues(claims[name]) {
			values[val] = true
		}
	}
	matches := func(r Rule) bool {
		if slices.Contains(r.Subjects, sub) {
			return true
		}
		for _, e := range r.Entitlements {
			if values[e] {
				return true
			}
		}
		return false
	}
	if matches(is.cfg.Operators) {
		id.Operator = true
		return id, nil
	}
	var facilities []string
	for name, r := range is.cfg.Facilities {
		if matches(r) {
			facilities = append(facilities, name)
		}
	}
	sort.Strings(facilities)
	switch len(facilities) {
	case 1:
		id.Facility = facilities[0]
		return id, nil
	case 0:
		return id, fmt.Errorf("%w: subject %q of %s: neither the subject nor any of the %d values of its claims %s maps to a role on this node",
			ErrNoRole, truncate(sub, 200), iss, len(values), strings.Join(is.claims, ", "))
	}
	return id, fmt.Errorf("%w: subject %q of %s maps to several facilities (%s); this node wants one role per token",
		ErrNoRole, truncate(sub, 200), iss, strings.Join(facilities, ", "))
}

// claimValues returns the strings of a claim: a string, or a list of
// strings (other items are skipped).
func claimValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, item := range v {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// unverifiedIssuer reads "iss" from a JWT's payload without checking it,
// only to pick the issuer whose keys then verify the token.
func unverifiedIssuer(raw string) (string, error) {
	if len(raw) > 64<<10 {
		return "", fmt.Errorf("%w: not a signed JWT", ErrInvalidToken)
	}
	parts := strings.SplitN(raw, ".", 4)
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: not a signed JWT", ErrInvalidToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload is not base64url", ErrInvalidToken)
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("%w: payload is not a JSON object", ErrInvalidToken)
	}
	if c.Issuer == "" {
		return "", fmt.Errorf("%w: no issuer", ErrInvalidToken)
	}
	return c.Issuer, nil
}

// truncate returns at most n bytes of s, cut at a character boundary,
// with "…" when it cut; invalid UTF-8 is dropped.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
