package node

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/panosc/fairway/internal/testenv"
)

// TestCapabilitiesDocument serves a real node's HTTP handler (bus, read
// model, catalogue, OAI-PMH, API without analytics) and reads its
// capabilities document: every capability with its endpoint, the live ones
// up, SUSHI down with analytics off, what the node does not serve marked so.
func TestCapabilitiesDocument(t *testing.T) {
	b := testenv.Bus(t)
	srv := startPublisherNode(t, b).srv
	const baseURL = "http://127.0.0.1:8080"

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
		"mcp":       {StatusUnavailable, "", ""},
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
