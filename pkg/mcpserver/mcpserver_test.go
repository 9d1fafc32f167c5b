package mcpserver_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/pkg/mcpserver"
	"github.com/panosc/fairway/pkg/search"
)

// session connects an MCP client to a server over the test catalogue.
func session(t *testing.T) *mcp.ClientSession {
	t.Helper()
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mcpserver.New(mcpserver.Config{Search: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func TestNewInvalid(t *testing.T) {
	if _, err := mcpserver.New(mcpserver.Config{}); err == nil {
		t.Fatal("a server without a searcher was built")
	}
}

func TestListTools(t *testing.T) {
	cs := session(t)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range res.Tools {
		if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("tool %s is not marked read-only", tool.Name)
		}
		if tool.OutputSchema == nil {
			t.Errorf("tool %s has no output schema", tool.Name)
		}
	}
	if !slices.ContainsFunc(res.Tools, func(t *mcp.Tool) bool { return t.Name == "search_datasets" }) {
		t.Errorf("tools %v: no search_datasets", res.Tools)
	}
}

func TestSearchDatasets(t *testing.T) {
	tests := []struct {
		name    string
		args    map[string]any
		keys    []string
		isError bool
	}{
		{"technique takes in narrower ones", map[string]any{"technique": "tomography"}, []string{"esrf-1", "esrf-2"}, false},
		{"query names a technique", map[string]any{"query": "tomography"}, []string{"esrf-1", "esrf-2", "psi-1"}, false},
		{"facility", map[string]any{"facility": "ill"}, []string{"ill-1"}, false},
		{"text", map[string]any{"query": "pyrochlore"}, []string{"ill-1"}, false},
		{"no match", map[string]any{"query": "zzyzxqq"}, nil, false},
		{"unknown technique", map[string]any{"technique": "no such technique at all"}, nil, true},
		{"bad date", map[string]any{"from": "yesterday"}, nil, true},
	}
	cs := session(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "search_datasets", Arguments: tc.args})
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError != tc.isError {
				t.Fatalf("IsError %v, want %v: %v", res.IsError, tc.isError, res.Content)
			}
			if tc.isError {
				return
			}
			b, err := json.Marshal(res.StructuredContent)
			if err != nil {
				t.Fatal(err)
			}
			var out mcpserver.SearchOutput
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if out.Notice != mcpserver.HarvestedNotice {
				t.Errorf("notice %q", out.Notice)
			}
			var keys []string
			for _, h := range out.Result.Hits {
				keys = append(keys, h.Key)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tc.keys) || out.Result.Total != uint64(len(tc.keys)) {
				t.Errorf("keys %v total %d, want %v", keys, out.Result.Total, tc.keys)
			}
			if q, _ := tc.args["query"].(string); out.Result.Query != q {
				t.Errorf("echoed query %q, want %q", out.Result.Query, q)
			}
			if len(tc.keys) == 0 && out.Result.Reason == "" {
				t.Error("a miss gives no reason")
			}
		})
	}
}
