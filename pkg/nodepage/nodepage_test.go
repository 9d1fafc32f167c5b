package nodepage

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/searchtest"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// The record whose harvested texts try to become markup and live links.
const (
	hostileKey   = "esrf-hostile"
	hostileTitle = `<script>alert("title")</script> Tomography`
)

// catalogue returns a real read model and search over the test catalogue
// and one hostile record.
func catalogue(t *testing.T) (*readmodel.Model, *search.Searcher) {
	t.Helper()
	m := searchtest.Ontology(t)
	entries := searchtest.Entries(m.Ontology(), searchtest.Catalogue)
	bad := searchtest.Entry(m.Ontology(), searchtest.Dataset{Key: hostileKey, Facility: "ESRF", Title: hostileTitle,
		Description: `<img src=x onerror=alert(1)>`, Techniques: []string{"PaNET01208"}, Quality: 0.4})
	ds := bad.Dataset.Dataset
	ds.LandingPage = "javascript:alert(document.cookie)"
	ds.Related = []*fairwayv1.RelatedIdentifier{
		{Identifier: "javascript:alert(2)", Type: "URL", Relation: "IsCitedBy"},
		{Identifier: "10.1107/S1600577519000000", Type: "DOI", Relation: "IsSupplementTo"},
	}
	bad.Dataset.QualityGaps = []*fairwayv1.QualityGap{{Check: "licence", Dimension: "reusability", Hint: "give a <b>licence</b>"}}
	entries = append(entries, bad)
	model := searchtest.Model(t, entries)
	s, err := search.New(search.Config{Techniques: search.NewTerms(m)}, model)
	if err != nil {
		t.Fatal(err)
	}
	return model, s
}

// status is a fixed pipeline status, or an error, or no answer until the
// context ends.
type status struct {
	st    api.NodeStatus
	err   error
	block bool
}

func (s status) Status(ctx context.Context) (api.NodeStatus, error) {
	if s.block {
		<-ctx.Done()
		return api.NodeStatus{}, ctx.Err()
	}
	return s.st, s.err
}

// stats answers fixed statistics.
type stats struct {
	results map[string]*analytics.StatsResult
	usage   []analytics.MonthUsage
	err     error
}

func (s stats) Stats(_ context.Context, name string, _ analytics.StatsQuery) (*analytics.StatsResult, error) {
	if s.err != nil {
		return nil, s.err
	}
	if r, ok := s.results[name]; ok {
		return r, nil
	}
	return nil, analytics.ErrUnknownStat
}

func (s stats) UsageByMonth(context.Context, analytics.UsageQuery) ([]analytics.MonthUsage, error) {
	return s.usage, s.err
}

var now = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func sampleStatus() api.NodeStatus {
	done := now.Add(-time.Hour)
	return api.NodeStatus{
		Stages:         []api.StageStatus{{Stage: "normaliser", Lag: 3}, {Stage: "enricher"}, {Stage: "publisher", Lag: 1}},
		ReadModelLag:   2,
		AnalyticsState: api.AnalyticsActive, AnalyticsLag: 5,
		Feeds: []api.FeedStatus{
			{ID: "esrf-oai", Facility: "ESRF", Enabled: true, LastRun: &api.Run{Status: api.StatusComplete, StartedAt: &done, Records: 12}},
			{ID: "ill-oai", Facility: "ILL", Enabled: true, LastRun: &api.Run{Status: api.StatusFailed, StartedAt: &done, Error: `oaipmh: Get "https://user:pw@oai.ill.example/oai?verb=ListRecords&apikey=k3y": 503 from the provider`}},
			{ID: "psi-scicat", Facility: "PSI"},
		},
		Destinations: []destinations.Status{{ID: "eosc", Kind: "piveau", URL: "https://hub.example.org/secret-path", Enabled: true, Running: true,
			Pending: 4, LastError: "401 key rejected: abc123"}},
		DeadLetters:      map[string]uint64{"normaliser": 2, "harvester": 1},
		DeadLettersTotal: 3,
		Streams:          []bus.StreamStatus{},
	}
}

func sampleStats() stats {
	return stats{
		results: map[string]*analytics.StatsResult{
			analytics.StatTimeline: {Stat: analytics.StatTimeline,
				Columns: []analytics.Column{{Name: "month"}, {Name: "facility"}, {Name: "datasets"}, {Name: "open"}},
				Rows:    [][]any{{"2024-03-01", "esrf", int64(2), int64(1)}, {"2024-05-01", "ill", int64(1), int64(1)}, {"1970-01-01", "psi", int64(4), int64(0)}}},
			analytics.StatTechniques: {Stat: analytics.StatTechniques,
				Columns: []analytics.Column{{Name: "technique"}, {Name: "label"}, {Name: "datasets"}, {Name: "direct"}, {Name: "facilities"}},
				Rows: [][]any{{"http://purl.org/pan-science/PaNET/PaNET01012", "photon probe", int64(5), int64(0), int64(2)},
					{"http://purl.org/pan-science/PaNET/PaNET01208", "tomography", int64(3), int64(3), int64(2)}}},
		},
		usage: []analytics.MonthUsage{{Month: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), TotalInvestigations: 7}},
	}
}

