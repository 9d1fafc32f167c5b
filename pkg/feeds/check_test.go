package feeds_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/scicattest"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/urlguard"
)

// sampleFeed serves the sample facility on loopback and returns its URL.
func sampleFeed(t *testing.T) string {
	t.Helper()
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: samplefeed.NewCorpus(1, 40), PageSize: 10, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	u, stop, err := samplefeed.Start(context.Background(), "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	return u
}

// closedURL returns an http URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/oai"
}

func checker(t *testing.T, p urlguard.Policy) *feeds.SourceChecker {
	t.Helper()
	c, err := feeds.NewChecker(feeds.CheckerConfig{Policy: p, Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckOAIPMH(t *testing.T) {
	sample := sampleFeed(t)
	notOAI := httptest.NewServer(http.NotFoundHandler())
	defer notOAI.Close()
	allow := urlguard.Policy{AllowPrivate: true}
	oai := func(url, format, set string) feeds.Feed {
		return feeds.Feed{ID: "f", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: url, Format: format, Set: set}
	}
	tests := []struct {
		name   string
		policy urlguard.Policy
		feed   feeds.Feed
		want   error  // nil: the check passes
		reason string // in the error's text
	}{
		{"offered format", allow, oai(sample, "oai_datacite", ""), nil, ""},
		{"offered format and set", allow, oai(sample, "oai_dc", "esrf"), nil, ""},
		{"format not offered", allow, oai(sample, "marc21", ""), feeds.ErrCheckFailed, `metadata format "marc21" is not offered`},
		{"unknown set", allow, oai(sample, "oai_dc", "nowhere"), feeds.ErrCheckFailed, `set "nowhere" is not offered`},
		{"unreachable", allow, oai(closedURL(t), "oai_dc", ""), feeds.ErrCheckFailed, "no OAI-PMH repository answers"},
		{"not an OAI-PMH server", allow, oai(notOAI.URL+"/oai", "oai_dc", ""), feeds.ErrCheckFailed, "HTTP 404"},
		{"loopback refused", urlguard.Policy{}, oai(sample, "oai_dc", ""), urlguard.ErrForbiddenAddress, "loopback"},
		{"invalid feed", allow, oai(sample, "", ""), feeds.ErrInvalid, "metadata format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := checker(t, tt.policy).Check(context.Background(), tt.feed)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if info.Granularity != "YYYY-MM-DDThh:mm:ssZ" || info.DeletedRecord != "persistent" ||
					info.EarliestDatestamp == "" || info.RepositoryName == "" || info.CheckedAt.IsZero() {
					t.Fatalf("source info not recorded: %+v", info)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Check = %v; want %v saying %q", err, tt.want, tt.reason)
			}
		})
	}
}

// fakeSciCat serves a SciCat API of version v ("v4", "v3" or "" for none)
// with one published dataset, wanting token when it is not empty; seen
// keeps the Authorization header of the last request.
func fakeSciCat(t *testing.T, v, token string, seen *atomic.Value) string {
	t.Helper()
	versions := []string{v}
	if v == "" {
		versions = []string{"none"}
	}
	s := scicattest.Start(scicattest.Config{
		Versions: versions, Token: token,
		Datasets:  []json.RawMessage{json.RawMessage(`{"pid":"20.500.12269/abc","datasetName":"x","isPublished":true}`)},
		OnRequest: func(_ int, r *http.Request) { seen.Store(r.Header.Get("Authorization")) },
	})
	t.Cleanup(s.Close)
	return s.URL
}

func TestCheckSciCat(t *testing.T) {
	const token = "scicat-token-7f3a9c"
	var seen atomic.Value
	v4 := fakeSciCat(t, "v4", "", &seen)
	v3 := fakeSciCat(t, "v3", "", &seen)
	none := fakeSciCat(t, "", "", &seen)
	private := fakeSciCat(t, "v4", token, &seen)
	sc := func(url string, tok feeds.Secret) feeds.Feed {
		return feeds.Feed{ID: "s", Facility: "PSI", Kind: feeds.KindSciCat, URL: url, Token: tok}
	}
	tests := []struct {
		name    string
		feed    feeds.Feed
		version string // "" means the check fails
		reason  string
	}{
		{"v4 at the root", sc(v4, ""), "v4", ""},
		{"v4 base given", sc(v4+"/api/v4", ""), "v4", ""},
		{"api base given", sc(v4+"/api", ""), "v4", ""},
		{"api base given, any case", sc(v3+"/API/", ""), "v3", ""},
		{"v4 base in capitals", sc(v4+"/API/V4", ""), "v4", ""},
		{"v3 after v4 fails", sc(v3, ""), "v3", ""},
		{"v3 base given", sc(v3+"/api/v3/", ""), "v3", ""},
		{"v3 base on a v4 server", sc(v4+"/api/v3", ""), "", "v3: scicat: HTTP 404"},
		{"no API", sc(none, ""), "", "no SciCat API answers"},
		{"token sent", sc(private, token), "v4", ""},
		{"token missing", sc(private, ""), "", "the API wants a token"},
		{"wrong token", sc(private, "wrong-token-0000"), "", "refused the feed's token"},
		{"unreachable", sc(closedURL(t), ""), "", "no SciCat API answers"},
	}
	c := checker(t, urlguard.Policy{AllowPrivate: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := c.Check(context.Background(), tt.feed)
			if tt.version != "" {
				if err != nil || info.APIVersion != tt.version {
					t.Fatalf("Check = %+v, %v; want API %s", info, err, tt.version)
				}
			} else if !errors.Is(err, feeds.ErrCheckFailed) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Check = %v; want a failure saying %q", err, tt.reason)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Fatalf("error shows the token: %v", err)
			}
			if got, _ := seen.Load().(string); tt.feed.Token != "" && got != "Bearer "+tt.feed.Token.Reveal() {
				t.Fatalf("Authorization header %q", got)
			}
		})
	}
}
