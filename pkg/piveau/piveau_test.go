package piveau_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/piveau"
	"github.com/panosc/fairway/pkg/urlguard"
)

const key = "s3cret-key-1234"

func turtle(id, title string) []byte {
	return fmt.Appendf(nil, `@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://node.example.org/datasets/%s> a dcat:Dataset ;
    dct:title %q@en ;
    dct:identifier %q .
`, url.PathEscape(id), title, id)
}

// fast is a transport that retries quickly, so that tests of retries take
// milliseconds.
var fast = fetch.Transport{MaxRetries: 3, RetryInitialInterval: time.Millisecond, RetryMaxInterval: 5 * time.Millisecond,
	RetryAfterCap: 10 * time.Millisecond, PageTimeout: 5 * time.Second}

func newClient(t testing.TB, srv *piveautest.Server, mod func(*piveau.Config)) (*piveau.Client, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	cfg := piveau.Config{BaseURL: srv.URL, Catalogue: "panosc", APIKey: key, Transport: fast,
		HTTPClient: urlguard.Policy{AllowPrivate: true}.HTTPClient(nil),
		Logger:     slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	c, err := piveau.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConfigValidate(t *testing.T) {
	ok := piveau.Config{BaseURL: "https://hub.example.org", Catalogue: "panosc", APIKey: "k"}
	for _, tc := range []struct {
		name string
		mod  func(*piveau.Config)
		want string
	}{
		{"valid", func(*piveau.Config) {}, ""},
		{"bearer", func(c *piveau.Config) { c.APIKey, c.BearerToken = "", "tok" }, ""},
		{"no base", func(c *piveau.Config) { c.BaseURL = "" }, "BaseURL"},
		{"ftp base", func(c *piveau.Config) { c.BaseURL = "ftp://hub" }, "BaseURL"},
		{"base with user", func(c *piveau.Config) { c.BaseURL = "https://u:pw@hub" }, "credentials"},
		{"base with query", func(c *piveau.Config) { c.BaseURL = "https://hub/?a=b" }, "query"},
		{"no catalogue", func(c *piveau.Config) { c.Catalogue = "" }, "Catalogue"},
		{"catalogue with slash", func(c *piveau.Config) { c.Catalogue = "a/b" }, "Catalogue"},
		{"no credentials", func(c *piveau.Config) { c.APIKey = "" }, "required"},
		{"both credentials", func(c *piveau.Config) { c.BearerToken = "t" }, "exclusive"},
		{"key with newline", func(c *piveau.Config) { c.APIKey = "a\nb" }, "control"},
		{"page too large", func(c *piveau.Config) { c.PageSize = 5001 }, "PageSize"},
		{"negative timeout", func(c *piveau.Config) { c.PageTimeout = -1 }, "PageTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, piveau.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig about %q", err, tc.want)
			}
			if cfg.APIKey != "" && strings.Contains(err.Error(), cfg.APIKey) && len(cfg.APIKey) > 1 {
				t.Fatalf("error quotes the key: %v", err)
			}
		})
	}
	if s := fmt.Sprint(piveau.Config{APIKey: key}); strings.Contains(s, key) {
		t.Fatalf("String leaks the key: %s", s)
	}
}

