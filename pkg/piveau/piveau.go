// Package piveau is a client of a piveau hub-repo (the registry behind
// data.europa.eu and EOSC's catalogue) for pushing DCAT-AP datasets into one
// catalogue: create or update a dataset by its original identifier, delete
// it, list the original identifiers the catalogue holds, and check that the
// hub answers, accepts the credentials and has the catalogue (creating it
// when configured).
//
// Requests go through package fetch: one owner of retries (connection
// errors, 408, 429 and 5xx, honouring Retry-After), request pacing, bounded
// bodies, and the HTTP client the caller passes (urlguard's address policy).
// Credentials (an API key or a bearer token) are sent, never logged, and
// removed from any text of the hub's that becomes part of an error.
package piveau

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
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-resty/resty/v2"
	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/fetch"
)

// Defaults applied by Config.SetDefaults to zero-valued fields (the
// transport's are fetch's).
const (
	// DefaultCollection is hub-repo's path segment of datasets under a
	// catalogue: /catalogues/{id}/datasets/origin.
	DefaultCollection = "datasets"
	// DefaultPageSize is how many identifiers List asks for per page
	// (hub-repo accepts 1 to 5000; its own default is 100).
	DefaultPageSize = 1000
	// MaxPageSize is the largest page hub-repo serves.
	MaxPageSize = 5000
	// DefaultMaxBodyBytes bounds the Turtle of one dataset.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMaxListIDs bounds what List takes from a hub.
	DefaultMaxListIDs = 5_000_000
	// DefaultUserAgent is sent with every request.
	DefaultUserAgent = "fairway-piveau/1.0 (+https://github.com/panosc/fairway)"
)

// The errors of the client; check them with errors.Is. Every error that
// carries a status also matches fetch.ErrHTTPStatus.
var (
	// ErrInvalidConfig wraps every error of Config.Validate.
	ErrInvalidConfig = errors.New("piveau: invalid config")
	// ErrUnauthorized: the hub answered 401 or 403 (missing, wrong or
	// expired credentials, or a key without the right). Not retried.
	ErrUnauthorized = errors.New("piveau: unauthorized")
	// ErrNotFound: the hub answered 404 for something else than an
	// unknown dataset on Delete.
	ErrNotFound = errors.New("piveau: not found")
	// ErrCatalogueNotFound: the hub does not have the catalogue (404
	// "Catalogue not found"), and the client was not configured to create
	// it. It also matches ErrNotFound.
	ErrCatalogueNotFound = fmt.Errorf("%w: catalogue not found", ErrNotFound)
	// ErrConflict: the hub answered 409.
	ErrConflict = errors.New("piveau: conflict")
	// ErrRefused: the hub refused the request for good (400, 405, 413,
	// 415, 422): the error quotes its answer. A dataset refused so should
	// go to the dead letters.
	ErrRefused = errors.New("piveau: refused")
	// ErrRetryLater: the hub was still busy or down (429, 5xx, connection
	// errors) when the transport's retries were spent; *RetryLaterError
	// carries its last Retry-After.
	ErrRetryLater = errors.New("piveau: retry later")
	// ErrInvalidDataset: the Turtle handed to Put is not one dcat:Dataset
	// (unreadable, none, or several); nothing was sent.
	ErrInvalidDataset = errors.New("piveau: invalid dataset")
	// ErrMalformedResponse: a response that is not what hub-repo sends
	// (a list that is not a JSON array of strings).
	ErrMalformedResponse = fetch.ErrMalformedResponse
)

