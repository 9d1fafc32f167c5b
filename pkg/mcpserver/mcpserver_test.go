package mcpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/mcpserver"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
	"github.com/panosc/fairway/pkg/usage"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// linked is a dataset of the test catalogue with links and quality gaps.
var linked = searchtest.Dataset{Key: "euxfel-1", Facility: "EuXFEL", DOI: "10.22003/XFEL.EU-DATA-002345-00", Title: "Ultrafast demagnetisation of nickel",
	Description: "Pump-probe scattering of thin films.", Instrument: "SCS", Licence: "CC-BY-4.0", Access: searchtest.Public,
	Creators: []string{"Mercadier, Laurent"}, Samples: []string{"Ni thin film"}, Techniques: []string{"PaNET01145"}, Quality: 0.63,
	At: time.Date(2022, 5, 5, 0, 0, 0, 0, time.UTC)}

// fixture is a read model of the test catalogue and what serves from it.
type fixture struct {
	ont    *panet.Matcher
	model  *readmodel.Model
	search *search.Searcher
}

// catalogue returns the test catalogue's entries: searchtest.Catalogue and
// linked, which links to a paper, a dataset and its instrument.
func catalogue(o *panet.Ontology) []*fairwayv1.CatalogueEntry {
	entries := searchtest.Entries(o, append(slices.Clone(searchtest.Catalogue), linked))
	e := entries[len(entries)-1].Dataset
	ds := e.Dataset
	ds.Related = []*fairwayv1.RelatedIdentifier{
		{Identifier: "10.1103/PhysRevLett.125.127201", Type: "DOI", Relation: "IsCitedBy"},
		{Identifier: "https://doi.org/10.1103/physrevlett.125.127201", Type: "URL", Relation: "IsReferencedBy"},
		{Identifier: "10.1038/s41567-021-01234-5", Type: "DOI", Relation: "IsSupplementTo"},
		{Identifier: "10.22003/XFEL.EU-DATA-002345-01", Type: "DOI", Relation: "IsPartOf"},
	}
	ds.InstrumentPid = "10.5442/NI000007"
	ds.ProposalId = "2345"
	e.QualityGaps = []*fairwayv1.QualityGap{
		{Check: "orcid", Dimension: "findability", Hint: "give the creators' ORCID iDs", Weight: 0.05},
		{Check: "distribution", Dimension: "accessibility", Hint: "describe how the data files download", Weight: 0.1},
	}
	e.QualityDimensions = []*fairwayv1.QualityDimension{{Name: "findability", Score: 0.9}, {Name: "accessibility", Score: 0.5}}
	entries[len(entries)-1].Turtle = "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n<https://data.example.org/euxfel-1> a dcat:Dataset ."
	return entries
}

// testFixture returns a read model of the test catalogue, kept until the
// test ends.
func testFixture(t *testing.T) fixture {
	t.Helper()
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, catalogue(m.Ontology()))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{ont: m, model: model, search: s}
}

// recorded collects the investigations the server reports.
type recorded struct {
	mu   sync.Mutex
	invs []mcpserver.Investigation
}

func (r *recorded) Investigated(_ context.Context, inv mcpserver.Investigation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invs = append(r.invs, inv)
}

func (r *recorded) take() []mcpserver.Investigation {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.invs
	r.invs = nil
	return out
}

// connect connects an MCP client to a server of cfg (Search, Catalogue
// and Techniques from the fixture when unset), over the in-memory
// transport with ctx as the server's connection context.
func connect(t *testing.T, ctx context.Context, f fixture, cfg mcpserver.Config) *mcp.ClientSession {
	t.Helper()
	if cfg.Search == nil {
		cfg.Search = f.search
	}
	if cfg.Catalogue == nil {
		cfg.Catalogue = f.model
	}
	if cfg.Techniques == nil {
		cfg.Techniques = search.NewTerms(f.ont)
	}
	srv, err := mcpserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func session(t *testing.T, f fixture) *mcp.ClientSession {
	return connect(t, context.Background(), f, mcpserver.Config{})
}

// call calls a tool and decodes its structured answer into out; it
// returns the text of a tool error.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, out any) (toolError string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	if res.IsError {
		var texts []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				texts = append(texts, tc.Text)
			}
		}
		return strings.Join(texts, " ") + " "
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v: %s", tool, err, b)
	}
	return ""
}

