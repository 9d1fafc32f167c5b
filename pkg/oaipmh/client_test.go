package oaipmh

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/panosc/fairway/pkg/fetch"
)

// recorder is an http.Handler wrapper that records request URIs and times.
type recorder struct {
	mu    sync.Mutex
	uris  []string
	times []time.Time
	h     http.HandlerFunc
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.uris = append(rec.uris, r.URL.RequestURI())
	rec.times = append(rec.times, time.Now())
	rec.mu.Unlock()
	rec.h(w, r)
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.uris)
}

func serve(t *testing.T, h http.HandlerFunc) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{h: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv, rec
}

// fileHandler serves the sample files of dir: the file named by the
// resumptionToken argument, else the one named by the last path element.
func fileHandler(t *testing.T, dir string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("resumptionToken")
		if name == "" {
			name = path.Base(r.URL.Path)
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(b)
	}
}

func testClient(t *testing.T, baseURL string, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: baseURL, Transport: fetch.Transport{
		PageTimeout:          5 * time.Second,
		RetryInitialInterval: time.Millisecond,
		RetryMaxInterval:     5 * time.Millisecond,
	}}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := NewClient(cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

type collected struct {
	pages   []*Page
	urls    []string
	records int
	deleted int
}

func (c *collected) fn(_ context.Context, p *Page, u string) error {
	c.pages = append(c.pages, p)
	c.urls = append(c.urls, u)
	c.records += len(p.Records)
	for _, r := range p.Records {
		if r.Deleted {
			c.deleted++
		}
	}
	return nil
}

func TestClientListRecordsSickleChain(t *testing.T) {
	srv, rec := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/ListRecords.xml", nil)
	var got collected
	if err := c.ListRecords(context.Background(), ListRequest{}, got.fn); err != nil {
		t.Fatalf("ListRecords: %v", err)
	}
	if len(got.pages) != 4 || got.records != 8 || got.deleted != 4 {
		t.Errorf("%d pages, %d records, %d deleted; want 4, 8, 4", len(got.pages), got.records, got.deleted)
	}
	// the deleted record of the last page has neither identifier nor datestamp
	if r := got.pages[3].Records[0]; !r.Deleted || r.Identifier != "" || r.Datestamp != "" {
		t.Errorf("last page deleted record = %+v", r)
	}
	wantURIs := []string{
		"/ListRecords.xml?metadataPrefix=oai_dc&verb=ListRecords",
		"/ListRecords.xml?resumptionToken=ListRecords2.xml&verb=ListRecords",
		"/ListRecords.xml?resumptionToken=ListRecords3.xml&verb=ListRecords",
		"/ListRecords.xml?resumptionToken=ListRecords4.xml&verb=ListRecords",
	}
	if strings.Join(rec.uris, "\n") != strings.Join(wantURIs, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(rec.uris, "\n"), strings.Join(wantURIs, "\n"))
	}
	for i, u := range got.urls {
		if u != srv.URL+rec.uris[i] {
			t.Errorf("page %d: requestURL %q, requested %q", i, u, srv.URL+rec.uris[i])
		}
	}
}

func TestClientListIdentifiersSickle(t *testing.T) {
	srv, _ := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/ListIdentifiers.xml", nil)
	var got collected
	if err := c.ListIdentifiers(context.Background(), ListRequest{}, got.fn); err != nil {
		t.Fatalf("ListIdentifiers: %v", err)
	}
	if len(got.pages) != 2 || got.records != 4 || got.deleted != 2 {
		t.Errorf("%d pages, %d headers, %d deleted; want 2, 4, 2", len(got.pages), got.records, got.deleted)
	}
}

func TestClientResumeToken(t *testing.T) {
	srv, rec := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/ListRecords.xml", nil)
	var got collected
	err := c.ListRecords(context.Background(), ListRequest{ResumeToken: "ListRecords3.xml", From: "2001-01-01"}, got.fn)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.pages) != 2 || rec.uris[0] != "/ListRecords.xml?resumptionToken=ListRecords3.xml&verb=ListRecords" {
		t.Errorf("%d pages; requests %v", len(got.pages), rec.uris)
	}
}

