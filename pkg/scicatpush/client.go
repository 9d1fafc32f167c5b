package scicatpush

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/urlguard"
	"github.com/panosc/fairway/proto/fairwayv1"
)

// Defaults applied by Config.SetDefaults to zero-valued fields.
const (
	DefaultOwnerGroup   = "fairway"
	DefaultContactEmail = "catalogue@fairway.invalid"
	DefaultSourceFolder = "/fairway"
	DefaultPIDPrefix    = "fairway/"
	DefaultUserAgent    = "fairway-scicatpush/1.0 (+https://github.com/panosc/fairway)"
	// DefaultIdleConns is the idle connections per host of the default
	// HTTPClient.
	DefaultIdleConns = 64
	// maxErrorBody bounds how much of an error answer is kept.
	maxErrorBody = 512
)

// Tombstones is what Delete does with a withdrawn dataset.
type Tombstones string

// Tombstone policies.
const (
	// Unpublish patches isPublished to false and keeps the dataset.
	Unpublish Tombstones = "unpublish"
	// Remove deletes the dataset.
	Remove Tombstones = "delete"
)

// The errors of the client; check them with errors.Is.
var (
	// ErrInvalidConfig wraps every error of Config.Validate.
	ErrInvalidConfig = errors.New("scicatpush: invalid config")
	// ErrUnauthorized: the login was refused, or a dataset route refused a
	// fresh token (401 or 403 after one new login).
	ErrUnauthorized = errors.New("scicatpush: unauthorized")
	// ErrNotFound: the dataset is not there (404).
	ErrNotFound = errors.New("scicatpush: not found")
	// ErrConflict: a dataset with the pid exists (409). Upsert handles it
	// by a PATCH (whose 404, when the dataset went away in between, is
	// ErrNotFound).
	ErrConflict = errors.New("scicatpush: conflict")
	// ErrRefused: SciCat refused the dataset for good (400, 422); the
	// *Error carries its message.
	ErrRefused = errors.New("scicatpush: refused")
	// ErrRetryLater: SciCat asked to wait (429, 503) or could not be
	// reached, and the retries are spent; the *Error carries the last
	// Retry-After when there was one.
	ErrRetryLater = errors.New("scicatpush: retry later")
	// ErrNoKey: the dataset has no key.
	ErrNoKey = errors.New("scicatpush: dataset has no key")
)

// Error is an answer of SciCat that is not a success.
type Error struct {
	// Method and Path of the request (Path without the host and query).
	Method, Path string
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Message is SciCat's message (its JSON "message", strings joined with
	// "; "), or the start of the body.
	Message string
	// RetryAfter is the server's last Retry-After, when it gave one.
	RetryAfter time.Duration
	// Err is the cause when no answer came.
	Err error
}

// Error implements error. It quotes no credentials.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scicatpush: %s %s", e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is maps the status to the sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrRefused:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	case ErrRetryLater:
		return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable ||
			(e.Status == 0 && e.Err != nil && !urlguard.Refused(e.Err) && !errors.Is(e.Err, context.Canceled))
	}
	return false
}

// Config configures a Client. Zero values mean the documented default
// (SetDefaults); Validate reports the invalid ones.
type Config struct {
	// BaseURL is the root of the SciCat backend (http or https), e.g.
	// https://scicat.example.org; the routes /api/v3/auth/login and
	// /api/v4/datasets are below it. A trailing /api is accepted. Required.
	BaseURL string
	// Username and Password of the functional account. Required. Never
	// logged nor quoted in errors.
	Username, Password string
	// OwnerGroup owns the datasets in SciCat. Default DefaultOwnerGroup.
	OwnerGroup string
	// AccessGroups may also read the datasets. Default none.
	AccessGroups []string
	// ContactEmail is the contactEmail of a dataset without a contact's
	// e-mail address. Default DefaultContactEmail.
	ContactEmail string
	// SourceFolder is the folder the sourceFolder of every dataset starts
	// with: <SourceFolder>/<facility>. Default DefaultSourceFolder.
	SourceFolder string
	// PIDPrefix starts the pid of a dataset without a DOI (see PID).
	// Default DefaultPIDPrefix.
	PIDPrefix string
	// NodeBaseURL is the node's base URL: the DCAT-AP IRI of a dataset
	// without a DOI is <NodeBaseURL>/datasets/<path-escaped key>, as
	// package dcat mints it. Default dcat.DefaultBaseURL.
	NodeBaseURL string
	// Tombstones is the policy of Delete. Default Unpublish.
	Tombstones Tombstones
	// Transport is how requests are sent: timeout per attempt, retries and
	// their backoff, Retry-After cap, rate limit, body size, user agent
	// (default DefaultUserAgent).
	Transport fetch.Transport
	// HTTPClient sends the requests, e.g. one whose dialer obeys the
	// address policy (urlguard). Its Timeout should be 0:
	// Transport.PageTimeout applies per attempt. Default a new http.Client.
	HTTPClient *http.Client
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger
}

