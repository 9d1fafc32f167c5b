package scicat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/scicat"
	"github.com/panosc/fairway/pkg/urlguard"
)

const secret = "s3cr3t-t0ken-do-not-log"

// unpublished are datasets the servers hold besides the seed's published
// ones: a harvester must never see them.
var unpublished = []json.RawMessage{
	json.RawMessage(`{"pid":"PID.SAMPLE.PREFIX/private1","datasetName":"private one","isPublished":false}`),
	json.RawMessage(`{"pid":"PID.SAMPLE.PREFIX/private2","datasetName":"private two"}`),
}

// startServer starts a test server over the seed (plus the unpublished
// datasets and one private published data document).
func startServer(t testing.TB, cfg scicattest.Config) *scicattest.Server {
	t.Helper()
	cfg.Datasets = append(scicattest.Seed(t, scicat.Datasets), unpublished...)
	cfg.PublishedData = append(scicattest.Seed(t, scicat.PublishedData),
		json.RawMessage(`{"doi":"10.9999/draft","title":"draft","status":"private"}`))
	s := scicattest.Start(cfg)
	t.Cleanup(s.Close)
	return s
}

func newClient(t testing.TB, cfg scicat.Config, log *slog.Logger) *scicat.Client {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.RetryInitialInterval, cfg.RetryMaxInterval = time.Millisecond, 5*time.Millisecond
	c, err := scicat.NewClient(cfg, scicat.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listAll lists a collection and returns the documents and the pages.
func listAll(t testing.TB, c *scicat.Client, coll scicat.Collection) ([]json.RawMessage, []*scicat.Page, error) {
	t.Helper()
	var docs []json.RawMessage
	var pages []*scicat.Page
	err := c.List(context.Background(), scicat.ListRequest{Collection: coll}, func(_ context.Context, p *scicat.Page) error {
		docs = append(docs, p.Documents...)
		pages = append(pages, p)
		return nil
	})
	return docs, pages, err
}

func TestListPublishedDatasets(t *testing.T) {
	seed := scicattest.Seed(t, scicat.Datasets)
	var published int
	for _, d := range seed {
		if scicat.Published(scicat.Datasets, d) {
			published++
		}
	}
	if published != 19 {
		t.Fatalf("the seed holds %d published datasets, want 19", published)
	}
	tests := []struct {
		name        string
		versions    []string // served
		apiVersion  string   // configured
		serverToken string
		token       string
		wantVersion string
		wantPath    string
	}{
		{name: "v3", apiVersion: "v3", wantVersion: "v3", wantPath: "/api/v3/Datasets"},
		{name: "v4 anonymous", apiVersion: "v4", wantVersion: "v4", wantPath: "/api/v4/datasets/public"},
		{name: "v4 with token", apiVersion: "v4", serverToken: secret, token: secret, wantVersion: "v4", wantPath: "/api/v4/datasets"},
		{name: "v3 with token", apiVersion: "V3", serverToken: secret, token: secret, wantVersion: "v3", wantPath: "/api/v3/Datasets"},
		{name: "detect v4", wantVersion: "v4", wantPath: "/api/v4/datasets/public"},
		{name: "detect v3 only", versions: []string{"v3"}, wantVersion: "v3", wantPath: "/api/v3/Datasets"},
		{name: "detect with token", serverToken: secret, token: secret, wantVersion: "v4", wantPath: "/api/v4/datasets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, scicattest.Config{Versions: tt.versions, Token: tt.serverToken})
			c := newClient(t, scicat.Config{BaseURL: s.URL, APIVersion: tt.apiVersion, Token: tt.token, PageSize: 5}, nil)
			docs, pages, err := listAll(t, c, scicat.Datasets)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := c.Version(context.Background()); err != nil || v != tt.wantVersion {
				t.Errorf("Version() = %q, %v; want %q", v, err, tt.wantVersion)
			}
			if len(docs) != 19 {
				t.Fatalf("listed %d datasets, want the 19 published", len(docs))
			}
			// Pages of 5: 5, 5, 5, 4.
			if len(pages) != 4 || !pages[3].Last || pages[3].Offset != 15 || pages[3].Next != 19 || pages[0].Last {
				t.Errorf("pages %+v", pages)
			}
			for i, d := range docs {
				if !bytes.Equal(d, seed[i]) {
					t.Errorf("document %d is not passed on byte for byte:\n%s\nwant\n%s", i, d, seed[i])
				}
			}
			for _, p := range pages {
				if !strings.Contains(p.RequestURL, tt.wantPath+"?filter=") || strings.Contains(p.RequestURL, secret) {
					t.Errorf("request URL %s, want path %s", p.RequestURL, tt.wantPath)
				}
			}
			for _, r := range s.Requests() {
				if r.Bearer != (tt.token != "") {
					t.Errorf("request %s: bearer %v", r.Path, r.Bearer)
				}
			}
			var f struct {
				Where  map[string]any `json:"where"`
				Limits map[string]int `json:"limits"`
			}
			last := s.Requests()[len(s.Requests())-1]
			if err := json.Unmarshal([]byte(last.Filter), &f); err != nil {
				t.Fatal(err)
			}
			if f.Where["isPublished"] != true || f.Limits["skip"] != 15 || f.Limits["limit"] != 5 {
				t.Errorf("last filter %s", last.Filter)
			}
		})
	}
}

func TestListPublishedData(t *testing.T) {
	for _, version := range []string{scicat.APIv3, scicat.APIv4} {
		t.Run(version, func(t *testing.T) {
			s := startServer(t, scicattest.Config{})
			c := newClient(t, scicat.Config{BaseURL: s.URL, APIVersion: version, PageSize: 4}, nil)
			var dois []string
			pages := 0
			err := c.ListPublishedData(context.Background(), func(_ context.Context, docs []json.RawMessage, u string) error {
				pages++
				for _, d := range docs {
					id, err := scicat.DocumentID(scicat.PublishedData, d)
					if err != nil {
						return err
					}
					dois = append(dois, id)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(dois) != 11 || pages != 3 || dois[0] != "10.9999/desy_pub1" {
				t.Errorf("%d pages, DOIs %v; want the 11 registered ones", pages, dois)
			}
		})
	}
}

func TestUnpublishedDocumentsAreLeftOut(t *testing.T) {
	// A server that ignores the where filter and the caller returns the
	// unpublished datasets too.
	s := startServer(t, scicattest.Config{IgnoreWhere: true})
	c := newClient(t, scicat.Config{BaseURL: s.URL, APIVersion: "v3"}, nil)
	docs, pages, err := listAll(t, c, scicat.Datasets)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 19 || len(pages) != 1 || pages[0].Unpublished != 2 || pages[0].Next != 21 {
		t.Errorf("%d documents, pages %+v; want 19 and 2 left out", len(docs), pages)
	}
	pd, _, err := listAll(t, c, scicat.PublishedData)
	if err != nil || len(pd) != 11 {
		t.Errorf("%d published data (%v), want 11 without the private one", len(pd), err)
	}
}

func TestListResumesFromOffset(t *testing.T) {
	s := startServer(t, scicattest.Config{})
	c := newClient(t, scicat.Config{BaseURL: s.URL, PageSize: 10}, nil)
	var got []json.RawMessage
	err := c.List(context.Background(), scicat.ListRequest{Offset: 10}, func(_ context.Context, p *scicat.Page) error {
		got = append(got, p.Documents...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seed := scicattest.Seed(t, scicat.Datasets); len(got) != 9 || !bytes.Equal(got[0], seed[10]) {
		t.Errorf("resumed list gave %d documents", len(got))
	}
}

// TestAddressRefusalIsFinal lists through the address guard's client from a
// loopback server it refuses: the refusal comes back at once, without a
// retry or a try of the other API version.
func TestAddressRefusalIsFinal(t *testing.T) {
	s := startServer(t, scicattest.Config{})
	logs := &bytes.Buffer{}
	c, err := scicat.NewClient(scicat.Config{BaseURL: s.URL, Transport: fetch.Transport{MaxRetries: 5, RetryInitialInterval: time.Millisecond}},
		scicat.WithLogger(slog.New(slog.NewTextHandler(logs, nil))), scicat.WithHTTPClient(urlguard.Policy{}.HTTPClient(nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = listAll(t, c, scicat.Datasets)
	if !errors.Is(err, urlguard.ErrForbiddenAddress) || errors.Is(err, scicat.ErrNoAPI) || errors.Is(err, fetch.ErrGaveUp) {
		t.Fatalf("err = %v; want the address refusal alone", err)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Errorf("the refusal was retried:\n%s", logs)
	}
}

func TestVersionFromBaseURL(t *testing.T) {
	s := startServer(t, scicattest.Config{})
	c := newClient(t, scicat.Config{BaseURL: s.URL + "/api/v3/"}, nil)
	if v, err := c.Version(context.Background()); err != nil || v != "v3" {
		t.Fatalf("Version() = %q, %v", v, err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests to learn a version the URL names", n)
	}
	docs, _, err := listAll(t, c, scicat.Datasets)
	if err != nil || len(docs) != 19 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	if p := s.Requests()[0].Path; p != "/api/v3/Datasets" {
		t.Errorf("requested %s", p)
	}
}

// TestProbe asks servers for one published dataset: a version the URL or
// the configuration names is asked all the same, and one that does not
// answer fails with ErrNoAPI; without one, the version is detected.
func TestProbe(t *testing.T) {
	tests := []struct {
		name     string
		versions []string // served
		base     string   // appended to the server's URL
		cfg      scicat.Config
		want     string // "" means ErrNoAPI
		paths    []string
	}{
		{name: "detect v4", want: "v4", paths: []string{"/api/v4/datasets/public"}},
		{name: "detect v3", versions: []string{"v3"}, want: "v3", paths: []string{"/api/v4/datasets/public", "/api/v3/Datasets"}},
		{name: "api root", base: "/api/", want: "v4", paths: []string{"/api/v4/datasets/public"}},
		{name: "version in the URL", base: "/api/v3", want: "v3", paths: []string{"/api/v3/Datasets"}},
		{name: "configured version", cfg: scicat.Config{APIVersion: "v4"}, want: "v4", paths: []string{"/api/v4/datasets/public"}},
		{name: "named version not served", versions: []string{"v4"}, base: "/api/v3", paths: []string{"/api/v3/Datasets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, scicattest.Config{Versions: tt.versions})
			cfg := tt.cfg
			cfg.BaseURL = s.URL + tt.base
			v, err := newClient(t, cfg, nil).Probe(context.Background())
			if tt.want == "" {
				if !errors.Is(err, scicat.ErrNoAPI) || !errors.Is(err, fetch.ErrHTTPStatus) {
					t.Fatalf("Probe() = %q, %v; want ErrNoAPI", v, err)
				}
			} else if err != nil || v != tt.want {
				t.Fatalf("Probe() = %q, %v; want %q", v, err, tt.want)
			}
			var paths []string
			for _, r := range s.Requests() {
				paths = append(paths, r.Path)
			}
			if strings.Join(paths, " ") != strings.Join(tt.paths, " ") {
				t.Errorf("requested %v, want %v", paths, tt.paths)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		server  scicattest.Config
		faults  []scicattest.Fault
		cfg     scicat.Config
		want    []error
		reqs    int // requests the server saw
		message string
	}{
		{
			name: "no token", server: scicattest.Config{Token: secret},
			want: []error{fetch.ErrUnauthorized, fetch.ErrHTTPStatus}, reqs: 1, message: "401",
		},
		{
			name: "wrong token", server: scicattest.Config{Token: secret}, cfg: scicat.Config{Token: "wrong"},
			want: []error{fetch.ErrUnauthorized}, reqs: 1,
		},
		{
			name: "retries exhausted", cfg: scicat.Config{APIVersion: "v3", Transport: fetch.Transport{MaxRetries: 2}},
			faults: []scicattest.Fault{{Status: 503}, {Status: 502}, {Status: 500}},
			want:   []error{fetch.ErrGaveUp, fetch.ErrHTTPStatus}, reqs: 3, message: "HTTP 500",
		},
		{
			name: "not found is not retried", cfg: scicat.Config{APIVersion: "v3"},
			faults: []scicattest.Fault{{Status: 404}}, want: []error{fetch.ErrHTTPStatus}, reqs: 1,
		},
		{
			name: "HTML instead of JSON", cfg: scicat.Config{APIVersion: "v4"},
			faults: []scicattest.Fault{{Status: 200, Body: "<html><body>maintenance</body></html>"}},
			want:   []error{fetch.ErrMalformedResponse}, reqs: 1,
		},
		{
			name: "object instead of array", cfg: scicat.Config{APIVersion: "v4"},
			faults: []scicattest.Fault{{Status: 200, Body: `{"data":[]}`}},
			want:   []error{fetch.ErrMalformedResponse}, reqs: 1, message: "got an object",
		},
		{
			name: "empty body", cfg: scicat.Config{APIVersion: "v4"},
			faults: []scicattest.Fault{{Status: 200, Body: " "}},
			want:   []error{fetch.ErrMalformedResponse}, reqs: 1,
		},
		{
			name: "trailing data", cfg: scicat.Config{APIVersion: "v4"},
			faults: []scicattest.Fault{{Status: 200, Body: `[{"pid":"a","isPublished":true}] []`}},
			want:   []error{fetch.ErrMalformedResponse}, reqs: 1,
		},
		{
			name: "page too large", cfg: scicat.Config{APIVersion: "v3", Transport: fetch.Transport{MaxPageBytes: 1000}},
			want: []error{fetch.ErrPageTooLarge}, reqs: 1,
		},
		{
			name: "paging ignored", server: scicattest.Config{IgnoreLimits: true}, cfg: scicat.Config{APIVersion: "v3", PageSize: 5},
			want: []error{scicat.ErrPagingIgnored}, reqs: 1,
		},
		{
			name: "no API", server: scicattest.Config{Versions: []string{"v9"}},
			want: []error{scicat.ErrNoAPI, fetch.ErrHTTPStatus}, reqs: 2, message: "v3: scicat: HTTP 404",
		},
		{
			name: "token echoed by the server", server: scicattest.Config{}, cfg: scicat.Config{APIVersion: "v3", Token: secret},
			faults: []scicattest.Fault{{Status: 400, Body: "bad header Authorization: Bearer " + secret}},
			want:   []error{fetch.ErrHTTPStatus}, reqs: 1, message: "Bearer [redacted]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.server)
			s.Fail(tt.faults...)
			cfg := tt.cfg
			cfg.BaseURL = s.URL
			c := newClient(t, cfg, nil)
			_, _, err := listAll(t, c, scicat.Datasets)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			if err != nil && (!strings.Contains(err.Error(), tt.message) || strings.Contains(err.Error(), secret)) {
				t.Errorf("err = %q, want it to say %q and never the token", err, tt.message)
			}
			if n := len(s.Requests()); n != tt.reqs {
				t.Errorf("server saw %d requests, want %d", n, tt.reqs)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	s := startServer(t, scicattest.Config{})
	s.Fail(scicattest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "1"}, scicattest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	// The backoff alone would wait a millisecond (see newClient).
	c := newClient(t, scicat.Config{BaseURL: s.URL, APIVersion: "v4", Transport: fetch.Transport{MaxRetries: 3}}, nil)
	docs, _, err := listAll(t, c, scicat.Datasets)
	if err != nil || len(docs) != 19 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Status != 503 || reqs[1].Status != 429 || reqs[2].Status != 200 {
		t.Fatalf("requests %+v", reqs)
	}
	for i := 1; i < 3; i++ {
		if gap := reqs[i].At.Sub(reqs[i-1].At); gap < 900*time.Millisecond {
			t.Errorf("retry %d came %v after the Retry-After: 1 answer", i, gap)
		}
	}
}

func TestRateLimit(t *testing.T) {
	s := startServer(t, scicattest.Config{})
	c := newClient(t, scicat.Config{BaseURL: s.URL, PageSize: 8, Transport: fetch.Transport{RateLimit: 150 * time.Millisecond}}, nil)
	if docs, _, err := listAll(t, c, scicat.Datasets); err != nil || len(docs) != 19 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	reqs := s.Requests() // the probe and 3 pages
	if len(reqs) != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].At.Sub(reqs[i-1].At); gap < 140*time.Millisecond {
			t.Errorf("request %d came %v after the previous one", i, gap)
		}
	}
}

func TestContextEndsDuringRetryWait(t *testing.T) {
	s := startServer(t, scicattest.Config{})
	s.Fail(scicattest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "120"})
	c := newClient(t, scicat.Config{BaseURL: s.URL, APIVersion: "v4"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.ListPublishedDatasets(ctx, func(context.Context, []json.RawMessage, string) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestPageHandlerErrorStopsTheList(t *testing.T) {
	s := startServer(t, scicattest.Config{})
	c := newClient(t, scicat.Config{BaseURL: s.URL, APIVersion: "v3", PageSize: 5}, nil)
	stop := errors.New("stop")
	err := c.ListPublishedDatasets(context.Background(), func(context.Context, []json.RawMessage, string) error { return stop })
	if !errors.Is(err, stop) || len(s.Requests()) != 1 {
		t.Fatalf("err = %v after %d requests", err, len(s.Requests()))
	}
}

// TestTokenIsNeverLogged runs a client through retries and failures with a
// debug logger and checks that the token shows nowhere.
func TestTokenIsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := startServer(t, scicattest.Config{Token: secret})
	s.Fail(scicattest.Fault{Status: 503}, scicattest.Fault{Status: 429, RetryAfter: "0"})
	cfg := scicat.Config{BaseURL: s.URL, Token: secret, PageSize: 7}
	c := newClient(t, cfg, log)
	docs, _, err := listAll(t, c, scicat.Datasets)
	if err != nil || len(docs) != 19 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	s.Fail(scicattest.Fault{Status: 401, Body: "token " + secret + " expired"})
	_, _, err = listAll(t, c, scicat.PublishedData)
	if !errors.Is(err, fetch.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	log.Info("config", "scicat", cfg)
	log.Info("error", "err", err)
	printed := fmt.Sprintf("%v %+v %s", cfg, cfg, cfg)
	if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "SciCat page") {
		t.Fatalf("the logs lack the retries and pages:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(printed, secret) {
		t.Fatalf("the token leaked:\n%s\n%s", logs.String(), printed)
	}
}

// TestConfigValidate checks that every check of Config.Validate fires: each
// invalid row names the field its error must name.
func TestConfigValidate(t *testing.T) {
	const base = "https://example.org"
	tests := []struct {
		name string
		cfg  scicat.Config
		want string // a part of the error; "" for a valid config
	}{
		{"minimal", scicat.Config{BaseURL: "https://scicat.example.org"}, ""},
		{"api suffix", scicat.Config{BaseURL: "https://scicat.example.org/api/v4", APIVersion: "v4"}, ""},
		{"missing URL", scicat.Config{}, "BaseURL is required"},
		{"unparsable URL", scicat.Config{BaseURL: "http://exa mple.org/%zz"}, "BaseURL"},
		{"relative URL", scicat.Config{BaseURL: "/api/v3"}, "not an absolute http(s) URL"},
		{"ftp", scicat.Config{BaseURL: "ftp://example.org"}, "not an absolute http(s) URL"},
		{"credentials in URL", scicat.Config{BaseURL: "https://user:pw@example.org"}, "credentials"},
		{"fragment", scicat.Config{BaseURL: base + "/#x"}, "fragment"},
		{"unknown version", scicat.Config{BaseURL: base, APIVersion: "v5"}, "want v3, v4 or empty"},
		{"version contradicts URL", scicat.Config{BaseURL: base + "/api/v3", APIVersion: "v4"}, "contradicts"},
		{"token with newline", scicat.Config{BaseURL: base, Token: "a\nb"}, "Token"},
		{"negative page size", scicat.Config{BaseURL: base, PageSize: -1}, "PageSize"},
		{"negative timeout", scicat.Config{BaseURL: base, Transport: fetch.Transport{PageTimeout: -time.Second}}, "PageTimeout"},
		{"negative page bytes", scicat.Config{BaseURL: base, Transport: fetch.Transport{MaxPageBytes: -1}}, "MaxPageBytes"},
		{"negative retry interval", scicat.Config{BaseURL: base, Transport: fetch.Transport{RetryInitialInterval: -1}}, "RetryInitialInterval"},
		{"negative backoff cap", scicat.Config{BaseURL: base, Transport: fetch.Transport{RetryMaxInterval: -1}}, "RetryMaxInterval"},
		{"negative Retry-After cap", scicat.Config{BaseURL: base, Transport: fetch.Transport{RetryAfterCap: -1}}, "RetryAfterCap"},
		{"negative rate limit", scicat.Config{BaseURL: base, Transport: fetch.Transport{RateLimit: -1}}, "RateLimit"},
		{"negative retries disable them", scicat.Config{BaseURL: base, Transport: fetch.Transport{MaxRetries: -1}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != (tt.want != "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tt.want)
			}
			if err != nil && !errors.Is(err, scicat.ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			if _, err := scicat.NewClient(tt.cfg); (err != nil) != (tt.want != "") {
				t.Errorf("NewClient: %v", err)
			}
		})
	}
	c, err := scicat.NewClient(scicat.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := c.Config(); cfg.PageSize != scicat.DefaultPageSize || cfg.PageTimeout != fetch.DefaultPageTimeout ||
		cfg.MaxRetries != fetch.DefaultMaxRetries || cfg.RetryAfterCap != fetch.DefaultRetryAfterCap ||
		cfg.MaxPageBytes != fetch.DefaultMaxPageBytes || cfg.UserAgent != scicat.DefaultUserAgent {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestDocumentIDAndPublished(t *testing.T) {
	tests := []struct {
		coll      scicat.Collection
		doc       string
		id        string
		err       error
		published bool
	}{
		{scicat.Datasets, `{"pid":"p/1","_id":"x","isPublished":true}`, "p/1", nil, true},
		{scicat.Datasets, `{"_id":"p/2","isPublished":false}`, "p/2", nil, false},
		{scicat.Datasets, `{"pid":" ","_id":"p/3","isPublished":"yes"}`, "p/3", nil, false},
		{scicat.Datasets, `{"pid":12,"datasetName":"n"}`, "", scicat.ErrNoIdentifier, false},
		{scicat.Datasets, `[1]`, "", scicat.ErrMalformedDataset, false},
		{scicat.Datasets, `{"pid":`, "", scicat.ErrMalformedDataset, false},
		{scicat.PublishedData, `{"doi":"10.1/a","_id":"u","status":"registered"}`, "10.1/a", nil, true},
		{scicat.PublishedData, `{"_id":"10.1/b","status":"Public"}`, "10.1/b", nil, true},
		{scicat.PublishedData, `{"_id":"10.1/c","status":"amended"}`, "10.1/c", nil, true},
		{scicat.PublishedData, `{"doi":"10.1/d","status":"pending_registration"}`, "10.1/d", nil, false},
		{scicat.PublishedData, `{"doi":"10.1/e"}`, "10.1/e", nil, false},
		{scicat.PublishedData, `{"pid":"p","status":"registered"}`, "", scicat.ErrNoIdentifier, true},
	}
	for _, tt := range tests {
		id, err := scicat.DocumentID(tt.coll, []byte(tt.doc))
		if id != tt.id || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("DocumentID(%s, %s) = %q, %v; want %q, %v", tt.coll, tt.doc, id, err, tt.id, tt.err)
		}
		if got := scicat.Published(tt.coll, []byte(tt.doc)); got != tt.published {
			t.Errorf("Published(%s, %s) = %v", tt.coll, tt.doc, got)
		}
	}
}

func TestParseCollection(t *testing.T) {
	tests := []struct {
		in   string
		want scicat.Collection
		ok   bool
	}{
		{"", scicat.Datasets, true},
		{"scicat", scicat.Datasets, true},
		{"Datasets", scicat.Datasets, true},
		{"PublishedData", scicat.PublishedData, true},
		{"published_data", scicat.PublishedData, true},
		{"oai_dc", "", false},
	}
	for _, tt := range tests {
		got, err := scicat.ParseCollection(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseCollection(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestFromMongo(t *testing.T) {
	doc := []byte(`{"_id":"p/1","creationTime":{"$date":"2020-02-07T13:46:43Z"},"n":{"$numberLong":"42"},
		"nested":[{"at":{"$date":{"$numberLong":"1581083203000"}}}],"ref":{"$oid":"5f1"}}`)
	got, err := scicattest.FromMongo(doc, "pid")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"creationTime":"2020-02-07T13:46:43.000Z","n":42,"nested":[{"at":"2020-02-07T13:46:43.000Z"}],"pid":"p/1","ref":"5f1"}`
	if string(got) != want {
		t.Errorf("FromMongo = %s\nwant %s", got, want)
	}
	if _, err := scicattest.FromMongo([]byte(`{"t":{"$date":true}}`), "pid"); err == nil {
		t.Error("a boolean $date was accepted")
	}
}