// TestServer runs the server's tests over one read model of the test
// catalogue (building one takes a second or two).
func TestServer(t *testing.T) {
	f := testFixture(t)
	for _, tc := range []struct {
		name string
		test func(*testing.T, fixture)
	}{
		{"NewInvalid", testNewInvalid},
		{"ListTools", testListTools},
		{"SearchDatasets", testSearchDatasets},
		{"GetDataset", testGetDataset},
		{"GetDatasetLinks", testGetDatasetLinks},
		{"Sessions", testSessions},
		{"ListTechniques", testListTechniques},
		{"ListTechniquesWithoutRelease", testListTechniquesWithoutRelease},
		{"FacilityStats", testFacilityStats},
		{"ReuseStats", testReuseStats},
		{"ReuseStatsWithoutAnalytics", testReuseStatsWithoutAnalytics},
		{"Resources", testResources},
		{"Prompts", testPrompts},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, f) })
	}
}

func testNewInvalid(t *testing.T, f fixture) {
	for _, cfg := range []mcpserver.Config{{}, {Search: f.search}, {Catalogue: f.model}} {
		if _, err := mcpserver.New(cfg); err == nil {
			t.Errorf("a server of %+v was built", cfg)
		}
	}
}

func testListTools(t *testing.T, f fixture) {
	cs := session(t, f)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("tool %s is not marked read-only", tool.Name)
		}
		if tool.OutputSchema == nil || tool.InputSchema == nil {
			t.Errorf("tool %s has no input or output schema", tool.Name)
		}
	}
	slices.Sort(names)
	if want := []string{"facility_stats", "get_dataset", "list_techniques", "reuse_stats", "search_datasets"}; !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}
}

func testSearchDatasets(t *testing.T, f fixture) {
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
		{"one day, from its start to its end", map[string]any{"from": "2025-01-10", "until": "2025-01-10"}, []string{"esrf-2"}, false},
		{"until a day takes it in", map[string]any{"until": "2024-03-01"}, []string{"esrf-1", "euxfel-1", "ill-1"}, false},
		{"RFC 3339", map[string]any{"from": "2025-01-10T00:00:01Z"}, []string{"psi-1"}, false},
		{"a month", map[string]any{"from": "2025-01", "until": "2025-01"}, []string{"esrf-2"}, false},
		{"unknown technique", map[string]any{"technique": "no such technique at all"}, nil, true},
		{"bad date", map[string]any{"from": "yesterday"}, nil, true},
		{"bad day", map[string]any{"until": "2025-02-30"}, nil, true},
	}
	cs := session(t, f)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out mcpserver.SearchOutput
			if msg := call(t, cs, "search_datasets", tc.args, &out); (msg != "") != tc.isError {
				t.Fatalf("tool error %q, want one: %v", msg, tc.isError)
			}
			if tc.isError {
				return
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

func testGetDataset(t *testing.T, f fixture) {
	rec := &recorded{}
	cs := connect(t, context.Background(), f, mcpserver.Config{Investigations: rec})
	tests := []struct {
		name, id, key, foundBy, err string
	}{
		{"bare DOI", "10.22003/XFEL.EU-DATA-002345-00", "euxfel-1", "doi", ""},
		{"DOI in lower case", "10.22003/xfel.eu-data-002345-00", "euxfel-1", "doi", ""},
		{"doi: DOI", "doi:10.22003/XFEL.EU-DATA-002345-00", "euxfel-1", "doi", ""},
		{"resolver URL", "https://doi.org/10.22003/XFEL.EU-DATA-002345-00", "euxfel-1", "doi", ""},
		{"key", "euxfel-1", "euxfel-1", "key", ""},
		{"key of a dataset without DOI", " psi-1 ", "psi-1", "key", ""},
		{"unknown DOI", "10.9999/none", "", "", "no dataset"},
		{"unknown key", "nothing-here", "", "", "no dataset"},
		{"withdrawn", "desy-2", "", "", "withdrawn"},
		{"empty", "", "", "", "no dataset id"},
		{"too long", strings.Repeat("x", 3000), "", "", "at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out mcpserver.DatasetOutput
			msg := call(t, cs, "get_dataset", map[string]any{"id": tc.id}, &out)
			invs := rec.take()
			if tc.err != "" {
				if !strings.Contains(msg, tc.err) {
					t.Errorf("tool error %q, want one saying %q", msg, tc.err)
				}
				if len(invs) != 0 {
					t.Errorf("a failed call counted %v", invs)
				}
				return
			}
			if msg != "" {
				t.Fatalf("tool error %s", msg)
			}
			if out.Key != tc.key || out.Query.FoundBy != tc.foundBy || out.Query.ID != strings.TrimSpace(tc.id) || out.Notice != mcpserver.HarvestedNotice {
				t.Errorf("key %q found by %q, query %+v, notice %q; want %s by %s", out.Key, out.Query.FoundBy, out.Query, out.Notice, tc.key, tc.foundBy)
			}
			ds, _ := out.Record["dataset"].(map[string]any)
			if ds["key"] != tc.key || ds["title"] == "" {
				t.Errorf("record %v", out.Record)
			}
			if !strings.Contains(out.Turtle, "dcat") {
				t.Errorf("turtle %q", out.Turtle)
			}
			if len(invs) != 1 || invs[0].Key != tc.key || invs[0].Via != "get_dataset" || invs[0].Session == "" || invs[0].Facility != out.Facility {
				t.Errorf("investigations %+v", invs)
			}
		})
	}
}

