package fetch_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/panosc/fairway/pkg/fetch"
)

// TestClientGet fetches pages from a server that fails its first answers:
// Get retries what read marks retryable and what failed without a response,
// counts the retries, and stops on a permanent error or when the retries
// are spent.
func TestClientGet(t *testing.T) {
	errPermanent := errors.New("permanent")
	tests := []struct {
		name    string
		fail    int                              // answers that fail before one succeeds
		stall   time.Duration                    // how long a failing answer stalls its body
		read    func(resp *resty.Response) error // after the body was read
		retries int
		want    error
	}{
		{name: "first attempt", read: readOK},
		{name: "retryable statuses", fail: 2, read: readOK, retries: 2},
		{name: "page timeout while reading the body", fail: 1, stall: time.Second, read: readOK, retries: 1},
		{
			name: "permanent failure", fail: 1, retries: 0, want: errPermanent,
			read: func(resp *resty.Response) error {
				if resp.StatusCode() != http.StatusOK {
					return errPermanent
				}
				return nil
			},
		},
		{name: "retries spent", fail: 5, read: readOK, retries: 2, want: fetch.ErrGaveUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("User-Agent") != "test-agent" || r.Header.Get("X-Test") != "yes" {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				if int(calls.Add(1)) <= tt.fail {
					if tt.stall > 0 {
						w.WriteHeader(http.StatusOK)
						w.(http.Flusher).Flush()
						select {
						case <-time.After(tt.stall):
						case <-r.Context().Done():
						}
						return
					}
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = io.WriteString(w, "page")
			}))
			defer srv.Close()
			tr := fetch.Transport{PageTimeout: 200 * time.Millisecond, MaxRetries: 2, RetryInitialInterval: time.Millisecond,
				RetryMaxInterval: time.Millisecond, UserAgent: "test-agent"}
			c, err := fetch.NewClient(tr, []fetch.Option{fetch.WithLogger(slog.New(slog.DiscardHandler))}, "test", "Test", srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			c.SetHeader("X-Test", "yes")
			var got string
			retries, err := c.Get(context.Background(), srv.URL+"/page", "shown", func(_ context.Context, resp *resty.Response) error {
				b, err := io.ReadAll(resp.RawBody())
				if err != nil {
					return fetch.Retryable(err) // as a client marks a body it could not read
				}
				if err := tt.read(resp); err != nil {
					return err
				}
				got = string(b)
				return nil
			})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if retries != tt.retries {
				t.Errorf("%d retries, want %d", retries, tt.retries)
			}
			if err == nil && got != "page" {
				t.Errorf("read %q", got)
			}
			if errors.Is(err, fetch.ErrGaveUp) && !strings.HasPrefix(err.Error(), "test: GET shown: giving up: ") {
				t.Errorf("err %q does not name the client and the shown URL", err)
			}
		})
	}
}

func readOK(resp *resty.Response) error {
	if status := resp.StatusCode(); status != http.StatusOK {
		return fetch.StatusError(&fetch.HTTPError{StatusCode: status, URL: "shown"}, status, resp.Header(), time.Minute)
	}
	return nil
}

// TestClientGetStopsWhenContextEnds cancels a Get whose server does not
// answer: it returns at once with the context's error, naming the client.
func TestClientGetStopsWhenContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	c, err := fetch.NewClient(fetch.Transport{PageTimeout: time.Minute, MaxRetries: 5}, nil, "test", "Test", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Get(ctx, srv.URL, srv.URL, func(context.Context, *resty.Response) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "test: GET ") {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestNewClientAppliesTheDefaults fetches a page with a zero Transport: the
// defaults apply (a page timeout, a user agent naming the client), and a
// negative value is refused.
func TestNewClientAppliesTheDefaults(t *testing.T) {
	var agent atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agent.Store(r.Header.Get("User-Agent"))
		_, _ = io.WriteString(w, "page")
	}))
	defer srv.Close()
	c, err := fetch.NewClient(fetch.Transport{}, nil, "test", "Test", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	_, err = c.Get(context.Background(), srv.URL, srv.URL, func(_ context.Context, resp *resty.Response) error {
		b, err := io.ReadAll(resp.RawBody())
		got = string(b)
		return err
	})
	if err != nil || got != "page" {
		t.Fatalf("Get = %q, %v; want the page", got, err)
	}
	if a, _ := agent.Load().(string); a != "fairway-test" {
		t.Errorf("User-Agent %q, want fairway-test", a)
	}
	if _, err := fetch.NewClient(fetch.Transport{PageTimeout: -time.Second}, nil, "test", "Test", srv.URL); err == nil ||
		!strings.Contains(err.Error(), "PageTimeout") {
		t.Errorf("NewClient with a negative page timeout: %v", err)
	}
}