// Config configures a Client. Zero values mean the documented default
// (SetDefaults); Validate reports the invalid ones.
type Config struct {
	// BaseURL is the root of the hub-repo API (http or https), e.g.
	// https://data.europa.eu/api/hub/repo: routes are {BaseURL}/catalogues/….
	// Required; it must not hold credentials, a query or a fragment.
	BaseURL string
	// Catalogue is the identifier of the catalogue the datasets go to.
	// Required: letters, digits, '-', '_' and '.'.
	Catalogue string
	// APIKey is sent as "X-API-Key: <APIKey>". Exactly one of APIKey and
	// BearerToken is required. Never logged.
	APIKey string
	// BearerToken is sent as "Authorization: Bearer <BearerToken>" (a
	// Keycloak token of a hub that uses one). Never logged.
	BearerToken string
	// CreateCatalogue makes Check create the catalogue when the hub does
	// not have it (PUT {BaseURL}/catalogues/{Catalogue} with
	// CatalogueTurtle); else Check fails with ErrCatalogueNotFound.
	CreateCatalogue bool
	// CatalogueTitle titles a catalogue Check creates. Default the
	// catalogue identifier.
	CatalogueTitle string
	// CatalogueDescription describes a catalogue Check creates. Default
	// a sentence naming the catalogue.
	CatalogueDescription string
	// Collection is the path segment of datasets under a catalogue.
	// Default "datasets" (hub-repo's route); another value is for a hub
	// or proxy that routes them elsewhere.
	Collection string
	// PageSize is how many identifiers List asks for per page (limit).
	// Default 1000, at most 5000.
	PageSize int
	// MaxListIDs bounds how many identifiers List takes from a hub (a hub
	// that pages forever must not fill the memory). Default 5,000,000.
	MaxListIDs int
	// MaxBodyBytes bounds the Turtle of one dataset. Default 8 MiB.
	MaxBodyBytes int
	// Transport is how requests are made: timeout per attempt, retries and
	// their backoff, Retry-After cap, rate limit, response size and user
	// agent (default DefaultUserAgent).
	fetch.Transport
	// HTTPClient makes the requests, e.g. urlguard's (Timeout 0: the
	// transport's PageTimeout applies). Default a new http.Client.
	HTTPClient *http.Client
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger
}

