package oaipmh

import (
	"bufio"
	"cmp"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/panosc/fairway/pkg/fetch"
)

// Defaults applied by Config.SetDefaults to zero-valued fields (the
// transport's are fetch's: see fetch.Transport).
const (
	DefaultMetadataPrefix = "oai_dc"
	DefaultMaxRecordBytes = 4 << 20
	DefaultUserAgent      = "fairway-oaipmh/1.0 (+https://github.com/panosc/fairway)"
	DefaultMaxTokenBytes  = 8 << 10
)

// Config configures a Client. Zero values mean the documented default
// (SetDefaults); Validate reports the invalid ones.
type Config struct {
	// BaseURL is the repository's OAI-PMH base URL (http or https). Required.
	// Query parameters already in it are kept on every request.
	BaseURL string
	// MetadataPrefix is requested by ListRecords, ListIdentifiers and
	// GetRecord. Default "oai_dc".
	MetadataPrefix string
	// Set restricts ListRecords and ListIdentifiers to a set, unless the
	// ListRequest names one. Default: no set.
	Set string
	// Transport is how pages are fetched: page timeout, retries and their
	// backoff, Retry-After cap, rate limit, page size (decompressed) and
	// user agent (default DefaultUserAgent).
	fetch.Transport
	// MaxRecordBytes bounds the metadata payload of one record; larger records
	// are reported in Page.Oversized. Default 4 MiB.
	MaxRecordBytes int
	// TokenHistory is how many of a list's most recent resumption tokens
	// are remembered (as fixed-size digests) to detect a loop: a token
	// handed out again among them fails the list with ErrTokenLoop. The
	// memory of a list stays flat however long it runs; a loop longer than
	// the history is left to the caller's caps on pages and time.
	// Default DefaultTokenHistory (4096).
	TokenHistory int
	// MaxTokenBytes bounds a resumption token: a list whose repository
	// hands out a longer one (or resumed with a longer one) fails with
	// ErrTokenTooLarge before the page is handed to the PageFunc. A token
	// travels in the next request's URL, and a harvester keeps it in its
	// checkpoint and its records' provenance: a token of megabytes would
	// make those fail. Default DefaultMaxTokenBytes (8 KiB).
	MaxTokenBytes int
}

// SetDefaults replaces the zero fields of c with their defaults.
func (c *Config) SetDefaults() {
	c.Transport.SetDefaults(DefaultUserAgent)
	c.MetadataPrefix = cmp.Or(c.MetadataPrefix, DefaultMetadataPrefix)
	c.MaxRecordBytes = cmp.Or(c.MaxRecordBytes, DefaultMaxRecordBytes)
	c.TokenHistory = cmp.Or(c.TokenHistory, DefaultTokenHistory)
	c.MaxTokenBytes = cmp.Or(c.MaxTokenBytes, DefaultMaxTokenBytes)
}

// Validate reports the first invalid field of c (zero values are valid: they
// mean the default).
func (c Config) Validate() error {
	if _, err := fetch.ParseBaseURL(c.BaseURL); err != nil {
		return fmt.Errorf("oaipmh: config: %w", err)
	}
	if err := c.Transport.Validate(); err != nil {
		return fmt.Errorf("oaipmh: config: %w", err)
	}
	if c.MaxRecordBytes < 0 {
		return errors.New("oaipmh: config: MaxRecordBytes must not be negative")
	}
	if c.TokenHistory < 0 {
		return errors.New("oaipmh: config: TokenHistory must not be negative")
	}
	if c.MaxTokenBytes < 0 {
		return errors.New("oaipmh: config: MaxTokenBytes must not be negative")
	}
	if strings.ContainsAny(c.MetadataPrefix, " \t\r\n") {
		return fmt.Errorf("oaipmh: config: MetadataPrefix %q contains whitespace", c.MetadataPrefix)
	}
	return nil
}

// Option customises a Client.
type Option = fetch.Option

// WithLogger sets the logger (default slog.Default()).
var WithLogger = fetch.WithLogger

// WithHTTPClient sets the underlying *http.Client, e.g. one whose dialer
// refuses private addresses (its Timeout should be 0: Config.PageTimeout
// applies).
var WithHTTPClient = fetch.WithHTTPClient

// Client is an OAI-PMH 2.0 client for one repository. It is safe for
// concurrent use; RateLimit applies across all its requests.
type Client struct {
	cfg  Config
	base *url.URL
	http *fetch.Client // with the feed's rate limit
	log  *slog.Logger
}

