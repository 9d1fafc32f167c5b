package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/mcpserver"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/search"
	"github.com/panosc/fairway/pkg/usage"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// mcpDOI is the DOI of the dataset of the MCP tests that is keyed as the
// pipeline keys datasets (doi:…), so that the usage writer takes its
// events.
const mcpDOI = "10.5072/fairway.mcp.1"

// mcpCatalogue returns the entries of the MCP tests: searchtest.Catalogue
// and a dataset keyed by its DOI.
func mcpCatalogue(t *testing.T) []*fairwayv1.CatalogueEntry {
	return searchtest.Entries(searchtest.Ontology(t).Ontology(), append(slices.Clone(searchtest.Catalogue), searchtest.Dataset{
		Key: "doi:" + mcpDOI, Facility: "ILL", DOI: mcpDOI, Title: "Spin waves in a kagome magnet", Instrument: "IN8",
		Licence: "CC-BY-4.0", Access: searchtest.Public, Techniques: []string{"PaNET01145"}, Quality: 0.5,
	}))
}

// mcpTestServer serves the node's MCP handler over a read model of the
// test catalogue on b, with the node's usage recorder and reader (nil:
// analytics off): it returns the server's URL.
func mcpTestServer(t *testing.T, b *bus.Bus, reader *analytics.Reader) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := searchtest.Ontology(t)
	model := searchtest.Open(t, b, t.TempDir())
	searchtest.Publish(t, b, mcpCatalogue(t))
	searchtest.CaughtUp(t, b, model)
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	use, err := newUsage(ctx, Config{DataDir: t.TempDir(), NoAnalytics: true}, b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = use.recorder.Run(ctx) }()
	h, err := mcpHandler(mcpParts{search: s, model: model, techniques: search.NewTerms(m), recorder: use.recorder, reader: reader})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(MCPPath, h)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL + MCPPath
}

// usageEvents waits until b's usage stream holds n events (a while more,
// to see that no more come) and returns them.
func usageEvents(t *testing.T, b *bus.Bus, n int) []usage.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(testenv.Messages(t, b, bus.Usage)) < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	var out []usage.Event
	for _, m := range testenv.Messages(t, b, bus.Usage) {
		var e usage.Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(m.Data()), "127.0.0.1") {
			t.Errorf("the client's address reached the bus: %s", m.Data())
		}
		if err := e.Validate(time.Now()); err != nil {
			t.Errorf("the writer refuses %+v: %v", e, err)
		}
		out = append(out, e)
	}
	if len(out) != n {
		t.Fatalf("%d usage events, want %d: %+v", len(out), n, out)
	}
	return out
}

// checkAgentEvents checks that events are investigations of the test
// dataset by an AI agent, from sources, in one session.
func checkAgentEvents(t *testing.T, events []usage.Event, sources ...string) {
	t.Helper()
	var got []string
	for _, e := range events {
		got = append(got, e.Source)
		if e.Kind != usage.Investigation || e.Client != usage.Agent || e.AccessMethod != usage.Machine || e.Dataset != "doi:"+mcpDOI ||
			!strings.EqualFold(e.Facility, "ILL") || e.Robot || e.Session == "" || e.Session != events[0].Session {
			t.Errorf("event %+v", e)
		}
	}
	slices.Sort(got)
	slices.Sort(sources)
	if !slices.Equal(got, sources) {
		t.Errorf("sources %v, want %v", got, sources)
	}
}

