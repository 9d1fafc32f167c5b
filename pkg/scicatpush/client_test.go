package scicatpush_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/pkg/fetch"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/scicatpush"
	"github.com/panosc/fairway/pkg/urlguard"
	"github.com/panosc/fairway/proto/fairwayv1"
)

const (
	user     = "fairway"
	password = "s3cret-pa55word"
)

// fixture is a test server and a client of it.
type fixture struct {
	srv    *scicattest.Server
	client *scicatpush.Client
	logs   *bytes.Buffer
}

func newFixture(t testing.TB, mod func(*scicatpush.Config)) fixture {
	t.Helper()
	srv := scicattest.Start(scicattest.Config{Users: map[string]string{user: password}})
	t.Cleanup(srv.Close)
	logs := &bytes.Buffer{}
	cfg := scicatpush.Config{
		BaseURL: srv.URL, Username: user, Password: password,
		OwnerGroup: "daphne", AccessGroups: []string{"public"},
		NodeBaseURL: "https://node.example",
		Transport: fetch.Transport{MaxRetries: 3, RetryInitialInterval: time.Millisecond,
			RetryMaxInterval: 5 * time.Millisecond, PageTimeout: 10 * time.Second},
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := scicatpush.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{srv: srv, client: c, logs: logs}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// corpus returns realistic datasets: the demo corpus, normalised, with
// the PaNET techniques of each record.
func corpus(t testing.TB, n int) ([]*fairwayv1.Dataset, [][]*fairwayv1.Technique) {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := samplefeed.NewCorpus(7, n*2)
	var ds []*fairwayv1.Dataset
	var ts [][]*fairwayv1.Technique
	for i := 0; i < c.Size && len(ds) < n; i++ {
		r := c.Record(i)
		if r.Deleted {
			continue
		}
		d, err := normaliser.Normalise(&fairwayv1.RawRecord{
			FeedId: "feed", Facility: r.Facility.Acronym, SourceKind: "oai-pmh", SourceIdentifier: r.Identifier,
			MetadataFormat: "oai_datacite", Payload: r.OAIDataCiteXML(),
		}, now)
		if err != nil {
			t.Fatalf("%s: %v", r.Identifier, err)
		}
		var techs []*fairwayv1.Technique
		for _, tc := range r.Techniques {
			techs = append(techs, &fairwayv1.Technique{
				Iri: "http://purl.org/pan-science/PaNET/" + tc.ID, Id: tc.ID, Label: tc.Label, MatchedBy: "label",
			})
		}
		ds = append(ds, d)
		ts = append(ts, techs)
	}
	return ds, ts
}

func TestConfigValidate(t *testing.T) {
	good := scicatpush.Config{BaseURL: "https://scicat.example.org", Username: "u", Password: "p"}
	for _, tc := range []struct {
		name string
		mod  func(*scicatpush.Config)
		ok   bool
	}{
		{"good", func(*scicatpush.Config) {}, true},
		{"api suffix", func(c *scicatpush.Config) { c.BaseURL += "/api" }, true},
		{"no base", func(c *scicatpush.Config) { c.BaseURL = "" }, false},
		{"ftp", func(c *scicatpush.Config) { c.BaseURL = "ftp://x.org" }, false},
		{"credentials in URL", func(c *scicatpush.Config) { c.BaseURL = "https://u:" + password + "@x.org" }, false},
		{"no password", func(c *scicatpush.Config) { c.Password = "" }, false},
		{"no username", func(c *scicatpush.Config) { c.Username = "" }, false},
		{"bad contact", func(c *scicatpush.Config) { c.ContactEmail = "nobody" }, false},
		{"relative folder", func(c *scicatpush.Config) { c.SourceFolder = "data" }, false},
		{"delete policy", func(c *scicatpush.Config) { c.Tombstones = "DELETE" }, true},
		{"bad policy", func(c *scicatpush.Config) { c.Tombstones = "ignore" }, false},
		{"negative timeout", func(c *scicatpush.Config) { c.Transport.PageTimeout = -1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, scicatpush.ErrInvalidConfig) {
					t.Errorf("%v does not wrap ErrInvalidConfig", err)
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("the error quotes the password: %v", err)
				}
			}
			if _, err := scicatpush.New(c); (err == nil) != tc.ok {
				t.Errorf("New = %v", err)
			}
		})
	}
	if s := fmt.Sprint(scicatpush.Config{Password: password}); strings.Contains(s, password) {
		t.Errorf("a printed Config shows the password: %s", s)
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.client.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	bad := newFixture(t, func(c *scicatpush.Config) { c.Password = "wrong-" + password })
	err := bad.client.Check(context.Background())
	if !errors.Is(err, scicatpush.ErrUnauthorized) {
		t.Fatalf("Check with a wrong password = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), password) || strings.Contains(bad.logs.String(), password) {
		t.Errorf("the password leaks: %v / %s", err, bad.logs.String())
	}
	if n := bad.srv.Counts()[scicattest.RouteLogin]; n != 1 {
		t.Errorf("%d logins with a wrong password, want 1", n)
	}
	v3only := scicattest.Start(scicattest.Config{Versions: []string{"v3"}})
	defer v3only.Close()
	c, _ := scicatpush.New(scicatpush.Config{BaseURL: v3only.URL, Username: "u", Password: "p"})
	if err := c.Check(context.Background()); !errors.Is(err, scicatpush.ErrNotFound) {
		t.Errorf("Check of a server without v4 = %v, want ErrNotFound", err)
	}
}

func TestUpsertCreateThenPatch(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	ds, ts := corpus(t, 1)
	d := ds[0]
	out, err := f.client.Upsert(ctx, d, ts[0])
	if err != nil || out != scicatpush.Created {
		t.Fatalf("first Upsert = %q, %v", out, err)
	}
	d.Title = "A new title"
	out, err = f.client.Upsert(ctx, d, ts[0])
	if err != nil || out != scicatpush.Updated {
		t.Fatalf("second Upsert = %q, %v", out, err)
	}
	counts := f.srv.Counts()
	if counts[scicattest.RouteCreate] != 2 || counts[scicattest.RoutePatch] != 1 || counts[scicattest.RouteLogin] != 1 {
		t.Errorf("counts %v: want 2 POST, 1 PATCH, 1 login", counts)
	}
	if n := len(f.srv.Datasets()); n != 1 {
		t.Fatalf("the server holds %d datasets, want 1", n)
	}
	got := f.srv.Dataset(f.client.PID(d.GetKey()))
	if got == nil || got["datasetName"] != "A new title" {
		t.Errorf("after the patch: %v", got)
	}
}

func TestTokenExpiryLogsInOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	ds, ts := corpus(t, 2)
	if _, err := f.client.Upsert(ctx, ds[0], ts[0]); err != nil {
		t.Fatal(err)
	}
	f.srv.ExpireTokens()
	if out, err := f.client.Upsert(ctx, ds[1], ts[1]); err != nil || out != scicatpush.Created {
		t.Fatalf("Upsert after expiry = %q, %v", out, err)
	}
	if n := f.srv.Counts()[scicattest.RouteLogin]; n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
	// A token refused even when fresh: one new login (the empty fault lets
	// it through), then ErrUnauthorized.
	f.srv.Fail(scicattest.Fault{Status: http.StatusForbidden}, scicattest.Fault{}, scicattest.Fault{Status: http.StatusForbidden})
	_, err := f.client.Upsert(ctx, ds[0], ts[0])
	if !errors.Is(err, scicatpush.ErrUnauthorized) {
		t.Fatalf("Upsert refused twice = %v, want ErrUnauthorized", err)
	}
	if n := f.srv.Counts()[scicattest.RouteLogin]; n != 3 {
		t.Errorf("%d logins, want 3: one more, not a loop", n)
	}
	if logs := f.logs.String(); strings.Contains(logs, "token-") || strings.Contains(logs, password) ||
		strings.Contains(err.Error(), "token-") {
		t.Errorf("a credential leaks into the logs or errors: %v\n%s", err, logs)
	}
}

func TestConcurrentPushesShareOneLogin(t *testing.T) {
	f := newFixture(t, nil)
	ds, ts := corpus(t, 16)
	for round := range 2 {
		var wg sync.WaitGroup
		for i := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.client.Upsert(context.Background(), ds[i], ts[i]); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := f.srv.Counts()[scicattest.RouteLogin]; n != round+1 {
			t.Errorf("round %d: %d logins, want %d", round, n, round+1)
		}
		f.srv.ExpireTokens()
	}
	if n := len(f.srv.Datasets()); n != len(ds) {
		t.Errorf("%d datasets, want %d", n, len(ds))
	}
}

func TestRefusedForGood(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	ds, ts := corpus(t, 1)
	if err := f.client.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity} {
		f.srv.Fail(scicattest.Fault{Status: status,
			Body: `{"statusCode":400,"message":["contactEmail must be an email","PID is not following required standards"],"error":"Bad Request"}`})
		_, err := f.client.Upsert(ctx, ds[0], ts[0])
		if !errors.Is(err, scicatpush.ErrRefused) {
			t.Fatalf("%d: Upsert = %v, want ErrRefused", status, err)
		}
		var e *scicatpush.Error
		if !errors.As(err, &e) || e.Status != status || !strings.Contains(e.Message, "PID is not following required standards") {
			t.Errorf("%d: the error does not carry SciCat's message: %v", status, err)
		}
	}
	if n := f.srv.Counts()[scicattest.RouteCreate]; n != 2 {
		t.Errorf("a refusal was retried: %d POSTs", n)
	}
}