// NewClient returns a Client for cfg (defaults applied, then validated).
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.BaseURL)
	hc, err := fetch.NewClient(cfg.Transport, opts, "oaipmh", "OAI-PMH", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	hc.SetHeader("Accept", "text/xml, application/xml;q=0.9, */*;q=0.1")
	// Set explicitly, so net/http does not decompress transparently and
	// decodeBody handles both gzip and deflate.
	hc.SetHeader("Accept-Encoding", "gzip, deflate")
	return &Client{cfg: cfg, base: base, http: hc, log: hc.Logger()}, nil
}

// Config returns the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }

// ListRequest selects the records of ListRecords and ListIdentifiers.
type ListRequest struct {
	// From and Until are sent as given: format them at the repository's
	// granularity (see FormatDate). Empty means unbounded.
	From, Until string
	// Set overrides Config.Set when not empty.
	Set string
	// ResumeToken, when not empty, resumes an interrupted list: the first
	// request sends only this token (From, Until and Set are then ignored).
	ResumeToken string
}

// PageFunc receives each page of a list, with the URL that was requested
// for it, in full (quote it with ShownURL).
type PageFunc func(ctx context.Context, p *Page, requestURL string) error

// Identify issues the Identify verb.
func (c *Client) Identify(ctx context.Context) (*Identify, error) {
	page, u, err := c.fetch(ctx, url.Values{"verb": {VerbIdentify}})
	if err != nil {
		return nil, err
	}
	if err := page.Err(); err != nil {
		return nil, fmt.Errorf("oaipmh: Identify %s: %w", ShownURL(u), err)
	}
	if page.Identify == nil {
		return nil, malformed("%s: no <Identify> element", ShownURL(u))
	}
	return page.Identify, nil
}

// ListMetadataFormats issues the ListMetadataFormats verb, for one item when
// identifier is not empty.
func (c *Client) ListMetadataFormats(ctx context.Context, identifier string) ([]MetadataFormat, error) {
	params := url.Values{"verb": {VerbListMetadataFormats}}
	if identifier != "" {
		params.Set("identifier", identifier)
	}
	page, u, err := c.fetch(ctx, params)
	if err != nil {
		return nil, err
	}
	if err := page.Err(); err != nil {
		return nil, fmt.Errorf("oaipmh: ListMetadataFormats %s: %w", ShownURL(u), err)
	}
	if page.Verb != VerbListMetadataFormats {
		return nil, malformed("%s: no <ListMetadataFormats> element", ShownURL(u))
	}
	return page.MetadataFormats, nil
}

// ListSets issues the ListSets verb and follows its resumption tokens. A
// repository without sets yields an error matching ErrNoSetHierarchy.
func (c *Client) ListSets(ctx context.Context) ([]Set, error) {
	var sets []Set
	err := c.walk(ctx, VerbListSets, url.Values{}, "", func(_ context.Context, p *Page, _ string) error {
		sets = append(sets, p.Sets...)
		return nil
	})
	return sets, err
}

// GetRecord issues the GetRecord verb with Config.MetadataPrefix. A record
// larger than Config.MaxRecordBytes yields a *RecordTooLargeError (it matches
// ErrRecordTooLarge).
func (c *Client) GetRecord(ctx context.Context, identifier string) (*Record, error) {
	page, u, err := c.fetch(ctx, url.Values{
		"verb": {VerbGetRecord}, "identifier": {identifier}, "metadataPrefix": {c.cfg.MetadataPrefix},
	})
	if err != nil {
		return nil, err
	}
	if err := page.Err(); err != nil {
		return nil, fmt.Errorf("oaipmh: GetRecord %s: %w", ShownURL(u), err)
	}
	if len(page.Oversized) > 0 {
		o := page.Oversized[0]
		return nil, &RecordTooLargeError{Identifier: o.Identifier, Datestamp: o.Datestamp, Size: o.Size, URL: ShownURL(u)}
	}
	if len(page.Records) == 0 {
		return nil, malformed("%s: no <record> element", ShownURL(u))
	}
	return &page.Records[0], nil
}