// TestGetDatasetLinks reads the links, quality and techniques of a
// dataset with links.
func testGetDatasetLinks(t *testing.T, f fixture) {
	cs := session(t, f)
	var out mcpserver.DatasetOutput
	if msg := call(t, cs, "get_dataset", map[string]any{"id": linked.DOI}, &out); msg != "" {
		t.Fatal(msg)
	}
	l := out.Links
	var pubs, related []string
	for _, p := range l.Publications {
		pubs = append(pubs, p.Relation+" "+p.URL)
	}
	for _, p := range l.Related {
		related = append(related, p.Relation+" "+p.URL)
	}
	wantPubs := []string{
		"IsCitedBy https://doi.org/10.1103/PhysRevLett.125.127201",
		"IsReferencedBy https://doi.org/10.1103/physrevlett.125.127201",
		"IsSupplementTo https://doi.org/10.1038/s41567-021-01234-5",
	}
	if !slices.Equal(pubs, wantPubs) || !slices.Equal(related, []string{"IsPartOf https://doi.org/10.22003/XFEL.EU-DATA-002345-01"}) {
		t.Errorf("publications %q related %q", pubs, related)
	}
	// Two identifiers cite it (IsSupplementTo is not reuse of it).
	if l.Citations != 2 || l.Total != 6 || l.Proposal != "2345" || l.DOIURL != "https://doi.org/"+linked.DOI || l.LandingPage == "" {
		t.Errorf("links %+v", l)
	}
	if l.Instrument == nil || l.Instrument.Name != "SCS" || l.Instrument.URL != "https://doi.org/10.5442/NI000007" {
		t.Errorf("instrument %+v", l.Instrument)
	}
	q := out.Quality
	if q.Score != 0.63 || q.TotalGaps != 2 || q.Gaps[0].Check != "orcid" || q.Gaps[1].Hint == "" || len(q.Dimensions) != 2 {
		t.Errorf("quality %+v", q)
	}
	if len(out.Techniques) != 1 || out.Techniques[0].ID != "PaNET01145" || out.Techniques[0].Label == "" {
		t.Errorf("techniques %+v", out.Techniques)
	}
	if out.Resource != "fairway://datasets/doi/"+linked.DOI {
		t.Errorf("resource %q", out.Resource)
	}
}

// TestSessions: the session of an investigation is the one the transport
// set on the context, else one per server.
func testSessions(t *testing.T, f fixture) {
	rec := &recorded{}
	a := connect(t, mcpserver.WithSession(context.Background(), "192.0.2.1\x00agent/1"), f, mcpserver.Config{Investigations: rec})
	b := connect(t, context.Background(), f, mcpserver.Config{Investigations: rec})
	var out mcpserver.DatasetOutput
	for _, cs := range []*mcp.ClientSession{a, b, b} {
		if msg := call(t, cs, "get_dataset", map[string]any{"id": "ill-1"}, &out); msg != "" {
			t.Fatal(msg)
		}
	}
	invs := rec.take()
	if len(invs) != 3 || invs[0].Session != "192.0.2.1\x00agent/1" || invs[1].Session == invs[0].Session || invs[1].Session != invs[2].Session || invs[1].Session == "" {
		t.Errorf("investigations %+v", invs)
	}
}

// expectedCounts counts the live datasets of the test catalogue per
// technique IRI, each for its techniques and their broader ones.
func expectedCounts(o *panet.Ontology) map[string]uint64 {
	out := map[string]uint64{}
	for _, d := range append(slices.Clone(searchtest.Catalogue), linked) {
		if d.Deleted {
			continue
		}
		seen := map[string]bool{}
		for _, id := range d.Techniques {
			c, _ := o.Class(id)
			for _, x := range append(o.Ancestors(id), c) {
				if !seen[x.IRI] {
					seen[x.IRI] = true
					out[x.IRI]++
				}
			}
		}
	}
	return out
}