func TestPutOutcomes(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		body   []byte
		want   piveau.Outcome
		writes int
	}{
		{"new dataset", turtle("ds-1", "One"), piveau.Created, 1},
		{"same again", turtle("ds-1", "One"), piveau.Unchanged, 1},
		{"changed", turtle("ds-1", "One, revised"), piveau.Updated, 2},
		{"changed back", turtle("ds-1", "One"), piveau.Updated, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Put(ctx, "ds-1", tc.body)
			if err != nil || got != tc.want {
				t.Fatalf("Put = %v, %v; want %v", got, err, tc.want)
			}
			if w := srv.Writes("panosc", "ds-1"); w != tc.writes {
				t.Fatalf("writes = %d, want %d", w, tc.writes)
			}
			if held := srv.Datasets("panosc")["ds-1"]; !bytes.Equal(held, tc.body) {
				t.Fatalf("hub holds %q", held)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*piveautest.Server)
		mod   func(*piveau.Config)
		call  func(*piveau.Client) error
		want  []error
		not   []error
		text  string
	}{
		{"wrong key", nil, func(c *piveau.Config) { c.APIKey = "wrong-key-5678" },
			put("a"), []error{piveau.ErrUnauthorized, fetch.ErrUnauthorized, fetch.ErrHTTPStatus}, []error{piveau.ErrRetryLater}, "401"},
		{"bearer refused", nil, func(c *piveau.Config) { c.APIKey, c.BearerToken = "", "tok-abcdef" },
			put("a"), []error{piveau.ErrUnauthorized}, nil, "Unauthorized"},
		{"forbidden", func(s *piveautest.Server) { s.Fail(piveautest.Fault{Status: 403, Body: "Forbidden"}) }, nil,
			put("a"), []error{piveau.ErrUnauthorized}, nil, "403"},
		{"refused id", func(s *piveautest.Server) { s.Refuse("a", "Validation failed: dct:title is required") }, nil,
			put("a"), []error{piveau.ErrRefused}, []error{piveau.ErrRetryLater}, "dct:title is required"},
		{"400", func(s *piveautest.Server) { s.Fail(piveautest.Fault{Status: 400, Body: "Invalid RDF"}) }, nil,
			put("a"), []error{piveau.ErrRefused}, nil, "Invalid RDF"},
		{"hub echoes the key", func(s *piveautest.Server) {
			s.Fail(piveautest.Fault{Status: 422, Body: "key " + key + " may not write here"})
		}, nil, put("a"), []error{piveau.ErrRefused}, nil, "key [redacted] may not write here"},
		{"conflict", func(s *piveautest.Server) { s.Fail(piveautest.Fault{Status: 409, Body: "Conflict"}) }, nil,
			put("a"), []error{piveau.ErrConflict}, nil, "409"},
		{"unknown catalogue", nil, func(c *piveau.Config) { c.Catalogue = "other" },
			put("a"), []error{piveau.ErrCatalogueNotFound, piveau.ErrNotFound}, nil, "Catalogue not found"},
		{"503 until the retries are spent", func(s *piveautest.Server) { s.Unavailable(10, "1") }, nil,
			put("a"), []error{piveau.ErrRetryLater, fetch.ErrGaveUp}, []error{piveau.ErrRefused}, "503"},
		{"429 until the retries are spent", func(s *piveautest.Server) { s.Throttle(10, "1") }, nil,
			put("a"), []error{piveau.ErrRetryLater}, nil, "429"},
		{"connection refused", func(s *piveautest.Server) { s.Down() }, nil,
			put("a"), []error{piveau.ErrRetryLater}, nil, "refused"},
		{"two datasets", nil, nil, func(c *piveau.Client) error {
			_, err := c.Put(context.Background(), "a", append(turtle("a", "A"), turtle("b", "B")...))
			return err
		}, []error{piveau.ErrInvalidDataset}, nil, "2 dcat:Dataset"},
		{"no dataset", nil, nil, func(c *piveau.Client) error {
			_, err := c.Put(context.Background(), "a", []byte(`<http://x/a> <http://purl.org/dc/terms/title> "x" .`))
			return err
		}, []error{piveau.ErrInvalidDataset}, nil, "no dcat:Dataset"},
		{"not turtle", nil, nil, func(c *piveau.Client) error {
			_, err := c.Put(context.Background(), "a", []byte(`<rdf:RDF>`))
			return err
		}, []error{piveau.ErrInvalidDataset}, nil, "Turtle"},
		{"empty id", nil, nil, put(""), []error{piveau.ErrInvalidDataset}, nil, "empty"},
		{"delete in unknown catalogue", nil, func(c *piveau.Config) { c.Catalogue = "other" }, func(c *piveau.Client) error {
			_, err := c.Delete(context.Background(), "a")
			return err
		}, []error{piveau.ErrCatalogueNotFound}, nil, "Catalogue not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := piveautest.Start(piveautest.Config{APIKey: key, BearerToken: "other-token", Catalogues: []string{"panosc"}})
			defer srv.Close()
			if tc.setup != nil {
				tc.setup(srv)
			}
			c, logs := newClient(t, srv, tc.mod)
			err := tc.call(c)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v does not match %v", err, w)
				}
			}
			for _, w := range tc.not {
				if errors.Is(err, w) {
					t.Errorf("error %v matches %v", err, w)
				}
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
			cfg := c.Config()
			for _, secret := range []string{cfg.APIKey, cfg.BearerToken} {
				if secret != "" && (strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret)) {
					t.Errorf("credential leaked: %v / %s", err, logs)
				}
			}
		})
	}
}

func put(id string) func(*piveau.Client) error {
	return func(c *piveau.Client) error {
		_, err := c.Put(context.Background(), id, turtle(id, "T"))
		return err
	}
}