// chartRE finds a chart's figure and its attributes.
var chartRE = regexp.MustCompile(`<figure class="chart" data-chart="([a-z]+)" data-points="([0-9]+)" data-total="([0-9.]+)">`)

type chartAttrs struct {
	points int
	total  string
}

func charts(page string) map[string]chartAttrs {
	out := map[string]chartAttrs{}
	for _, m := range chartRE.FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = chartAttrs{n, m[3]}
	}
	return out
}

func get(t *testing.T, h http.Handler, target string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Header()
}

// TestNodePageHome renders / with each source answering, failing, hanging
// or absent: the page is always 200, each failure is said in its section,
// the others keep their charts.
func TestNodePageHome(t *testing.T) {
	model, s := catalogue(t)
	// The test catalogue, one of whose datasets was withdrawn, and the
	// hostile record.
	live := strconv.Itoa(len(searchtest.Catalogue))
	tests := []struct {
		name      string
		status    StatusSource
		analytics Analytics
		// charts: points wanted per chart (-1: the chart is absent).
		charts map[string]int
		has    []string
		hasNot []string
	}{
		{"every source", status{st: sampleStatus()}, sampleStats(),
			map[string]int{"facilities": 4, "techniques": 1, "quality": 10, "lag": 6, "deadletters": 2, "timeline": 3, "reuse": 12},
			[]string{`<span class="state failed">failed</span>`, "https://oai.ill.example/oai?…", "503 from the provider", `<span class="state failing">failing</span>`, "never",
				`href="/search?facility=esrf"`, `href="/search?technique=http%3A%2F%2Fpurl.org%2Fpan-science%2FPaNET%2FPaNET01208"`,
				"Datasets issued, per month", "2024-04"},
			[]string{"secret-path", "abc123", "photon probe", "Analytics are off", "k3y", "pw@"}},
		{"analytics off", status{st: sampleStatus()}, nil,
			map[string]int{"facilities": 4, "techniques": 10, "timeline": -1, "reuse": -1},
			[]string{`data-section="analytics-off"`, "broader techniques included"}, nil},
		{"analytics failing", status{st: sampleStatus()}, stats{err: errors.New("dial tcp 127.0.0.1:9000: connection refused")},
			map[string]int{"facilities": 4, "techniques": 10, "timeline": 0, "reuse": 0},
			[]string{"analytics: dial tcp 127.0.0.1:9000: connection refused"}, []string{"Analytics are off"}},
		{"status failing", status{err: errors.New("nats: no responders")}, nil,
			map[string]int{"facilities": 4, "lag": 0, "deadletters": 0},
			[]string{"status: nats: no responders"}, nil},
		{"status hanging", status{block: true}, nil,
			map[string]int{"facilities": 4, "lag": 0},
			[]string{"status: no answer within 100ms"}, nil},
		{"no status", nil, nil,
			map[string]int{"facilities": 4, "lag": -1},
			nil, []string{"Operations"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Catalogue: model, Search: s, Timeout: 100 * time.Millisecond, CacheFor: -1, Now: func() time.Time { return now }}
			if tc.status != nil {
				cfg.Status = tc.status
			}
			if tc.analytics != nil {
				cfg.Analytics = tc.analytics
			}
			h, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			code, body, hdr := get(t, h, "/")
			if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
				t.Fatalf("GET /: %d %s", code, hdr.Get("Content-Type"))
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("GET / took %s with sources bounded to 100ms", d)
			}
			if !strings.Contains(body, `data-stat="datasets">`+live+`<`) {
				t.Errorf("the page does not count %s datasets", live)
			}
			got := charts(body)
			for name, want := range tc.charts {
				c, ok := got[name]
				switch {
				case want < 0 && ok:
					t.Errorf("chart %s is there: %+v", name, c)
				case want >= 0 && !ok:
					t.Errorf("no chart %s in %v", name, got)
				case want >= 0 && c.points != want:
					t.Errorf("chart %s: %d points, want %d", name, c.points, want)
				}
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("the page has %q", s)
				}
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "http://fonts") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(body) {
				t.Error("the page loads something: a script, or from elsewhere")
			}
		})
	}
}