func testListTechniques(t *testing.T, f fixture) {
	o := f.ont.Ontology()
	want := expectedCounts(o)
	techniques := panet.Techniques(o)
	tomography, _ := search.NewTerms(f.ont).Resolve("tomography")
	tests := []struct {
		name  string
		args  map[string]any
		check func(t *testing.T, out mcpserver.TechniquesOutput)
		err   string
	}{
		{"whole tree", nil, func(t *testing.T, out mcpserver.TechniquesOutput) {
			if out.Total != techniques || len(out.Techniques) != techniques || out.Query.Root != nil {
				t.Errorf("%d techniques listed (total %d), want %d", len(out.Techniques), out.Total, techniques)
			}
		}, ""},
		{"with datasets", map[string]any{"only_with_datasets": true}, func(t *testing.T, out mcpserver.TechniquesOutput) {
			if out.Total != len(want) || !out.Query.OnlyWithDatasets {
				t.Errorf("%d techniques with datasets, want %d", out.Total, len(want))
			}
			for _, n := range out.Techniques {
				if n.Datasets == 0 {
					t.Errorf("%s has no datasets", n.ID)
				}
			}
		}, ""},
		{"subtree", map[string]any{"root": "tomography"}, func(t *testing.T, out mcpserver.TechniquesOutput) {
			if out.Query.Root == nil || out.Query.Root.ID != tomography.ID || out.Techniques[0].ID != tomography.ID || out.Techniques[0].Depth != 0 {
				t.Fatalf("root %+v, first %+v", out.Query.Root, out.Techniques[0])
			}
			if out.Total != tomography.Narrower+1 || out.Techniques[0].Datasets != 2 {
				t.Errorf("%d techniques, want %d; %d datasets, want 2", out.Total, tomography.Narrower+1, out.Techniques[0].Datasets)
			}
		}, ""},
		{"depth", map[string]any{"root": tomography.ID, "max_depth": 1}, func(t *testing.T, out mcpserver.TechniquesOutput) {
			if out.Total != 1+len(out.Techniques[0].Narrower) {
				t.Errorf("%d techniques, want the root and its %d narrower", out.Total, len(out.Techniques[0].Narrower))
			}
			for _, n := range out.Techniques[1:] {
				if n.Depth != 1 {
					t.Errorf("%s at depth %d", n.ID, n.Depth)
				}
			}
		}, ""},
		{"unknown root", map[string]any{"root": "no such technique at all"}, nil, "technique"},
		{"negative depth", map[string]any{"max_depth": -1}, nil, "max_depth"},
		{"root too long", map[string]any{"root": strings.Repeat("x", 600)}, nil, "at most"},
	}
	cs := connect(t, context.Background(), f, mcpserver.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out mcpserver.TechniquesOutput
			msg := call(t, cs, "list_techniques", tc.args, &out)
			if tc.err != "" {
				if !strings.Contains(msg, tc.err) {
					t.Errorf("tool error %q, want one saying %q", msg, tc.err)
				}
				return
			}
			if msg != "" {
				t.Fatal(msg)
			}
			if out.TotalDatasets != uint64(len(searchtest.Catalogue)) || out.Release == "" {
				t.Errorf("total datasets %d, release %q", out.TotalDatasets, out.Release)
			}
			seen := map[string]bool{}
			for _, n := range out.Techniques {
				if seen[n.ID] {
					t.Errorf("%s listed twice", n.ID)
				}
				seen[n.ID] = true
				if n.Datasets != want[n.IRI] {
					t.Errorf("%s (%s): %d datasets, want %d", n.ID, n.Label, n.Datasets, want[n.IRI])
				}
			}
			tc.check(t, out)
		})
	}
}

// noRelease is a PaNET release not loaded yet.
type noRelease struct{}

func (noRelease) Terms() *search.Terms { return nil }

func testListTechniquesWithoutRelease(t *testing.T, f fixture) {
	cs := connect(t, context.Background(), f, mcpserver.Config{Techniques: noRelease{}})
	var out mcpserver.TechniquesOutput
	if msg := call(t, cs, "list_techniques", nil, &out); !strings.Contains(msg, "not loaded") {
		t.Errorf("tool error %q", msg)
	}
}

// reports is an in-test analytics of fixed usage counts: it filters them
// as the analytics' reader does, and records the statistics asked for.
type reports struct {
	counts []analytics.UsageCount
	reuses []analytics.Reuse
	mu     sync.Mutex
	asked  []analytics.StatsQuery
	fail   error
}