func TestRetryLater(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFixture(t, func(c *scicatpush.Config) { c.Transport.MaxRetries = 2 })
			ctx := context.Background()
			ds, ts := corpus(t, 1)
			if err := f.client.Check(ctx); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				f.srv.Fail(scicattest.Fault{Status: status, RetryAfter: "0"})
			}
			_, err := f.client.Upsert(ctx, ds[0], ts[0])
			if !errors.Is(err, scicatpush.ErrRetryLater) {
				t.Fatalf("Upsert = %v, want ErrRetryLater", err)
			}
			if n := f.srv.Counts()[scicattest.RouteCreate]; n != 3 {
				t.Errorf("%d POSTs, want 3 (1 + 2 retries)", n)
			}
			if len(f.srv.Datasets()) != 0 {
				t.Error("a dataset was stored")
			}
		})
	}
}

func TestRetryAfterIsCarried(t *testing.T) {
	f := newFixture(t, func(c *scicatpush.Config) {
		c.Transport.MaxRetries = -1
	})
	ctx := context.Background()
	ds, ts := corpus(t, 1)
	if err := f.client.Check(ctx); err != nil {
		t.Fatal(err)
	}
	f.srv.Fail(scicattest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "120"})
	_, err := f.client.Upsert(ctx, ds[0], ts[0])
	var e *scicatpush.Error
	if !errors.As(err, &e) || !errors.Is(err, scicatpush.ErrRetryLater) || e.RetryAfter != 2*time.Minute {
		t.Fatalf("Upsert = %v, want ErrRetryLater with Retry-After 2m", err)
	}
}

