// Package fetch is the transport the harvest clients (OAI-PMH, SciCat)
// share to fetch pages politely and safely: one configuration of it
// (Transport: page timeout, retries, backoff, Retry-After cap, rate limit,
// page size, user agent), retries with exponential backoff
// (cenkalti/backoff/v4) that honour the server's Retry-After header, a
// request pacer for per-feed rate limits, bounded response bodies, and the
// errors of a page that could not be fetched (HTTPError, ErrHTTPStatus,
// ErrUnauthorized, ErrPageTooLarge, ErrMalformedResponse).
//
// Do is meant to be the single owner of retries around an HTTP client whose
// own retries are off (resty retries 429 only when told to and caps
// Retry-After at 2 s): an attempt function performs one request and marks
// the failures worth retrying with Retryable, RetryAfter or StatusError;
// Do runs it. Client.Get is that loop for one page of a harvest client:
// pacing, page timeout, retries, and a ReadFunc of the client's that reads
// the response.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/panosc/fairway/pkg/urlguard"
)

// ErrGaveUp is wrapped, together with the last attempt's error, when the
// retries are exhausted.
var ErrGaveUp = errors.New("fetch: gave up")

// RetryableError marks a failed attempt that may be retried, after the
// server's Retry-After delay when it gave one.
type RetryableError struct {
	// Err is the attempt's error.
	Err error
	// After is the server's Retry-After delay, meaningful when HasAfter.
	After    time.Duration
	HasAfter bool
}

// Error implements error.
func (e *RetryableError) Error() string { return e.Err.Error() }

// Unwrap returns the attempt's error.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable marks err as worth retrying after the next backoff interval.
func Retryable(err error) error { return &RetryableError{Err: err} }

// RetryAfter marks err as worth retrying after d (the server's Retry-After).
func RetryAfter(err error, d time.Duration) error {
	return &RetryableError{Err: err, After: d, HasAfter: true}
}

// RetryableStatus reports whether an HTTP status is worth retrying: 408,
// 429 and every 5xx.
func RetryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// StatusError returns err marked retryable when status is (see
// RetryableStatus), with the Retry-After of header h capped at limit; else
// err unchanged.
func StatusError(err error, status int, h http.Header, limit time.Duration) error {
	if !RetryableStatus(status) {
		return err
	}
	if d, ok := ParseRetryAfter(h.Get("Retry-After"), time.Now(), limit); ok {
		return RetryAfter(err, d)
	}
	return Retryable(err)
}

// ParseRetryAfter parses a Retry-After header value (a delay in seconds or
// an HTTP date), capped at limit (limit <= 0: no cap). ok is false when the
// value is absent or invalid.
func ParseRetryAfter(v string, now time.Time, limit time.Duration) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if limit > 0 && secs > uint64(limit/time.Second) {
			return limit, true
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	if limit > 0 && d > limit {
		d = limit
	}
	return d, true
}

// NotifyFunc is told about a failed attempt (counted from 1) before the
// wait that precedes the next one.
type NotifyFunc func(err error, attempt int, wait time.Duration)

// Do calls attempt until it succeeds, fails with an error that is not a
// *RetryableError, the retries of t are exhausted (t.MaxRetries, backoff
// from t.RetryInitialInterval up to t.RetryMaxInterval; defaults applied),
// or ctx ends. Before each
// retry it waits for the server's Retry-After when the failed attempt
// carried one, else for the next exponential backoff interval; notify, when
// not nil, is called before each wait.
//
// A refusal by the address guard (urlguard.Refused: a forbidden address, a
// redirect it does not accept) is permanent even when attempt marked it
// retryable, as a client marks every transport error: it is returned at
// once, without the mark.
//
// It returns nil, the permanent error as attempt returned it, an error
// wrapping ErrGaveUp and the last attempt's error, or one wrapping ctx.Err().
func Do(ctx context.Context, t Transport, attempt func(ctx context.Context) error, notify NotifyFunc) error {
	t.SetDefaults("")
	exp := backoff.NewExponentialBackOff()
	exp.InitialInterval = t.RetryInitialInterval
	exp.MaxInterval = t.RetryMaxInterval
	exp.MaxElapsedTime = 0
	ra := &retryAfterBackOff{BackOff: exp}
	b := backoff.WithContext(backoff.WithMaxRetries(ra, uint64(max(t.MaxRetries, 0))), ctx)

	attempts := 0
	op := func() error {
		attempts++
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return backoff.Permanent(cerr)
		}
		var re *RetryableError
		if errors.As(err, &re) {
			if urlguard.Refused(err) {
				// The address guard refused the connection or a redirect:
				// no retry can change that.
				return backoff.Permanent(re.Err)
			}
			ra.next, ra.hasNext = re.After, re.HasAfter
			return err
		}
		return backoff.Permanent(err)
	}
	var n backoff.Notify
	if notify != nil {
		n = func(err error, wait time.Duration) { notify(err, attempts, wait) }
	}
	err := backoff.RetryNotify(op, b, n)
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("fetch: %w", cerr)
	}
	var re *RetryableError
	if errors.As(err, &re) {
		return fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempts, re.Err)
	}
	return err
}

// retryAfterBackOff returns the server's Retry-After delay, when the last
// attempt carried one, instead of the next exponential interval.
type retryAfterBackOff struct {
	backoff.BackOff
	next    time.Duration
	hasNext bool
}

func (b *retryAfterBackOff) NextBackOff() time.Duration {
	d := b.BackOff.NextBackOff()
	if d == backoff.Stop {
		return d
	}
	if b.hasNext {
		d, b.hasNext = b.next, false
	}
	return d
}
