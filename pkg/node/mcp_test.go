package node

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/internal/searchtest"
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
