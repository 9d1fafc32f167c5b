package testop

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// accessTTL is the lifetime of the access tokens of the token endpoint.
const accessTTL = time.Hour

// storage is the provider's state, for op.Storage and
// op.DeviceAuthorizationStorage: keys, the client, device requests,
// refresh tokens and the extra claims of each approved person.
type storage struct {
	audience string

	mu              sync.Mutex
	keys            []*key // keys[0] signs; all are published
	devices         map[string]*deviceRequest
	refresh         map[string]*refreshRequest
	people          map[string]map[string]any
	refreshes       int
	jwksHits        int
	refreshResource string
}

type deviceRequest struct {
	userCode string
	state    op.DeviceAuthorizationState
}

// refreshRequest is what a refresh token stands for.
type refreshRequest struct {
	subject, clientID string
	audience, scopes  []string
	amr               []string
	authTime          time.Time
}

func (r *refreshRequest) GetAMR() []string                 { return r.amr }
func (r *refreshRequest) GetAudience() []string            { return r.audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshRequest) GetClientID() string              { return r.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

func newStorage(t testing.TB, audience string) *storage {
	return &storage{
		audience: audience, keys: []*key{newKey(t)},
		devices: map[string]*deviceRequest{}, refresh: map[string]*refreshRequest{}, people: map[string]map[string]any{},
	}
}

var errUnsupported = errors.New("testop: not supported by this provider")

// The code flow is not offered.

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) SaveAuthCode(context.Context, string, string) error { return errUnsupported }
func (s *storage) DeleteAuthRequest(context.Context, string) error    { return errUnsupported }

// CreateAccessToken returns the id and expiry of an access token without
// a refresh token.
func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return randomString(), time.Now().Add(accessTTL), nil
}

// CreateAccessAndRefreshTokens issues a refresh token for the request and,
// on a refresh, retires the one used.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr := &refreshRequest{subject: req.GetSubject(), audience: req.GetAudience(), scopes: req.GetScopes()}
	switch r := req.(type) {
	case *op.DeviceAuthorizationState:
		rr.clientID, rr.amr, rr.authTime = r.ClientID, r.AMR, r.AuthTime
	case *refreshRequest:
		rr.clientID, rr.amr, rr.authTime = r.clientID, r.amr, r.authTime
	}
	if current != "" {
		if _, ok := s.refresh[current]; !ok {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
		delete(s.refresh, current)
		s.refreshes++
	}
	token := randomString()
	s.refresh[token] = rr
	return randomString(), token, time.Now().Add(accessTTL), nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr, ok := s.refresh[token]
	if !ok {
		return nil, op.ErrInvalidRefreshToken
	}
	c := *rr
	return &c, nil
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrUnsupportedGrantType()
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr, ok := s.refresh[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rr.subject, token, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return signingKey{s.keys[0]}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, publicKey{k})
	}
	return out, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != ClientID {
		return nil, errors.New("testop: unknown client")
	}
	return client{}, nil
}

func (s *storage) AuthorizeClientIDSecret(context.Context, string, string) error {
	return errors.New("testop: the client is public")
}

func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, _ []string) error {
	info.Subject = userID
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, subject, _ string) error {
	info.Subject = subject
	return nil
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errUnsupported
}

// GetPrivateClaimsFromScopes puts the approved person's extra claims
// (entitlements, groups) into the access token.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.people[userID], nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}

func (s *storage) Health(context.Context) error { return nil }

// StoreDeviceAuthorization records a device request; its audience is the
// node's.
func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.userCode == userCode {
			return op.ErrDuplicateUserCode
		}
	}
	s.devices[deviceCode] = &deviceRequest{userCode: userCode, state: op.DeviceAuthorizationState{
		ClientID: clientID, Audience: []string{s.audience}, Scopes: scopes, Expires: expires,
	}}
	return nil
}

// GetDeviceAuthorizatonState returns a copy of a device request's state;
// a request that is done is forgotten (its code is used once).
func (s *storage) GetDeviceAuthorizatonState(_ context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[deviceCode]
	if !ok || d.state.ClientID != clientID {
		return nil, errors.New("testop: no such device request")
	}
	st := d.state
	st.Audience = slices.Clone(st.Audience)
	if st.Done || st.Denied {
		delete(s.devices, deviceCode)
	}
	return &st, nil
}

// client is the one public client: device grant, refresh tokens, JWT
// access tokens.
type client struct{}

func (client) GetID() string                       { return ClientID }
func (client) RedirectURIs() []string              { return nil }
func (client) PostLogoutRedirectURIs() []string    { return nil }
func (client) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }
func (client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodNone }
func (client) ResponseTypes() []oidc.ResponseType  { return []oidc.ResponseType{oidc.ResponseTypeCode} }
func (client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeDeviceCode, oidc.GrantTypeRefreshToken}
}
func (client) LoginURL(string) string               { return "" }
func (client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (client) IDTokenLifetime() time.Duration       { return time.Hour }
func (client) DevMode() bool                        { return true }
func (client) IsScopeAllowed(string) bool           { return true }
func (client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (client) ClockSkew() time.Duration             { return 0 }
func (client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
