// Package nodepage serves the node's own HTML pages: the page at / that an
// operator and a facility look at first (feeds and their last runs, lag,
// dead letters, destinations, the catalogue by facility and technique, its
// quality and most common gaps, datasets issued and reuse over time, as
// charts with tables beside them), a page per dataset, and search.
//
// Everything the pages need is in the binary: the templates, the inline
// CSS, and charts drawn as SVG on the server; the pages need no script and
// fetch nothing from elsewhere. Each part of a page reads one source with
// a bound on its time: a source that fails or is too slow shows its error
// in its own section, and the page is still served.
package nodepage

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// StatusSource tells how the node's pipeline stands; *api.Server is the
// production one.
type StatusSource interface {
	Status(ctx context.Context) (api.NodeStatus, error)
}

var _ StatusSource = (*api.Server)(nil)

// Catalogue is what the pages read of the live catalogue;
// *readmodel.Model is the production one.
type Catalogue interface {
	// Get returns the record of a dataset key, or readmodel.ErrNotFound.
	Get(ctx context.Context, key string) (readmodel.Record, error)
	// Quality returns the quality of every facility's live datasets.
	Quality(ctx context.Context) ([]readmodel.FacilityQuality, error)
}

var _ Catalogue = (*readmodel.Model)(nil)

// Searcher runs searches; *search.Searcher is the production one.
type Searcher interface {
	Search(ctx context.Context, req search.Request) (search.Result, error)
}

var _ Searcher = (*search.Searcher)(nil)

// Analytics answers the statistics kept in ClickHouse; *analytics.Reader
// is the production one.
type Analytics interface {
	Stats(ctx context.Context, name string, q analytics.StatsQuery) (*analytics.StatsResult, error)
	UsageByMonth(ctx context.Context, q analytics.UsageQuery) ([]analytics.MonthUsage, error)
}

var _ Analytics = (*analytics.Reader)(nil)

// Defaults of Config.
const (
	DefaultTitle    = "Fairway node"
	DefaultTimeout  = 3 * time.Second
	DefaultCacheFor = 10 * time.Second
	// DefaultMonths is how many months the charts over time show.
	DefaultMonths = 12
)

// Config configures the pages. Catalogue and Search are required; the
// other sources may be nil: their sections then say that the node does
// not have them.
//
// Every source must return when its context ends: the page at / is built
// under a lock (one build serves the requests of CacheFor), bounded by
// Timeout per source only as long as each source honours its context.
type Config struct {
	// Title names the node in the pages. Default DefaultTitle.
	Title string
	// Catalogue is the live catalogue (dataset pages, quality).
	Catalogue Catalogue
	// Search runs the search form's queries and counts the catalogue by
	// facility and technique.
	Search Searcher
	// Status tells how the pipeline stands (feeds, lag, dead letters,
	// destinations); nil leaves that section out.
	Status StatusSource
	// Analytics answers the charts over time; nil when the node runs
	// without analytics (the page says so).
	Analytics Analytics
	// Timeout bounds each source's answer. Default DefaultTimeout.
	Timeout time.Duration
	// CacheFor is how long the page at / is kept once built: requests
	// meanwhile get it as it was, and a flood of them reads the sources
	// once per CacheFor. Default DefaultCacheFor; negative: not kept.
	CacheFor time.Duration
	// Months is how many months the charts over time show. Default
	// DefaultMonths.
	Months int
	// Viewed, when set, is called after a dataset page was served: the
	// node counts it as a usage investigation (source "page"). It must not
	// block.
	Viewed func(r *http.Request, key, facility, source string)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Log takes what goes wrong. Default: discarded.
	Log *slog.Logger
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	switch {
	case c.Catalogue == nil:
		return errors.New("nodepage: no catalogue")
	case c.Search == nil:
		return errors.New("nodepage: no searcher")
	case c.Timeout < 0:
		return errors.New("nodepage: negative timeout")
	case c.Months < 0 || c.Months > 120:
		return fmt.Errorf("nodepage: months %d: want 1 to 120", c.Months)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Title == "" {
		c.Title = DefaultTitle
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Months == 0 {
		c.Months = DefaultMonths
	}
	if c.CacheFor == 0 {
		c.CacheFor = DefaultCacheFor
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"datasetPath": DatasetPath,
	"number":      formatNumber,
	"percent":     func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) },
	"when":        when,
	"safeURL":     safeURL,
	"barWidth": func(v, total float64) string {
		if total <= 0 {
			return "0"
		}
		return fmt.Sprintf("%.1f", 100*v/total)
	},
}).ParseFS(templateFS, "templates/*.html"))

