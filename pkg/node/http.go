package node

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/panosc/fairway/pkg/nodepage"
	"github.com/panosc/fairway/pkg/panoscapi"

	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/api"
)

// HTTPTimeouts bound the connections of the node's HTTP server (zero means
// the default).
type HTTPTimeouts struct {
	// ReadHeader bounds reading a request's headers. Default 10s.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included. Default 1m.
	Read time.Duration
	// Write bounds writing an answer, counted from the end of the
	// request's headers (so it also bounds the handler: a registration
	// checks its source, for at most 30s). A streamed answer (the
	// catalogue) extends it as each part is written, so that it completes
	// while the client keeps reading. Default 2m.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request. Default 2m.
	Idle time.Duration
}

// Validate reports whether the timeouts are usable.
func (t HTTPTimeouts) Validate() error {
	if t.ReadHeader < 0 || t.Read < 0 || t.Write < 0 || t.Idle < 0 {
		return errors.New("node: negative HTTP timeout")
	}
	return nil
}

func (t *HTTPTimeouts) setDefaults() {
	if t.ReadHeader == 0 {
		t.ReadHeader = 10 * time.Second
	}
	if t.Read == 0 {
		t.Read = time.Minute
	}
	if t.Write == 0 {
		t.Write = 2 * time.Minute
	}
	if t.Idle == 0 {
		t.Idle = 2 * time.Minute
	}
}

// newHTTPServer returns the node's HTTP server of h, with the timeouts t
// (defaults for those left zero).
func newHTTPServer(h http.Handler, t HTTPTimeouts) *http.Server {
	t.setDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
	}
}

// httpHandler returns what the node serves: the API, the catalogue, the
// PaNOSC search API (under panoscapi.Prefix, when panosc is not nil), MCP
// at MCPPath (when mcpH is not nil), the node's own pages (when page is
// not nil: GET /, GET /search, and GET /datasets/{key} for a client that
// prefers HTML, nodepage.PrefersHTML; other clients get the catalogue's
// RDF there) and the ops endpoints on one mux. The query endpoints (MCP
// and the PaNOSC API) are rate limited per client and bounded
// (boundedQueries), and MCP needs a token when q says so (see
// queryHandlers). An open API (the demo) serves only requests addressed to
// loopback, localhost or the base URL's host, so that no web page reaches
// it through DNS rebinding.
func httpHandler(baseURL string, feedAPI *api.Server, catalogue, panosc http.Handler, ops *http.ServeMux, mcpH, page http.Handler, q QueryEndpoints, log *slog.Logger) (http.Handler, error) {
	queries, err := queryHandlers(q, feedAPI)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	if mcpH != nil {
		// MCP for AI data agents (streamable HTTP, stateless).
		mux.Handle(MCPPath, queries.mcp(mcpH))
	}
	mux.Handle(api.Prefix, feedAPI)
	if panosc != nil {
		mux.Handle(panoscapi.Prefix+"/", queries.panosc(panosc))
	}
	if ops != nil {
		// The ops endpoints (/metrics, /healthz, /readyz) beside the
		// catalogue.
		for _, p := range []string{"GET /metrics", "GET /healthz", "GET /readyz"} {
			mux.Handle(p, ops)
		}
	}
	mux.Handle("/", catalogue)
	if page != nil {
		mux.Handle("GET /{$}", page)
		// The search form runs the search anyone may run: limited and
		// bounded as the other open query endpoints are.
		mux.Handle("GET /search", queries.searchPage(page))
		mux.Handle("GET /datasets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if nodepage.PrefersHTML(r) {
				page.ServeHTTP(w, r)
				return
			}
			catalogue.ServeHTTP(w, r)
		}))
	}
	mux.Handle(CapabilitiesPath, newCapabilities(baseURL, mux, served{panosc: panosc != nil, mcp: mcpH != nil, mcpToken: q.MCPAuth == MCPAuthToken}))
	mux.Handle("GET "+aai.MetadataPath, aai.MetadataHandler(aai.Metadata(baseURL, feedAPI.Verifier())))
	if !feedAPI.Open() {
		return mux, nil
	}
	return api.LocalHostsOnly(mux, baseURL, log)
}

// Bounds of the query endpoints (the PaNOSC search API, MCP and the
// search page), which anyone may call (MCP may need a token): a request's
// body, and how many run at once on each.
const (
	maxInFlight  = 8
	maxQueryBody = 1 << 20
)

// boundedQueries serves h with at most n requests at once (one more is 503 with
// Retry-After, so that a few clients cannot keep the read model busy) and
// request bodies of at most maxBody bytes.
func boundedQueries(h http.Handler, n int, maxBody int64) http.Handler {
	slots := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many requests at once; retry", http.StatusServiceUnavailable)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h.ServeHTTP(w, r)
	})
}