// SetDefaults replaces the zero fields of c with their defaults.
func (c *Config) SetDefaults() {
	c.Transport.SetDefaults(DefaultUserAgent)
	c.Collection = cmp.Or(c.Collection, DefaultCollection)
	c.PageSize = cmp.Or(c.PageSize, DefaultPageSize)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.MaxListIDs = cmp.Or(c.MaxListIDs, DefaultMaxListIDs)
	c.CatalogueTitle = cmp.Or(c.CatalogueTitle, c.Catalogue)
	if c.CatalogueDescription == "" && c.Catalogue != "" {
		c.CatalogueDescription = "Datasets pushed by Fairway into catalogue " + c.Catalogue + "."
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports the first invalid field of c (zero values are valid
// where a default exists). Errors wrap ErrInvalidConfig and never quote a
// credential.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	u, err := fetch.ParseBaseURL(c.BaseURL)
	if err != nil {
		return bad("%w", err)
	}
	if u.User != nil {
		return bad("BaseURL must not hold credentials: use APIKey or BearerToken")
	}
	if u.RawQuery != "" {
		return bad("BaseURL must not have a query")
	}
	if !validID(c.Catalogue) {
		return bad("Catalogue %q: want letters, digits, '-', '_' or '.' (1 to 200)", c.Catalogue)
	}
	if c.Collection != "" && !validID(c.Collection) {
		return bad("Collection %q is not a path segment", c.Collection)
	}
	switch {
	case c.APIKey == "" && c.BearerToken == "":
		return bad("one of APIKey and BearerToken is required")
	case c.APIKey != "" && c.BearerToken != "":
		return bad("APIKey and BearerToken are exclusive")
	}
	for name, v := range map[string]string{"APIKey": c.APIKey, "BearerToken": c.BearerToken} {
		if strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return bad("%s contains blanks or control characters", name)
		}
	}
	if c.PageSize < 0 || c.PageSize > MaxPageSize {
		return bad("PageSize %d: want 1 to %d", c.PageSize, MaxPageSize)
	}
	if c.MaxBodyBytes < 0 || c.MaxListIDs < 0 {
		return bad("MaxBodyBytes and MaxListIDs must not be negative")
	}
	if err := c.Transport.Validate(); err != nil {
		return bad("%w", err)
	}
	return nil
}

// validID reports whether s is a catalogue identifier hub-repo accepts as
// a path segment without escaping.
func validID(s string) bool {
	if s == "" || len(s) > 200 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// LogValue implements slog.LogValuer: the configuration without its
// credentials.
func (c Config) LogValue() slog.Value {
	auth := "none"
	switch {
	case c.APIKey != "":
		auth = "api key (redacted)"
	case c.BearerToken != "":
		auth = "bearer token (redacted)"
	}
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("catalogue", c.Catalogue),
		slog.String("auth", auth), slog.Bool("create_catalogue", c.CreateCatalogue))
}

// String describes the configuration without its credentials.
func (c Config) String() string { return c.LogValue().String() }

// Outcome is what a Put or a Delete did at the hub.
type Outcome int

// The outcomes.
const (
	// Created: the hub had no dataset of that original identifier (201).
	Created Outcome = iota + 1
	// Updated: the hub replaced its dataset (200 or 204).
	Updated
	// Unchanged: the hub already held the same dataset (304).
	Unchanged
	// Deleted: the hub removed the dataset (200 or 204).
	Deleted
	// AlreadyGone: the hub had no dataset of that identifier (404
	// "Dataset not found"): a delete that is already done.
	AlreadyGone
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	case Deleted:
		return "deleted"
	case AlreadyGone:
		return "already gone"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// StatusError is an answer of the hub that is not a success. It matches
// fetch.ErrHTTPStatus and the client's error for its status (ErrUnauthorized,
// ErrNotFound, ErrCatalogueNotFound, ErrConflict, ErrRefused).
type StatusError struct {
	// Method and URL of the request (the URL holds no credential).
	Method, URL string
	// StatusCode is the HTTP status.
	StatusCode int
	// Body is the start of hub-repo's answer (a short plain text such as
	// "Catalogue not found"), credentials removed.
	Body string
}

// Error implements error.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("piveau: %s %s: HTTP %d", e.Method, e.URL, e.StatusCode)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Is matches the sentinel of the status.
func (e *StatusError) Is(target error) bool {
	switch target {
	case fetch.ErrHTTPStatus:
		return true
	case ErrUnauthorized, fetch.ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrCatalogueNotFound:
		return e.StatusCode == http.StatusNotFound && catalogueMissing(e.Body)
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRefused:
		switch e.StatusCode {
		case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			return true
		}
	}
	return false
}

// catalogueMissing reports whether a 404 body is hub-repo's "Catalogue not
// found" (not "Dataset not found").
func catalogueMissing(body string) bool {
	return strings.Contains(strings.ToLower(body), "catalogue not found")
}

// RetryLaterError is the last answer of a hub that stayed busy or down
// until the transport's retries were spent. It matches ErrRetryLater.
type RetryLaterError struct {
	// After is the hub's last Retry-After (0 when it gave none).
	After time.Duration
	// Err is the last attempt's error.
	Err error
}

// Error implements error.
func (e *RetryLaterError) Error() string {
	msg := "piveau: retry later"
	if e.After > 0 {
		msg += " (after " + e.After.String() + ")"
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns ErrRetryLater and the last attempt's error.
func (e *RetryLaterError) Unwrap() []error { return []error{ErrRetryLater, e.Err} }

// Client pushes datasets into one catalogue of a hub-repo. It is safe for
// concurrent use.
type Client struct {
	cfg    Config
	base   *url.URL
	http   *resty.Client
	pacer  *fetch.Pacer
	log    *slog.Logger
	secret string
}

// New returns a Client for cfg (defaults applied, then validated). It makes
// no request: Check does.
func New(cfg Config) (*Client, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	var rc *resty.Client
	if cfg.HTTPClient != nil {
		rc = resty.NewWithClient(cfg.HTTPClient)
	} else {
		rc = resty.New()
	}
	log := cfg.Logger.With(slog.String("component", "piveau"), slog.String("base_url", base.String()),
		slog.String("catalogue", cfg.Catalogue))
	rc.SetRetryCount(0)
	rc.SetDoNotParseResponse(true)
	rc.SetLogger(fetch.RestyLogger{L: log})
	rc.SetHeader("User-Agent", cfg.UserAgent)
	secret := cfg.APIKey
	if cfg.APIKey != "" {
		rc.SetHeader("X-API-Key", cfg.APIKey)
	} else {
		rc.SetHeader("Authorization", "Bearer "+cfg.BearerToken)
		secret = cfg.BearerToken
	}
	return &Client{cfg: cfg, base: base, http: rc, pacer: cfg.Transport.Pacer(), log: log, secret: secret}, nil
}

// Config returns the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }

// catalogueURL is {base}/catalogues/{catalogue}.
func (c *Client) catalogueURL() string {
	return c.base.String() + "/catalogues/" + url.PathEscape(c.cfg.Catalogue)
}

// DatasetURL returns the URL of a dataset by its original identifier:
// {base}/catalogues/{catalogue}/datasets/origin?originalId={id}, the
// identifier query-escaped.
func (c *Client) DatasetURL(originalID string) string {
	return c.catalogueURL() + "/" + url.PathEscape(c.cfg.Collection) + "/origin?originalId=" + url.QueryEscape(originalID)
}

// shown bounds a URL for errors and logs (a huge identifier stays out).
func shown(u string) string {
	if len(u) > 300 {
		return u[:300] + "…"
	}
	return u
}

// answer is what one attempt kept of a response.
type answer struct {
	status int
	body   []byte
}

// do sends one request with the transport's retries and returns the final
// answer: a status below 400 (or one of okStatus), else an error.
func (c *Client) do(ctx context.Context, method, u, contentType string, body []byte, okStatus ...int) (answer, error) {
	show := shown(u)
	var last answer
	var lastAfter time.Duration
	attempts := 0
	err := fetch.Do(ctx, c.cfg.Transport, func(ctx context.Context) error {
		attempts++
		if err := c.pacer.Wait(ctx); err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.PageTimeout)
		defer cancel()
		req := c.http.R().SetContext(actx)
		if body != nil {
			req.SetHeader("Content-Type", contentType).SetBody(body)
		}
		if method == http.MethodGet {
			req.SetHeader("Accept", "application/json")
		}
		resp, err := req.Execute(method, u)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.URL = show
			}
			return fetch.Retryable(fmt.Errorf("piveau: %s %s: %w", method, show, err))
		}
		raw := resp.RawBody()
		defer func() {
			_, _ = io.CopyN(io.Discard, raw, 4<<10)
			_ = raw.Close()
		}()
		status := resp.StatusCode()
		lr := &fetch.LimitedReader{R: raw, N: c.cfg.MaxPageBytes}
		limit := int64(-1)
		if status >= 300 {
			limit = 512 // an error text: its start says it
		}
		var data []byte
		if limit > 0 {
			data, err = io.ReadAll(io.LimitReader(raw, limit))
		} else {
			data, err = io.ReadAll(lr)
		}
		if err != nil {
			if errors.Is(err, fetch.ErrPageTooLarge) {
				return fmt.Errorf("piveau: %s %s: %w", method, show, err)
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fetch.Retryable(fmt.Errorf("piveau: %s %s: reading the answer: %w", method, show, err))
		}
		last = answer{status: status, body: data}
		if status < 300 || status == http.StatusNotModified || contains(okStatus, status) {
			return nil
		}
		serr := &StatusError{Method: method, URL: show, StatusCode: status, Body: c.redact(data)}
		if d, ok := fetch.ParseRetryAfter(resp.Header().Get("Retry-After"), time.Now(), c.cfg.RetryAfterCap); ok {
			lastAfter = d
		}
		return fetch.StatusError(serr, status, resp.Header(), c.cfg.RetryAfterCap)
	}, func(err error, attempt int, wait time.Duration) {
		c.log.WarnContext(ctx, "hub-repo request failed, retrying", slog.String("method", method),
			slog.String("url", show), slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.Any("error", err))
	})
	if err == nil {
		return last, nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return last, fmt.Errorf("piveau: %s %s: %w", method, show, cerr)
	}
	if errors.Is(err, fetch.ErrGaveUp) {
		return last, &RetryLaterError{After: lastAfter, Err: err}
	}
	return last, err
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// redact turns the start of an answer into a one-line text without the
// credential.
func (c *Client) redact(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if c.secret != "" {
		s = strings.ReplaceAll(s, c.secret, "[redacted]")
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 256 {
		s = s[:256] + "…"
	}
	return s
}

// Check asks the hub for the catalogue: GET {base}/catalogues/{catalogue}.
// When the hub does not have it, Check creates it if configured
// (CreateCatalogue: PUT of CatalogueTurtle), else fails with
// ErrCatalogueNotFound. Because a hub may let anyone read a catalogue,
// Check then proves the credentials with a write that changes nothing: a
// DELETE of an original identifier no dataset has (404 "Dataset not found"
// means the key was accepted). Errors say what is wrong: the base does not
// answer (ErrRetryLater, a transport error, urlguard's refusal), answers
// with something that is not hub-repo (ErrNotFound without "Catalogue not
// found": a wrong BaseURL), refuses the credentials (ErrUnauthorized), or
// lacks the catalogue (ErrCatalogueNotFound).
func (c *Client) Check(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, c.catalogueURL(), "", nil)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCatalogueNotFound):
		return fmt.Errorf("piveau: %s answers 404 without hub-repo's \"Catalogue not found\": is BaseURL the root of the hub-repo API? %w",
			c.base.Redacted(), err)
	case errors.Is(err, ErrCatalogueNotFound) && c.cfg.CreateCatalogue:
		if err := c.CreateCatalogue(ctx); err != nil {
			return err
		}
	case errors.Is(err, ErrCatalogueNotFound):
		return fmt.Errorf("%w: %s has no catalogue %q and CreateCatalogue is off: %w",
			ErrCatalogueNotFound, c.base.Redacted(), c.cfg.Catalogue, err)
	case errors.Is(err, ErrUnauthorized):
		return fmt.Errorf("piveau: the hub refuses the credentials: %w", err)
	default:
		return fmt.Errorf("piveau: the hub at %s does not answer as hub-repo: %w", c.base.Redacted(), err)
	}
	probe := c.DatasetURL("fairway-credentials-check-" + strconv.FormatInt(time.Now().UnixNano(), 36))
	_, err = c.do(ctx, http.MethodDelete, probe, "", nil)
	switch {
	case err == nil, errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCatalogueNotFound):
		return nil
	case errors.Is(err, ErrUnauthorized):
		return fmt.Errorf("piveau: the hub refuses the credentials for catalogue %q: %w", c.cfg.Catalogue, err)
	}
	return fmt.Errorf("piveau: checking the credentials: %w", err)
}

