package node

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/search"
)

// TestMCPHTTP calls search_datasets over the streamable HTTP transport, as
// the node mounts it.
func TestMCPHTTP(t *testing.T) {
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	h, err := mcpHandler(s)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: ts.URL + MCPPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cs.Close() }()
	tests := []struct {
		args  map[string]any
		total float64
	}{
		{map[string]any{"facility": "esrf"}, 2},
		{map[string]any{"query": "pyrochlore"}, 1},
		{map[string]any{"query": "zzyzxqq"}, 0},
	}
	for _, tc := range tests {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_datasets", Arguments: tc.args})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := res.StructuredContent.(map[string]any)
		result, _ := out["result"].(map[string]any)
		if res.IsError || result["total"] != tc.total {
			t.Errorf("%v: total %v, want %v (error %v)", tc.args, result["total"], tc.total, res.IsError)
		}
	}
}

// TestMCPTypeScriptClientHTTP runs the TypeScript SDK's client
// (tools/node/mcp-client.mjs) against /mcp on the node's mux.
func TestMCPTypeScriptClientHTTP(t *testing.T) {
	tools := testenv.NodeTools(t)
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	h, err := mcpHandler(s)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(MCPPath, h)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	out, err := exec.Command("node", filepath.Join(tools, "mcp-client.mjs"), "http", ts.URL+MCPPath, `{"technique":"tomography"}`).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("mcp-client.mjs: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got struct {
		Tools []struct {
			Name            string
			ReadOnly        bool
			HasOutputSchema bool
		}
		Search struct {
			IsError           bool
			StructuredContent struct {
				Notice string `json:"untrusted_content_notice"`
				Result struct {
					Total   int
					Filters struct{ Technique struct{ ID string } }
					Hits    []struct{ Key string }
				}
			}
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Tools) == 0 || got.Tools[0].Name != "search_datasets" || !got.Tools[0].ReadOnly || !got.Tools[0].HasOutputSchema {
		t.Errorf("tools %+v", got.Tools)
	}
	r := got.Search.StructuredContent
	if got.Search.IsError || r.Result.Total != 2 || len(r.Result.Hits) != 2 || r.Result.Filters.Technique.ID == "" || r.Notice == "" {
		t.Errorf("search_datasets: %s", out)
	}
}
