package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/search"
	"github.com/panosc/fairway/pkg/urlguard"
)

// searchAPI serves the API with a searcher over the test catalogue.
func searchAPI(t *testing.T) string {
	t.Helper()
	m := searchtest.Ontology(t)
	model := searchtest.Model(t, searchtest.Entries(m.Ontology(), searchtest.Catalogue))
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.NewAccess(tokensFile())
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: urlguard.Policy{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Access: access, Checker: checker, Search: s}, testenv.Bus(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSearchRoute(t *testing.T) {
	base := searchAPI(t)
	get := func(t *testing.T, query string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(base + "/api/v1/search?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		return resp.StatusCode, body
	}
	cases := []struct {
		name   string
		query  string
		status int
		// total, when status is 200.
		total int
		// has are strings the body holds.
		has []string
	}{
		{name: "plain tomography", query: "q=tomography", status: 200, total: 3,
			has: []string{`"query": "tomography"`, `"query_techniques"`, `"label": "tomography"`, `"sort": "relevance"`, `"score"`}},
		{name: "technique filter echoed", query: "technique=SAXS", status: 200, total: 1,
			has: []string{`"iri": "http://purl.org/pan-science/PaNET/PaNET01188"`, `"label": "small angle x-ray scattering"`, `"narrower": 9`}},
		{name: "every filter", query: url.Values{"q": {"bone"}, "facility": {"ESRF"}, "instrument": {"ID19"}, "from": {"2025-01-01"},
			"until": {"2025"}, "access": {searchtest.Restricted}, "licence": {"CC-BY-4.0"}, "min_quality": {"0.5"}, "sort": {"date"},
			"limit": {"5"}}.Encode(), status: 200, total: 1, has: []string{`"facility": "esrf"`, `"min_quality": 0.5`, `"key": "esrf-2"`}},
		{name: "facets", query: "", status: 200, total: 5, has: []string{`"facets"`, `"value": "esrf"`, `"value": "CC0-1.0"`}},
		{name: "no match", query: "q=unobtainium", status: 200, total: 0, has: []string{`"reason": "no dataset has every word`}},
		{name: "unknown technique", query: "technique=tomografy", status: 400, has: []string{`"near"`, `PaNET01129`, `names no PaNET technique`}},
		{name: "unknown parameter", query: "techique=SAXS", status: 400, has: []string{`unknown parameter`}},
		{name: "repeated parameter", query: "q=a&q=b", status: 400, has: []string{`more than once`}},
		{name: "negative limit", query: "limit=-5", status: 400, has: []string{`limit`}},
		{name: "zero limit", query: "limit=0", status: 400},
		{name: "limit not a number", query: "limit=ten", status: 400},
		{name: "bad date", query: "from=yesterday", status: 400, has: []string{`from`}},
		{name: "bad quality", query: "min_quality=NaN", status: 400},
		{name: "bad sort", query: "sort=random", status: 400},
		{name: "bad cursor", query: "cursor=%00%01", status: 400},
		{name: "huge query", query: "q=" + strings.Repeat("x", 5000), status: 400, has: []string{`bytes`}},
		// No words: the text does not filter.
		{name: "query syntax characters", query: "q=" + url.QueryEscape(`+-:^~*?"()[]{}\/`), status: 200, total: 5, has: []string{`"words": []`}},
		{name: "query syntax around words", query: "q=" + url.QueryEscape(`bone^5 AND (mice~ OR "x*")`), status: 200, total: 0},
		{name: "not UTF-8", query: "q=%ff%fe", status: 400},
		{name: "control characters", query: "q=%00%01bone%7f", status: 200, total: 1},
		{name: "limit overflows", query: "limit=99999999999999999999", status: 400},
		{name: "negative quality", query: "min_quality=-0.1", status: 400},
		{name: "no such month", query: "from=2025-13-01", status: 400},
		{name: "huge technique", query: "technique=" + strings.Repeat("t", 4000), status: 400},
		{name: "cursor of another order", query: "sort=relevance&q=bone&cursor=" + dateCursor(t, base), status: 400, has: []string{"cursor"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(t, c.query)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			for _, h := range c.has {
				if !strings.Contains(string(body), h) {
					t.Errorf("body lacks %s:\n%s", h, body)
				}
			}
			if status != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Errorf("error body %s", body)
				}
				return
			}
			var r search.Result
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			if r.Total != uint64(c.total) || len(r.Hits) != c.total {
				t.Errorf("total %d hits %d, want %d", r.Total, len(r.Hits), c.total)
			}
		})
	}
}

// TestSearchRouteWithoutSearcher answers 503.
func TestSearchRouteWithoutSearcher(t *testing.T) {
	access, err := api.NewAccess(tokensFile())
	if err != nil {
		t.Fatal(err)
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: urlguard.Policy{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Access: access, Checker: checker}, testenv.Bus(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/search?q=bone", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
}

// dateCursor returns the cursor of a first page by date.
func dateCursor(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/search?sort=date&limit=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r search.Result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Next == "" {
		t.Fatalf("no cursor: %v", err)
	}
	return url.QueryEscape(r.Next)
}
