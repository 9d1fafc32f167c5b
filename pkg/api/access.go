package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/urlguard"
)

var (
	// ErrUnauthenticated is returned for a write without a valid bearer
	// token.
	ErrUnauthenticated = errors.New("a valid bearer token is required")
	// ErrForbidden is returned when a token may not manage a feed.
	ErrForbidden = errors.New("not allowed")
	// ErrTokens wraps every problem with the configured tokens.
	ErrTokens = errors.New("api tokens")
)

// MinTokenLength is the shortest token Fairway accepts in its
// configuration.
const MinTokenLength = 16

// TokensFile is the JSON document of a tokens file (`--tokens FILE`):
//
//	{
//	  "operator": ["…"],
//	  "facilities": {"ESRF": ["…"], "ILL": ["…", "…"]},
//	  "allow_private_feeds": false,
//	  "allow_networks": ["10.20.0.0/16"]
//	}
//
// An operator token manages every feed; a facility token manages the feeds
// of its facility only. Several tokens per principal allow rotation.
type TokensFile struct {
	// Operator tokens manage every feed.
	Operator []string `json:"operator,omitempty"`
	// Facilities maps a facility name (as in feeds' "facility") to its
	// tokens.
	Facilities map[string][]string `json:"facilities,omitempty"`
	// AllowPrivateFeeds lets feeds point at loopback, private and
	// link-local addresses.
	AllowPrivateFeeds bool `json:"allow_private_feeds,omitempty"`
	// AllowNetworks lists networks (CIDR) feeds may reach even though they
	// are not public.
	AllowNetworks []string `json:"allow_networks,omitempty"`
}

// LoadTokensFile reads a tokens file; an empty path yields an empty
// TokensFile.
func LoadTokensFile(path string) (TokensFile, error) {
	var t TokensFile
	if path == "" {
		return t, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		// The decoder's message may quote the file; it never holds more
		// than a field name or an offset, not a token.
		return t, fmt.Errorf("%w: %s: %w", ErrTokens, path, err)
	}
	if _, err := t.Networks(); err != nil {
		return t, fmt.Errorf("%w: %s: %w", ErrTokens, path, err)
	}
	return t, nil
}

// Networks parses AllowNetworks.
func (t TokensFile) Networks() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range t.AllowNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("allow_networks: %w", err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Principal is who a token speaks for.
type Principal struct {
	// Operator principals manage every feed.
	Operator bool
	// Facility is the facility a facility principal manages.
	Facility string
	// Subject names who acts, for the audit log: the "sub" of a sign-in
	// token, or, for a static token, where it is configured — "token:"
	// and the principal with the token's position in its list
	// ("token:operator#1", "token:ESRF#2", "token:operator-env"), nothing
	// derived from the token itself; empty for an open demo node.
	Subject string
	// Issuer is the issuer of a sign-in token (empty for a static token).
	Issuer string
}

// Role names the role alone: "operator" or "facility-manager".
func (p Principal) Role() string {
	if p.Operator {
		return "operator"
	}
	return "facility-manager"
}

// LogValue implements slog.LogValuer: the role, facility, subject and
// issuer (never a token).
func (p Principal) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("role", p.Role())}
	if !p.Operator {
		attrs = append(attrs, slog.String("facility", p.Facility))
	}
	if p.Subject != "" {
		attrs = append(attrs, slog.String("subject", p.Subject))
	}
	if p.Issuer != "" {
		attrs = append(attrs, slog.String("issuer", p.Issuer))
	}
	return slog.GroupValue(attrs...)
}

// CanManage reports whether p may manage the feeds of facility (facility
// names compare without regard to case).
func (p Principal) CanManage(facility string) bool {
	return p.Operator || p.Facility != "" && strings.EqualFold(p.Facility, facility)
}

// String names the principal for logs (never its token).
func (p Principal) String() string {
	if p.Operator {
		return "operator"
	}
	return "facility " + p.Facility
}

type tokenEntry struct {
	sum       [sha256.Size]byte
	principal Principal
	// label names the token's place in the configuration (Subject).
	label string
}

