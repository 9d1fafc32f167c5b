package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/enricher"
)

// PaNET returns the node's release and the release each enricher uses.
func (c *Client) PaNET(ctx context.Context) (PaNETView, error) {
	var out PaNETView
	return out, c.do(ctx, http.MethodGet, "/api/v1/panet", nil, &out)
}

// PaNETRelease returns the node's release (the OWL file); an *Error with
// status 404 says the node has none yet.
func (c *Client) PaNETRelease(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, http.MethodGet, "/api/v1/panet/release", nil)
}

// PutPaNETRelease makes data (an OWL file) the node's release.
func (c *Client) PutPaNETRelease(ctx context.Context, data []byte) (PaNETUpdate, error) {
	var out PaNETUpdate
	b, err := c.raw(ctx, http.MethodPut, "/api/v1/panet/release", data)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("api: PUT /api/v1/panet/release: answer: %w", err)
	}
	return out, nil
}

// RequestReplay asks the node to replay a stage.
func (c *Client) RequestReplay(ctx context.Context, stage, reason string) (bus.Replay, error) {
	var out bus.Replay
	return out, c.do(ctx, http.MethodPost, "/api/v1/replays", StageReplayRequest{Stage: stage, Reason: reason}, &out)
}

// RequestStageReplay asks the node for the replay in.
func (c *Client) RequestStageReplay(ctx context.Context, in StageReplayRequest) (bus.Replay, error) {
	var out bus.Replay
	return out, c.do(ctx, http.MethodPost, "/api/v1/replays", in, &out)
}

// Replay returns a replay's progress.
func (c *Client) Replay(ctx context.Context, stage, id string) (bus.Replay, error) {
	var out bus.Replay
	return out, c.send(ctx, http.MethodGet, "/api/v1/replays/"+url.PathEscape(stage)+"/"+url.PathEscape(id), nil, &out, true)
}

// RetryReplay asks the node to run a failed replay again.
func (c *Client) RetryReplay(ctx context.Context, stage, id string) (bus.Replay, error) {
	var out bus.Replay
	return out, c.do(ctx, http.MethodPost, "/api/v1/replays/"+url.PathEscape(stage)+"/"+url.PathEscape(id)+"/retry", struct{}{}, &out)
}

// FollowReplay polls a replay every interval until it ends (done or
// failed: bus.Replay.Done), calling
// progress (if not nil) with each state read. It stops with ctx.
func (c *Client) FollowReplay(ctx context.Context, r bus.Replay, interval time.Duration, progress func(bus.Replay)) (bus.Replay, error) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cur, err := c.Replay(ctx, string(r.Stage), r.ID)
		if err != nil {
			return r, err
		}
		r = cur
		if progress != nil {
			progress(r)
		}
		if r.Done() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-t.C:
		}
	}
}

// raw sends body (nil: none) as an OWL file, with the token, and returns
// the answer's bytes (at most enricher.MaxReleaseSize and some).
func (c *Client) raw(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/rdf+xml")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("api: %s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, enricher.MaxReleaseSize+1<<20))
	if err != nil {
		return nil, fmt.Errorf("api: %s %s: %w", method, c.base+path, err)
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
			if e.Error == "" {
				e.Error = http.StatusText(resp.StatusCode)
			}
		}
		return nil, &Error{Status: resp.StatusCode, Message: e.Error}
	}
	return b, nil
}