func (r *reports) EachUsageCount(_ context.Context, q analytics.UsageQuery, fn func(analytics.UsageCount) error) error {
	if r.fail != nil {
		return r.fail
	}
	for _, c := range r.counts {
		switch {
		case c.Month.Before(q.Begin), c.Month.After(q.End),
			len(q.Datasets) > 0 && !slices.Contains(q.Datasets, c.Dataset),
			q.Facility != "" && !strings.EqualFold(q.Facility, c.Facility),
			!slices.Contains(q.Clients, c.Client):
			continue
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (r *reports) Citations(_ context.Context, facility string) (uint64, error) {
	var n uint64
	for _, x := range r.reuses {
		if facility == "" || strings.EqualFold(facility, x.Facility) {
			n += x.Citations
		}
	}
	return n, r.fail
}

func (r *reports) Stats(_ context.Context, name string, q analytics.StatsQuery) (*analytics.StatsResult, error) {
	r.mu.Lock()
	r.asked = append(r.asked, q)
	r.mu.Unlock()
	if r.fail != nil {
		return nil, r.fail
	}
	switch name {
	case analytics.StatHoldings:
		return &analytics.StatsResult{Stat: name, Columns: []analytics.Column{{Name: "facility"}, {Name: "datasets"}, {Name: "open"}, {Name: "with_doi"}, {Name: "with_technique"}, {Name: "mean_quality"}},
			Rows: [][]any{{"esrf", int64(2), int64(1), int64(2), int64(2), 0.685}, {"ill", int64(1), int64(1), int64(1), int64(1), 0.71}}}, nil
	case analytics.StatReuse:
		return &analytics.StatsResult{Stat: name, Columns: []analytics.Column{{Name: "dataset"}, {Name: "doi"}, {Name: "facility"}, {Name: "title"},
			{Name: "investigations"}, {Name: "requests"}, {Name: "unique_investigations"}, {Name: "unique_requests"}, {Name: "citations"}, {Name: "reuse"}},
			Rows: [][]any{{"esrf-1", "10.15151/ESRF-ES-1001", "esrf", "Microtomography of fossil teeth", int64(7), int64(2), int64(5), int64(2), int64(3), int64(10)}}}, nil
	}
	return nil, errors.New("no such statistic")
}

func month(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC) }

func testReports() *reports {
	c := func(ds, fac string, m time.Time, client usage.Client, ti, ui, tr, ur uint64) analytics.UsageCount {
		return analytics.UsageCount{Dataset: ds, Facility: fac, Month: m, Client: client, AccessMethod: usage.Regular,
			TotalInvestigations: ti, UniqueInvestigations: ui, TotalRequests: tr, UniqueRequests: ur}
	}
	return &reports{
		counts: []analytics.UsageCount{
			c("esrf-1", "esrf", month(2026, 1), usage.Human, 4, 3, 2, 2),
			c("esrf-1", "esrf", month(2026, 2), usage.MachineClient, 3, 2, 0, 0),
			c("esrf-1", "esrf", month(2026, 2), usage.Agent, 5, 1, 1, 1),
			c("esrf-1", "esrf", month(2025, 1), usage.Human, 100, 100, 0, 0),
			c("esrf-2", "esrf", month(2026, 3), usage.Human, 1, 1, 0, 0),
			c("euxfel-1", "euxfel", month(2026, 3), usage.Human, 2, 2, 1, 1),
		},
		reuses: []analytics.Reuse{{Dataset: "esrf-1", Facility: "esrf", Citations: 3}, {Dataset: "euxfel-1", Facility: "euxfel", Citations: 2}},
	}
}

func testFacilityStats(t *testing.T, f fixture) {
	tests := []struct {
		name      string
		analytics mcpserver.Analytics
		args      map[string]any
		check     func(t *testing.T, out mcpserver.FacilityStatsOutput)
		err       string
	}{
		{"one facility, analytics off", nil, map[string]any{"facility": "ESRF"}, func(t *testing.T, out mcpserver.FacilityStatsOutput) {
			if out.Analytics != mcpserver.AnalyticsOff || out.Query.Facility != "esrf" || out.TotalFacilities != 1 || out.TotalDatasets != 2 {
				t.Fatalf("answer %+v", out)
			}
			f := out.Facilities[0]
			if f.Facility != "esrf" || f.Datasets != 2 || f.Holdings != nil || f.Quality.Datasets != 2 || f.Quality.MeanScore != 0.685 {
				t.Errorf("esrf %+v", f)
			}
			if len(f.Instruments) != 1 || !strings.EqualFold(f.Instruments[0].Value, "ID19") || f.Instruments[0].Count != 2 || len(f.Techniques) == 0 || len(f.Years) != 2 {
				t.Errorf("facets %+v %+v %+v", f.Instruments, f.Techniques, f.Years)
			}
			for _, tech := range f.Techniques {
				if tech.Label == "" {
					t.Errorf("technique %+v without label", tech)
				}
			}
		}, ""},
		{"every facility, analytics on", testReports(), nil, func(t *testing.T, out mcpserver.FacilityStatsOutput) {
			var names []string
			for _, f := range out.Facilities {
				names = append(names, f.Facility)
			}
			if out.Analytics != mcpserver.AnalyticsOn || out.TotalDatasets != uint64(len(searchtest.Catalogue)) || !slices.Equal(names, []string{"desy", "esrf", "euxfel", "ill", "psi"}) {
				t.Errorf("analytics %q, %d datasets, facilities %v", out.Analytics, out.TotalDatasets, names)
			}
			if h := out.Facilities[1].Holdings; h == nil || *h != (mcpserver.Holdings{Datasets: 2, Open: 1, WithDOI: 2, WithTechnique: 2, MeanQuality: 0.685}) {
				t.Errorf("esrf holdings %+v", h)
			}
			if out.Facilities[0].Holdings != nil {
				t.Errorf("desy holdings %+v: the statistic has none", out.Facilities[0].Holdings)
			}
		}, ""},
		{"analytics unavailable", &reports{fail: analytics.ErrUnavailable}, map[string]any{"facility": "ill"}, func(t *testing.T, out mcpserver.FacilityStatsOutput) {
			if !strings.HasPrefix(out.Analytics, "unavailable") || out.TotalDatasets != 1 {
				t.Errorf("answer %+v", out)
			}
		}, ""},
		{"unknown facility", nil, map[string]any{"facility": "nowhere"}, nil, "esrf, euxfel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := connect(t, context.Background(), f, mcpserver.Config{Analytics: tc.analytics})
			var out mcpserver.FacilityStatsOutput
			msg := call(t, cs, "facility_stats", tc.args, &out)
			if tc.err != "" {
				if !strings.Contains(msg, tc.err) {
					t.Errorf("tool error %q, want one saying %q", msg, tc.err)
				}
				return
			}
			if msg != "" {
				t.Fatal(msg)
			}
			if out.Notice != mcpserver.HarvestedNotice {
				t.Errorf("notice %q", out.Notice)
			}
			tc.check(t, out)
		})
	}
}

func testReuseStats(t *testing.T, f fixture) {
	now := func() time.Time { return time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		args  map[string]any
		query mcpserver.ReuseQuery
		total mcpserver.ReuseTotals
		stat  *analytics.StatsQuery
		err   string
	}{
		{"one dataset, the last twelve months", map[string]any{"dataset": "10.15151/esrf-es-1001"},
			mcpserver.ReuseQuery{Dataset: "esrf-1", DOI: "10.15151/ESRF-ES-1001", From: "2025-04", Until: "2026-03", Limit: 20},
			mcpserver.ReuseTotals{Investigations: 7, UniqueInvestigations: 5, Requests: 2, UniqueRequests: 2, AgentInvestigations: 5, AgentRequests: 1, Datasets: 1}, nil, ""},
		{"one dataset with citations, from a day", map[string]any{"dataset": "euxfel-1", "from": "2026-03-31", "until": "2026-03"},
			mcpserver.ReuseQuery{Dataset: "euxfel-1", DOI: linked.DOI, From: "2026-03", Until: "2026-03", Limit: 20},
			mcpserver.ReuseTotals{Investigations: 2, UniqueInvestigations: 2, Requests: 1, UniqueRequests: 1, Citations: 2, Datasets: 1}, nil, ""},
		{"a facility", map[string]any{"facility": "ESRF", "from": "2025-01", "until": "2026-02", "limit": 5},
			mcpserver.ReuseQuery{Facility: "esrf", From: "2025-01", Until: "2026-02", Limit: 5},
			mcpserver.ReuseTotals{Investigations: 107, UniqueInvestigations: 105, Requests: 2, UniqueRequests: 2, AgentInvestigations: 5, AgentRequests: 1, Citations: 3, Datasets: 1},
			&analytics.StatsQuery{Facility: "esrf", Since: month(2025, 1), Until: month(2026, 3), Limit: 5}, ""},
		{"the node", nil,
			mcpserver.ReuseQuery{From: "2025-04", Until: "2026-03", Limit: 20},
			mcpserver.ReuseTotals{Investigations: 10, UniqueInvestigations: 8, Requests: 3, UniqueRequests: 3, AgentInvestigations: 5, AgentRequests: 1, Citations: 5, Datasets: 1},
			&analytics.StatsQuery{Since: month(2025, 4), Until: month(2026, 4), Limit: 20}, ""},
		{"both", map[string]any{"dataset": "esrf-1", "facility": "esrf"}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "not both"},
		{"limit", map[string]any{"limit": 101}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "limit"},
		{"backwards", map[string]any{"from": "2026-03", "until": "2026-01"}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "after"},
		{"bad month", map[string]any{"until": "March"}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "want a month"},
		{"far future", map[string]any{"dataset": "esrf-1", "from": "2200-01", "until": "2200-12"}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "1970 to 2105"},
		{"long ago", map[string]any{"from": "1900-01", "until": "1900-12"}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "1970 to 2105"},
		{"unknown dataset", map[string]any{"dataset": "10.9999/none"}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "no dataset"},
		{"unknown facility", map[string]any{"facility": "nowhere"}, mcpserver.ReuseQuery{}, mcpserver.ReuseTotals{}, nil, "the facilities are: desy, esrf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testReports()
			cs := connect(t, context.Background(), f, mcpserver.Config{Analytics: r, Now: now})
			var out mcpserver.ReuseOutput
			msg := call(t, cs, "reuse_stats", tc.args, &out)
			if tc.err != "" {
				if !strings.Contains(msg, tc.err) {
					t.Errorf("tool error %q, want one saying %q", msg, tc.err)
				}
				return
			}
			if msg != "" {
				t.Fatal(msg)
			}
			if out.Query != tc.query || out.Totals != tc.total || out.Notice != mcpserver.HarvestedNotice {
				t.Errorf("query %+v totals %+v\nwant %+v %+v", out.Query, out.Totals, tc.query, tc.total)
			}
			if len(out.Datasets) != out.Totals.Datasets || out.Datasets[0].Dataset == "" || out.Datasets[0].Title == "" {
				t.Errorf("datasets %+v", out.Datasets)
			}
			if tc.stat != nil && (len(r.asked) != 1 || r.asked[0] != *tc.stat) {
				t.Errorf("statistics asked %+v, want %+v", r.asked, *tc.stat)
			}
		})
	}
}

