package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/panosc/fairway/pkg/api"
)

// TestLocalHostsOnly sends requests with many Host headers through the
// check an open node puts in front of everything it serves: only loopback
// addresses, localhost and the base URL's host pass; any other host is
// answered 421 with a JSON error naming it.
func TestLocalHostsOnly(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "served") })
	h, err := api.LocalHostsOnly(ok, "https://Fairway.Example.org:8443/node", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		pass bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.1", true},
		{"127.1.2.3:9", true},
		{"localhost:8080", true},
		{"localhost", true},
		{"LOCALHOST.:8080", true},
		{"[::1]:8080", true},
		{"[::1]", true},
		{"[::ffff:127.0.0.1]:8080", true},
		{"fairway.example.org:8443", true},
		{"fairway.example.org", true},
		{"FAIRWAY.example.org.:80", true},
		{"evil.example", false},
		{"evil.example:8080", false},
		{"localhost.evil.example:8080", false},
		{"127.0.0.1.evil.example", false},
		{"fairway.example.org.evil.example", false},
		{"10.0.0.1:8080", false},
		{"[::2]:8080", false},
		{"[fe80::1%25eth0]:8080", false},
		{"0.0.0.0:8080", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			for _, path := range []string{"/catalogue", "/api/v1/feeds"} {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.Host = tt.host
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if tt.pass {
					if w.Code != http.StatusOK || w.Body.String() != "served" {
						t.Fatalf("%s: %d %s; want it served", path, w.Code, w.Body)
					}
					continue
				}
				if w.Code != http.StatusMisdirectedRequest {
					t.Fatalf("%s: status %d, want 421", path, w.Code)
				}
				var body struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "\""+tt.host+"\"") {
					t.Fatalf("%s: body %s (%v); want a JSON error naming the host", path, w.Body, err)
				}
			}
		})
	}
}

func TestLocalHostsOnlyBaseURL(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, base := range []string{"", "http://127.0.0.1:8080", "http://[::1]:8080"} {
		if _, err := api.LocalHostsOnly(ok, base, nil); err != nil {
			t.Errorf("base URL %q: %v", base, err)
		}
	}
	for _, base := range []string{"/relative", "http://%zz"} {
		if _, err := api.LocalHostsOnly(ok, base, nil); err == nil {
			t.Errorf("base URL %q: want an error", base)
		}
	}
}
