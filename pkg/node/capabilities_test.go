package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/readmodel"
)

// TestCapabilitiesDocument serves a real node's HTTP handler (bus, read
// model, catalogue, OAI-PMH, API without analytics) and reads its
// capabilities document: every capability with its endpoint, the live ones
// up, SUSHI down with analytics off, what the node does not serve marked so.
func TestCapabilitiesDocument(t *testing.T) {
	b := testenv.Bus(t)
	log := slog.New(slog.DiscardHandler)
	const baseURL = "http://127.0.0.1:8080"
	p, err := publisher.New(publisher.Config{BaseURL: baseURL}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	model, err := readmodel.Open(ctx, readmodel.Config{Dir: filepath.Join(t.TempDir(), "readmodel")}, b, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = model.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; model.Close() })
	cat, err := catalogueHandler(Config{BaseURL: baseURL, DataDir: t.TempDir()}, model, p.Options(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	feedAPI, err := api.New(api.Config{Access: api.OpenAccess(), Checker: checker}, b, log)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpHandler(baseURL, feedAPI, cat, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + CapabilitiesPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %s, %s", CapabilitiesPath, resp.Status, resp.Header.Get("Content-Type"))
	}
	var doc Capabilities
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Node.BaseURL != baseURL || doc.Node.Software != "fairway" || doc.Checked.IsZero() {
		t.Fatalf("node = %+v, checked %v", doc.Node, doc.Checked)
	}
	want := map[string]struct{ status, endpoint, version string }{
		"catalogue": {StatusUp, baseURL + "/catalogue", "3.0"},
		"changes":   {StatusUp, baseURL + "/changes", "3.0"},
		"oai-pmh":   {StatusUp, baseURL + "/oai", "2.0"},
		"sushi":     {StatusDown, baseURL + "/api/v1/sushi", "5.1"},
		"search":    {StatusUnavailable, "", ""},
		"metrics":   {StatusUnavailable, "", "0.0.4"},
	}
	if len(doc.Capabilities) != len(want) {
		t.Fatalf("capabilities = %+v, want %d", doc.Capabilities, len(want))
	}
	for _, c := range doc.Capabilities {
		w, ok := want[c.Type]
		if !ok {
			t.Errorf("unexpected capability %q", c.Type)
			continue
		}
		if c.Status != w.status || c.Endpoint != w.endpoint || c.Version != w.version {
			t.Errorf("%s = %+v, want status %s, endpoint %q, version %q", c.Type, c, w.status, w.endpoint, w.version)
		}
		if c.Status != StatusUp && c.Note == "" {
			t.Errorf("%s is %s without a note", c.Type, c.Status)
		}
	}

	post, err := http.Post(srv.URL+CapabilitiesPath, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %s, want 405", CapabilitiesPath, post.Status)
	}
}