// ListRecords walks a ListRecords list, following resumption tokens, and calls
// fn once per page, in order, with the URL requested for that page.
//
// The list ends with a page whose resumption token is empty or absent. When the
// repository answers noRecordsMatch (on the first page, or on a later page
// instead of an empty last page), fn is still called once with that page — it
// has no records and Page.Errors holds the noRecordsMatch error, so that a
// harvester can keep its ResponseDate — and ListRecords returns nil.
//
// It returns an error wrapping: fn's error when fn fails (the walk stops);
// ErrTokenLoop when a token repeats (one of the last Config.TokenHistory);
// ErrTokenTooLarge when a token is over Config.MaxTokenBytes (the page that
// carries it is not handed to fn);
// fetch.ErrMalformedResponse (with the URL) for a page that is not an
// OAI-PMH response; fetch.ErrPageTooLarge for a page over
// Config.MaxPageBytes; a *fetch.HTTPError for an HTTP status that is not a
// success; the ProtocolError for any other protocol error; the transport
// error after retries are exhausted; ctx.Err() when ctx ends.
func (c *Client) ListRecords(ctx context.Context, req ListRequest, fn PageFunc) error {
	return c.list(ctx, VerbListRecords, req, fn)
}

// ListIdentifiers is ListRecords for the ListIdentifiers verb: the pages hold
// headers only (Record.Metadata is nil).
func (c *Client) ListIdentifiers(ctx context.Context, req ListRequest, fn PageFunc) error {
	return c.list(ctx, VerbListIdentifiers, req, fn)
}

func (c *Client) list(ctx context.Context, verb string, req ListRequest, fn PageFunc) error {
	if fn == nil {
		return errors.New("oaipmh: nil PageFunc")
	}
	params := url.Values{"metadataPrefix": {c.cfg.MetadataPrefix}}
	if req.From != "" {
		params.Set("from", req.From)
	}
	if req.Until != "" {
		params.Set("until", req.Until)
	}
	set := req.Set
	if set == "" {
		set = c.cfg.Set
	}
	if set != "" {
		params.Set("set", set)
	}
	return c.walk(ctx, verb, params, req.ResumeToken, fn)
}

// walk requests verb with params (or with resumeToken alone) and follows the
// resumption tokens.
func (c *Client) walk(ctx context.Context, verb string, params url.Values, resumeToken string, fn PageFunc) error {
	seen := newTokenHistory(c.cfg.TokenHistory)
	token := resumeToken
	if token != "" {
		if len(token) > c.cfg.MaxTokenBytes {
			return fmt.Errorf("%w: cannot resume %s with a token of %d bytes, over the cap of %d bytes (MaxTokenBytes)",
				ErrTokenTooLarge, verb, len(token), c.cfg.MaxTokenBytes)
		}
		seen.add(token)
	}
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		q := url.Values{"verb": {verb}}
		if token != "" {
			q.Set("resumptionToken", token)
		} else {
			for k, v := range params {
				q[k] = v
			}
		}
		p, u, err := c.fetch(ctx, q)
		if err != nil {
			return err
		}
		shown := ShownURL(u)
		if perr := p.Err(); perr != nil {
			if errors.Is(perr, ErrNoRecordsMatch) && len(p.Errors) == 1 {
				c.log.DebugContext(ctx, "no records match", slog.String("verb", verb), slog.String("url", shown), slog.Int("page", page))
				if err := fn(ctx, p, u); err != nil {
					return fmt.Errorf("oaipmh: page handler for %s: %w", shown, err)
				}
				return nil
			}
			return fmt.Errorf("oaipmh: %s %s: %w", verb, shown, perr)
		}
		if p.Verb != verb {
			return malformed("%s: expected a <%s> element, got %q", shown, verb, p.Verb)
		}
		// Checked before the page is handed on: a caller keeps the token
		// (a checkpoint) once it has the page.
		if p.Token != nil && len(p.Token.Value) > c.cfg.MaxTokenBytes {
			return fmt.Errorf("%w: %s %s (page %d) hands out a token of %d bytes, over the cap of %d bytes (MaxTokenBytes)",
				ErrTokenTooLarge, verb, shown, page, len(p.Token.Value), c.cfg.MaxTokenBytes)
		}
		if err := fn(ctx, p, u); err != nil {
			return fmt.Errorf("oaipmh: page handler for %s: %w", shown, err)
		}
		if p.Token == nil || p.Token.Value == "" {
			return nil
		}
		if seen.add(p.Token.Value) {
			return fmt.Errorf("%w: token %s repeated by %s (page %d)", ErrTokenLoop, clip(strconv.Quote(p.Token.Value), maxShownToken), shown, page)
		}
		token = p.Token.Value
	}
}

// MaxShownURLBytes bounds how much of a URL an error message, a log line,
// a dead letter's reason or a record's provenance quotes (see ShownURL).
const MaxShownURLBytes = 1024