// TestMCPHTTP calls the tools over the streamable HTTP transport, as the
// node mounts it: a get_dataset is one investigation by an AI agent on the
// usage stream; a search and a miss count nothing.
func TestMCPHTTP(t *testing.T) {
	b := testenv.Bus(t)
	url := mcpTestServer(t, b, nil)
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cs.Close() }()
	tests := []struct {
		tool    string
		args    map[string]any
		total   float64
		isError bool
	}{
		{"search_datasets", map[string]any{"facility": "esrf"}, 2, false},
		{"search_datasets", map[string]any{"query": "pyrochlore"}, 1, false},
		{"search_datasets", map[string]any{"query": "zzyzxqq"}, 0, false},
		{"search_datasets", map[string]any{"from": "2025-01-10", "until": "2025-01-10"}, 1, false},
		{"get_dataset", map[string]any{"id": "10.5072/none"}, 0, true},
		{"get_dataset", map[string]any{"id": mcpDOI}, 0, false},
	}
	for _, tc := range tests {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args})
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError != tc.isError {
			t.Fatalf("%s %v: error %v: %v", tc.tool, tc.args, res.IsError, res.Content)
		}
		out, _ := res.StructuredContent.(map[string]any)
		switch result, _ := out["result"].(map[string]any); {
		case tc.isError:
		case tc.tool == "search_datasets" && result["total"] != tc.total:
			t.Errorf("%v: total %v, want %v", tc.args, result["total"], tc.total)
		case tc.tool == "get_dataset" && (out["key"] != "doi:"+mcpDOI || out["dcat_ap_turtle"] == ""):
			t.Errorf("get_dataset: %v", out)
		}
	}
	checkAgentEvents(t, usageEvents(t, b, 1), "node:mcp:get_dataset")
}

// TestMCPAnalytics answers facility_stats and reuse_stats from the test
// ClickHouse through the analytics' reader, as the node wires it: the
// holdings of a facility, and another's COUNTER usage and citations over
// months, AI agents apart.
func TestMCPAnalytics(t *testing.T) {
	cfg := statsTestConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := analytics.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The dataset of mcpDOI, at ILL beside the test database's doi:10.1/c.
	if err := s.InsertDatasets(ctx, []analytics.DatasetRow{{Key: "doi:" + mcpDOI, DOI: mcpDOI, Facility: "ILL", FeedID: "ill-oai",
		Title: "Spin waves in a kagome magnet", Issued: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), AccessRights: "open", Quality: 0.5,
		ContentHash: "mcp", Version: 5, PublishedAt: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}}); err != nil {
		t.Fatal(err)
	}
	ev := func(n int, at time.Time, client usage.Client) usage.Event {
		return usage.Event{ID: fmt.Sprintf("%032d", n), Dataset: "doi:" + mcpDOI, Facility: "ILL", Time: at, Kind: usage.Investigation,
			Session: fmt.Sprintf("s%d", n), AccessMethod: usage.Regular, Client: client, Status: 200, Source: "test"}
	}
	if err := s.InsertUsage(ctx, []usage.Event{
		ev(1, time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC), usage.Human),
		ev(2, time.Date(2026, 1, 11, 10, 0, 0, 0, time.UTC), usage.Human),
		ev(3, time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC), usage.Agent),
		ev(4, time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC), usage.Human),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RollupUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertCitations(ctx, []analytics.CitationRow{{Key: "doi:" + mcpDOI, DOI: mcpDOI, Facility: "ILL", Title: "Spin waves in a kagome magnet",
		Relations: []string{"IsCitedBy", "IsReferencedBy", "IsPartOf"}, Identifiers: []string{"10.1/p1", "10.1/p2", "10.1/whole"},
		Types: []string{"DOI", "DOI", "DOI"}, Version: 1}}); err != nil {
		t.Fatal(err)
	}
	reader, err := analytics.NewReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	url := mcpTestServer(t, testenv.Bus(t), reader)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cs.Close() }()
	call := func(tool string, args map[string]any, out any) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError {
			t.Fatalf("%s %v: %v", tool, args, res.Content[0].(*mcp.TextContent).Text)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	var fs mcpserver.FacilityStatsOutput
	call("facility_stats", map[string]any{"facility": "esrf"}, &fs)
	if h := fs.Facilities[0].Holdings; fs.Analytics != mcpserver.AnalyticsOn || h == nil ||
		*h != (mcpserver.Holdings{Datasets: 1, Open: 1, WithDOI: 1, WithTechnique: 1, MeanQuality: 0.5}) {
		t.Errorf("facility_stats: analytics %q, holdings %+v", fs.Analytics, h)
	}
	for _, tc := range []struct {
		from, until string
		total       mcpserver.ReuseTotals
	}{
		{"2026-01", "2026-01", mcpserver.ReuseTotals{Investigations: 2, UniqueInvestigations: 2, AgentInvestigations: 1, Citations: 2, Datasets: 1}},
		{"2026-01-20", "2026-02-01", mcpserver.ReuseTotals{Investigations: 3, UniqueInvestigations: 3, AgentInvestigations: 1, Citations: 2, Datasets: 1}},
		{"2026-03", "2026-06", mcpserver.ReuseTotals{Citations: 2, Datasets: 1}},
	} {
		var out mcpserver.ReuseOutput
		call("reuse_stats", map[string]any{"facility": "ill", "from": tc.from, "until": tc.until}, &out)
		if out.Totals != tc.total || len(out.Datasets) != 1 {
			t.Errorf("%s to %s: totals %+v, want %+v; datasets %+v", tc.from, tc.until, out.Totals, tc.total, out.Datasets)
			continue
		}
		d := out.Datasets[0]
		if d.Dataset != "doi:"+mcpDOI || d.Title == "" || d.Investigations != tc.total.Investigations || d.Citations != 2 || d.Reuse != d.Investigations+2 {
			t.Errorf("%s to %s: dataset %+v", tc.from, tc.until, d)
		}
	}
}

