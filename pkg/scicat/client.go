package scicat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-resty/resty/v2"

	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/urlguard"
)

// MetadataFormat is the metadata format of a SciCat document in a raw
// record: the normaliser reads it with scicatjson.Parse.
const MetadataFormat = "scicat"

// API versions of the SciCat backend.
const (
	APIv3 = "v3"
	APIv4 = "v4"
)

// Defaults applied by Config.SetDefaults to zero-valued fields (the
// transport's are fetch's: see fetch.Transport).
const (
	DefaultPageSize  = 100
	DefaultUserAgent = "fairway-scicat/1.0 (+https://github.com/panosc/fairway)"
)

// The errors of the client; a page that could not be fetched fails with
// the errors of package fetch, which the OAI-PMH client shares: a
// *fetch.HTTPError (fetch.ErrHTTPStatus; fetch.ErrUnauthorized for 401 and
// 403), fetch.ErrPageTooLarge, fetch.ErrMalformedResponse for a response
// that is not a JSON array, fetch.ErrGaveUp once the retries are spent.
var (
	// ErrInvalidConfig wraps every error of Config.Validate.
	ErrInvalidConfig = errors.New("scicat: invalid config")
	// ErrPagingIgnored is wrapped when the server returns more documents
	// than a page may hold, or the same page again: it does not understand
	// the paging filter, and the list would never end.
	ErrPagingIgnored = errors.New("scicat: server ignores paging")
	// ErrNoAPI is wrapped when neither the v4 nor the v3 API answers.
	ErrNoAPI = errors.New("scicat: no SciCat API found")
	// ErrNoIdentifier is wrapped by DocumentID for a document without one.
	ErrNoIdentifier = errors.New("scicat: document has no identifier")
	// ErrMalformedDataset is wrapped by DocumentID when a document is not
	// a JSON object. The normaliser's reader of SciCat documents has its
	// own (scicatjson.ErrMalformed, with the same text): neither package
	// imports the other.
	ErrMalformedDataset = errors.New("scicat: malformed dataset document")
)

// Collection is a list of documents the client reads.
type Collection string

// Collections of published documents.
const (
	// Datasets are the published datasets (isPublished true).
	Datasets Collection = "datasets"
	// PublishedData are the published data: DOIs minted for groups of
	// datasets, with status registered, public or amended.
	PublishedData Collection = "publisheddata"
)

// ParseCollection reads a collection name as a feed may spell it: "",
// "scicat", "dataset" or "datasets" for Datasets; "publisheddata",
// "published_data" or "published-data" for PublishedData (any case).
func ParseCollection(s string) (Collection, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", MetadataFormat, "dataset", "datasets":
		return Datasets, nil
	case "publisheddata", "published_data", "published-data":
		return PublishedData, nil
	}
	return "", fmt.Errorf("scicat: unknown collection %q: want datasets or publisheddata", s)
}

// Config configures a Client. Zero values mean the documented default
// (SetDefaults); Validate reports the invalid ones.
type Config struct {
	// BaseURL is the root of the SciCat backend (http or https), e.g.
	// https://scicat.example.org. A trailing /api, /api/v3 or /api/v4 is
	// accepted; the version then fixes APIVersion when it is empty.
	// Required; it must not hold credentials (use Token).
	BaseURL string
	// Token is sent as "Authorization: Bearer <Token>"; empty means
	// anonymous access, which lists what the catalogue publishes to
	// everyone. It is never logged.
	Token string
	// APIVersion is "v3" or "v4"; empty means detect: v4 if it answers,
	// else v3 (see Client.Version).
	APIVersion string
	// PageSize is the number of documents asked for per request.
	// Default 100.
	PageSize int
	// Transport is how pages are fetched: page timeout, retries and their
	// backoff, Retry-After cap, rate limit, page size in bytes and user
	// agent (default DefaultUserAgent).
	fetch.Transport
}

// SetDefaults replaces the zero fields of c with their defaults, and
// writes APIVersion in lower case.
func (c *Config) SetDefaults() {
	c.Transport.SetDefaults(DefaultUserAgent)
	c.APIVersion = strings.ToLower(strings.TrimSpace(c.APIVersion))
	c.PageSize = cmp.Or(c.PageSize, DefaultPageSize)
}

