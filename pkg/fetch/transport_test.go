package fetch_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/pkg/fetch"
)

// TestTransportValidate checks that every check of Transport.Validate
// fires, on the values given and after SetDefaults (which replaces only
// zero values).
func TestTransportValidate(t *testing.T) {
	tests := []struct {
		name string
		t    fetch.Transport
		want string // the field the error names; "" for a valid transport
	}{
		{"zero values are the defaults", fetch.Transport{}, ""},
		{"no retries", fetch.Transport{MaxRetries: -1}, ""},
		{"all set", fetch.Transport{PageTimeout: time.Second, MaxRetries: 2, RetryInitialInterval: time.Millisecond,
			RetryMaxInterval: time.Second, RetryAfterCap: time.Minute, RateLimit: time.Second, MaxPageBytes: 1 << 10, UserAgent: "x"}, ""},
		{"negative page timeout", fetch.Transport{PageTimeout: -1}, "PageTimeout"},
		{"negative backoff", fetch.Transport{RetryInitialInterval: -1}, "RetryInitialInterval"},
		{"negative backoff cap", fetch.Transport{RetryMaxInterval: -1}, "RetryMaxInterval"},
		{"negative Retry-After cap", fetch.Transport{RetryAfterCap: -1}, "RetryAfterCap"},
		{"negative rate limit", fetch.Transport{RateLimit: -time.Second}, "RateLimit"},
		{"negative page bytes", fetch.Transport{MaxPageBytes: -1}, "MaxPageBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withDefaults := tt.t
			withDefaults.SetDefaults("agent")
			for what, err := range map[string]error{"Validate()": tt.t.Validate(), "Validate() after SetDefaults": withDefaults.Validate()} {
				if (err != nil) != (tt.want != "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
					t.Errorf("%s = %v, want an error naming %q", what, err, tt.want)
				}
			}
		})
	}
}

func TestTransportSetDefaults(t *testing.T) {
	var d fetch.Transport
	d.SetDefaults("agent/1.0")
	want := fetch.Transport{
		PageTimeout: fetch.DefaultPageTimeout, MaxRetries: fetch.DefaultMaxRetries,
		RetryInitialInterval: fetch.DefaultInitialInterval, RetryMaxInterval: fetch.DefaultMaxInterval,
		RetryAfterCap: fetch.DefaultRetryAfterCap, MaxPageBytes: fetch.DefaultMaxPageBytes, UserAgent: "agent/1.0",
	}
	if d != want {
		t.Errorf("defaults = %+v, want %+v", d, want)
	}
	// What is set stays, negative values included.
	set := fetch.Transport{PageTimeout: time.Second, MaxRetries: -1, RetryInitialInterval: -1, RateLimit: time.Second,
		MaxPageBytes: 10, UserAgent: "mine"}
	got := set
	got.SetDefaults("agent/1.0")
	if got.PageTimeout != time.Second || got.MaxRetries != -1 || got.RetryInitialInterval != -1 ||
		got.RateLimit != time.Second || got.MaxPageBytes != 10 || got.UserAgent != "mine" {
		t.Errorf("SetDefaults replaced given values: %+v", got)
	}
	if p := set.Pacer(); p.Interval != time.Second {
		t.Errorf("pacer interval %v, want the rate limit", p.Interval)
	}
}

func TestHTTPError(t *testing.T) {
	tests := []struct {
		err          *fetch.HTTPError
		message      string
		unauthorized bool
	}{
		{&fetch.HTTPError{StatusCode: http.StatusNotFound, URL: "http://x/oai"}, "HTTP 404 from http://x/oai", false},
		{&fetch.HTTPError{StatusCode: http.StatusUnauthorized, URL: "http://x/api", Body: "no token"}, "HTTP 401 from http://x/api: no token", true},
		{&fetch.HTTPError{StatusCode: http.StatusForbidden, URL: "http://x/api"}, "HTTP 403 from http://x/api", true},
		{&fetch.HTTPError{StatusCode: http.StatusServiceUnavailable, URL: "http://x/api"}, "HTTP 503 from http://x/api", false},
	}
	for _, tt := range tests {
		// As a client returns it: wrapped, and marked retryable when it is.
		err := fetch.StatusError(fmt.Errorf("client: %w", tt.err), tt.err.StatusCode, nil, time.Minute)
		var he *fetch.HTTPError
		if !errors.As(err, &he) || he != tt.err {
			t.Errorf("%v: errors.As does not find the *HTTPError", err)
		}
		if !errors.Is(err, fetch.ErrHTTPStatus) {
			t.Errorf("%v does not match ErrHTTPStatus", err)
		}
		if got := errors.Is(err, fetch.ErrUnauthorized); got != tt.unauthorized {
			t.Errorf("%v matches ErrUnauthorized: %v, want %v", err, got, tt.unauthorized)
		}
		if err.Error() != "client: "+tt.message {
			t.Errorf("message %q, want %q", err.Error(), "client: "+tt.message)
		}
	}
}

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		raw  string
		want string // a part of the error; "" for a valid URL
	}{
		{"https://example.org/oai?set=a", ""},
		{"http://example.org", ""},
		{"", "BaseURL is required"},
		{"http://exa mple.org/%zz", "BaseURL: "},
		{"/oai", "not an absolute http(s) URL"},
		{"ftp://example.org/oai", "not an absolute http(s) URL"},
		{"https://example.org/oai#x", "has a fragment"},
		{"https://user:secret@example.org/oai#x", "has a fragment"},
	}
	for _, tt := range tests {
		u, err := fetch.ParseBaseURL(tt.raw)
		if (err != nil) != (tt.want != "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("ParseBaseURL(%q) = %v, want an error with %q", tt.raw, err, tt.want)
			continue
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseBaseURL(%q): %v quotes the password", tt.raw, err)
		}
		if err == nil && u.String() != tt.raw {
			t.Errorf("ParseBaseURL(%q) = %s", tt.raw, u)
		}
	}
}