// CreateCatalogue creates (or replaces) the catalogue:
// PUT {base}/catalogues/{catalogue} with CatalogueTurtle as text/turtle.
// The hub answers 201 (created) or 204 (updated).
func (c *Client) CreateCatalogue(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodPut, c.catalogueURL(), "text/turtle", []byte(c.CatalogueTurtle()))
	if err != nil {
		return fmt.Errorf("piveau: creating catalogue %q: %w", c.cfg.Catalogue, err)
	}
	c.log.InfoContext(ctx, "hub-repo catalogue created")
	return nil
}

// CatalogueTurtle is the catalogue CreateCatalogue sends: a dcat:Catalog
// with dct:type "dcat-ap" (hub-repo's catalogue type), a title, a
// description and English as its language.
func (c *Client) CatalogueTurtle() string {
	lit := func(s string) string {
		b, _ := json.Marshal(s) // a JSON string is a valid Turtle string
		return string(b)
	}
	var b strings.Builder
	b.WriteString("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n\n")
	fmt.Fprintf(&b, "<%s>\n    a dcat:Catalog ;\n    dct:type \"dcat-ap\" ;\n", c.catalogueURL())
	fmt.Fprintf(&b, "    dct:title %s@en ;\n    dct:description %s@en ;\n", lit(c.cfg.CatalogueTitle), lit(c.cfg.CatalogueDescription))
	b.WriteString("    dct:language <http://publications.europa.eu/resource/authority/language/ENG> .\n")
	return b.String()
}

