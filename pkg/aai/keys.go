package aai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key set defaults.
const (
	// DefaultMinKeyRefresh is the shortest time between two fetches of an
	// issuer's JWKS that tokens naming an unknown key cause: a flood of
	// tokens with made-up key ids makes the node fetch the keys once per
	// interval, not once per token.
	DefaultMinKeyRefresh = 10 * time.Second
	// DefaultMaxKeyAge is how long fetched keys are used before they are
	// fetched again (so that a key the issuer withdrew stops working even
	// if no token names a new one).
	DefaultMaxKeyAge = time.Hour
	// maxJWKS bounds a JWKS document.
	maxJWKS = 1 << 20
	// maxKidShown bounds how much of a token's key id (chosen by whoever
	// sent the token) errors and logs quote.
	maxKidShown = 64
	// maxBackoff bounds the wait between two fetches after failures.
	maxBackoff = time.Minute
)

var errUnknownKey = errors.New("unknown key")

// unavailableKey is the context key of a call's *atomic.Bool that the key
// set sets when it could not reach the issuer: go-oidc wraps the key set's
// errors with %v, so ErrUnavailable would not survive the trip.
type unavailableKey struct{}

// markUnavailable records, for the call of ctx, that the issuer's keys
// could not be fetched.
func markUnavailable(ctx context.Context) {
	if f, ok := ctx.Value(unavailableKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}

// keySet is an issuer's JWKS, fetched when a token names a key it does
// not hold (at most once per minRefresh) and when older than maxAge. It
// implements oidc.KeySet.
type keySet struct {
	url        string
	client     *http.Client
	timeout    time.Duration // of one fetch
	now        func() time.Time
	minRefresh time.Duration
	maxAge     time.Duration
	log        *slog.Logger

	fetchMu  sync.Mutex // one fetch at a time
	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time // last fetch that succeeded
	tried    time.Time // last fetch, successful or not
	gen      int       // fetches completed
	inFlight bool      // a fetch is under way
	bg       bool      // a background refresh is under way
	failures int       // fetches failed in a row
	lastErr  error     // of the last fetch
}

// joseAlgs are signingAlgs for go-jose.
var joseAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(signingAlgs))
	for i, a := range signingAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// VerifySignature verifies a JWS with the issuer's keys and returns its
// payload. Keys older than maxAge are fetched again, in the background
// when they verify the token (the answer does not wait for a slow issuer,
// and the keys held still serve while it cannot be reached); a key id not
// held makes a fetch, at most once per minRefresh (longer after failures).
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, joseAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, stale, gen := k.cached()
	p, ok := verifyWith(jws, kid, keys)
	if ok {
		if stale {
			k.refreshInBackground(ctx, gen)
		}
		return p, nil
	}
	if !k.mayFetch(stale) {
		if err := k.failure(); err != nil {
			markUnavailable(ctx)
			return nil, err
		}
		return nil, fmt.Errorf("%w %q (the issuer's keys were fetched less than %s ago)", errUnknownKey, truncate(kid, maxKidShown), k.minRefresh)
	}
	fresh, err := k.fetch(ctx, gen)
	if err != nil {
		markUnavailable(ctx)
		return nil, err
	}
	if p, ok := verifyWith(jws, kid, fresh); ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q: no key of the issuer verifies the signature", errUnknownKey, truncate(kid, maxKidShown))
}

// cached returns the keys held, whether they are stale, and the number of
// fetches completed so far.
func (k *keySet) cached() ([]jose.JSONWebKey, bool, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, k.fetched.IsZero() || k.now().Sub(k.fetched) > k.maxAge, k.gen
}

// failure returns the error of the last fetch, nil when it succeeded.
func (k *keySet) failure() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastErr
}

// refreshInBackground fetches the keys in a goroutine of their own, unless
// one is under way or the last try was too recent (see mayFetch).
func (k *keySet) refreshInBackground(ctx context.Context, gen int) {
	k.mu.Lock()
	if k.bg || k.inFlight || !k.mayFetchLocked(true) {
		k.mu.Unlock()
		return
	}
	k.bg = true
	k.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer func() {
			k.mu.Lock()
			k.bg = false
			k.mu.Unlock()
		}()
		if _, err := k.fetch(ctx, gen); err != nil && k.log != nil {
			k.log.Warn("sign-in: the issuer's keys could not be refreshed; the keys held still serve", "jwks", k.url, "err", err)
		}
	}()
}

// mayFetch reports whether the caller may fetch (or wait for a fetch under
// way, whose result it then takes): while a fetch is under way; the first
// time; when the keys are stale, a second after the last try; else
// minRefresh after it. After failures in a row, the wait doubles with
// each, up to maxBackoff (never less than the above).
func (k *keySet) mayFetch(stale bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.inFlight || k.mayFetchLocked(stale)
}

func (k *keySet) mayFetchLocked(stale bool) bool {
	if k.gen == 0 && k.tried.IsZero() {
		return true
	}
	wait := k.minRefresh
	if stale {
		wait = time.Second
	}
	if k.failures > 0 {
		wait = max(wait, min(time.Second<<min(k.failures, 10), maxBackoff))
	}
	return k.now().Sub(k.tried) >= wait
}

func verifyWith(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) ([]byte, bool) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid || key.Use != "" && key.Use != "sig" {
			continue
		}
		if p, err := jws.Verify(&key); err == nil {
			return p, true
		}
	}
	return nil, false
}

// fetch reads the JWKS, one fetch at a time: a caller that waited while
// another fetched (the count of completed fetches moved past gen) takes
// that result instead. The fetch does not end with the caller's request
// (a request cancelled half-way must not count as the issuer failing): it
// has a timeout of its own.
func (k *keySet) fetch(ctx context.Context, gen int) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.Lock()
	if k.gen != gen {
		keys, err := k.keys, k.lastErr
		k.mu.Unlock()
		return keys, err
	}
	k.tried, k.inFlight = k.now(), true
	k.mu.Unlock()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.timeout)
	keys, err := k.get(fctx)
	cancel()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	k.inFlight = false
	if err != nil {
		k.failures++
		k.lastErr = fmt.Errorf("%w: keys: %w", ErrUnavailable, err)
		return nil, k.lastErr
	}
	k.keys, k.fetched, k.lastErr, k.failures = keys, k.now(), nil, 0
	return keys, nil
}

func (k *keySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", k.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKS {
		return nil, fmt.Errorf("%s: larger than %d bytes", k.url, maxJWKS)
	}
	// Keys of a type or algorithm go-jose does not know are skipped, not
	// fatal: an issuer may publish keys for others.
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", k.url, err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range doc.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil || !key.IsPublic() {
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no usable public key", k.url)
	}
	return keys, nil
}