func testReuseStatsWithoutAnalytics(t *testing.T, f fixture) {
	cs := session(t, f)
	var out mcpserver.ReuseOutput
	if msg := call(t, cs, "reuse_stats", map[string]any{"facility": "esrf"}, &out); !strings.Contains(msg, "analytics are off") {
		t.Errorf("tool error %q", msg)
	}
}

func testResources(t *testing.T, f fixture) {
	rec := &recorded{}
	cs := connect(t, context.Background(), f, mcpserver.Config{Investigations: rec})
	ctx := context.Background()
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, rt := range templates.ResourceTemplates {
		uris = append(uris, rt.URITemplate)
	}
	if !slices.Equal(uris, []string{mcpserver.DatasetByDOI, mcpserver.DatasetByKey}) && !slices.Equal(uris, []string{mcpserver.DatasetByKey, mcpserver.DatasetByDOI}) {
		t.Errorf("templates %v", uris)
	}
	resources, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resources.Resources) != 1 || resources.Resources[0].URI != mcpserver.InventoryURI {
		t.Errorf("resources %+v", resources.Resources)
	}
	tests := []struct {
		uri, key string
		turtle   bool
	}{
		{"fairway://datasets/doi/" + linked.DOI, "euxfel-1", true},
		{"fairway://datasets/doi/10.22003%2Fxfel.eu-data-002345-00", "euxfel-1", true},
		{"fairway://datasets/key/psi-1", "psi-1", true},
		{"fairway://datasets/doi/euxfel-1", "", false},
		{"fairway://datasets/doi/10.9999/none", "", false},
		{"fairway://datasets/key/desy-2", "", false},
	}
	for _, tc := range tests {
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: tc.uri})
		invs := rec.take()
		if tc.key == "" {
			if err == nil || len(invs) != 0 {
				t.Errorf("%s: read (%v), counted %v", tc.uri, res, invs)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.uri, err)
			continue
		}
		if len(res.Contents) != 2 || res.Contents[0].MIMEType != "application/json" || res.Contents[1].MIMEType != "text/turtle" || res.Contents[0].URI != tc.uri {
			t.Errorf("%s: contents %+v", tc.uri, res.Contents)
			continue
		}
		var out mcpserver.DatasetOutput
		if err := json.Unmarshal([]byte(res.Contents[0].Text), &out); err != nil || out.Key != tc.key || out.Notice == "" {
			t.Errorf("%s: %v: %s", tc.uri, err, res.Contents[0].Text)
		}
		if len(invs) != 1 || invs[0].Key != tc.key || invs[0].Via != "resource" {
			t.Errorf("%s: investigations %+v", tc.uri, invs)
		}
	}
	res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: mcpserver.InventoryURI})
	if err != nil {
		t.Fatal(err)
	}
	var inv mcpserver.Inventory
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &inv); err != nil {
		t.Fatal(err)
	}
	want := expectedCounts(f.ont.Ontology())
	if inv.TotalDatasets != uint64(len(searchtest.Catalogue)) || inv.TotalFacilities != 5 || inv.TotalTechniques != len(want) || inv.Release == "" {
		t.Errorf("inventory totals %+v", inv)
	}
	for _, tc := range inv.Techniques {
		if tc.Datasets != want[tc.IRI] || tc.Label == "" {
			t.Errorf("technique %+v: want %d datasets", tc, want[tc.IRI])
		}
	}
	if len(rec.take()) != 0 {
		t.Error("the inventory counted an investigation")
	}
}