// Put creates or updates the dataset of originalID:
// PUT {base}/catalogues/{catalogue}/datasets/origin?originalId={id} with
// turtle as text/turtle. The Turtle must describe exactly one dcat:Dataset
// (CheckDataset); otherwise nothing is sent and the error wraps
// ErrInvalidDataset. 201 is Created, 200 and 204 Updated, 304 Unchanged.
// A hub without the catalogue answers 404 "Catalogue not found": Put then
// creates it and sends again when CreateCatalogue is set, else fails with
// ErrCatalogueNotFound. Other errors: ErrRefused (400, 422: the hub's answer
// is in the error), ErrUnauthorized, ErrRetryLater, ErrConflict.
func (c *Client) Put(ctx context.Context, originalID string, turtle []byte) (Outcome, error) {
	return c.put(ctx, originalID, turtle, true)
}

// PutRendered is Put for Turtle the node rendered itself (dcat.DatasetTurtle,
// the publisher's catalogue entries), which describes one dcat:Dataset by
// construction: it skips CheckDataset's parse, which costs about as much as
// the rendering. The identifier and the size are still checked, and a hub
// that cannot read the Turtle still refuses it (ErrRefused). Turtle from
// anywhere else goes through Put.
func (c *Client) PutRendered(ctx context.Context, originalID string, turtle []byte) (Outcome, error) {
	return c.put(ctx, originalID, turtle, false)
}