// Access decides who may write through the API. Tokens are kept as SHA-256
// sums and compared in constant time; a token is never logged.
type Access struct {
	open    bool
	entries []tokenEntry
	// oidc verifies sign-in tokens; nil: static tokens only.
	oidc *aai.Verifier
}

// WithVerifier returns a copy of a that also accepts the sign-in tokens v
// verifies (an open Access stays open).
func (a *Access) WithVerifier(v *aai.Verifier) *Access {
	c := *a
	c.oidc = v
	return &c
}

// Verifier returns the sign-in token verifier, nil when there is none.
func (a *Access) Verifier() *aai.Verifier { return a.oidc }

// OpenAccess returns an Access that lets every write through without a
// token, as an operator: only for a demo on a loopback listener.
func OpenAccess() *Access { return &Access{open: true} }

// NewAccess returns an Access for the tokens of t and the extra operator
// tokens (e.g. from FAIRWAY_OPERATOR_TOKEN). A token shorter than
// MinTokenLength, with spaces, or given to two principals is an error
// (which never quotes the token).
func NewAccess(t TokensFile, operatorTokens ...string) (*Access, error) {
	a := &Access{}
	seen := map[[sha256.Size]byte]Principal{}
	add := func(tok string, p Principal, label string) error {
		if len(tok) < MinTokenLength {
			return fmt.Errorf("%w: a token of %s is shorter than %d characters", ErrTokens, p, MinTokenLength)
		}
		if strings.ContainsAny(tok, " \t\r\n") {
			return fmt.Errorf("%w: a token of %s contains white space", ErrTokens, p)
		}
		sum := sha256.Sum256([]byte(tok))
		if other, ok := seen[sum]; ok && other != p {
			return fmt.Errorf("%w: the same token is given to %s and %s", ErrTokens, other, p)
		}
		seen[sum] = p
		a.entries = append(a.entries, tokenEntry{sum: sum, principal: p, label: "token:" + label})
		return nil
	}
	for i, tok := range t.Operator {
		if err := add(tok, Principal{Operator: true}, fmt.Sprintf("operator#%d", i+1)); err != nil {
			return nil, err
		}
	}
	for i, tok := range operatorTokens {
		label := "operator-env"
		if len(operatorTokens) > 1 {
			label = fmt.Sprintf("operator-env#%d", i+1)
		}
		if err := add(tok, Principal{Operator: true}, label); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(t.Facilities))
	for name := range t.Facilities {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := feeds.ValidFacility(name); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTokens, err)
		}
		for i, tok := range t.Facilities[name] {
			if err := add(tok, Principal{Facility: name}, fmt.Sprintf("%s#%d", name, i+1)); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// Open reports whether writes need no token.
func (a *Access) Open() bool { return a.open }

// Empty reports whether no token is configured and no issuer either (and
// writes are refused, unless the access is open).
func (a *Access) Empty() bool { return len(a.entries) == 0 && a.oidc == nil }

// Authenticate returns the principal of an Authorization header value
// ("Bearer <token>"): a static token's, else, when sign-in is configured,
// the role a sign-in token's claims map to. Every configured static token
// is compared, in constant time, whatever matches. A sign-in token that
// is invalid is ErrUnauthenticated; one whose claims map to no role is
// ErrForbidden, with the reason; an issuer that cannot be reached is a
// 503.
func (a *Access) Authenticate(ctx context.Context, header string) (Principal, error) {
	if a.open {
		return Principal{Operator: true}, nil
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return Principal{}, ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	var found Principal
	match := 0
	for _, e := range a.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			found, match = e.principal, 1
			found.Subject = e.label
		}
	}
	if match == 1 {
		return found, nil
	}
	tok = strings.TrimSpace(tok)
	if a.oidc == nil || !aai.LooksLikeJWT(tok) {
		return Principal{}, ErrUnauthenticated
	}
	id, err := a.oidc.Verify(ctx, tok)
	switch {
	case errors.Is(err, aai.ErrNoRole):
		return Principal{}, fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, aai.ErrUnavailable):
		return Principal{}, unavailable("sign-in: " + err.Error())
	case err != nil:
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return Principal{Operator: id.Operator, Facility: id.Facility, Subject: id.Subject, Issuer: id.Issuer}, nil
}