func TestClientRequestArguments(t *testing.T) {
	srv, rec := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/ListRecords4.xml?apikey=a%20b", func(c *Config) {
		c.MetadataPrefix = "oai_datacite"
		c.Set = "config-set"
	})
	var got collected
	if err := c.ListRecords(context.Background(), ListRequest{From: "2020-01-01T00:00:00Z", Until: "2020-02-01T00:00:00Z"}, got.fn); err != nil {
		t.Fatal(err)
	}
	if err := c.ListRecords(context.Background(), ListRequest{Set: "req set"}, got.fn); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/ListRecords4.xml?apikey=a+b&from=2020-01-01T00%3A00%3A00Z&metadataPrefix=oai_datacite&set=config-set&until=2020-02-01T00%3A00%3A00Z&verb=ListRecords",
		"/ListRecords4.xml?apikey=a+b&metadataPrefix=oai_datacite&set=req+set&verb=ListRecords",
	}
	if strings.Join(rec.uris, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(rec.uris, "\n"), strings.Join(want, "\n"))
	}
}

func TestClientProtocolErrors(t *testing.T) {
	srv, _ := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	tests := []struct {
		file     string
		sentinel error
	}{
		{"badArgument.xml", ErrBadArgument},
		{"badResumptionToken.xml", ErrBadResumptionToken},
		{"cannotDisseminateFormat.xml", ErrCannotDisseminateFormat},
		{"idDoesNotExist.xml", ErrIDDoesNotExist},
		{"noSetHierarchy.xml", ErrNoSetHierarchy},
		{"undefinedError.xml", ErrProtocol},
		{"ListRecordsBroken.xml", fetch.ErrMalformedResponse},
		{"Identify.xml", fetch.ErrMalformedResponse}, // a response for another verb
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := testClient(t, srv.URL+"/"+tt.file, nil)
			var got collected
			err := c.ListRecords(context.Background(), ListRequest{}, got.fn)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), srv.URL+"/"+tt.file) {
				t.Errorf("error %q does not name the URL", err)
			}
			if len(got.pages) != 0 {
				t.Errorf("fn called %d times", len(got.pages))
			}
		})
	}
}

func TestClientNoRecordsMatch(t *testing.T) {
	srv, _ := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/noRecordsMatch.xml", nil)
	var got collected
	if err := c.ListRecords(context.Background(), ListRequest{}, got.fn); err != nil {
		t.Fatalf("ListRecords: %v", err)
	}
	if len(got.pages) != 1 || got.records != 0 || !errors.Is(got.pages[0].Err(), ErrNoRecordsMatch) || got.pages[0].ResponseDate.IsZero() {
		t.Errorf("pages = %+v", got.pages)
	}
}

func TestClientBrokenPage(t *testing.T) {
	srv, rec := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/ListRecordsBroken.xml", nil)
	err := c.ListRecords(context.Background(), ListRequest{}, (&collected{}).fn)
	if !errors.Is(err, fetch.ErrMalformedResponse) || !strings.Contains(err.Error(), srv.URL+"/ListRecordsBroken.xml?metadataPrefix=oai_dc&verb=ListRecords") {
		t.Fatalf("err = %v", err)
	}
	if rec.count() != 1 {
		t.Errorf("%d requests: a malformed page must not be retried", rec.count())
	}
}

