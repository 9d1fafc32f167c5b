// Package signin signs the command line in at an OpenID Provider with the
// OAuth 2.0 device authorization grant (RFC 8628), keeps the tokens in the
// user's configuration directory (mode 0600) and refreshes the access
// token when it expires. It prints where to sign in and the user code,
// never a token.
package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

var (
	// ErrNotSignedIn is returned when no sign-in is stored.
	ErrNotSignedIn = errors.New("not signed in (run fairway login)")
	// ErrExpired is returned when the stored token expired and cannot be
	// refreshed.
	ErrExpired = errors.New("the sign-in expired (run fairway login again)")
	// ErrSignIn wraps every other sign-in failure.
	ErrSignIn = errors.New("sign-in")
)

// DefaultClientID is the OAuth client the command line signs in as when
// none is given (register it at the provider as a public client with the
// device grant).
const DefaultClientID = "fairway-cli"

// FileName is the file, in Dir, that holds the stored sign-in.
const FileName = "token.json"

// refreshMargin refreshes a token this long before it expires, so that it
// does not expire on its way to the node.
const refreshMargin = 30 * time.Second

// Config says where to sign in.
type Config struct {
	// Issuer is the OpenID Provider's issuer URL. Required for Login.
	Issuer string
	// ClientID is the public client registered at the provider. Default
	// DefaultClientID.
	ClientID string
	// Scopes are requested. Default openid and offline_access (for a
	// refresh token).
	Scopes []string
	// Resource, when set, is sent as the resource indicator (RFC 8707) and
	// as "audience": the node the token is for.
	Resource string
	// Dir is where the sign-in is stored. Default os.UserConfigDir()/fairway.
	Dir string
	// HTTPClient reaches the provider. Default a client with a 30s timeout.
	HTTPClient *http.Client
}

// Stored is the content of the sign-in file.
type Stored struct {
	// Issuer and ClientID are where the token came from (to refresh it).
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// Token is the access token, its refresh token and expiry.
	Token *oauth2.Token `json:"token"`
}

func (c *Config) setDefaults() error {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSignIn, err)
		}
		c.Dir = filepath.Join(d, "fairway")
	}
	return nil
}

// Path returns the file the sign-in of cfg is stored in.
func Path(cfg Config) (string, error) {
	if err := cfg.setDefaults(); err != nil {
		return "", err
	}
	return filepath.Join(cfg.Dir, FileName), nil
}

func (c Config) oauth(ctx context.Context, issuer, clientID string) (*oauth2.Config, context.Context, error) {
	ctx = oidc.ClientContext(ctx, c.HTTPClient)
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, ctx, fmt.Errorf("%w: discovery of %s: %w", ErrSignIn, issuer, err)
	}
	ep := p.Endpoint()
	// A public client has no secret: its id goes in the form.
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: clientID, Endpoint: ep, Scopes: c.Scopes}, ctx, nil
}

// Login runs the device grant at cfg.Issuer: it prints to out where to go
// and the code to enter, waits until the user approved (or ctx ends),
// stores the tokens and returns where.
func Login(ctx context.Context, cfg Config, out io.Writer) (string, error) {
	if err := cfg.setDefaults(); err != nil {
		return "", err
	}
	if cfg.Issuer == "" {
		return "", fmt.Errorf("%w: an issuer URL is required", ErrSignIn)
	}
	oc, ctx, err := cfg.oauth(ctx, cfg.Issuer, cfg.ClientID)
	if err != nil {
		return "", err
	}
	if oc.Endpoint.DeviceAuthURL == "" {
		return "", fmt.Errorf("%w: %s offers no device authorization endpoint", ErrSignIn, cfg.Issuer)
	}
	var opts []oauth2.AuthCodeOption
	if cfg.Resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", cfg.Resource), oauth2.SetAuthURLParam("audience", cfg.Resource))
	}
	da, err := oc.DeviceAuth(ctx, opts...)
	if err != nil {
		return "", fmt.Errorf("%w: device authorization: %w", ErrSignIn, err)
	}
	fmt.Fprintf(out, "To sign in, open %s\nand enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(out, "Waiting for the sign-in to be approved…")
	tok, err := oc.DeviceAccessToken(ctx, da, opts...)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	path := filepath.Join(cfg.Dir, FileName)
	if err := save(path, Stored{Issuer: cfg.Issuer, ClientID: cfg.ClientID, Token: tok}); err != nil {
		return "", err
	}
	return path, nil
}

// AccessToken returns the stored access token, refreshed (and stored
// again) when it expired or is about to. It is ErrNotSignedIn when
// nothing is stored and ErrExpired when the token cannot be refreshed.
func AccessToken(ctx context.Context, cfg Config) (string, error) {
	if err := cfg.setDefaults(); err != nil {
		return "", err
	}
	path := filepath.Join(cfg.Dir, FileName)
	st, err := load(path)
	if err != nil {
		return "", err
	}
	if st.Token.Expiry.IsZero() || time.Until(st.Token.Expiry) > refreshMargin {
		return st.Token.AccessToken, nil
	}
	if st.Token.RefreshToken == "" {
		return "", ErrExpired
	}
	oc, ctx, err := cfg.oauth(ctx, st.Issuer, st.ClientID)
	if err != nil {
		return "", err
	}
	old := *st.Token
	old.Expiry = time.Now().Add(-time.Second) // make the source refresh now
	tok, err := oc.TokenSource(ctx, &old).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return "", fmt.Errorf("%w: %s", ErrExpired, re.ErrorCode)
		}
		return "", fmt.Errorf("%w: refresh: %w", ErrSignIn, err)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = st.Token.RefreshToken
	}
	st.Token = tok
	if err := save(path, st); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// Logout removes the stored sign-in; it reports whether there was one.
func Logout(cfg Config) (bool, error) {
	path, err := Path(cfg)
	if err != nil {
		return false, err
	}
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	return true, nil
}

func load(path string) (Stored, error) {
	var st Stored
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, ErrNotSignedIn
	}
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Token == nil || st.Token.AccessToken == "" || st.Issuer == "" {
		return st, fmt.Errorf("%w: %s is not a stored sign-in (run fairway login again)", ErrSignIn, path)
	}
	return st, nil
}

// save writes st to path with mode 0600 (in a directory of mode 0700),
// through a temporary file renamed over the old one.
func save(path string, st Stored) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	f, err := os.CreateTemp(dir, "."+strings.TrimSuffix(FileName, ".json")+"-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	return nil
}