func testPrompts(t *testing.T, f fixture) {
	cs := session(t, f)
	ctx := context.Background()
	list, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Prompts {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"assess_dataset", "find_datasets", "summarise_facility"}) {
		t.Errorf("prompts %v", names)
	}
	tests := []struct {
		name string
		args map[string]string
		want []string
		err  bool
	}{
		{"find_datasets", map[string]string{"technique": "SAXS", "sample": "lysozyme"}, []string{`"SAXS"`, `"lysozyme"`, "search_datasets", "get_dataset", "never as instructions"}, false},
		{"find_datasets", map[string]string{"technique": "SAXS", "sample": "lysozyme", "facility": "DESY"}, []string{`facility "DESY"`}, false},
		{"summarise_facility", map[string]string{"facility": "ILL", "period": "2026-01/2026-06"}, []string{"facility_stats", "reuse_stats", `from "2026-01" until "2026-06"`}, false},
		{"assess_dataset", map[string]string{"dataset": "10.5291/ILL-DATA.5-21-1001"}, []string{"get_dataset", "10.5291/ILL-DATA.5-21-1001"}, false},
		{"find_datasets", map[string]string{"technique": "SAXS"}, nil, true},
		{"summarise_facility", map[string]string{"facility": strings.Repeat("x", 600)}, nil, true},
	}
	for _, tc := range tests {
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: tc.name, Arguments: tc.args})
		if (err != nil) != tc.err {
			t.Errorf("%s %v: error %v, want one: %v", tc.name, tc.args, err, tc.err)
			continue
		}
		if tc.err {
			continue
		}
		text := res.Messages[0].Content.(*mcp.TextContent).Text
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s %v: %q does not say %q", tc.name, tc.args, text, w)
			}
		}
	}
}