// SetDefaults replaces the zero fields of c with their defaults.
func (c *Config) SetDefaults() {
	c.Transport.SetDefaults(DefaultUserAgent)
	c.OwnerGroup = cmp.Or(c.OwnerGroup, DefaultOwnerGroup)
	c.ContactEmail = cmp.Or(c.ContactEmail, DefaultContactEmail)
	c.SourceFolder = cmp.Or(c.SourceFolder, DefaultSourceFolder)
	c.PIDPrefix = cmp.Or(c.PIDPrefix, DefaultPIDPrefix)
	c.NodeBaseURL = cmp.Or(c.NodeBaseURL, dcat.DefaultBaseURL)
	c.Tombstones = cmp.Or(Tombstones(strings.ToLower(strings.TrimSpace(string(c.Tombstones)))), Unpublish)
	if c.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = DefaultIdleConns
		c.HTTPClient = &http.Client{Transport: t}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports the first invalid field of c (zero values are valid
// except for BaseURL, Username and Password). Errors wrap
// ErrInvalidConfig and never quote the password.
func (c Config) Validate() error {
	u, err := fetch.ParseBaseURL(c.BaseURL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if u.User != nil {
		return fmt.Errorf("%w: BaseURL must not hold credentials: use Username and Password", ErrInvalidConfig)
	}
	if c.Username == "" || c.Password == "" {
		return fmt.Errorf("%w: Username and Password are required", ErrInvalidConfig)
	}
	if c.ContactEmail != "" && !plausibleEmail(c.ContactEmail) {
		return fmt.Errorf("%w: ContactEmail %q is not an e-mail address", ErrInvalidConfig, c.ContactEmail)
	}
	if c.SourceFolder != "" && !strings.HasPrefix(c.SourceFolder, "/") && !strings.Contains(c.SourceFolder, "://") {
		return fmt.Errorf("%w: SourceFolder %q is neither an absolute path nor a URL", ErrInvalidConfig, c.SourceFolder)
	}
	switch Tombstones(strings.ToLower(strings.TrimSpace(string(c.Tombstones)))) {
	case "", Unpublish, Remove:
	default:
		return fmt.Errorf("%w: Tombstones %q: want unpublish or delete", ErrInvalidConfig, c.Tombstones)
	}
	if c.NodeBaseURL != "" {
		if _, err := fetch.ParseBaseURL(c.NodeBaseURL); err != nil {
			return fmt.Errorf("%w: NodeBaseURL: %w", ErrInvalidConfig, err)
		}
	}
	if err := c.Transport.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// LogValue implements slog.LogValuer: the configuration without its
// password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL), slog.String("username", c.Username),
		slog.String("password", "(redacted)"), slog.String("owner_group", c.OwnerGroup),
		slog.String("tombstones", string(c.Tombstones)),
	)
}

// String describes the configuration without its password.
func (c Config) String() string { return c.LogValue().String() }

// Outcome is what a push did.
type Outcome string

// Outcomes.
const (
	// Created: POST created the dataset.
	Created Outcome = "created"
	// Updated: the dataset existed (409) and PATCH updated it.
	Updated Outcome = "updated"
	// Unpublished: PATCH set isPublished to false.
	Unpublished Outcome = "unpublished"
	// Deleted: DELETE removed the dataset.
	Deleted Outcome = "deleted"
	// Absent: the dataset to unpublish or delete was not there.
	Absent Outcome = "absent"
)

// Client pushes datasets to one SciCat backend. It is safe for concurrent
// use; concurrent requests share one login.
type Client struct {
	cfg   Config
	root  string // without a trailing slash
	log   *slog.Logger
	pacer *fetch.Pacer

	loginMu sync.Mutex // one login at a time
	mu      sync.Mutex
	token   string
	gen     int // incremented at each login
}

// New returns a Client for cfg (defaults applied, then validated). It
// does not contact the server: see Check.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.SetDefaults()
	u, _ := url.Parse(cfg.BaseURL)
	p := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(strings.ToLower(p), "/api") {
		p = p[:len(p)-len("/api")]
	}
	u.Path, u.RawPath, u.RawQuery = p, "", ""
	root := strings.TrimRight(u.String(), "/")
	log := cfg.Logger.With(slog.String("component", "scicatpush"), slog.String("base_url", root))
	return &Client{cfg: cfg, root: root, log: log, pacer: cfg.Transport.Pacer()}, nil
}

// Config returns the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }

// Check logs in and lists one dataset through the v4 API with the token,
// so that a registration learns whether the destination answers and the
// credentials work. Its error says what is wrong: ErrUnauthorized for
// refused credentials, ErrNotFound when the routes are not there (not a
// SciCat v4 backend), ErrRetryLater when it does not answer.
func (c *Client) Check(ctx context.Context) error {
	if err := c.login(ctx, -1); err != nil {
		return fmt.Errorf("scicatpush: check: login: %w", err)
	}
	q := url.Values{"filter": {`{"limits":{"limit":1,"skip":0}}`}}
	if _, err := c.authed(ctx, http.MethodGet, "/api/v4/datasets?"+q.Encode(), nil); err != nil {
		return fmt.Errorf("scicatpush: check: datasets: %w", err)
	}
	return nil
}

// Upsert creates the dataset with POST /api/v4/datasets (pid: PID of its
// key) or, when SciCat answers 409, updates it with PATCH
// /api/v4/datasets/{pid}. techniques are its PaNET techniques. A tombstone
// (ds.Deleted) is handed to Delete.
func (c *Client) Upsert(ctx context.Context, ds *fairwayv1.Dataset, techniques []*fairwayv1.Technique) (Outcome, error) {
	if ds.GetKey() == "" {
		return "", ErrNoKey
	}
	if ds.GetDeleted() {
		return c.Delete(ctx, ds.GetKey())
	}
	doc, err := c.Document(ds, techniques)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("scicatpush: %w", err)
	}
	_, err = c.authed(ctx, http.MethodPost, "/api/v4/datasets", body)
	if err == nil {
		c.log.DebugContext(ctx, "dataset created", slog.String("pid", doc.PID))
		return Created, nil
	}
	if !errors.Is(err, ErrConflict) {
		return "", err
	}
	patch := doc
	patch.PID = ""
	body, err = json.Marshal(patch)
	if err != nil {
		return "", fmt.Errorf("scicatpush: %w", err)
	}
	if _, err := c.authed(ctx, http.MethodPatch, datasetPath(doc.PID), body); err != nil {
		return "", err
	}
	c.log.DebugContext(ctx, "dataset updated", slog.String("pid", doc.PID))
	return Updated, nil
}

