package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/panosc/fairway/pkg/aai"
)

// ErrNoReaderTokens is returned by ReadGate when the API accepts no token
// a reader could send: it is open (the demo) or has neither a static token
// nor an issuer.
var ErrNoReaderTokens = errors.New("api: the API accepts no token (open demo, or no token and no issuer configured), so a read endpoint cannot require one")

// ReadGate lets through the readers of an endpoint beside the API (the
// node's /mcp) who send a bearer token the API accepts: any static token
// (operator or facility) or sign-in token that maps to a role. Reads need
// no particular role: the token model has no read scope, so any principal
// may read.
type ReadGate struct {
	s *Server
}

// ReadGate returns the gate of s's tokens, ErrNoReaderTokens when s
// accepts none.
func (s *Server) ReadGate() (*ReadGate, error) {
	if s.cfg.Access.Open() || s.cfg.Access.Empty() {
		return nil, ErrNoReaderTokens
	}
	return &ReadGate{s: s}, nil
}

type readerKey struct{}

// reader is what Identify found out about a request.
type reader struct {
	p   Principal
	err error
}

// Identify decorates next: it authenticates the request's Authorization
// header and keeps the outcome in the request's context, for
// PrincipalFrom and Require. It refuses nothing, so that a decorator
// between Identify and Require (a rate limit) sees every request.
func (g *ReadGate) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := g.s.cfg.Access.Authenticate(r.Context(), r.Header.Get("Authorization"))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), readerKey{}, reader{p: p, err: err})))
	})
}

// PrincipalFrom returns the principal Identify authenticated for the
// request of ctx, false when it authenticated none.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	rd, ok := ctx.Value(readerKey{}).(reader)
	return rd.p, ok && rd.err == nil
}

// Require decorates next: a request Identify did not authenticate is
// answered 401 (no token, or one the API does not accept), 403 (a sign-in
// token that maps to no role) or 503 (the issuer cannot be reached), with
// the WWW-Authenticate challenge of the API's own 401s (RFC 6750, naming
// the protected resource metadata of RFC 9728 when the node publishes it).
// A token is never logged.
func (g *ReadGate) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd, ok := r.Context().Value(readerKey{}).(reader)
		if !ok {
			rd.err = fmt.Errorf("%w (not identified)", ErrUnauthenticated)
		}
		if rd.err == nil {
			next.ServeHTTP(w, r)
			return
		}
		status := http.StatusUnauthorized
		sent := strings.TrimSpace(r.Header.Get("Authorization")) != ""
		switch {
		case errors.Is(rd.err, ErrUnauthenticated):
			code := ""
			if sent {
				code = "invalid_token"
			}
			w.Header().Set("WWW-Authenticate", g.s.challenge(code))
		case errors.Is(rd.err, aai.ErrNoRole):
			status = http.StatusForbidden
			w.Header().Set("WWW-Authenticate", g.s.challenge("insufficient_scope"))
		case errors.As(rd.err, new(unavailable)):
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "10")
		default:
			status = http.StatusInternalServerError
		}
		if sent {
			g.s.log.Info("read refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "status", status, "reason", rd.err.Error())
		}
		g.s.reply(w, status, errorBody{Error: rd.err.Error()})
	})
}
