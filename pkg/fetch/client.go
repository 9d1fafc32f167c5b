package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/go-resty/resty/v2"
)

// Option customises a harvest client (oaipmh.Client, scicat.Client).
type Option func(*Options)

// Options are what the Options of a harvest client set.
type Options struct {
	// Logger receives the client's logs. Default slog.Default().
	Logger *slog.Logger
	// HTTPClient makes the requests, e.g. one whose dialer refuses private
	// addresses (urlguard). Its Timeout should be 0: the client's page
	// timeout applies. Default a new http.Client.
	HTTPClient *http.Client
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *Options) { o.Logger = l }
}

// WithHTTPClient sets the underlying *http.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *Options) { o.HTTPClient = hc }
}

// Client is the HTTP side of a harvest client (oaipmh.Client,
// scicat.Client): a resty client whose own retries are off (Get owns
// them), the transport's pacer, and Get, which fetches one page with the
// transport's retries and page timeout. It is safe for concurrent use once
// its headers are set.
type Client struct {
	transport Transport
	http      *resty.Client
	log       *slog.Logger
	pacer     *Pacer
	// name prefixes the errors ("oaipmh"), label names the requests in
	// the logs ("OAI-PMH").
	name, label string
}

// NewClient returns the Client of the harvest client name (the component
// of its logs, the prefix of its errors; label names its requests in the
// logs) for the server at baseURL, with transport t: its defaults applied
// (an empty UserAgent becomes "fairway-" + name), then validated. Bodies
// are handed over raw for streaming, resty's logs go to the options'
// logger, and every request carries t.UserAgent.
func NewClient(t Transport, opts []Option, name, label, baseURL string) (*Client, error) {
	t.SetDefaults("fairway-" + name)
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%s: transport: %w", name, err)
	}
	o := Options{Logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	var rc *resty.Client
	if o.HTTPClient != nil {
		rc = resty.NewWithClient(o.HTTPClient)
	} else {
		rc = resty.New()
	}
	log := o.Logger.With(slog.String("component", name), slog.String("base_url", baseURL))
	rc.SetRetryCount(0)
	rc.SetDoNotParseResponse(true)
	rc.SetLogger(RestyLogger{L: log})
	rc.SetHeader("User-Agent", t.UserAgent)
	return &Client{transport: t, http: rc, log: log, pacer: t.Pacer(), name: name, label: label}, nil
}

// SetHeader sets a header every request carries. Call it before the first
// request.
func (c *Client) SetHeader(name, value string) { c.http.SetHeader(name, value) }

// Logger returns the logger of the client: the options' logger, with the
// component and base URL.
func (c *Client) Logger() *slog.Logger { return c.log }

// ReadFunc reads the response of one attempt (its body is RawBody, bounded
// by the page timeout; Get drains and closes it) and returns the attempt's
// error, marked with Retryable, RetryAfter or StatusError when another
// attempt may succeed. ctx is Get's, not the attempt's: a read that fails
// while ctx goes on failed on the network or the page timeout.
type ReadFunc func(ctx context.Context, resp *resty.Response) error

// Get fetches u until an attempt succeeds, with the transport's retries
// (Do): an attempt waits for the pacer, sends GET u within the page timeout
// and hands the response to read; a request that fails without a response
// is retried. shown is u as errors and logs quote it (bounded, without
// credentials). It returns how often an attempt failed and was retried,
// and an error wrapping ctx.Err() when ctx ended, ErrGaveUp and the last
// attempt's error when the retries are spent, or the permanent error of
// the last attempt.
func (c *Client) Get(ctx context.Context, u, shown string, read ReadFunc) (retries int, err error) {
	err = Do(ctx, c.transport, func(ctx context.Context) error {
		return c.attempt(ctx, u, shown, read)
	}, func(err error, attempt int, wait time.Duration) {
		retries++
		c.log.WarnContext(ctx, c.label+" request failed, retrying",
			slog.String("url", shown), slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.Any("error", err))
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return retries, fmt.Errorf("%s: GET %s: %w", c.name, shown, cerr)
		}
		if errors.Is(err, ErrGaveUp) {
			return retries, fmt.Errorf("%s: GET %s: giving up: %w", c.name, shown, err)
		}
	}
	return retries, err
}

// attempt performs one request of u and hands its response to read.
func (c *Client) attempt(ctx context.Context, u, shown string, read ReadFunc) error {
	if err := c.pacer.Wait(ctx); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, c.transport.PageTimeout)
	defer cancel()
	resp, err := c.http.R().SetContext(actx).Get(u)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = shown // it quotes the URL too
		}
		return Retryable(fmt.Errorf("%s: GET %s: %w", c.name, shown, err))
	}
	body := resp.RawBody()
	defer func() {
		// Drain a little so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, body, 4<<10)
		_ = body.Close()
	}()
	return read(ctx, resp)
}