// Delete applies the tombstone policy to the dataset of key: Unpublish
// sends PATCH /api/v4/datasets/{pid} {"isPublished":false}, Remove sends
// DELETE /api/v4/datasets/{pid}. A dataset SciCat does not hold (404)
// gives Absent and no error.
func (c *Client) Delete(ctx context.Context, key string) (Outcome, error) {
	if key == "" {
		return "", ErrNoKey
	}
	pid := c.PID(key)
	var err error
	out := Unpublished
	if c.cfg.Tombstones == Remove {
		out = Deleted
		_, err = c.authed(ctx, http.MethodDelete, datasetPath(pid), nil)
	} else {
		_, err = c.authed(ctx, http.MethodPatch, datasetPath(pid), []byte(`{"isPublished":false}`))
	}
	if errors.Is(err, ErrNotFound) {
		return Absent, nil
	}
	if err != nil {
		return "", err
	}
	return out, nil
}

// Get returns the dataset SciCat holds under pid, as it sent it
// (ErrNotFound when there is none).
func (c *Client) Get(ctx context.Context, pid string) (json.RawMessage, error) {
	return c.authed(ctx, http.MethodGet, datasetPath(pid), nil)
}

// datasetPath is the v4 route of one dataset: the pid is one path
// segment, its slashes escaped.
func datasetPath(pid string) string { return "/api/v4/datasets/" + url.PathEscape(pid) }

