package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/urlguard"
)

var errBoom = errors.New("boom")

func fast(maxRetries int) fetch.Transport {
	return fetch.Transport{MaxRetries: maxRetries, RetryInitialInterval: time.Millisecond, RetryMaxInterval: 2 * time.Millisecond}
}

func TestDo(t *testing.T) {
	permanent := errors.New("permanent")
	tests := []struct {
		name     string
		policy   fetch.Transport
		failures []error // returned by the first attempts, then success
		wantErr  error
		attempts int
		// minElapsed is the least time the retries must have waited.
		minElapsed time.Duration
	}{
		{name: "first attempt", policy: fast(3), attempts: 1},
		{name: "two retryable failures", policy: fast(3), failures: []error{fetch.Retryable(errBoom), fetch.Retryable(errBoom)}, attempts: 3},
		{name: "permanent failure", policy: fast(3), failures: []error{permanent}, wantErr: permanent, attempts: 1},
		{
			name: "exhausted", policy: fast(2),
			failures: []error{fetch.Retryable(errBoom), fetch.Retryable(errBoom), fetch.Retryable(errBoom)},
			wantErr:  fetch.ErrGaveUp, attempts: 3,
		},
		{
			name: "address refused by the guard", policy: fast(3),
			failures: []error{fetch.Retryable(fmt.Errorf("dial: %w", urlguard.ErrForbiddenAddress))},
			wantErr:  urlguard.ErrForbiddenAddress, attempts: 1,
		},
		{
			name: "redirect refused by the guard", policy: fast(3),
			failures: []error{fetch.Retryable(fmt.Errorf("redirect: %w", urlguard.ErrUnsupportedURL))},
			wantErr:  urlguard.ErrUnsupportedURL, attempts: 1,
		},
		{name: "no retries", policy: fast(-1), failures: []error{fetch.Retryable(errBoom)}, wantErr: errBoom, attempts: 1},
		{
			name: "retry-after honoured", policy: fast(3),
			failures: []error{fetch.RetryAfter(errBoom, 300*time.Millisecond)}, attempts: 2, minElapsed: 300 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			var notified []time.Duration
			start := time.Now()
			err := fetch.Do(context.Background(), tt.policy, func(context.Context) error {
				n++
				if n <= len(tt.failures) {
					return tt.failures[n-1]
				}
				return nil
			}, func(_ error, attempt int, wait time.Duration) {
				if attempt != len(notified)+1 {
					t.Errorf("notified of attempt %d, want %d", attempt, len(notified)+1)
				}
				notified = append(notified, wait)
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			if len(notified) != tt.attempts-1 {
				t.Errorf("%d notifications for %d attempts", len(notified), n)
			}
			if el := time.Since(start); el < tt.minElapsed {
				t.Errorf("took %v, want at least %v", el, tt.minElapsed)
			}
			if tt.minElapsed > 0 && (len(notified) == 0 || notified[0] != tt.minElapsed) {
				t.Errorf("waits %v, want the Retry-After %v first", notified, tt.minElapsed)
			}
		})
	}
}

// TestDoDoesNotRetryGuardRefusals connects through the address guard's
// client to a loopback server it refuses: the refusal, as it surfaces from
// the dialer, is returned at once and not retried.
func TestDoDoesNotRetryGuardRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	hc := urlguard.Policy{}.HTTPClient(nil)
	n := 0
	err := fetch.Do(context.Background(), fast(5), func(ctx context.Context) error {
		n++
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fetch.Retryable(err) // as the harvest clients mark transport errors
		}
		_ = resp.Body.Close()
		return nil
	}, nil)
	if !errors.Is(err, urlguard.ErrForbiddenAddress) || n != 1 {
		t.Fatalf("err %v after %d attempts; want the refusal after one", err, n)
	}
	var re *fetch.RetryableError
	if errors.As(err, &re) || errors.Is(err, fetch.ErrGaveUp) {
		t.Errorf("the refusal is still marked retryable: %v", err)
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := fetch.Do(ctx, fast(10), func(context.Context) error {
		n++
		cancel()
		return fetch.RetryAfter(errBoom, time.Hour)
	}, nil)
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("err %v after %d attempts", err, n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"soon", 0, false},
		{"-3", 0, false},
		{"0", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"86400", time.Minute, true},
		{"99999999999999999999999", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Minute, true},
	}
	for _, tt := range tests {
		got, ok := fetch.ParseRetryAfter(tt.in, now, time.Minute)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStatusError(t *testing.T) {
	h := http.Header{"Retry-After": {"2"}}
	tests := []struct {
		status    int
		header    http.Header
		retryable bool
		after     time.Duration
		hasAfter  bool
	}{
		{http.StatusNotFound, h, false, 0, false},
		{http.StatusUnauthorized, nil, false, 0, false},
		{http.StatusTooManyRequests, h, true, 2 * time.Second, true},
		{http.StatusServiceUnavailable, http.Header{}, true, 0, false},
		{http.StatusRequestTimeout, nil, true, 0, false},
		{http.StatusBadGateway, http.Header{"Retry-After": {"600"}}, true, time.Minute, true},
	}
	for _, tt := range tests {
		err := fetch.StatusError(errBoom, tt.status, tt.header, time.Minute)
		var re *fetch.RetryableError
		if got := errors.As(err, &re); got != tt.retryable {
			t.Errorf("status %d: retryable %v, want %v", tt.status, got, tt.retryable)
			continue
		}
		if !errors.Is(err, errBoom) {
			t.Errorf("status %d: %v does not wrap the cause", tt.status, err)
		}
		if re != nil && (re.After != tt.after || re.HasAfter != tt.hasAfter) {
			t.Errorf("status %d: after %v %v, want %v %v", tt.status, re.After, re.HasAfter, tt.after, tt.hasAfter)
		}
	}
}