func TestTwoDatasetsAreNotSent(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	if _, err := c.Put(context.Background(), "a", append(turtle("a", "A"), turtle("b", "B")...)); !errors.Is(err, piveau.ErrInvalidDataset) {
		t.Fatalf("Put = %v", err)
	}
	if n := srv.Count(piveautest.RoutePutDataset); n != 0 {
		t.Fatalf("%d PUTs reached the hub", n)
	}
}

func TestRetriedPutLeavesOneResource(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, logs := newClient(t, srv, nil)
	srv.Unavailable(2, "0")
	got, err := c.Put(context.Background(), "ds-1", turtle("ds-1", "One"))
	if err != nil || got != piveau.Created {
		t.Fatalf("Put = %v, %v", got, err)
	}
	if n := srv.Count(piveautest.RoutePutDataset); n != 3 {
		t.Fatalf("%d PUTs, want 3 (two 503, one success)", n)
	}
	if held := srv.Datasets("panosc"); len(held) != 1 || srv.Writes("panosc", "ds-1") != 1 {
		t.Fatalf("hub holds %d datasets, %d writes", len(held), srv.Writes("panosc", "ds-1"))
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Fatalf("no retry logged: %s", logs)
	}
	// The retry of a PUT whose first answer was lost (the hub stored it):
	// the next attempt is Unchanged, still one resource.
	got, err = c.Put(context.Background(), "ds-1", turtle("ds-1", "One"))
	if err != nil || got != piveau.Unchanged || srv.Writes("panosc", "ds-1") != 1 {
		t.Fatalf("second Put = %v, %v, writes %d", got, err, srv.Writes("panosc", "ds-1"))
	}
}

func TestDownThenUp(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, func(c *piveau.Config) {
		c.MaxRetries = 50
		c.RetryInitialInterval = 10 * time.Millisecond
		c.RetryMaxInterval = 10 * time.Millisecond
	})
	srv.Down()
	done := make(chan error, 1)
	go func() {
		_, err := c.Put(context.Background(), "ds-1", turtle("ds-1", "One"))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Put after the hub came back: %v", err)
	}
	if srv.Writes("panosc", "ds-1") != 1 {
		t.Fatalf("writes = %d", srv.Writes("panosc", "ds-1"))
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, logs := newClient(t, srv, func(c *piveau.Config) { c.RetryAfterCap = time.Minute })
	srv.Throttle(1, "1")
	start := time.Now()
	if _, err := c.Put(context.Background(), "a", turtle("a", "A")); err != nil {
		t.Fatal(err)
	}
	// The wait is the hub's, not the 1 ms backoff: at least the second.
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %v, before the hub's Retry-After of 1s", waited)
	}
	if !strings.Contains(logs.String(), "wait=1s") {
		t.Fatalf("log does not show the wait: %s", logs)
	}
}

func TestRetryLaterCarriesRetryAfter(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, func(c *piveau.Config) { c.MaxRetries = -1; c.RetryAfterCap = time.Hour })
	srv.Unavailable(1, "120")
	_, err := c.Put(context.Background(), "a", turtle("a", "A"))
	var rl *piveau.RetryLaterError
	if !errors.As(err, &rl) || rl.After != 2*time.Minute {
		t.Fatalf("Put = %v, want a RetryLaterError after 2m", err)
	}
}

func TestDelete(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	srv.Seed("panosc", "theirs", turtle("theirs", "Not ours"))
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	if _, err := c.Put(ctx, "ds-1", turtle("ds-1", "One")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want piveau.Outcome
	}{
		{"ds-1", piveau.Deleted},
		{"ds-1", piveau.AlreadyGone},
		{"never-there", piveau.AlreadyGone},
	} {
		if got, err := c.Delete(ctx, tc.id); err != nil || got != tc.want {
			t.Fatalf("Delete(%s) = %v, %v; want %v", tc.id, got, err, tc.want)
		}
	}
	if held := srv.Datasets("panosc"); len(held) != 1 || held["theirs"] == nil {
		t.Fatalf("hub holds %v", held)
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		n     int
		paged bool
		pages int
	}{
		{0, false, 1}, {9, false, 1}, {10, false, 2}, {35, false, 1},
		{0, true, 1}, {1, true, 1}, {10, true, 2}, {11, true, 2}, {35, true, 4},
	} {
		t.Run(fmt.Sprintf("%d paged=%v", tc.n, tc.paged), func(t *testing.T) {
			srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc", "other"}, PageOriginalIDs: tc.paged})
			defer srv.Close()
			want := map[string]bool{}
			for i := range tc.n {
				id := fmt.Sprintf("ds-%03d", i)
				srv.Seed("panosc", id, turtle(id, "T"))
				want[id] = true
			}
			srv.Seed("other", "elsewhere", turtle("elsewhere", "T"))
			c, _ := newClient(t, srv, func(c *piveau.Config) { c.PageSize = 10 })
			ids, err := c.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != tc.n {
				t.Fatalf("List = %d identifiers, want %d", len(ids), tc.n)
			}
			for _, id := range ids {
				if !want[id] {
					t.Fatalf("unexpected %q", id)
				}
			}
			if pages := srv.Count(piveautest.RouteList); pages != tc.pages {
				t.Fatalf("%d requests, want %d", pages, tc.pages)
			}
		})
	}
}

func TestListErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want error
	}{
		{"not an array", `{"a":1}`, piveau.ErrMalformedResponse},
		{"numbers", `[1,2]`, piveau.ErrMalformedResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/catalogues/panosc/datasets", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(tc.body))
			})
			c, err := piveau.New(piveau.Config{BaseURL: httptestServer(t, mux), Catalogue: "panosc", APIKey: key, Transport: fast})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.List(context.Background()); !errors.Is(err, tc.want) {
				t.Fatalf("List = %v, want %v", err, tc.want)
			}
		})
	}
	srv := piveautest.Start(piveautest.Config{APIKey: key})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	if _, err := c.List(context.Background()); !errors.Is(err, piveau.ErrCatalogueNotFound) {
		t.Fatalf("List of a missing catalogue = %v", err)
	}
}

func TestHostileIDs(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	for _, id := range []string{
		"10.5281/zenodo.123?x=1&originalId=evil#frag",
		"a b+c%20d/../../catalogues/other",
		"ünïcødé/日本",
		strings.Repeat("x/", 3000),
	} {
		if got, err := c.Put(ctx, id, turtle(id, "T")); err != nil || got != piveau.Created {
			t.Fatalf("Put(%.40q) = %v, %v", id, got, err)
		}
		if srv.Datasets("panosc")[id] == nil {
			t.Fatalf("hub did not store %.40q under its own identifier: %v", id, keys(srv.Datasets("panosc")))
		}
		if got, err := c.Delete(ctx, id); err != nil || got != piveau.Deleted {
			t.Fatalf("Delete(%.40q) = %v, %v", id, got, err)
		}
	}
	if n := srv.Count(piveautest.RouteOther); n != 0 {
		t.Fatalf("%d requests went to another route", n)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k[:min(len(k), 40)])
	}
	return out
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     piveautest.Config
		mod     func(*piveau.Config)
		want    error
		text    string
		created bool
	}{
		{"all good", piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}}, nil, nil, "", false},
		{"catalogue created", piveautest.Config{APIKey: key}, func(c *piveau.Config) { c.CreateCatalogue = true }, nil, "", true},
		{"catalogue missing", piveautest.Config{APIKey: key}, nil, piveau.ErrCatalogueNotFound, "CreateCatalogue is off", false},
		{"wrong key", piveautest.Config{APIKey: "another-key-0000", Catalogues: []string{"panosc"}}, nil, piveau.ErrUnauthorized, "refuses the credentials", false},
		{"wrong key, no catalogue to create", piveautest.Config{APIKey: "another-key-0000"}, func(c *piveau.Config) { c.CreateCatalogue = true }, piveau.ErrUnauthorized, "creating catalogue", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := piveautest.Start(tc.cfg)
			defer srv.Close()
			c, _ := newClient(t, srv, tc.mod)
			err := c.Check(context.Background())
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("Check = %q, want it to say %q", err, tc.text)
			}
			if tc.created != (srv.CatalogueTurtle("panosc") != nil) {
				t.Fatalf("catalogue created = %v", !tc.created)
			}
			if tc.created && !bytes.Contains(srv.CatalogueTurtle("panosc"), []byte(`dct:type "dcat-ap"`)) {
				t.Fatalf("catalogue sent: %s", srv.CatalogueTurtle("panosc"))
			}
		})
	}
}