// Validate reports the first invalid field of c (zero values are valid:
// they mean the default). Errors wrap ErrInvalidConfig and never quote the
// token.
func (c Config) Validate() error {
	u, err := fetch.ParseBaseURL(c.BaseURL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if u.User != nil {
		return fmt.Errorf("%w: BaseURL must not hold credentials: use Token", ErrInvalidConfig)
	}
	_, hint := splitBase(u)
	switch v := strings.ToLower(strings.TrimSpace(c.APIVersion)); {
	case v != "" && v != APIv3 && v != APIv4:
		return fmt.Errorf("%w: APIVersion %q: want v3, v4 or empty", ErrInvalidConfig, c.APIVersion)
	case v != "" && hint != "" && v != hint:
		return fmt.Errorf("%w: APIVersion %s contradicts BaseURL %q", ErrInvalidConfig, v, c.BaseURL)
	}
	if strings.IndexFunc(c.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%w: Token contains blanks or control characters", ErrInvalidConfig)
	}
	if c.PageSize < 0 {
		return fmt.Errorf("%w: PageSize must not be negative", ErrInvalidConfig)
	}
	if err := c.Transport.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// LogValue implements slog.LogValuer: the configuration without its token.
func (c Config) LogValue() slog.Value {
	auth := "anonymous"
	if c.Token != "" {
		auth = "bearer token (redacted)"
	}
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL), slog.String("api_version", c.APIVersion),
		slog.Int("page_size", c.PageSize), slog.String("auth", auth),
	)
}

// String describes the configuration without its token, so that printing a
// Config by mistake does not leak it.
func (c Config) String() string { return c.LogValue().String() }

// splitBase returns the backend root of a base URL (without a trailing
// /api, /api/v3 or /api/v4) and the version its path names, if any.
func splitBase(u *url.URL) (*url.URL, string) {
	root := *u
	p := strings.TrimRight(root.Path, "/")
	version := ""
	lower := strings.ToLower(p)
	for _, v := range []string{APIv3, APIv4} {
		if strings.HasSuffix(lower, "/api/"+v) {
			p, version = p[:len(p)-len("/api/"+v)], v
			break
		}
	}
	if version == "" && strings.HasSuffix(lower, "/api") {
		p = p[:len(p)-len("/api")]
	}
	root.Path, root.RawPath = p, ""
	return &root, version
}

// Option customises a Client.
type Option = fetch.Option

// WithLogger sets the logger (default slog.Default()).
var WithLogger = fetch.WithLogger

// WithHTTPClient sets the underlying *http.Client, e.g. one whose dialer
// refuses private addresses (its Timeout should be 0: Config.PageTimeout
// applies).
var WithHTTPClient = fetch.WithHTTPClient

// Client reads the published documents of one SciCat catalogue. It is safe
// for concurrent use.
type Client struct {
	cfg   Config
	root  *url.URL
	token string
	http  *fetch.Client // with the feed's rate limit
	log   *slog.Logger

	mu      sync.Mutex
	version string // detected or configured API version
}

// NewClient returns a Client for cfg (defaults applied, then validated).
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.BaseURL)
	root, hint := splitBase(u)
	hc, err := fetch.NewClient(cfg.Transport, opts, "scicat", "SciCat", root.String())
	if err != nil {
		return nil, err
	}
	hc.SetHeader("Accept", "application/json")
	if cfg.Token != "" {
		hc.SetHeader("Authorization", "Bearer "+cfg.Token)
	}
	c := &Client{cfg: cfg, root: root, token: cfg.Token, http: hc, log: hc.Logger(), version: cfg.APIVersion}
	if c.version == "" {
		c.version = hint
	}
	return c, nil
}

// Config returns the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }

// Version returns the API version the client uses: the configured one (or
// the one BaseURL names), else the one detected by asking for one published
// dataset from the v4 API and then, when v4 does not answer with a JSON
// array, from the v3 API. The detected version is kept. Errors wrap
// fetch.ErrUnauthorized as soon as a server refuses the credentials, the
// address guard's refusal (urlguard.Refused) as soon as it refuses, ErrNoAPI
// (with both causes) when neither API answers.
func (c *Client) Version(ctx context.Context) (string, error) {
	if v := c.knownVersion(); v != "" {
		return v, nil
	}
	return c.detect(ctx, APIv4, APIv3)
}