// TestNodePageDataset renders dataset pages: the record with its DCAT-AP
// links, quality and gaps; harvested markup as text and a javascript: link
// as no link; 404 and 410 pages; a page view counted once.
func TestNodePageDataset(t *testing.T) {
	model, s := catalogue(t)
	var mu sync.Mutex
	var views []string
	h, err := New(Config{Catalogue: model, Search: s, Viewed: func(_ *http.Request, key, facility, source string) {
		mu.Lock()
		defer mu.Unlock()
		views = append(views, key+" "+facility+" "+source)
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key    string
		code   int
		has    []string
		hasNot []string
		viewed bool
	}{
		{"esrf-1", http.StatusOK, []string{"<h1 data-title>Microtomography of fossil teeth</h1>", `href="https://doi.org/10.15151/ESRF-ES-1001"`,
			`href="/datasets/esrf-1?format=ttl"`, `href="/datasets/esrf-1?format=jsonld"`, `href="/datasets/esrf-1?format=rdfxml"`,
			`<strong data-quality>82%</strong>`, `href="https://data.example.org/esrf-1"`, "Tafforeau, Paul", "CC-BY-4.0"}, nil, true},
		{hostileKey, http.StatusOK, []string{html.EscapeString(hostileTitle), "&lt;img src=x onerror=alert(1)&gt;", "javascript:alert(document.cookie)",
			`href="https://doi.org/10.1107/S1600577519000000"`, "give a &lt;b&gt;licence&lt;/b&gt;", "<strong>licence</strong>"},
			[]string{"<script>", "<img", `href="javascript:`, `href="#ZgotmplZ"`, "<b>licence"}, true},
		{"desy-2", http.StatusGone, []string{"This dataset was withdrawn by its facility."}, []string{"data-title"}, false},
		{"nope", http.StatusNotFound, []string{"No dataset with this key here."}, nil, false},
		{"esrf-" + strings.Repeat("x", 3000), http.StatusNotFound, []string{"No dataset with a key this long here."}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.key[:min(len(tc.key), 20)], func(t *testing.T) {
			mu.Lock()
			views = nil
			mu.Unlock()
			code, body, hdr := get(t, h, DatasetPath(tc.key))
			if code != tc.code {
				t.Fatalf("status %d, want %d", code, tc.code)
			}
			if hdr.Get("Vary") != "Accept" || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("headers %v", hdr)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("the page has %q", s)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.viewed != (len(views) == 1) || len(views) > 1 {
				t.Errorf("views %v", views)
			}
			if tc.viewed && len(views) == 1 && views[0] != tc.key+" esrf page" {
				t.Errorf("view %q", views[0])
			}
		})
	}
	// A HEAD (a link checker) reads no page: it is no investigation.
	t.Run("HEAD", func(t *testing.T) {
		mu.Lock()
		views = nil
		mu.Unlock()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, DatasetPath("esrf-1"), nil))
		mu.Lock()
		defer mu.Unlock()
		if rec.Code != http.StatusOK || len(views) != 0 {
			t.Errorf("HEAD: status %d, views %v", rec.Code, views)
		}
	})
}

// TestNodePageSearch runs the search form's queries.
func TestNodePageSearch(t *testing.T) {
	model, s := catalogue(t)
	h, err := New(Config{Catalogue: model, Search: s})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query  string
		code   int
		has    []string
		hasNot []string
	}{
		{"q=fossil", http.StatusOK, []string{`data-total="1"`, `<a href="/datasets/esrf-1">Microtomography of fossil teeth</a>`, `value="fossil"`}, nil},
		{"q=tomography", http.StatusOK, []string{html.EscapeString(hostileTitle)}, []string{"<script>"}},
		{"facility=esrf", http.StatusOK, []string{`data-total="3"`, `name="facility" value="esrf"`}, nil},
		{"q=zzyzxqq", http.StatusOK, []string{`data-total="0"`, "0 datasets found."}, nil},
		{"technique=tomografy", http.StatusBadRequest, []string{"data-search-error"}, nil},
		{"q=" + strings.Repeat("a", search.MaxQuery+1), http.StatusBadRequest, []string{"data-search-error"}, nil},
		{"q=" + url.QueryEscape(`"><script>x</script>`), http.StatusOK, []string{`value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"`}, []string{"<script>x"}},
	}
	for _, tc := range tests {
		t.Run(tc.query[:min(len(tc.query), 20)], func(t *testing.T) {
			code, body, _ := get(t, h, "/search?"+tc.query)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("the page has %q", s)
				}
			}
		})
	}
}

