package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/urlguard"
)

// DefaultServer is the API a client talks to unless told otherwise.
const DefaultServer = "http://127.0.0.1:8080"

// ErrRunFailed is returned by Follow when the followed run failed.
var ErrRunFailed = errors.New("harvest run failed")

// Error is an error answer of the API.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is the answer's "error".
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// ErrPlainToken is returned when a request would carry a token over plain
// http to a server not on loopback, where anyone on the path could read it.
var ErrPlainToken = errors.New("refusing to send a token over plain http to a host not on loopback (use https)")

// safeForToken reports whether a token may travel to c's server: over
// https, or over http on loopback only.
func (c *Client) safeForToken() bool {
	u, err := url.Parse(c.base)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http" && urlguard.IsLoopback(u.Hostname()))
}

// Client talks to a node's API.
type Client struct {
	base    string
	token   string
	tokenFn func(context.Context) (string, error)
	http    *http.Client
}

// WithTokenFunc returns a copy of c that, when it has no token, asks f
// for one when a request needs it (and only then: a read that needs no
// token never calls f). An empty token from f sends none.
func (c *Client) WithTokenFunc(f func(context.Context) (string, error)) *Client {
	d := *c
	d.tokenFn = f
	return &d
}

// NewClient returns a client of the API at server (e.g.
// "http://127.0.0.1:8080"), sending token as bearer token on writes when it
// is not empty. hc nil means a client with a 2-minute timeout (a
// registration waits for the check of the source).
func NewClient(server, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api: server %q: want an http or https URL", server)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Client{base: strings.TrimRight(server, "/"), token: token, http: hc}, nil
}

// do sends a request and decodes a JSON answer into out (unless nil); the
// token goes with every request but a GET.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.send(ctx, method, path, in, out, method != http.MethodGet)
}

// send is do, with the token when auth is set (reads of routes that need
// one, such as the destinations').
func (c *Client) send(ctx context.Context, method, path string, in, out any, auth bool) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("api: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		tok := c.token
		if tok == "" && c.tokenFn != nil {
			if tok, err = c.tokenFn(ctx); err != nil {
				return fmt.Errorf("api: token: %w", err)
			}
		}
		if tok != "" {
			if !c.safeForToken() {
				return fmt.Errorf("api: %s %s: %w", method, c.base+path, ErrPlainToken)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", method, c.base+path, err)
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
			if e.Error == "" {
				e.Error = http.StatusText(resp.StatusCode)
			}
		}
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("api: %s %s: answer: %w", method, c.base+path, err)
	}
	return nil
}

func feedPath(id string, rest ...string) string {
	return "/api/v1/feeds/" + url.PathEscape(id) + strings.Join(rest, "")
}

// ListFeeds returns the registered feeds, of one facility when facility is
// not empty.
func (c *Client) ListFeeds(ctx context.Context, facility string) ([]Feed, error) {
	path := "/api/v1/feeds"
	if facility != "" {
		path += "?facility=" + url.QueryEscape(facility)
	}
	var out []Feed
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// GetFeed returns one feed.
func (c *Client) GetFeed(ctx context.Context, id string) (Feed, error) {
	var out Feed
	return out, c.do(ctx, http.MethodGet, feedPath(id), nil, &out)
}

// CreateFeed registers a feed.
func (c *Client) CreateFeed(ctx context.Context, in FeedInput) (Feed, error) {
	var out Feed
	return out, c.do(ctx, http.MethodPost, "/api/v1/feeds", in, &out)
}

// UpdateFeed changes the fields of in that are set.
func (c *Client) UpdateFeed(ctx context.Context, id string, in FeedInput) (Feed, error) {
	var out Feed
	return out, c.do(ctx, http.MethodPatch, feedPath(id), in, &out)
}

// DeleteFeed removes a feed.
func (c *Client) DeleteFeed(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, feedPath(id), nil, nil)
}

// CheckFeed checks a feed's source again.
func (c *Client) CheckFeed(ctx context.Context, id string) (Feed, error) {
	var out Feed
	return out, c.do(ctx, http.MethodPost, feedPath(id, "/check"), nil, &out)
}

// Harvest asks for a harvest of a feed now.
func (c *Client) Harvest(ctx context.Context, id string, req HarvestRequest) (HarvestAccepted, error) {
	var out HarvestAccepted
	return out, c.do(ctx, http.MethodPost, feedPath(id, "/harvest"), req, &out)
}

// Runs returns the last runs of a feed, newest first.
func (c *Client) Runs(ctx context.Context, id string, limit int) ([]Run, error) {
	var out []Run
	return out, c.do(ctx, http.MethodGet, feedPath(id, "/runs?limit="+strconv.Itoa(limit)), nil, &out)
}

// Follow polls the runs of the feed of acc every interval until the run that
// serves the request — the first run not among acc.PreviousRuns — ends,
// calling progress (if not nil) whenever that run's state changes. It
// returns the run in its last state, with an error wrapping ErrRunFailed
// when it failed. It stops with ctx.
func (c *Client) Follow(ctx context.Context, acc HarvestAccepted, interval time.Duration, progress func(Run)) (Run, error) {
	if interval <= 0 {
		interval = time.Second
	}
	var last Run
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		runs, err := c.Runs(ctx, acc.FeedID, len(acc.PreviousRuns)+5)
		if err != nil {
			return last, err
		}
		// Runs are newest first: the oldest new one serves the request.
		for i := len(runs) - 1; i >= 0; i-- {
			r := runs[i]
			if slices.Contains(acc.PreviousRuns, r.RunID) {
				continue
			}
			if !r.sameState(last) && progress != nil {
				progress(r)
			}
			last = r
			break
		}
		if last.Done() {
			if last.Status == StatusFailed {
				return last, fmt.Errorf("%w: %s: %s", ErrRunFailed, last.RunID, last.Error)
			}
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-t.C:
		}
	}
}