// Probe asks the server for one published dataset and returns the API
// version that answered: the client's version when it is configured or
// named by BaseURL (asked even so: Version would not ask), else the one
// Version detects. Its errors are Version's; ErrNoAPI, with the cause, when
// the client's version does not answer.
func (c *Client) Probe(ctx context.Context) (string, error) {
	if v := c.knownVersion(); v != "" {
		return c.detect(ctx, v)
	}
	return c.detect(ctx, APIv4, APIv3)
}

// knownVersion returns the configured or detected API version, or "".
func (c *Client) knownVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// detect asks each version in turn for one published dataset and keeps the
// first that answers (see Version for the errors).
func (c *Client) detect(ctx context.Context, versions ...string) (string, error) {
	var errs []error
	for _, try := range versions {
		_, _, err := c.fetch(ctx, try, Datasets, 0, 1)
		if err == nil {
			c.mu.Lock()
			detected := c.version == ""
			c.version = try
			c.mu.Unlock()
			if detected {
				c.log.InfoContext(ctx, "SciCat API detected", slog.String("api_version", try))
			}
			return try, nil
		}
		if errors.Is(err, fetch.ErrUnauthorized) || urlguard.Refused(err) || ctx.Err() != nil {
			// Another version would be refused the same way.
			return "", err
		}
		errs = append(errs, fmt.Errorf("%s: %w", try, err))
	}
	return "", fmt.Errorf("%w at %s: %w", ErrNoAPI, c.root, errors.Join(errs...))
}

// Page is one page of a list.
type Page struct {
	// Documents are the published documents of the page, each exactly as
	// the server sent it, in the server's order.
	Documents []json.RawMessage
	// Offset is the skip of this page; Next the skip of the next one
	// (Offset plus every document the server returned).
	Offset, Next int
	// Last is set on the last page (the server returned fewer documents
	// than asked for).
	Last bool
	// Unpublished counts the documents the server returned that are not
	// published (isPublished not true; a published data status other than
	// registered, public or amended): they are left out of Documents.
	Unpublished int
	// RequestURL is the URL requested for the page (it holds no
	// credentials).
	RequestURL string
}

// ListRequest selects the documents of List.
type ListRequest struct {
	// Collection to list. Default Datasets.
	Collection Collection
	// Offset is the skip of the first page: 0 for a full list, or a Page's
	// Next to resume an interrupted one.
	Offset int
}

// PageFunc receives the documents of each page, each exactly as the server
// sent it, with the URL requested for the page.
type PageFunc func(ctx context.Context, page []json.RawMessage, requestURL string) error

// ListPublishedDatasets lists every published dataset, page by page (see
// List).
func (c *Client) ListPublishedDatasets(ctx context.Context, fn PageFunc) error {
	return c.listDocs(ctx, Datasets, fn)
}

// ListPublishedData lists every published data document (registered,
// public or amended DOIs), page by page (see List).
func (c *Client) ListPublishedData(ctx context.Context, fn PageFunc) error {
	return c.listDocs(ctx, PublishedData, fn)
}

func (c *Client) listDocs(ctx context.Context, coll Collection, fn PageFunc) error {
	if fn == nil {
		return errors.New("scicat: nil PageFunc")
	}
	return c.List(ctx, ListRequest{Collection: coll}, func(ctx context.Context, p *Page) error {
		return fn(ctx, p.Documents, p.RequestURL)
	})
}

