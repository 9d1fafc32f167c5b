package node

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// TestHTTPHandlerHostCheck sends requests for several hosts to every
// route of the node's handler: an open node (the demo) refuses hosts that
// are not loopback, localhost or its base URL's; a node with tokens
// serves them.
func TestHTTPHandlerHostCheck(t *testing.T) {
	b := testenv.Bus(t)
	log := slog.New(slog.DiscardHandler)
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := api.NewAccess(api.TokensFile{Operator: []string{"operator-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := publisher.New(publisher.Config{BaseURL: "http://fairway.test:8080"}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	model, err := readmodel.Open(t.Context(), readmodel.Config{Dir: filepath.Join(t.TempDir(), "readmodel")}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	catalogue, err := catalogueHandler(Config{BaseURL: "http://fairway.test:8080", DataDir: t.TempDir()}, model, p.Options(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		access *api.Access
		host   string
		status int
	}{
		{"open, foreign host", api.OpenAccess(), "evil.example", http.StatusMisdirectedRequest},
		{"open, foreign host with port", api.OpenAccess(), "evil.example:8080", http.StatusMisdirectedRequest},
		{"open, loopback", api.OpenAccess(), "127.0.0.1:8080", http.StatusOK},
		{"open, localhost", api.OpenAccess(), "localhost:8080", http.StatusOK},
		{"open, IPv6 loopback", api.OpenAccess(), "[::1]:8080", http.StatusOK},
		{"open, base URL host", api.OpenAccess(), "fairway.test:8080", http.StatusOK},
		{"tokens, foreign host", tokens, "evil.example", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			feedAPI, err := api.New(api.Config{Access: tt.access, Checker: checker}, b, log)
			if err != nil {
				t.Fatal(err)
			}
			h, err := httpHandler("http://fairway.test:8080", feedAPI, catalogue, nil, nil, nil, nil, QueryEndpoints{}, log)
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/api/v1/feeds", "/catalogue", "/healthz", "/oai?verb=Identify"} {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.Host = tt.host
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != tt.status {
					t.Errorf("GET %s (Host %s) = %d, want %d: %s", path, tt.host, w.Code, tt.status, w.Body)
				}
				if tt.status == http.StatusMisdirectedRequest && !strings.Contains(w.Body.String(), tt.host) {
					t.Errorf("GET %s: the error does not name the host: %s", path, w.Body)
				}
			}
			// A write through the open API is refused as well.
			r := httptest.NewRequest(http.MethodPost, "/api/v1/feeds", strings.NewReader(`{"id":"x"}`))
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if tt.status == http.StatusMisdirectedRequest && w.Code != tt.status {
				t.Errorf("POST /api/v1/feeds (Host %s) = %d, want %d", tt.host, w.Code, tt.status)
			}
		})
	}
}

// TestHTTPServerTimeouts runs the node's HTTP server with short timeouts
// and clients that hold a connection: headers that never end, headers sent
// a byte at a time, a body that never comes, a keep-alive connection left
// idle. The server closes each connection (the test waits at most 10s,
// far longer than any timeout, so that only a missing timeout fails it).
func TestHTTPServerTimeouts(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	srv := newHTTPServer(h, HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond, Write: 5 * time.Second, Idle: 300 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	tests := []struct {
		name string
		// client talks on the connection; it returns when it has sent
		// what it sends.
		client func(t *testing.T, c net.Conn)
	}{
		{"headers never end", func(t *testing.T, c net.Conn) {
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		}},
		{"headers a byte at a time", func(t *testing.T, c net.Conn) {
			go func() {
				for _, b := range []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("x", 1000)) {
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}},
		{"body never sent", func(t *testing.T, c net.Conn) {
			_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
		}},
		{"idle keep-alive", func(t *testing.T, c net.Conn) {
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Close {
				t.Fatalf("first request: %d, close %v", resp.StatusCode, resp.Close)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tt.client(t, c)
			if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(io.Discard, c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the server kept the connection open")
			}
		})
	}
}

func TestHTTPTimeoutsDefaults(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), HTTPTimeouts{Write: time.Second})
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != time.Minute || srv.WriteTimeout != time.Second || srv.IdleTimeout != 2*time.Minute {
		t.Fatalf("timeouts %v %v %v %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	if err := (Config{HTTPTimeouts: HTTPTimeouts{Idle: -1}}).Validate(); err == nil {
		t.Fatal("a negative timeout passes Validate")
	}
}

// TestOAITokenKey makes the key once, reads the same key back, and
// refuses a file that holds no key.
func TestOAITokenKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := oaiTokenKey(dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("first key: %x %v", k1, err)
	}
	k2, err := oaiTokenKey(dir)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second key %x, want %x (%v)", k2, k1, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, OAITokenKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	if err := os.WriteFile(filepath.Join(dir, OAITokenKeyFile), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := oaiTokenKey(dir); err == nil {
		t.Error("a file without a key was accepted")
	}
}