// GenerateToken returns a new random token (32 bytes from crypto/rand,
// URL-safe base64).
func GenerateToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("%w: generate: %w", ErrTokens, err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// OperatorTokenFile is the name of the file, in a node's data directory,
// that holds the operator token the node generated.
const OperatorTokenFile = "operator-token"

// AccessConfig says where a node's API tokens come from.
type AccessConfig struct {
	// Tokens is the content of the tokens file (may be empty).
	Tokens TokensFile
	// OperatorToken is one more operator token (FAIRWAY_OPERATOR_TOKEN).
	OperatorToken string
	// DataDir, when not empty, is where an operator token is generated
	// (file OperatorTokenFile, mode 0600) when no token is configured, or
	// read from when one was generated before.
	DataDir string
	// OpenOnLoopback lets writes through without a token when no token is
	// configured and Listen is a loopback address (the demo).
	OpenOnLoopback bool
	// Listen is the HTTP listen address the API is served on.
	Listen string
	// OIDC, when set, verifies sign-in tokens beside the static ones.
	OIDC *aai.Verifier
}

// SetupAccess returns the Access cfg describes, in this order: the
// configured static tokens; else, for a demo on loopback without sign-in,
// open access; else the operator token stored in (or generated into)
// DataDir; else no static token at all. Sign-in tokens (cfg.OIDC) are
// accepted beside the static ones: configuring sign-in does not take the
// generated operator token away. It logs which, and where a generated
// token is — never a token.
func SetupAccess(cfg AccessConfig, log *slog.Logger) (*Access, error) {
	var extra []string
	if cfg.OperatorToken != "" {
		extra = append(extra, strings.TrimSpace(cfg.OperatorToken))
	}
	a, err := NewAccess(cfg.Tokens, extra...)
	if err != nil {
		return nil, err
	}
	var issuers []string
	if cfg.OIDC != nil {
		issuers = cfg.OIDC.Issuers()
	}
	withOIDC := func(a *Access) *Access {
		if cfg.OIDC != nil {
			return a.WithVerifier(cfg.OIDC)
		}
		return a
	}
	if len(a.entries) > 0 {
		log.Info("feed API: writes need a bearer token", "tokens", len(a.entries), "issuers", issuers)
		return withOIDC(a), nil
	}
	if cfg.OpenOnLoopback {
		switch {
		case cfg.OIDC != nil:
			log.Warn("feed API: sign-in is configured, so the demo's writes still need a token", "issuers", issuers)
		case urlguard.IsLoopback(cfg.Listen):
			log.Warn("feed API: no token configured; writes are open to anyone on this machine (demo on a loopback listener)", "listen", cfg.Listen)
			return OpenAccess(), nil
		default:
			log.Warn("feed API: the demo listens on a non-loopback address, so writes still need a token", "listen", cfg.Listen)
		}
	}
	if cfg.DataDir == "" {
		if cfg.OIDC != nil {
			log.Info("feed API: no static token configured (FAIRWAY_OPERATOR_TOKEN or --tokens): writes need a sign-in token", "issuers", issuers)
		} else {
			log.Warn("feed API: no token configured (FAIRWAY_OPERATOR_TOKEN or --tokens): every write is refused")
		}
		return withOIDC(a), nil
	}
	path := filepath.Join(cfg.DataDir, OperatorTokenFile)
	tok, created, err := operatorToken(path)
	if err != nil {
		return nil, err
	}
	if a, err = NewAccess(TokensFile{}, tok); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if created {
		log.Info("feed API: no token configured; generated an operator token (send it as FAIRWAY_TOKEN)", "file", path, "issuers", issuers)
	} else {
		log.Info("feed API: no token configured; using the operator token generated before", "file", path, "issuers", issuers)
	}
	return withOIDC(a), nil
}

// operatorToken reads the token at path, or generates one there (0600).
func operatorToken(path string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	tok, err := GenerateToken()
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	return tok, true, nil
}