func TestClientViringo(t *testing.T) {
	dir := sampleDir(t, "datacite-viringo")
	first := readSample(t, "datacite-viringo", "oai_listidentifiers.xml")
	const token = "metadataPrefix%3Doai_dc%26set%3DDATACITE.DATACITE%26paging_cursor%3D1%26cursor%3D1"
	last := bytes.Replace(first, []byte(`<resumptionToken completeListSize="2">`+token+`</resumptionToken>`),
		[]byte(`<resumptionToken completeListSize="2" cursor="2"/>`), 1)
	if bytes.Equal(first, last) {
		t.Fatal("sample changed: token element not found")
	}
	var rawQueries []string
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch q.Get("verb") {
		case VerbListIdentifiers:
			rawQueries = append(rawQueries, r.URL.RawQuery)
			switch q.Get("resumptionToken") {
			case "":
				_, _ = w.Write(first)
			case token: // the token must reach the server exactly as handed out
				_, _ = w.Write(last)
			default:
				_, _ = w.Write(readSample(t, "sickle", "badResumptionToken.xml"))
			}
		case VerbGetRecord:
			if q.Get("metadataPrefix") != "oai_datacite" || q.Get("identifier") != "doi:10.5072/not-a-real-doi" {
				_, _ = w.Write(readSample(t, "sickle", "badArgument.xml"))
				return
			}
			_, _ = w.Write(readSample(t, "datacite-viringo", "oai_getrecord_oaidatacite.xml"))
		default:
			fileHandler(t, dir)(w, r)
		}
	})
	c := testClient(t, srv.URL+"/oai", func(c *Config) { c.MetadataPrefix = "oai_datacite" })
	ctx := context.Background()

	var got collected
	if err := c.ListIdentifiers(ctx, ListRequest{Set: "DATACITE.DATACITE"}, got.fn); err != nil {
		t.Fatalf("ListIdentifiers: %v", err)
	}
	if len(got.pages) != 2 || got.records != 4 || got.pages[0].Token.CompleteListSize != 2 {
		t.Errorf("%d pages, %d headers", len(got.pages), got.records)
	}
	if len(rawQueries) != 2 || !strings.Contains(rawQueries[1], "resumptionToken=metadataPrefix%253Doai_dc%2526set%253DDATACITE.DATACITE") {
		t.Errorf("queries = %q", rawQueries)
	}

	rec, err := c.GetRecord(ctx, "doi:10.5072/not-a-real-doi")
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	if !bytes.HasPrefix(rec.Metadata, []byte("<oai_datacite ")) || !bytes.Contains(rec.Metadata, []byte(`<identifier identifierType="DOI">10.5072/not-a-real-doi</identifier>`)) {
		t.Errorf("metadata = %.200q", rec.Metadata)
	}
}

func TestClientIdentifyFormatsSets(t *testing.T) {
	viringo := sampleDir(t, "datacite-viringo")
	sickle := sampleDir(t, "sickle")
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		files := map[string]string{
			VerbIdentify:            filepath.Join(viringo, "oai_identify.xml"),
			VerbListMetadataFormats: filepath.Join(viringo, "oai_listmetadataformats.xml"),
			VerbListSets:            filepath.Join(sickle, "ListSets.xml"),
		}
		if r.URL.Path == "/nosets" {
			files[VerbListSets] = filepath.Join(sickle, "noSetHierarchy.xml")
		}
		b, err := os.ReadFile(files[r.URL.Query().Get("verb")])
		if err != nil {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	})
	ctx := context.Background()
	c := testClient(t, srv.URL+"/oai", nil)
	id, err := c.Identify(ctx)
	if err != nil || id.Granularity != GranularitySeconds || id.DeletedRecord != "persistent" || id.EarliestDatestamp != "2011-01-01T00:00:00Z" {
		t.Errorf("Identify = %+v, %v", id, err)
	}
	formats, err := c.ListMetadataFormats(ctx, "")
	if err != nil || len(formats) != 3 || formats[1].MetadataPrefix != "oai_datacite" {
		t.Errorf("ListMetadataFormats = %+v, %v", formats, err)
	}
	sets, err := c.ListSets(ctx)
	if err != nil || len(sets) != 131 {
		t.Errorf("ListSets = %d sets, %v", len(sets), err)
	}
	_, err = testClient(t, srv.URL+"/nosets", nil).ListSets(ctx)
	if !errors.Is(err, ErrNoSetHierarchy) {
		t.Errorf("ListSets without sets: %v", err)
	}
}