func TestExactlyOnceAfter503(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	ds, ts := corpus(t, 1)
	if err := f.client.Check(ctx); err != nil {
		t.Fatal(err)
	}
	f.srv.Fail(scicattest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "0"})
	out, err := f.client.Upsert(ctx, ds[0], ts[0])
	if err != nil || out != scicatpush.Created {
		t.Fatalf("Upsert = %q, %v", out, err)
	}
	c := f.srv.Counts()
	if c[scicattest.RouteCreate] != 2 || c[scicattest.RoutePatch] != 0 || len(f.srv.Datasets()) != 1 {
		t.Errorf("counts %v, %d datasets: want 2 POSTs, no PATCH, 1 dataset", c, len(f.srv.Datasets()))
	}
}

func TestDownThenBack(t *testing.T) {
	f := newFixture(t, func(c *scicatpush.Config) { c.Transport.MaxRetries = 1 })
	ctx := context.Background()
	ds, ts := corpus(t, 3)
	f.srv.SetDown(true)
	if _, err := f.client.Upsert(ctx, ds[0], ts[0]); !errors.Is(err, scicatpush.ErrRetryLater) {
		t.Fatalf("Upsert while down = %v, want ErrRetryLater", err)
	}
	f.srv.SetDown(false)
	for i := range ds {
		if out, err := f.client.Upsert(ctx, ds[i], ts[i]); err != nil || out != scicatpush.Created {
			t.Fatalf("Upsert %d = %q, %v", i, out, err)
		}
	}
	if n := len(f.srv.Datasets()); n != 3 {
		t.Errorf("%d datasets, want 3", n)
	}
}