// List walks the published documents of a collection from req.Offset and
// calls fn once per page, in order, until a page comes back shorter than
// Config.PageSize (fn sees that last page too, even when it is empty).
//
// v3: GET {base}/api/v3/Datasets or /api/v3/PublishedData; v4: GET
// {base}/api/v4/datasets/public (anonymous) or /api/v4/datasets (with a
// token), or /api/v4/publisheddata; each with
// filter={"where":{"isPublished":true},"limits":{"skip":N,"limit":M}}
// (published data: no where; the server shows only published DOIs to the
// public, and the client leaves out the others).
//
// It returns an error wrapping fn's error when fn fails (the walk stops),
// ErrPagingIgnored, fetch.ErrMalformedResponse or fetch.ErrPageTooLarge
// (with the URL), a *fetch.HTTPError (fetch.ErrUnauthorized for 401 and
// 403), the transport error after the retries are exhausted
// (fetch.ErrGaveUp), or ctx.Err().
func (c *Client) List(ctx context.Context, req ListRequest, fn func(ctx context.Context, p *Page) error) error {
	if fn == nil {
		return errors.New("scicat: nil page function")
	}
	coll := req.Collection
	if coll == "" {
		coll = Datasets
	}
	if coll != Datasets && coll != PublishedData {
		return fmt.Errorf("scicat: unknown collection %q", coll)
	}
	if req.Offset < 0 {
		return fmt.Errorf("scicat: negative offset %d", req.Offset)
	}
	version, err := c.Version(ctx)
	if err != nil {
		return err
	}
	limit := c.cfg.PageSize
	offset := req.Offset
	var previousFirst json.RawMessage
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		docs, u, err := c.fetch(ctx, version, coll, offset, limit)
		if err != nil {
			return err
		}
		if len(docs) > limit {
			return fmt.Errorf("%w: %d documents from %s, asked for %d", ErrPagingIgnored, len(docs), u, limit)
		}
		if len(docs) > 0 && previousFirst != nil && bytes.Equal(docs[0], previousFirst) {
			return fmt.Errorf("%w: %s returned the previous page again", ErrPagingIgnored, u)
		}
		p := &Page{Offset: offset, Next: offset + len(docs), Last: len(docs) < limit, RequestURL: u}
		for _, d := range docs {
			if Published(coll, d) {
				p.Documents = append(p.Documents, d)
			} else {
				p.Unpublished++
			}
		}
		if p.Unpublished > 0 {
			c.log.WarnContext(ctx, "SciCat returned documents that are not published; they are left out",
				slog.String("url", u), slog.Int("unpublished", p.Unpublished))
		}
		if err := fn(ctx, p); err != nil {
			return fmt.Errorf("scicat: page handler for %s: %w", u, err)
		}
		if p.Last {
			return nil
		}
		previousFirst, offset = docs[0], p.Next
	}
}

// endpoint returns the list URL of a collection for an API version.
func (c *Client) endpoint(version string, coll Collection, skip, limit int) string {
	var path, filter string
	limits := fmt.Sprintf(`"limits":{"skip":%d,"limit":%d}`, skip, limit)
	switch coll {
	case PublishedData:
		path = "/api/v3/PublishedData"
		if version == APIv4 {
			path = "/api/v4/publisheddata"
		}
		filter = "{" + limits + "}"
	default:
		path = "/api/v3/Datasets"
		if version == APIv4 {
			path = "/api/v4/datasets"
			if c.token == "" {
				path += "/public"
			}
		}
		filter = `{"where":{"isPublished":true},` + limits + "}"
	}
	u := *c.root
	u.Path += path
	q := u.Query()
	q.Set("filter", filter)
	u.RawQuery = q.Encode()
	return u.String()
}

// fetch requests one page with retries and returns its documents with the
// requested URL.
func (c *Client) fetch(ctx context.Context, version string, coll Collection, skip, limit int) ([]json.RawMessage, string, error) {
	u := c.endpoint(version, coll, skip, limit)
	var docs []json.RawMessage
	// The URL holds no credentials: errors and logs quote it whole.
	_, err := c.http.Get(ctx, u, u, func(ctx context.Context, resp *resty.Response) error {
		var err error
		docs, err = c.read(ctx, resp, u)
		return err
	})
	if err != nil {
		return nil, u, err
	}
	return docs, u, nil
}