// maxShownToken bounds how much of a resumption token an error quotes.
const maxShownToken = 256

// ShownURL returns u as error messages, log lines, dead letters' reasons
// and records' provenance quote it: as it is when it is at most
// MaxShownURLBytes long, else its first MaxShownURLBytes bytes followed by
// its length and a digest, so that a URL holding a huge token or query
// cannot blow up what quotes it.
func ShownURL(u string) string { return clip(u, MaxShownURLBytes) }

// clip returns s when it is at most n bytes long, else its first n bytes
// (valid UTF-8), its length and the first 16 hex digits of its SHA-256.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%s… (%d bytes, sha256 %s)", strings.ToValidUTF8(s[:n], ""), len(s), hex.EncodeToString(sum[:8]))
}

// requestURL builds the request URL: the base URL with params added to its
// query. url.Values encodes each value once, so a token that arrived
// URL-encoded reaches the server exactly as it was handed out.
func (c *Client) requestURL(params url.Values) string {
	u := *c.base
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// fetch requests one page with retries and returns it with the requested URL.
// Protocol errors are in the page; the error is for transport failures,
// malformed responses and HTTP errors.
func (c *Client) fetch(ctx context.Context, params url.Values) (*Page, string, error) {
	u := c.requestURL(params)
	shown := ShownURL(u)
	var page *Page
	retries, err := c.http.Get(ctx, u, shown, func(ctx context.Context, resp *resty.Response) error {
		p, err := c.read(ctx, resp, shown)
		page = p
		return err
	})
	if err != nil {
		return nil, u, err
	}
	page.Retries = retries
	return page, u, nil
}

// read parses the response of one attempt; its errors quote shown
// (ShownURL of the URL).
func (c *Client) read(ctx context.Context, resp *resty.Response, shown string) (*Page, error) {
	body := resp.RawBody()
	status := resp.StatusCode()
	switch {
	case fetch.RetryableStatus(status):
		return nil, fetch.StatusError(httpError(status, shown), status, resp.Header(), c.cfg.RetryAfterCap)
	case status < 200 || status >= 300:
		// Some repositories send their OAI-PMH errors with a 4xx status.
		if r, derr := decodeBody(resp.Header().Get("Content-Encoding"), body); derr == nil {
			if p, perr := ParsePage(&fetch.LimitedReader{R: r, N: c.cfg.MaxPageBytes}, c.cfg.MaxRecordBytes); perr == nil && len(p.Errors) > 0 {
				return p, nil
			}
		}
		return nil, httpError(status, shown)
	}
	r, err := decodeBody(resp.Header().Get("Content-Encoding"), body)
	if err != nil {
		return nil, malformed("%s: %v", shown, err)
	}
	lr := &fetch.LimitedReader{R: r, N: c.cfg.MaxPageBytes}
	p, err := ParsePage(lr, c.cfg.MaxRecordBytes)
	if p != nil {
		p.Bytes = lr.Count
	}
	if err == nil && lr.Exceeded() {
		// The document ended within the bytes read, but the body did not.
		err = fmt.Errorf("oaipmh: %w: more than %d bytes", fetch.ErrPageTooLarge, lr.N)
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, fetch.ErrMalformedResponse), errors.Is(err, fetch.ErrPageTooLarge):
			return nil, fmt.Errorf("%w (GET %s)", err, shown)
		default: // the body could not be read: network trouble or page timeout
			return nil, fetch.Retryable(fmt.Errorf("oaipmh: GET %s: %w", shown, err))
		}
	}
	c.log.DebugContext(ctx, "OAI-PMH page",
		slog.String("url", shown), slog.String("verb", p.Verb), slog.Int("records", len(p.Records)),
		slog.Int("oversized", len(p.Oversized)), slog.Duration("elapsed", time.Since(resp.Request.Time)))
	if p.Repairs > 0 {
		c.log.WarnContext(ctx, "OAI-PMH page needed repairs (illegal characters or bare ampersands)",
			slog.String("url", shown), slog.Int("repairs", p.Repairs))
	}
	return p, nil
}

// decodeBody undoes the Content-Encoding of a response. "deflate" accepts both
// zlib streams (as the RFC says) and raw deflate streams (as some servers send).
func decodeBody(encoding string, body io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		return gzip.NewReader(body)
	case "deflate":
		br := bufio.NewReader(body)
		hdr, err := br.Peek(2)
		if err == nil && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			return zlib.NewReader(br)
		}
		return flate.NewReader(br), nil
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", encoding)
	}
}