func TestTombstones(t *testing.T) {
	for _, tc := range []struct {
		policy scicatpush.Tombstones
		want   scicatpush.Outcome
		route  string
	}{
		{"", scicatpush.Unpublished, scicattest.RoutePatch},
		{scicatpush.Unpublish, scicatpush.Unpublished, scicattest.RoutePatch},
		{scicatpush.Remove, scicatpush.Deleted, scicattest.RouteDelete},
	} {
		t.Run(string(tc.want)+"/"+string(tc.policy), func(t *testing.T) {
			f := newFixture(t, func(c *scicatpush.Config) { c.Tombstones = tc.policy })
			ctx := context.Background()
			ds, ts := corpus(t, 2)
			if _, err := f.client.Upsert(ctx, ds[0], ts[0]); err != nil {
				t.Fatal(err)
			}
			tomb := &fairwayv1.Dataset{Key: ds[0].GetKey(), Deleted: true}
			out, err := f.client.Upsert(ctx, tomb, nil)
			if err != nil || out != tc.want {
				t.Fatalf("tombstone = %q, %v; want %q", out, err, tc.want)
			}
			pid := f.client.PID(ds[0].GetKey())
			got := f.srv.Dataset(pid)
			switch tc.want {
			case scicatpush.Unpublished:
				if got == nil || got["isPublished"] != false {
					t.Errorf("after unpublish: %v", got)
				}
			case scicatpush.Deleted:
				if got != nil {
					t.Errorf("after delete the dataset is still there")
				}
			}
			if n := f.srv.Counts()[tc.route]; n != 1 {
				t.Errorf("%d requests to %s, want 1", n, tc.route)
			}
			// A dataset never pushed: nothing to do.
			if out, err := f.client.Delete(ctx, ds[1].GetKey()); err != nil || out != scicatpush.Absent {
				t.Errorf("Delete of a dataset never pushed = %q, %v", out, err)
			}
		})
	}
}

func TestHostileKeys(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for _, key := range []string{
		"doi:10.1234/a/b?c=d&e#f%2Fg h",
		"doi:10.5555/..%2f..%2fadmin",
		"src:ESRF:../../api/v3/auth/login?x=1",
		"src:ILL:" + strings.Repeat("é/", 3000),
		"doi:10.1/public",
		"doi:10.1/\xff\x00bad",
	} {
		d := &fairwayv1.Dataset{Key: key, Title: "t", Facility: "ESRF"}
		if doi, ok := strings.CutPrefix(key, "doi:"); ok {
			d.Doi = doi
		}
		out, err := f.client.Upsert(ctx, d, nil)
		if err != nil || out != scicatpush.Created {
			t.Fatalf("%.40q: Upsert = %q, %v", key, out, err)
		}
		pid := f.client.PID(key)
		if f.srv.Dataset(pid) == nil {
			t.Errorf("%.40q: the server does not hold pid %.60q", key, pid)
		}
		if out, err := f.client.Upsert(ctx, d, nil); err != nil || out != scicatpush.Updated {
			t.Errorf("%.40q: second Upsert = %q, %v", key, out, err)
		}
		if _, err := f.client.Get(ctx, pid); err != nil {
			t.Errorf("%.40q: Get: %v", key, err)
		}
	}
	if n := len(f.srv.Datasets()); n != 6 {
		t.Errorf("%d datasets, want 6", n)
	}
	if c := f.srv.Counts(); c[scicattest.RouteLogin] != 1 {
		t.Errorf("a hostile key reached another route: %v", c)
	}
}

func TestPID(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"doi:10.1234/abc", "10.1234/abc"},
		{"src:ESRF:123", "p/" + "0d2e0e7a2c5e4e5d"},
	} {
		got := scicatpush.PID("p/", tc.key)
		if strings.HasPrefix(tc.key, "doi:") {
			if got != tc.want {
				t.Errorf("PID(%q) = %q, want %q", tc.key, got, tc.want)
			}
			continue
		}
		if !strings.HasPrefix(got, "p/") || len(got) != len("p/")+32 {
			t.Errorf("PID(%q) = %q: want p/ and 32 hex digits", tc.key, got)
		}
		if again := scicatpush.PID("p/", tc.key); again != got {
			t.Errorf("PID is not deterministic: %q, %q", got, again)
		}
		if other := scicatpush.PID("p/", tc.key+"x"); other == got {
			t.Errorf("two keys give pid %q", got)
		}
	}
}

func TestAddressPolicy(t *testing.T) {
	// The zero policy refuses loopback: the push is refused at once, not
	// retried, and not worth a later retry.
	f := newFixture(t, func(c *scicatpush.Config) { c.HTTPClient = urlguard.Policy{}.HTTPClient(nil) })
	err := f.client.Check(context.Background())
	if err == nil || !urlguard.Refused(err) || errors.Is(err, scicatpush.ErrRetryLater) {
		t.Fatalf("Check through a policy refusing loopback = %v", err)
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// TestEchoedPasswordIsRedacted: SciCat's answer quoting the request (the
// login's password) does not carry it into the error.
func TestEchoedPasswordIsRedacted(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Fail(scicattest.Fault{Status: http.StatusBadRequest, Body: `{"statusCode":400,"message":"bad login {\"username\":\"` + user + `\",\"password\":\"` + password + `\"}"}`})
	ds, ts := corpus(t, 1)
	_, err := f.client.Upsert(context.Background(), ds[0], ts[0])
	if err == nil {
		t.Fatal("Upsert passed a refused login")
	}
	if strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q", err)
	}
}