// read splits the JSON array of one attempt's response from u.
func (c *Client) read(ctx context.Context, resp *resty.Response, u string) ([]json.RawMessage, error) {
	body := resp.RawBody()
	if status := resp.StatusCode(); status < 200 || status >= 300 {
		snippet, _ := io.ReadAll(io.LimitReader(body, 256))
		herr := &fetch.HTTPError{StatusCode: status, URL: u, Body: c.redact(strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?")))}
		return nil, fetch.StatusError(fmt.Errorf("scicat: %w", herr), status, resp.Header(), c.cfg.RetryAfterCap)
	}
	lr := &fetch.LimitedReader{R: body, N: c.cfg.MaxPageBytes}
	docs, err := splitArray(lr)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, fetch.ErrPageTooLarge):
		return nil, fmt.Errorf("scicat: %w (GET %s)", err, u)
	case errors.Is(err, fetch.ErrMalformedResponse):
		return nil, fmt.Errorf("%w (GET %s)", err, u)
	default: // the body could not be read: network trouble or page timeout
		return nil, fetch.Retryable(fmt.Errorf("scicat: GET %s: reading the body: %w", u, err))
	}
	c.log.DebugContext(ctx, "SciCat page", slog.String("url", u), slog.Int("documents", len(docs)),
		slog.Duration("elapsed", time.Since(resp.Request.Time)))
	return docs, nil
}

// redact removes the token from a text that is about to become part of an
// error message (a server that echoes the request's headers).
func (c *Client) redact(s string) string {
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, "[redacted]")
	}
	return s
}

// splitArray reads a JSON array and returns its elements, each exactly as
// in the input (no re-encoding).
func splitArray(r io.Reader) ([]json.RawMessage, error) {
	d := json.NewDecoder(r)
	tok, err := d.Token()
	if err != nil {
		return nil, readError(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return nil, malformed("want a JSON array, got %s", describeToken(tok))
	}
	docs := []json.RawMessage{}
	for d.More() {
		var doc json.RawMessage
		if err := d.Decode(&doc); err != nil {
			return nil, readError(err)
		}
		docs = append(docs, doc)
	}
	if _, err := d.Token(); err != nil { // the closing ']'
		return nil, readError(err)
	}
	if _, err := d.Token(); err != io.EOF {
		if err == nil {
			return nil, malformed("data after the JSON array")
		}
		return nil, readError(err)
	}
	return docs, nil
}

// malformed returns an error wrapping fetch.ErrMalformedResponse: a
// response that is not a JSON array.
func malformed(format string, args ...any) error {
	return fmt.Errorf("scicat: %w: "+format, append([]any{fetch.ErrMalformedResponse}, args...)...)
}

// readError classifies an error of the JSON decoder: syntax errors and an
// empty body make a malformed response; anything else (a read error, a
// truncated body) is returned as is.
func readError(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return malformed("%w", err)
	}
	if err == io.EOF {
		return malformed("empty body")
	}
	return err
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return string(t)
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// stringField reads a JSON string; anything else (absent, null, a number)
// reads as "".
func stringField(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

// DocumentID returns the identifier of a document at the source: a
// dataset's pid (else its _id), a published data document's doi (else its
// _id). It reads only those fields, so a document whose other fields are
// odd still has its identifier. Errors wrap ErrMalformedDataset (not a JSON
// object) or ErrNoIdentifier.
func DocumentID(coll Collection, doc []byte) (string, error) {
	var ids struct {
		PID json.RawMessage `json:"pid"`
		ID  json.RawMessage `json:"_id"`
		DOI json.RawMessage `json:"doi"`
	}
	if b := bytes.TrimSpace(doc); len(b) == 0 || b[0] != '{' {
		return "", fmt.Errorf("%w: want a JSON object", ErrMalformedDataset)
	}
	if err := json.Unmarshal(doc, &ids); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformedDataset, err)
	}
	first := ids.PID
	if coll == PublishedData {
		first = ids.DOI
	}
	if id := cmp.Or(stringField(first), stringField(ids.ID)); id != "" {
		return id, nil
	}
	if coll == PublishedData {
		return "", fmt.Errorf("%w: no doi or _id", ErrNoIdentifier)
	}
	return "", fmt.Errorf("%w: no pid or _id", ErrNoIdentifier)
}

// Published reports whether a document of the collection is published: a
// dataset whose isPublished is true, a published data document whose
// status is registered, public or amended. A document that is not a JSON
// object is not.
func Published(coll Collection, doc []byte) bool {
	var st struct {
		IsPublished *bool           `json:"isPublished"`
		Status      json.RawMessage `json:"status"`
	}
	if b := bytes.TrimSpace(doc); len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &st) != nil {
		return false
	}
	if coll == PublishedData {
		switch strings.ToLower(stringField(st.Status)) {
		case "registered", "public", "amended":
			return true
		}
		return false
	}
	return st.IsPublished != nil && *st.IsPublished
}
