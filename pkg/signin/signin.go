// Package signin signs the command line in at an OpenID Provider with the
// OAuth 2.0 device authorization grant (RFC 8628), keeps the tokens in the
// user's configuration directory (mode 0600) with the node they are for,
// gives the access token only for requests to that node (over https, or
// http to this machine) and refreshes it when it expires. It prints where
// to sign in and the user code, without control characters, never a
// token.
package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/panosc/fairway/pkg/urlguard"
)

var (
	// ErrNotSignedIn is returned when no sign-in is stored.
	ErrNotSignedIn = errors.New("not signed in (run fairway login)")
	// ErrExpired is returned when the stored token expired and cannot be
	// refreshed.
	ErrExpired = errors.New("the sign-in expired (run fairway login again)")
	// ErrOtherServer is returned when the stored sign-in is for another
	// node than the one a request goes to, or the request would carry it
	// over plain http to a host other than this machine.
	ErrOtherServer = errors.New("the sign-in is not for this node")
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
	// as "audience", at sign-in and at every refresh: the node the token
	// is for.
	Resource string
	// Server is the node's URL: Login records it, and AccessToken gives
	// the token only for a request to that node (same scheme, host and
	// port), never over plain http unless to this machine. Required.
	Server string
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
	// Server is the URL of the node the sign-in is for; its token goes
	// to that node only.
	Server string `json:"server,omitempty"`
	// Resource is the resource indicator sent at sign-in, sent again on
	// refresh.
	Resource string `json:"resource,omitempty"`
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
	if err := secureURL(cfg.Issuer); err != nil {
		return "", fmt.Errorf("%w: issuer: %w", ErrSignIn, err)
	}
	server, err := origin(cfg.Server)
	if err != nil {
		return "", fmt.Errorf("%w: server: %w", ErrSignIn, err)
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
	fmt.Fprintf(out, "To sign in, open %s\nand enter the code %s\n", Printable(da.VerificationURI), Printable(da.UserCode))
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "(or open %s)\n", Printable(da.VerificationURIComplete))
	}
	fmt.Fprintln(out, "Waiting for the sign-in to be approved…")
	tok, err := oc.DeviceAccessToken(ctx, da, opts...)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSignIn, err)
	}
	path := filepath.Join(cfg.Dir, FileName)
	if err := save(path, Stored{Issuer: cfg.Issuer, ClientID: cfg.ClientID, Server: server, Resource: cfg.Resource, Token: tok}); err != nil {
		return "", err
	}
	return path, nil
}

// AccessToken returns the stored access token for a request to the node
// at cfg.Server, refreshed (and stored again) when it expired or is about
// to. It is ErrNotSignedIn when nothing is stored, ErrOtherServer when the
// sign-in is for another node (or cfg.Server is plain http to another
// machine), and ErrExpired when the token cannot be refreshed.
func AccessToken(ctx context.Context, cfg Config) (string, error) {
	if err := cfg.setDefaults(); err != nil {
		return "", err
	}
	path := filepath.Join(cfg.Dir, FileName)
	st, err := load(path)
	if err != nil {
		return "", err
	}
	if err := st.For(cfg.Server); err != nil {
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
	tok, err := refresh(ctx, cfg.HTTPClient, oc, st)
	if err != nil {
		return "", err
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

// For returns nil when the sign-in's token may go to the node at server:
// the node it was made for (same scheme, host and port), over https or
// to this machine. Else it is ErrOtherServer, with the reason.
func (st Stored) For(server string) error {
	o, err := origin(server)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOtherServer, err)
	}
	if err := secureURL(o); err != nil {
		return fmt.Errorf("%w: not sending it to %s: %w", ErrOtherServer, o, err)
	}
	if st.Server == "" {
		return fmt.Errorf("%w: the stored sign-in names no node (run fairway login --server %s)", ErrOtherServer, o)
	}
	if so, err := origin(st.Server); err != nil || so != o {
		return fmt.Errorf("%w: it is for %s, not %s (run fairway login --server %s)", ErrOtherServer, st.Server, o, o)
	}
	return nil
}

// origin returns scheme://host[:port] of an http or https URL, in lower
// case, without a default port.
func origin(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q: want an http or https URL", raw)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// secureURL refuses a URL that is plain http to a host other than this
// machine.
func secureURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%q: want an absolute URL", raw)
	case u.Scheme == "https", u.Scheme == "http" && urlguard.IsLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s: want https (http only to this machine)", u.Redacted())
}

// Printable returns s without control characters (nor bidirectional
// controls), for printing what a provider or a node sent: it then cannot
// move the cursor or rewrite what the terminal shows.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
}

// refresh runs the refresh-token grant of st, sending its resource
// indicator again (which oauth2's token source cannot add).
func refresh(ctx context.Context, hc *http.Client, oc *oauth2.Config, st Stored) (*oauth2.Token, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {st.Token.RefreshToken},
		"client_id":     {oc.ClientID},
	}
	if st.Resource != "" {
		form.Set("resource", st.Resource)
		form.Set("audience", st.Resource)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, oc.Endpoint.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: refresh: %w", ErrSignIn, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: refresh: %w", ErrSignIn, err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
		Error        string `json:"error"`
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: refresh: %w", ErrSignIn, err)
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, fmt.Errorf("%w: refresh: %s: the answer is not JSON", ErrSignIn, resp.Status)
	}
	if body.Error != "" {
		return nil, fmt.Errorf("%w: %s", ErrExpired, Printable(body.Error))
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		return nil, fmt.Errorf("%w: refresh: %s: no access token", ErrSignIn, resp.Status)
	}
	tok := &oauth2.Token{AccessToken: body.AccessToken, TokenType: body.TokenType, RefreshToken: body.RefreshToken}
	if body.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)
	}
	return tok, nil
}