// TestBoundedQueryEndpoints checks the bound of the open query endpoints:
// a request beyond n at once is 503, and a body over the limit is cut.
func TestBoundedQueryEndpoints(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	h := boundedQueries(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			if _, err := io.ReadAll(r.Body); err == nil {
				t.Error("a body over the limit was read whole")
			}
			return
		}
		entered <- struct{}{}
		<-release
	}), 2, 10)
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Get(srv.URL + "/slow")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	<-entered
	<-entered
	resp, err := http.Get(srv.URL + "/third")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third request at once: %d, want 503 with Retry-After", resp.StatusCode)
	}
	close(release)
	for range 2 {
		if code := <-done; code != http.StatusOK {
			t.Errorf("a request within the bound: %d", code)
		}
	}
	resp, err = http.Post(srv.URL+"/body", "text/plain", strings.NewReader(strings.Repeat("x", 100)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestHTTPNodePage: the node's pages are mounted beside the catalogue; a
// browser asking for a dataset gets its page, every other client the
// catalogue's answer.
func TestHTTPNodePage(t *testing.T) {
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	b := testenv.Bus(t)
	p, err := publisher.New(publisher.Config{BaseURL: "http://fairway.test:8080"}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := catalogueHandler(Config{BaseURL: "http://fairway.test:8080", DataDir: t.TempDir()}, model, p.Options(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := api.NewAccess(api.TokensFile{Operator: []string{"operator-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	feedAPI, err := api.New(api.Config{Access: tokens, Checker: checker}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	page, err := nodePage(p.Options(), model, s, feedAPI, &usageParts{}, log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpHandler("http://fairway.test:8080", feedAPI, catalogue, nil, nil, nil, page, QueryEndpoints{}, log)
	if err != nil {
		t.Fatal(err)
	}
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	tests := []struct {
		path, accept string
		code         int
		contentType  string
		body         string
	}{
		{"/", browser, http.StatusOK, "text/html", `data-chart="facilities" data-points="4"`},
		{"/", "", http.StatusOK, "text/html", `data-chart="facilities"`},
		{"/search?q=fossil", browser, http.StatusOK, "text/html", `<a href="/datasets/esrf-1">`},
		{"/datasets/esrf-1", browser, http.StatusOK, "text/html", "Microtomography of fossil teeth"},
		{"/datasets/esrf-1", "", http.StatusOK, "text/turtle", "@prefix dcat:"},
		{"/datasets/esrf-1", "application/ld+json", http.StatusOK, "application/ld+json", "Dataset"},
		{"/datasets/esrf-1?format=rdfxml", browser, http.StatusOK, "application/rdf+xml", "Dataset"},
		{"/datasets/nope", browser, http.StatusNotFound, "text/html", "No dataset with this key here."},
		{"/datasets/nope", "text/turtle", http.StatusNotFound, "text/plain", "no dataset"},
		{"/catalogue", browser, http.StatusOK, "application/rdf+xml", "Catalog"},
		{"/nope", browser, http.StatusNotFound, "text/plain", ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if ct := w.Header().Get("Content-Type"); w.Code != tc.code || !strings.HasPrefix(ct, tc.contentType) || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("GET %s (Accept %q) = %d %s, want %d %s with %q: %.300s", tc.path, tc.accept, w.Code, ct, tc.code, tc.contentType, tc.body, w.Body)
		}
	}
}
