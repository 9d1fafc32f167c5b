package fetch

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Defaults applied by Transport.SetDefaults to zero-valued fields.
const (
	DefaultPageTimeout     = 60 * time.Second
	DefaultMaxRetries      = 5
	DefaultInitialInterval = time.Second
	DefaultMaxInterval     = time.Minute
	DefaultRetryAfterCap   = 5 * time.Minute
	DefaultMaxPageBytes    = 64 << 20
)

// Transport says how a harvest client fetches the pages of one server: how
// long a page may take, how often and how long to retry, how politely to
// ask and how large a page may be. The harvest clients' configurations
// (oaipmh.Config, scicat.Config) embed it, and so does the harvester's,
// which hands its settings on to the client of each feed.
//
// Zero values mean the documented default (SetDefaults); Validate reports
// the values that are invalid, zero values being valid.
type Transport struct {
	// PageTimeout bounds one HTTP attempt, body and parsing included.
	// Default 60s.
	PageTimeout time.Duration
	// MaxRetries is the number of retries after a failed attempt
	// (connection errors, HTTP 408, 429 and 5xx). Default 5; negative
	// disables retries.
	MaxRetries int
	// RetryInitialInterval is the first backoff interval when the server
	// gives no Retry-After. Default 1s.
	RetryInitialInterval time.Duration
	// RetryMaxInterval caps the exponential backoff interval. Default 1 min.
	RetryMaxInterval time.Duration
	// RetryAfterCap caps the wait a Retry-After header may impose.
	// Default 5 min.
	RetryAfterCap time.Duration
	// RateLimit is the minimum interval between the starts of two requests
	// (retries included). Default 0: no limit.
	RateLimit time.Duration
	// MaxPageBytes bounds the (decompressed) size of one response.
	// Default 64 MiB.
	MaxPageBytes int64
	// UserAgent is sent with every request. Default: the one the client
	// names (see SetDefaults).
	UserAgent string
}

// SetDefaults replaces the zero fields of t with their defaults; an empty
// UserAgent becomes userAgent (each client names its own).
func (t *Transport) SetDefaults(userAgent string) {
	t.PageTimeout = cmp.Or(t.PageTimeout, DefaultPageTimeout)
	t.MaxRetries = cmp.Or(t.MaxRetries, DefaultMaxRetries)
	t.RetryInitialInterval = cmp.Or(t.RetryInitialInterval, DefaultInitialInterval)
	t.RetryMaxInterval = cmp.Or(t.RetryMaxInterval, DefaultMaxInterval)
	t.RetryAfterCap = cmp.Or(t.RetryAfterCap, DefaultRetryAfterCap)
	t.MaxPageBytes = cmp.Or(t.MaxPageBytes, DefaultMaxPageBytes)
	t.UserAgent = cmp.Or(t.UserAgent, userAgent)
}

// Validate reports the first negative duration or size of t (a negative
// MaxRetries is valid: it disables retries). The error names the field
// and no package: the configuration that embeds t says whose it is.
func (t Transport) Validate() error {
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"PageTimeout", t.PageTimeout},
		{"RetryInitialInterval", t.RetryInitialInterval},
		{"RetryMaxInterval", t.RetryMaxInterval},
		{"RetryAfterCap", t.RetryAfterCap},
		{"RateLimit", t.RateLimit},
	} {
		if d.d < 0 {
			return fmt.Errorf("%s must not be negative", d.name)
		}
	}
	if t.MaxPageBytes < 0 {
		return errors.New("MaxPageBytes must not be negative")
	}
	return nil
}

// ParseBaseURL parses the base URL of a harvest client's server: required,
// absolute, http or https, without a fragment. The error names BaseURL and
// no package (the configuration that holds it says whose it is), and
// quotes the URL without its password.
func ParseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("BaseURL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("BaseURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("BaseURL %q is not an absolute http(s) URL", u.Redacted())
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("BaseURL %q has a fragment", u.Redacted())
	}
	return u, nil
}

// Pacer returns a new pacer for the requests of one client: it spaces them
// RateLimit apart.
func (t Transport) Pacer() *Pacer { return &Pacer{Interval: t.RateLimit} }