func (c *Client) put(ctx context.Context, originalID string, turtle []byte, check bool) (Outcome, error) {
	if err := c.checkID(originalID); err != nil {
		return 0, err
	}
	if len(turtle) > c.cfg.MaxBodyBytes {
		return 0, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidDataset, len(turtle), c.cfg.MaxBodyBytes)
	}
	if check {
		if err := CheckDataset(turtle); err != nil {
			return 0, err
		}
	}
	u := c.DatasetURL(originalID)
	ans, err := c.do(ctx, http.MethodPut, u, "text/turtle", turtle)
	if errors.Is(err, ErrCatalogueNotFound) && c.cfg.CreateCatalogue {
		c.log.WarnContext(ctx, "hub-repo has no such catalogue, creating it")
		if cerr := c.CreateCatalogue(ctx); cerr != nil {
			return 0, cerr
		}
		ans, err = c.do(ctx, http.MethodPut, u, "text/turtle", turtle)
	}
	if err != nil {
		return 0, err
	}
	switch ans.status {
	case http.StatusCreated:
		return Created, nil
	case http.StatusNotModified:
		return Unchanged, nil
	case http.StatusOK, http.StatusNoContent:
		return Updated, nil
	}
	return 0, fmt.Errorf("piveau: PUT %s: unexpected HTTP %d", shown(u), ans.status)
}