// TestNodePagePrefersHTML: browsers get the page, other clients RDF.
func TestNodePagePrefersHTML(t *testing.T) {
	tests := []struct {
		accept, format string
		want           bool
	}{
		{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", "", true},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "ttl", false},
		{"text/turtle", "html", true},
		{"", "", false},
		{"*/*", "", false},
		{"text/turtle, text/html;q=0.5", "", false},
		{"text/html, text/turtle", "", false},
		{"application/ld+json", "", false},
		{"text/html;q=0", "", false},
		{"text/html", "", true},
		{"TEXT/HTML;Q=0.8, application/rdf+xml;q=0.7", "", true},
		{"text/html;q=bogus", "", false},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, "/datasets/x", nil)
		if tc.format != "" {
			r.URL.RawQuery = "format=" + tc.format
		}
		r.Header.Set("Accept", tc.accept)
		if got := PrefersHTML(r); got != tc.want {
			t.Errorf("Accept %q format %q: %v, want %v", tc.accept, tc.format, got, tc.want)
		}
	}
}

// TestNodePageChartEscapes: the chart library writes labels into the SVG
// as given; the page escapes them first.
func TestNodePageChartEscapes(t *testing.T) {
	tests := []struct {
		bars   []Bar
		points int
		has    string
	}{
		{[]Bar{{Label: "<script>x</script>", Value: 3}, {Label: "b&c", Value: 1}}, 2, "‹script›"},
		{[]Bar{{Label: "zero", Value: 0}}, 1, "zero"},
		{nil, 0, ""},
	}
	for _, tc := range tests {
		c := Chart{Name: "t", Bars: tc.bars}
		renderBars(&c)
		if c.Points() != tc.points || c.Err != "" {
			t.Errorf("%v: %d points, err %q", tc.bars, c.Points(), c.Err)
		}
		svg := string(c.SVG)
		if strings.Contains(svg, "<script") || !strings.Contains(svg, tc.has) {
			t.Errorf("%v: SVG %.300s", tc.bars, svg)
		}
	}
}

// TestNodePageConfig checks Validate.
func TestNodePageConfig(t *testing.T) {
	model, s := catalogue(t)
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{Catalogue: model, Search: s}, true},
		{Config{Search: s}, false},
		{Config{Catalogue: model}, false},
		{Config{Catalogue: model, Search: s, Timeout: -1}, false},
		{Config{Catalogue: model, Search: s, Months: 200}, false},
	}
	for i, tc := range tests {
		if _, err := New(tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%d: %v", i, err)
		}
	}
}

// countingStatus counts the status reads.
type countingStatus struct {
	mu sync.Mutex
	n  int
}

func (c *countingStatus) Status(context.Context) (api.NodeStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return sampleStatus(), nil
}

// TestNodePageHomeCache: the page at / is built once per CacheFor,
// whatever the requests.
func TestNodePageHomeCache(t *testing.T) {
	model, s := catalogue(t)
	clock := now
	var mu sync.Mutex
	st := &countingStatus{}
	h, err := New(Config{Catalogue: model, Search: s, Status: st, CacheFor: time.Minute, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if code, _, _ := get(t, h, "/"); code != http.StatusOK {
				t.Errorf("status %d", code)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	get(t, h, "/")
	if st.n != 2 {
		t.Errorf("%d status reads for 9 requests over two minutes, want 2", st.n)
	}
}

// TestWrapLabel: labels break after spaces and hyphens, and only cut a
// word longer than a line.
func TestWrapLabel(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"licence", 10, "licence"},
		{"related-publications", 12, "related-\npublications"},
		{"creator-orcid", 12, "creator-\norcid"},
		{"x-ray powder diffraction", 10, "x-ray\npowder\ndiffracti-\non"},
		{"neutron scattering", 20, "neutron scattering"},
		{"macromolecular crystallography", 9, "macromol-\necular\ncrystall-\nography"},
		{"a b", 0, "a\nb"},
		{"abc", 0, "a-\nbc"},
		{"", 5, ""},
		{" abc ", 2, "a-\nbc"},
		{"été-hiver", 4, "été-\nhiv-\ner"},
	}
	for _, tc := range tests {
		if got := wrapLabel(tc.in, tc.width); got != tc.want {
			t.Errorf("wrapLabel(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// TestPublicError: a feed's error on the public page keeps no URL's
// credentials, query or fragment, and is bounded.
func TestPublicError(t *testing.T) {
	tests := []struct{ in, want string }{
		{"503 from the provider", "503 from the provider"},
		{`Get "https://u:p@h.example/oai?verb=ListRecords&key=s": EOF`, `Get "https://h.example/oai?…": EOF`},
		{"see http://h.example/a/b#frag and ftp://f.example/x", "see http://h.example/a/b?… and ftp://f.example/x"},
		{"odd http://%zz/x", "odd (a URL)"},
		{"no host file:///etc/passwd", "no host (a URL)"},
		{strings.Repeat("e", 1000), strings.Repeat("e", maxErrorText-1) + "…"},
	}
	for _, tc := range tests {
		if got := publicError(tc.in); got != tc.want {
			t.Errorf("publicError(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