// listPage renders a minimal ListRecords page with n records and a token.
func listPage(n int, token string, extra string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">`)
	b.WriteString(`<responseDate>2024-01-01T00:00:00Z</responseDate><request verb="ListRecords">http://x/oai</request><ListRecords>`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<record><header><identifier>oai:x:%d</identifier><datestamp>2024-01-01</datestamp></header>`+
			`<metadata><dc xmlns="http://purl.org/dc/elements/1.1/"><title>t%d%s</title></dc></metadata></record>`, i, i, extra)
	}
	if token != "-" {
		fmt.Fprintf(&b, `<resumptionToken>%s</resumptionToken>`, token)
	}
	b.WriteString(`</ListRecords></OAI-PMH>`)
	return []byte(b.String())
}

func TestClientRetries(t *testing.T) {
	tests := []struct {
		name      string
		failures  int // responses before the good one
		fail      func(w http.ResponseWriter)
		cfg       func(*Config)
		minGap    time.Duration // minimum time between first and second request
		maxGap    time.Duration
		wantErr   error
		wantCalls int
	}{
		{
			name: "503 Retry-After seconds", failures: 1,
			fail: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			minGap: 950 * time.Millisecond, maxGap: 3 * time.Second, wantCalls: 2,
		},
		{
			name: "503 Retry-After capped", failures: 1,
			fail: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusServiceUnavailable)
			},
			cfg:    func(c *Config) { c.RetryAfterCap = 150 * time.Millisecond },
			minGap: 140 * time.Millisecond, maxGap: 2 * time.Second, wantCalls: 2,
		},
		{
			name: "429 Retry-After HTTP date", failures: 1,
			fail: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
			},
			minGap: 900 * time.Millisecond, maxGap: 3 * time.Second, wantCalls: 2,
		},
		{
			name: "429 without Retry-After", failures: 2,
			fail: func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) },
			// exponential backoff from RetryInitialInterval
			cfg: func(c *Config) {
				c.RetryInitialInterval = 50 * time.Millisecond
				c.RetryMaxInterval = 200 * time.Millisecond
			},
			// 50ms randomised by ±50%
			minGap: 20 * time.Millisecond, maxGap: 2 * time.Second, wantCalls: 3,
		},
		{
			name: "connection dropped", failures: 1,
			fail: func(w http.ResponseWriter) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			},
			wantCalls: 2,
		},
		{
			name: "body cut short", failures: 1,
			fail: func(w http.ResponseWriter) {
				w.Header().Set("Content-Length", "5000")
				_, _ = w.Write(listPage(3, "", "")[:300])
			},
			wantCalls: 2,
		},
		{
			name: "exhausted", failures: 100,
			fail: func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
			cfg:  func(c *Config) { c.MaxRetries = 2 }, wantErr: fetch.ErrHTTPStatus, wantCalls: 3,
		},
		{
			name: "retries disabled", failures: 100,
			fail: func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) },
			cfg:  func(c *Config) { c.MaxRetries = -1 }, wantErr: fetch.ErrHTTPStatus, wantCalls: 1,
		},
		{
			name: "404 not retried", failures: 100,
			fail: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte("<html><body>not found</body></html>"))
			},
			wantErr: fetch.ErrHTTPStatus, wantCalls: 1,
		},
		{
			name: "400 with an OAI-PMH error body", failures: 100,
			fail: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`<OAI-PMH><responseDate>2020-01-01</responseDate><error code="badArgument">bad from</error></OAI-PMH>`))
			},
			wantErr: ErrBadArgument, wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if n <= tt.failures {
					tt.fail(w)
					return
				}
				_, _ = w.Write(listPage(3, "", ""))
			})
			c := testClient(t, srv.URL+"/oai", tt.cfg)
			var got collected
			err := c.ListRecords(context.Background(), ListRequest{}, got.fn)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || got.records != 3 {
				t.Fatalf("err = %v, %d records", err, got.records)
			}
			if rec.count() != tt.wantCalls {
				t.Errorf("%d requests, want %d", rec.count(), tt.wantCalls)
			}
			if tt.minGap > 0 {
				gap := rec.times[1].Sub(rec.times[0])
				if gap < tt.minGap || gap > tt.maxGap {
					t.Errorf("gap between attempts %v, want [%v, %v]", gap, tt.minGap, tt.maxGap)
				}
			}
			var he *fetch.HTTPError
			if tt.wantErr == fetch.ErrHTTPStatus && (!errors.As(err, &he) || he.URL != srv.URL+"/oai?metadataPrefix=oai_dc&verb=ListRecords") {
				t.Errorf("HTTPError = %+v", he)
			}
		})
	}
}

func TestClientPageTimeoutRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		_, _ = w.Write(listPage(2, "", ""))
	})
	c := testClient(t, srv.URL, func(c *Config) { c.PageTimeout = 100 * time.Millisecond })
	var got collected
	if err := c.ListRecords(context.Background(), ListRequest{}, got.fn); err != nil || got.records != 2 {
		t.Fatalf("err = %v, records %d", err, got.records)
	}
}

func TestClientContextCancelledDuringRetryAfter(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c := testClient(t, srv.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.ListRecords(ctx, ListRequest{}, (&collected{}).fn)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestClientTokenLoop(t *testing.T) {
	tests := []struct {
		name   string
		tokens map[string]string // request token → next token
		pages  int
	}{
		{"same token", map[string]string{"": "A", "A": "A"}, 2},
		{"cycle", map[string]string{"": "A", "A": "B", "B": "C", "C": "A"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(listPage(1, tt.tokens[r.URL.Query().Get("resumptionToken")], ""))
			})
			c := testClient(t, srv.URL, nil)
			var got collected
			err := c.ListRecords(context.Background(), ListRequest{}, got.fn)
			if !errors.Is(err, ErrTokenLoop) {
				t.Fatalf("err = %v, want ErrTokenLoop", err)
			}
			if len(got.pages) != tt.pages {
				t.Errorf("%d pages, want %d", len(got.pages), tt.pages)
			}
		})
	}
}

// TestClientTokenCap checks that a resumption token over MaxTokenBytes
// fails the list as a protocol error naming the cap, before the page that
// carries it reaches the PageFunc, and that resuming with one fails too.
func TestClientTokenCap(t *testing.T) {
	huge := strings.Repeat("t", 3<<20) // a few MB, inside a 64 MiB page
	tests := []struct {
		name   string
		next   map[string]string // request token → next token
		resume string
		max    int
		pages  int // pages handed to the PageFunc
		err    bool
	}{
		{"a token at the cap is followed", map[string]string{"": strings.Repeat("a", 8<<10), strings.Repeat("a", 8<<10): "-"}, "", 0, 2, false},
		{"a token over the default cap", map[string]string{"": "A", "A": huge}, "", 0, 1, true},
		{"a token over a configured cap", map[string]string{"": "ABCDEFGHIJ"}, "", 9, 0, true},
		{"resumed with a token over the cap", map[string]string{huge: "-"}, huge, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(listPage(1, tt.next[r.URL.Query().Get("resumptionToken")], ""))
			})
			c := testClient(t, srv.URL, func(c *Config) { c.MaxTokenBytes = tt.max })
			var got collected
			err := c.ListRecords(context.Background(), ListRequest{ResumeToken: tt.resume}, got.fn)
			if len(got.pages) != tt.pages {
				t.Errorf("%d pages handed on, want %d", len(got.pages), tt.pages)
			}
			if !tt.err {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrTokenTooLarge) || !errors.Is(err, ErrProtocol) || errors.Is(err, ErrBadResumptionToken) {
				t.Fatalf("err = %.300v, want ErrTokenTooLarge (a protocol error)", err)
			}
			if !strings.Contains(err.Error(), "MaxTokenBytes") || len(err.Error()) > 4<<10 {
				t.Errorf("error does not name the cap or quotes the token: %.300s (%d bytes)", err, len(err.Error()))
			}
			if tt.resume != "" && rec.count() != 0 {
				t.Errorf("%d requests with a token over the cap", rec.count())
			}
		})
	}
}

// TestShownURL checks that a URL is quoted whole up to MaxShownURLBytes and
// clipped, with its length, beyond.
func TestShownURL(t *testing.T) {
	short := "https://example.org/oai?verb=ListRecords&resumptionToken=abc"
	if got := ShownURL(short); got != short {
		t.Errorf("ShownURL(%q) = %q", short, got)
	}
	long := "https://example.org/oai?resumptionToken=" + strings.Repeat("é", 1<<20)
	got := ShownURL(long)
	if len(got) > MaxShownURLBytes+64 || !strings.HasPrefix(got, "https://example.org/oai?resumptionToken=") ||
		!strings.Contains(got, fmt.Sprintf("(%d bytes, sha256 ", len(long))) || !utf8.ValidString(got) {
		t.Errorf("ShownURL of %d bytes = %.200q… (%d bytes)", len(long), got, len(got))
	}
	if other := ShownURL(long + "x"); other[len(other)-20:] == got[len(got)-20:] {
		t.Errorf("two long URLs are shown alike: %q", other[len(other)-40:])
	}
}

// TestClientErrorsClipURLs checks that the errors of a page whose URL is
// long (a long token) quote it clipped.
func TestClientErrorsClipURLs(t *testing.T) {
	token := strings.Repeat("k", 6<<10)
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("resumptionToken") == "" {
			_, _ = w.Write(listPage(1, token, ""))
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	c := testClient(t, srv.URL, nil)
	err := c.ListRecords(context.Background(), ListRequest{}, (&collected{}).fn)
	if !errors.Is(err, fetch.ErrHTTPStatus) || len(err.Error()) > MaxShownURLBytes+200 {
		t.Fatalf("err = %.300v (%d bytes)", err, len(err.Error()))
	}
}

func TestClientPageFuncError(t *testing.T) {
	srv, rec := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/ListRecords.xml", nil)
	stop := errors.New("checkpoint failed")
	pages := 0
	err := c.ListRecords(context.Background(), ListRequest{}, func(context.Context, *Page, string) error {
		pages++
		if pages == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || pages != 2 || rec.count() != 2 {
		t.Fatalf("err = %v, pages %d, requests %d", err, pages, rec.count())
	}
}

func TestClientControlCharactersAndOversized(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		page := listPage(3, "", "\x01\x02")
		// make record 1 large
		page = bytes.Replace(page, []byte("<title>t1"), []byte("<title>"+strings.Repeat("x", 2000)+"t1"), 1)
		_, _ = w.Write(page)
	})
	c := testClient(t, srv.URL, func(c *Config) { c.MaxRecordBytes = 1000 })
	var got collected
	if err := c.ListRecords(context.Background(), ListRequest{}, got.fn); err != nil {
		t.Fatal(err)
	}
	p := got.pages[0]
	if len(p.Records) != 2 || len(p.Oversized) != 1 || p.Oversized[0].Identifier != "oai:x:1" || p.Repairs != 6 {
		t.Errorf("records %d, oversized %+v, repairs %d", len(p.Records), p.Oversized, p.Repairs)
	}
	if !bytes.Contains(p.Records[1].Metadata, []byte("t2\uFFFD\uFFFD")) {
		t.Errorf("metadata = %q", p.Records[1].Metadata)
	}
}

func TestClientCompression(t *testing.T) {
	page := listPage(5, "", "")
	encoders := map[string]func(io.Writer) io.WriteCloser{
		"gzip":         func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"deflate":      func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) },
		"deflate-raw":  func(w io.Writer) io.WriteCloser { z, _ := flate.NewWriter(w, 5); return z },
		"identity":     nil,
		"not-declared": nil,
	}
	for name, enc := range encoders {
		t.Run(name, func(t *testing.T) {
			srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || !strings.Contains(r.Header.Get("Accept-Encoding"), "deflate") {
					t.Errorf("Accept-Encoding = %q", r.Header.Get("Accept-Encoding"))
				}
				if enc == nil {
					if name == "identity" {
						w.Header().Set("Content-Encoding", "identity")
					}
					_, _ = w.Write(page)
					return
				}
				w.Header().Set("Content-Encoding", strings.TrimSuffix(name, "-raw"))
				zw := enc(w)
				_, _ = zw.Write(page)
				_ = zw.Close()
			})
			c := testClient(t, srv.URL, nil)
			var got collected
			if err := c.ListRecords(context.Background(), ListRequest{}, got.fn); err != nil || got.records != 5 {
				t.Fatalf("err = %v, records %d", err, got.records)
			}
		})
	}
}

func TestClientMaxPageBytes(t *testing.T) {
	page := listPage(20, "", "")
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(page)
		_ = zw.Close()
	})
	for _, tt := range []struct {
		limit   int64
		wantErr bool
	}{{int64(len(page)) - 1, true}, {int64(len(page)), false}} {
		c := testClient(t, srv.URL, func(c *Config) { c.MaxPageBytes = tt.limit })
		err := c.ListRecords(context.Background(), ListRequest{}, (&collected{}).fn)
		if got := errors.Is(err, fetch.ErrPageTooLarge); got != tt.wantErr {
			t.Errorf("limit %d: err = %v", tt.limit, err)
		}
	}
	if rec.count() != 2 {
		t.Errorf("%d requests: a page that is too large must not be retried", rec.count())
	}
}

func TestClientRateLimit(t *testing.T) {
	srv, rec := serve(t, fileHandler(t, sampleDir(t, "sickle")))
	c := testClient(t, srv.URL+"/ListRecords.xml", func(c *Config) { c.RateLimit = 60 * time.Millisecond })
	if err := c.ListRecords(context.Background(), ListRequest{}, (&collected{}).fn); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(rec.times); i++ {
		if gap := rec.times[i].Sub(rec.times[i-1]); gap < 55*time.Millisecond {
			t.Errorf("gap %d = %v, want >= 60ms", i, gap)
		}
	}
}

func TestClientUserAgent(t *testing.T) {
	var ua string
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		ua = r.Header.Get("User-Agent")
		_, _ = w.Write(listPage(1, "", ""))
	})
	c := testClient(t, srv.URL, func(c *Config) { c.UserAgent = "fairway-test/9" })
	if err := c.ListRecords(context.Background(), ListRequest{}, (&collected{}).fn); err != nil || ua != "fairway-test/9" {
		t.Fatalf("err = %v, User-Agent %q", err, ua)
	}
}

// TestConfigValidate checks that every check of Config.Validate fires: each
// invalid row names the field its error must name.
func TestConfigValidate(t *testing.T) {
	const base = "https://example.org/oai"
	tests := []struct {
		name string
		cfg  Config
		want string // a part of the error; "" for a valid config
	}{
		{"ok", Config{BaseURL: base}, ""},
		{"ok with query", Config{BaseURL: "http://example.org/oai?key=1"}, ""},
		{"missing", Config{}, "BaseURL is required"},
		{"unparsable", Config{BaseURL: "http://exa mple.org/%zz"}, "BaseURL"},
		{"relative", Config{BaseURL: "/oai"}, "not an absolute http(s) URL"},
		{"ftp", Config{BaseURL: "ftp://example.org/oai"}, "not an absolute http(s) URL"},
		{"fragment", Config{BaseURL: base + "#x"}, "fragment"},
		{"negative timeout", Config{BaseURL: base, Transport: fetch.Transport{PageTimeout: -1}}, "PageTimeout"},
		{"negative page bytes", Config{BaseURL: base, Transport: fetch.Transport{MaxPageBytes: -1}}, "MaxPageBytes"},
		{"negative rate", Config{BaseURL: base, Transport: fetch.Transport{RateLimit: -time.Second}}, "RateLimit"},
		{"negative backoff", Config{BaseURL: base, Transport: fetch.Transport{RetryInitialInterval: -1}}, "RetryInitialInterval"},
		{"negative backoff cap", Config{BaseURL: base, Transport: fetch.Transport{RetryMaxInterval: -1}}, "RetryMaxInterval"},
		{"negative Retry-After cap", Config{BaseURL: base, Transport: fetch.Transport{RetryAfterCap: -1}}, "RetryAfterCap"},
		{"negative retries ok", Config{BaseURL: base, Transport: fetch.Transport{MaxRetries: -1}}, ""},
		{"negative record bytes", Config{BaseURL: base, MaxRecordBytes: -1}, "MaxRecordBytes"},
		{"negative token history", Config{BaseURL: base, TokenHistory: -1}, "TokenHistory"},
		{"negative token bytes", Config{BaseURL: base, MaxTokenBytes: -1}, "MaxTokenBytes"},
		{"prefix with space", Config{BaseURL: base, MetadataPrefix: "oai dc"}, "MetadataPrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != (tt.want != "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.want)
			}
			if _, nerr := NewClient(tt.cfg); (nerr != nil) != (tt.want != "") {
				t.Errorf("NewClient() = %v, want an error naming %q", nerr, tt.want)
			}
		})
	}
	d := Config{BaseURL: base}
	d.SetDefaults()
	if d.MetadataPrefix != "oai_dc" || d.PageTimeout != time.Minute || d.MaxRetries != 5 || d.MaxPageBytes != 64<<20 ||
		d.MaxRecordBytes != 4<<20 || d.RetryAfterCap != 5*time.Minute || d.RateLimit != 0 || d.UserAgent != DefaultUserAgent ||
		d.MaxTokenBytes != 8<<10 || d.TokenHistory != DefaultTokenHistory {
		t.Errorf("defaults = %+v", d)
	}
}

func TestRequestURLEncodesTokenOnce(t *testing.T) {
	c := testClient(t, "https://example.org/oai?a=1", nil)
	got := c.requestURL(url.Values{"verb": {"ListRecords"}, "resumptionToken": {"a%3Db&c d"}})
	if want := "https://example.org/oai?a=1&resumptionToken=a%253Db%26c+d&verb=ListRecords"; got != want {
		t.Errorf("requestURL = %q, want %q", got, want)
	}
}