// runMCPClient runs tools/node/mcp-client.mjs with args and decodes what
// it prints into out.
func runMCPClient(t *testing.T, out any, args ...string) {
	t.Helper()
	tools := testenv.NodeTools(t)
	b, err := exec.Command("node", append([]string{filepath.Join(tools, "mcp-client.mjs")}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("mcp-client.mjs: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	t.Logf("mcp-client.mjs: %d bytes", len(b))
}

// tsPlan is what the TypeScript client asks in the tests.
var tsPlan = `{"search": {"technique": "tomography"}, "dataset": "` + mcpDOI + `", "techniques": {"only_with_datasets": true},
  "resource": "fairway://datasets/doi/` + mcpDOI + `", "prompt": {"name": "find_datasets", "arguments": {"technique": "SAXS", "sample": "lysozyme"}}}`

// tsAnswer is what the TypeScript client prints.
type tsAnswer struct {
	Tools []struct {
		Name            string
		ReadOnly        bool
		HasOutputSchema bool
	}
	Resources         []struct{ URI, MimeType string }
	ResourceTemplates []struct{ URITemplate, MimeType string }
	Prompts           []struct {
		Name      string
		Arguments []string
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
	GetDataset struct {
		IsError           bool
		StructuredContent struct {
			Notice   string `json:"untrusted_content_notice"`
			Key, DOI string
			Query    struct {
				ID      string
				FoundBy string `json:"found_by"`
			} `json:"query"`
			Turtle  string `json:"dcat_ap_turtle"`
			Record  struct{ Dataset struct{ Title string } }
			Quality struct{ Score float64 }
		}
	}
	ListTechniques struct {
		IsError           bool
		StructuredContent struct {
			Total         int
			TotalDatasets int `json:"total_datasets"`
			Techniques    []struct {
				ID       string
				Label    string
				Datasets int
			}
		}
	}
	Resource struct {
		Contents []struct{ URI, MimeType, Text string }
	}
	Prompt struct {
		Messages []struct {
			Role    string
			Content struct{ Type, Text string }
		}
	}
}

// check checks what the TypeScript client got from the test catalogue.
func (a tsAnswer) check(t *testing.T, searchTotal int) {
	t.Helper()
	var tools []string
	for _, tool := range a.Tools {
		tools = append(tools, tool.Name)
		if !tool.ReadOnly || !tool.HasOutputSchema {
			t.Errorf("tool %+v", tool)
		}
	}
	slices.Sort(tools)
	if !slices.Equal(tools, []string{"facility_stats", "get_dataset", "list_techniques", "reuse_stats", "search_datasets"}) {
		t.Errorf("tools %v", tools)
	}
	if len(a.Resources) != 1 || a.Resources[0].URI != "fairway://inventory" || a.Resources[0].MimeType != "application/json" {
		t.Errorf("resources %+v", a.Resources)
	}
	var templates []string
	for _, rt := range a.ResourceTemplates {
		templates = append(templates, rt.URITemplate)
	}
	slices.Sort(templates)
	if !slices.Equal(templates, []string{"fairway://datasets/doi/{+doi}", "fairway://datasets/key/{+key}"}) {
		t.Errorf("resource templates %v", templates)
	}
	var prompts []string
	for _, p := range a.Prompts {
		prompts = append(prompts, p.Name)
	}
	slices.Sort(prompts)
	if !slices.Equal(prompts, []string{"assess_dataset", "find_datasets", "summarise_facility"}) {
		t.Errorf("prompts %+v", a.Prompts)
	}
	s := a.Search.StructuredContent
	if a.Search.IsError || s.Result.Total != searchTotal || len(s.Result.Hits) != searchTotal || s.Notice == "" {
		t.Errorf("search_datasets: %+v", a.Search)
	}
	g := a.GetDataset.StructuredContent
	if a.GetDataset.IsError || g.Key != "doi:"+mcpDOI || g.Query.ID != mcpDOI || g.Query.FoundBy != "doi" || g.Turtle == "" ||
		g.Record.Dataset.Title != "Spin waves in a kagome magnet" || g.Quality.Score != 0.5 || g.Notice == "" {
		t.Errorf("get_dataset: %+v", a.GetDataset)
	}
	l := a.ListTechniques.StructuredContent
	if a.ListTechniques.IsError || l.Total == 0 || l.Total != len(l.Techniques) || l.TotalDatasets != len(searchtest.Catalogue) {
		t.Errorf("list_techniques: total %d of %d, %d datasets", l.Total, len(l.Techniques), l.TotalDatasets)
	}
	for _, n := range l.Techniques {
		if n.Datasets == 0 || n.Label == "" {
			t.Errorf("technique %+v", n)
		}
		if n.ID == "PaNET01129" && n.Datasets != 2 { // tomography: esrf-1 and esrf-2
			t.Errorf("tomography: %d datasets, want 2", n.Datasets)
		}
	}
	if c := a.Resource.Contents; len(c) != 2 || c[0].MimeType != "application/json" || !strings.Contains(c[0].Text, `"key":"doi:`+mcpDOI) ||
		c[1].MimeType != "text/turtle" || c[0].URI != "fairway://datasets/doi/"+mcpDOI {
		t.Errorf("resource %+v", a.Resource)
	}
	if m := a.Prompt.Messages; len(m) != 1 || m[0].Role != "user" || m[0].Content.Type != "text" || !strings.Contains(m[0].Content.Text, `"lysozyme"`) {
		t.Errorf("prompt %+v", a.Prompt)
	}
}

// TestMCPTypeScriptClientHTTP runs the TypeScript SDK's client
// (tools/node/mcp-client.mjs) against /mcp on the node's mux: it lists
// tools, resources, templates and prompts, calls search_datasets,
// get_dataset and list_techniques, reads a dataset resource and gets a
// prompt; the dataset it read twice is two agent investigations, in the
// one session of its address and user agent.
func TestMCPTypeScriptClientHTTP(t *testing.T) {
	testenv.NodeTools(t)
	b := testenv.Bus(t)
	url := mcpTestServer(t, b, nil)
	var got tsAnswer
	runMCPClient(t, &got, "http", url, tsPlan)
	got.check(t, 2)
	if got.Search.StructuredContent.Result.Filters.Technique.ID == "" {
		t.Errorf("search_datasets: no technique filter echoed: %+v", got.Search)
	}
	checkAgentEvents(t, usageEvents(t, b, 2), "node:mcp:get_dataset", "node:mcp:resource")
}

// TestMCPTypeScriptClientStdio runs the TypeScript SDK's client against
// the built `fairway mcp`, which follows a running node's catalogue over
// NATS and counts the datasets the agent reads on the node's usage stream,
// one session for the process.
func TestMCPTypeScriptClientStdio(t *testing.T) {
	testenv.NodeTools(t)
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
	searchtest.Publish(t, b, mcpCatalogue(t))

	bin := filepath.Join(t.TempDir(), "fairway")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./services/fairway")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	var got tsAnswer
	runMCPClient(t, &got, "stdio", tsPlan, bin, "mcp", "--nats", "nats://"+addr, "--nats-credentials", creds,
		"--dir", filepath.Join(t.TempDir(), "rm"), "--no-analytics")
	got.check(t, 2)
	checkAgentEvents(t, usageEvents(t, b, 2), "node:mcp:get_dataset", "node:mcp:resource")
}