// Handler serves the pages:
//
//	GET /                 the node's page
//	GET /search?q=…       search results, each linking to its dataset's page
//	GET /datasets/{key}   one dataset's page (the node sends browsers here
//	                      and other clients to the catalogue's RDF: PrefersHTML)
type Handler struct {
	cfg Config
	mux *http.ServeMux

	// mu guards the page at / as last built, and is held while it is
	// built: concurrent requests wait for one build.
	mu     sync.Mutex
	cached *homeData
	built  time.Time
}

// New returns the pages' handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.home)
	h.mux.HandleFunc("GET /search", h.search)
	h.mux.HandleFunc("GET /datasets/{key...}", h.dataset)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// DatasetPath is the path of a dataset's page (and of its DCAT-AP): the
// key path-escaped, as the catalogue mints its IRIs.
func DatasetPath(key string) string { return "/datasets/" + url.PathEscape(key) }

// render writes the page name with data, status code first. A template
// that fails midway has sent its status already: that is logged.
func (h *Handler) render(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Nothing but the page itself: no script, no frame, no fetch
	// elsewhere; inline styles only.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(code)
	if err := templates.ExecuteTemplate(w, name, data); err != nil {
		h.cfg.Log.Error("page did not render", "page", name, "err", err)
	}
}

// call runs fn with the source timeout; an error is turned into the text
// a section shows.
func (h *Handler) call(ctx context.Context, what string, fn func(context.Context) error) string {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	err := fn(ctx)
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s", h.cfg.Timeout)
	}
	h.cfg.Log.Warn("node page source failed", "source", what, "err", err)
	return what + ": " + err.Error()
}

// page is what every page's frame shows.
type page struct {
	// Node names the node; Heading the page (empty on the home page).
	Node, Heading string
	Query         string
	Now           time.Time
}

// when writes a time to the second, in UTC ("" for zero).
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04:05Z")
	case *time.Time:
		if v == nil || v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04:05Z")
	}
	return ""
}

// safeURL returns u when it is an absolute http or https URL, else "":
// harvested links become live links only then (a javascript: or data:
// link stays text).
func safeURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") {
		return ""
	}
	return p.String()
}

// PrefersHTML reports whether r asks for a page rather than RDF: no
// ?format= (or ?format=html), and an Accept header that names text/html
// (or application/xhtml+xml) with a higher q-value than every RDF media
// type it names, as a browser's does ("text/html,…,application/xml;q=0.9,
// */*;q=0.8"). Wildcards count for neither, so that a client sending
// */* keeps getting Turtle.
func PrefersHTML(r *http.Request) bool {
	switch f := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("format"))); f {
	case "html", "text/html":
		return true
	case "":
	default:
		return false
	}
	accept := r.Header.Get("Accept")
	if len(accept) > 4096 {
		accept = accept[:4096]
	}
	htmlQ, rdfQ := 0.0, 0.0
	for i, part := range strings.Split(accept, ",") {
		if i == 64 {
			break
		}
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(name), "q") {
				if _, err := fmt.Sscanf(strings.TrimSpace(value), "%g", &q); err != nil || q < 0 || q > 1 {
					q = 0
				}
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		case "text/turtle", "application/x-turtle", "application/turtle", "application/n-triples", "text/plain",
			"application/rdf+xml", "application/xml", "text/xml", "application/ld+json", "application/json":
			rdfQ = max(rdfQ, q)
		}
	}
	return htmlQ > 0 && htmlQ > rdfQ
}