// Delete removes the dataset of originalID: DELETE on its URL (DatasetURL).
// 200 and 204 are Deleted; 404 "Dataset not found" is AlreadyGone, a
// success. A 404 "Catalogue not found" is an error (ErrCatalogueNotFound):
// the catalogue is missing or misnamed, and acknowledging deletions into
// it would hide that.
func (c *Client) Delete(ctx context.Context, originalID string) (Outcome, error) {
	if err := c.checkID(originalID); err != nil {
		return 0, err
	}
	_, err := c.do(ctx, http.MethodDelete, c.DatasetURL(originalID), "", nil)
	switch {
	case err == nil:
		return Deleted, nil
	case errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCatalogueNotFound):
		return AlreadyGone, nil
	}
	return 0, err
}

// List returns the original identifiers of the catalogue's datasets:
// GET {base}/catalogues/{catalogue}/datasets?valueType=originalIds with
// limit and offset. hub-repo answers this value type with every identifier
// of the catalogue at once, whatever the limit; List also follows a hub
// that pages, until a page is shorter than asked. A page longer than asked,
// or one that brings nothing new, means the hub does not page: what it
// sent is the whole list.
func (c *Client) List(ctx context.Context) ([]string, error) {
	var all []string
	seen := map[string]bool{}
	limit := c.cfg.PageSize
	for offset := 0; ; offset += limit {
		u := fmt.Sprintf("%s/%s?valueType=originalIds&limit=%d&offset=%d",
			c.catalogueURL(), url.PathEscape(c.cfg.Collection), limit, offset)
		ans, err := c.do(ctx, http.MethodGet, u, "", nil)
		if err != nil {
			return nil, err
		}
		var page []string
		if err := json.Unmarshal(bytes.TrimSpace(ans.body), &page); err != nil {
			return nil, fmt.Errorf("piveau: GET %s: %w: want a JSON array of strings: %w", u, ErrMalformedResponse, err)
		}
		fresh := 0
		for _, id := range page {
			if !seen[id] {
				seen[id] = true
				all = append(all, id)
				fresh++
			}
		}
		if len(all) > c.cfg.MaxListIDs {
			return nil, fmt.Errorf("piveau: GET %s: %w: more than %d identifiers", u, ErrMalformedResponse, c.cfg.MaxListIDs)
		}
		if len(page) < limit || len(page) > limit || fresh == 0 {
			c.log.DebugContext(ctx, "hub-repo catalogue listed", slog.Int("identifiers", len(all)),
				slog.Int("pages", offset/limit+1))
			return all, nil
		}
	}
}

// checkID refuses an empty identifier or one with control characters.
func (c *Client) checkID(id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("%w: empty original identifier", ErrInvalidDataset)
	}
	if strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: original identifier with control characters", ErrInvalidDataset)
	}
	return nil
}

const (
	rdfType     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
	dcatDataset = "http://www.w3.org/ns/dcat#Dataset"
)

// CheckDataset parses turtle and reports whether it describes exactly one
// dcat:Dataset (one subject typed dcat:Dataset), as hub-repo's
// create-by-original-identifier route requires. Errors wrap
// ErrInvalidDataset.
func CheckDataset(turtle []byte) error {
	triples, err := rdf.NewTripleDecoder(bytes.NewReader(turtle), rdf.Turtle).DecodeAll()
	if err != nil {
		return fmt.Errorf("%w: not readable Turtle: %w", ErrInvalidDataset, err)
	}
	subjects := map[string]bool{}
	for _, t := range triples {
		if t.Pred.String() == rdfType && t.Obj.Type() == rdf.TermIRI && t.Obj.String() == dcatDataset {
			subjects[t.Subj.String()] = true
		}
	}
	switch n := len(subjects); n {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%w: no dcat:Dataset", ErrInvalidDataset)
	default:
		return fmt.Errorf("%w: %d dcat:Dataset subjects, want exactly one", ErrInvalidDataset, n)
	}
}