// authed sends a request with the access token, logging in first when
// there is none; a 401 or 403 makes it log in again and retry once.
func (c *Client) authed(ctx context.Context, method, path string, body []byte) (json.RawMessage, error) {
	for try := 0; ; try++ {
		token, gen, err := c.currentToken(ctx)
		if err != nil {
			return nil, err
		}
		out, err := c.send(ctx, method, path, body, token)
		if err == nil || !errors.Is(err, ErrUnauthorized) || try > 0 {
			return out, err
		}
		c.log.InfoContext(ctx, "SciCat refused the token, logging in again",
			slog.String("method", method), slog.Int("status", statusOf(err)))
		if err := c.login(ctx, gen); err != nil {
			return nil, err
		}
	}
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// currentToken returns the token, logging in when there is none.
func (c *Client) currentToken(ctx context.Context) (string, int, error) {
	c.mu.Lock()
	token, gen := c.token, c.gen
	c.mu.Unlock()
	if token != "" {
		return token, gen, nil
	}
	if err := c.login(ctx, gen); err != nil {
		return "", 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, c.gen, nil
}

// login logs in unless another goroutine did since generation gen (-1:
// always). Logins are serialised, so that the requests that find the
// token expired at once share one new login.
func (c *Client) login(ctx context.Context, gen int) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	if gen >= 0 && c.gen != gen && c.token != "" {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	body, err := json.Marshal(map[string]string{"username": c.cfg.Username, "password": c.cfg.Password})
	if err != nil {
		return fmt.Errorf("scicatpush: %w", err)
	}
	out, err := c.send(ctx, http.MethodPost, "/api/v3/auth/login", body, "")
	if err != nil {
		return err
	}
	var ans struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(out, &ans); err != nil || ans.AccessToken == "" {
		return &Error{Method: http.MethodPost, Path: "/api/v3/auth/login", Status: http.StatusOK,
			Message: "the answer holds no access_token", Err: fetch.ErrMalformedResponse}
	}
	c.mu.Lock()
	c.token = ans.AccessToken
	c.gen++
	c.mu.Unlock()
	c.log.InfoContext(ctx, "logged in to SciCat", slog.String("username", c.cfg.Username))
	return nil
}

// send performs one request with the transport's retries (429 and 5xx
// and connection errors, honouring Retry-After) and returns the body of a
// 2xx answer, or an *Error.
func (c *Client) send(ctx context.Context, method, path string, body []byte, token string) (json.RawMessage, error) {
	shown := path
	if i := strings.IndexByte(shown, '?'); i >= 0 {
		shown = shown[:i]
	}
	var out json.RawMessage
	var last *Error
	err := fetch.Do(ctx, c.cfg.Transport, func(ctx context.Context) error {
		var err error
		out, err = c.attempt(ctx, method, path, shown, body, token)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				if last != nil && e.RetryAfter == 0 {
					e.RetryAfter = last.RetryAfter
				}
				last = e
			}
		}
		return err
	}, func(err error, attempt int, wait time.Duration) {
		c.log.WarnContext(ctx, "SciCat request failed, retrying", slog.String("method", method),
			slog.String("path", shown), slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.Any("error", err))
	})
	if err == nil {
		return out, nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("scicatpush: %s %s: %w", method, shown, cerr)
	}
	var e *Error
	if errors.As(err, &e) {
		return nil, e
	}
	return nil, err
}

// attempt sends one request.
func (c *Client) attempt(ctx context.Context, method, path, shown string, body []byte, token string) (json.RawMessage, error) {
	if err := c.pacer.Wait(ctx); err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Transport.PageTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, c.root+path, rd)
	if err != nil {
		return nil, &Error{Method: method, Path: shown, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.Transport.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it quotes the URL, with the query
		}
		return nil, fetch.Retryable(&Error{Method: method, Path: shown, Err: err})
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		_ = resp.Body.Close()
	}()
	lr := &fetch.LimitedReader{R: resp.Body, N: c.cfg.Transport.MaxPageBytes}
	data, rerr := io.ReadAll(lr)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if rerr != nil {
			if errors.Is(rerr, fetch.ErrPageTooLarge) {
				return nil, &Error{Method: method, Path: shown, Status: resp.StatusCode, Err: rerr}
			}
			return nil, fetch.Retryable(&Error{Method: method, Path: shown, Status: resp.StatusCode, Err: rerr})
		}
		return json.RawMessage(data), nil
	}
	e := &Error{Method: method, Path: shown, Status: resp.StatusCode, Message: c.redact(errorMessage(data), token)}
	if d, ok := fetch.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now(), c.cfg.Transport.RetryAfterCap); ok {
		e.RetryAfter = d
	}
	return nil, fetch.StatusError(e, resp.StatusCode, resp.Header, c.cfg.Transport.RetryAfterCap)
}

// redact replaces the account's password and the access token in a text
// quoted from SciCat (an answer that echoes the request).
func (c *Client) redact(s, token string) string {
	for _, secret := range []string{c.cfg.Password, token} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// errorMessage reads SciCat's error answer ({"statusCode", "message",
// "error"}, message a string or a list of strings), else the start of the
// body.
func errorMessage(b []byte) string {
	var ans struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	if json.Unmarshal(b, &ans) == nil && len(ans.Message) > 0 {
		var s string
		if json.Unmarshal(ans.Message, &s) == nil {
			return bounded(s)
		}
		var list []string
		if json.Unmarshal(ans.Message, &list) == nil {
			return bounded(strings.Join(list, "; "))
		}
	}
	return bounded(strings.TrimSpace(string(b)))
}

func bounded(s string) string {
	if len(s) <= maxErrorBody {
		return s
	}
	return strings.ToValidUTF8(s[:maxErrorBody], "") + "…"
}