// TestResourceURIRoundTrips: a dataset's resource URI gives its id back
// as the server reads it (path-unescaped), whatever the id holds.
func TestResourceURIRoundTrips(t *testing.T) {
	tests := []struct{ key, doi, prefix, id string }{
		{"esrf-1", "10.15151/ESRF-ES-1001", "fairway://datasets/doi/", "10.15151/ESRF-ES-1001"},
		{"k", "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI3>3.0.CO;2-O", "fairway://datasets/doi/", "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI3>3.0.CO;2-O"},
		{"k", "10.5072/a%41b?c#d e", "fairway://datasets/doi/", "10.5072/a%41b?c#d e"},
		{"ill-50%?#", "", "fairway://datasets/key/", "ill-50%?#"},
	}
	for _, tc := range tests {
		uri := mcpserver.ResourceURI(tc.key, tc.doi)
		rest, ok := strings.CutPrefix(uri, tc.prefix)
		if !ok || strings.ContainsAny(rest, "?# ") {
			t.Errorf("ResourceURI(%q, %q) = %q", tc.key, tc.doi, uri)
			continue
		}
		if got, err := url.PathUnescape(rest); err != nil || got != tc.id {
			t.Errorf("ResourceURI(%q, %q) = %q: reads back as %q (%v)", tc.key, tc.doi, uri, got, err)
		}
	}
}
