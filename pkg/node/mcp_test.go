package node

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
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

// TestMCPTypeScriptClientStdio runs the TypeScript SDK's client against
// the built `fairway mcp`, which follows a running node's catalogue over
// NATS.
func TestMCPTypeScriptClientStdio(t *testing.T) {
	tools := testenv.NodeTools(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := Config{Target: TargetAll, DataDir: dir, NATSListen: addr, NoAnalytics: true, PaNET: testenv.PaNET(t), Ready: make(chan struct{})}
	ctx, stop := runUntilReady(t, cfg, slog.New(slog.DiscardHandler))
	defer stop()
	creds := filepath.Join(dir, natsembed.CredentialsFile)
	urls, opts, err := natsClient("nats://"+addr, creds)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(ctx, bus.Config{URL: urls, Options: opts, Name: "mcp-test", Logger: slog.New(slog.DiscardHandler), SkipProvision: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	searchtest.Publish(t, b, searchtest.Entries(searchtest.Ontology(t).Ontology(), searchtest.Catalogue))

	bin := filepath.Join(t.TempDir(), "fairway")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./services/fairway")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	out, err := exec.Command("node", filepath.Join(tools, "mcp-client.mjs"), "stdio", `{"facility":"esrf"}`,
		bin, "mcp", "--nats", "nats://"+addr, "--nats-credentials", creds, "--dir", filepath.Join(t.TempDir(), "rm")).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("mcp-client.mjs: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got struct {
		Tools  []struct{ Name string }
		Search struct {
			IsError           bool
			StructuredContent struct {
				Result struct {
					Total int
					Hits  []struct{ Key string }
				}
			}
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r := got.Search.StructuredContent.Result
	if len(got.Tools) == 0 || got.Search.IsError || r.Total != 2 || len(r.Hits) != 2 {
		t.Errorf("fairway mcp: %s", out)
	}
}