func TestCheckBaseNotAHub(t *testing.T) {
	srv := httptestServer(t, http.NotFoundHandler())
	c, _ := piveau.New(piveau.Config{BaseURL: srv, Catalogue: "panosc", APIKey: key, Transport: fast})
	// An unknown route is a 404 without "Catalogue not found": not a
	// missing catalogue to create.
	err := c.Check(context.Background())
	if !errors.Is(err, piveau.ErrNotFound) || errors.Is(err, piveau.ErrCatalogueNotFound) || !strings.Contains(err.Error(), "BaseURL") {
		t.Fatalf("Check = %v, want a 404 that is not a missing catalogue", err)
	}
}

func TestPutCreatesMissingCatalogue(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key})
	defer srv.Close()
	c, _ := newClient(t, srv, func(c *piveau.Config) { c.CreateCatalogue = true })
	if got, err := c.Put(context.Background(), "a", turtle("a", "A")); err != nil || got != piveau.Created {
		t.Fatalf("Put = %v, %v", got, err)
	}
	if !srv.HasCatalogue("panosc") || srv.Writes("panosc", "a") != 1 {
		t.Fatal("catalogue or dataset missing")
	}
}

func TestAddressGuard(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, func(c *piveau.Config) { c.HTTPClient = urlguard.Policy{}.HTTPClient(nil) })
	_, err := c.Put(context.Background(), "a", turtle("a", "A"))
	if !errors.Is(err, urlguard.ErrForbiddenAddress) || errors.Is(err, piveau.ErrRetryLater) {
		t.Fatalf("Put to loopback = %v, want the guard's refusal, not retried", err)
	}
	if n := srv.Count(piveautest.RoutePutDataset); n != 0 {
		t.Fatalf("%d requests reached the hub", n)
	}
}

// TestConcurrentPuts puts 25 datasets twice each, side by side, while the
// hub answers its first requests with 503: each is written once. The hub
// refuses fewer requests than a put's attempts (4), so that no put can
// give up, whichever of them the refusals land on.
func TestConcurrentPuts(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	srv.Unavailable(3, "0")
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			id := fmt.Sprintf("ds-%d", i%25) // each twice
			if _, err := c.Put(context.Background(), id, turtle(id, "T")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	held := srv.Datasets("panosc")
	if len(held) != 25 {
		t.Fatalf("hub holds %d datasets", len(held))
	}
	for id := range held {
		if w := srv.Writes("panosc", id); w != 1 {
			t.Fatalf("%s written %d times", id, w)
		}
	}
}

// TestListIsBounded: a hub that answers with more identifiers than the
// client takes fails the list instead of filling the memory.
func TestListIsBounded(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}, PageOriginalIDs: true})
	defer srv.Close()
	for i := range 30 {
		id := fmt.Sprintf("ds-%03d", i)
		srv.Seed("panosc", id, turtle(id, "T"))
	}
	c, _ := newClient(t, srv, func(c *piveau.Config) { c.PageSize = 10; c.MaxListIDs = 25 })
	if _, err := c.List(context.Background()); !errors.Is(err, piveau.ErrMalformedResponse) {
		t.Errorf("List of 30 with a bound of 25 = %v, want ErrMalformedResponse", err)
	}
}

// TestPutRenderedSkipsTheParseOnly checks that PutRendered sends Turtle
// without parsing it (the hub receives what Put would have refused) and
// still checks the identifier and the size.
func TestPutRenderedSkipsTheParseOnly(t *testing.T) {
	srv := piveautest.Start(piveautest.Config{APIKey: key, Catalogues: []string{"panosc"}})
	defer srv.Close()
	c, _ := newClient(t, srv, nil)
	ctx := context.Background()
	if _, err := c.PutRendered(ctx, "a", turtle("a", "A")); err != nil {
		t.Fatalf("PutRendered = %v", err)
	}
	if n := srv.Count(piveautest.RoutePutDataset); n != 1 {
		t.Fatalf("%d PUTs reached the hub, want 1", n)
	}
	for name, tc := range map[string]struct {
		id     string
		turtle []byte
	}{
		"empty id":  {"", turtle("x", "X")},
		"too large": {"b", make([]byte, c.Config().MaxBodyBytes+1)},
	} {
		if _, err := c.PutRendered(ctx, tc.id, tc.turtle); !errors.Is(err, piveau.ErrInvalidDataset) {
			t.Errorf("%s: PutRendered = %v, want ErrInvalidDataset", name, err)
		}
	}
	if n := srv.Count(piveautest.RoutePutDataset); n != 1 {
		t.Fatalf("%d PUTs reached the hub after the refused ones, want 1", n)
	}
}
