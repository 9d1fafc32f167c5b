package node

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// CapabilitiesPath is where the node serves its capabilities document:
// what it offers the federation, with versions and live status.
const CapabilitiesPath = "/.well-known/eosc-node"

// Capability statuses.
const (
	StatusUp          = "up"
	StatusDown        = "down"
	StatusUnavailable = "unavailable" // the node does not serve it
)

// Capability is one service the node offers.
type Capability struct {
	// Type is catalogue, oai-pmh, sushi, search or metrics.
	Type string `json:"type"`
	// Standard names the specification it implements.
	Standard string `json:"standard"`
	// Version is the specification's version.
	Version string `json:"version"`
	// Endpoint is its URL ("" when unavailable).
	Endpoint string `json:"endpoint,omitempty"`
	// Formats are the media types or metadata prefixes it serves.
	Formats []string `json:"formats,omitempty"`
	// Status is up, down or unavailable, probed when the document is built.
	Status string `json:"status"`
	// Note says why a capability is down or unavailable.
	Note string `json:"note,omitempty"`
}

// Capabilities is the node capabilities document.
type Capabilities struct {
	Node struct {
		BaseURL  string `json:"baseUrl"`
		Software string `json:"software"`
		Version  string `json:"version"`
	} `json:"node"`
	// Checked is when the statuses were probed.
	Checked      time.Time    `json:"checked"`
	Capabilities []Capability `json:"capabilities"`
}

// capabilityProbe is a capability and the in-process request that tells
// whether it works.
type capabilityProbe struct {
	Capability
	probe string                             // path and query probed on the node's own handler; "" means none
	ok    func(status int, body []byte) bool // nil means status 200
}

// capabilitiesHandler serves the capabilities document of the node whose
// handler is inner, probing inner in-process (results kept for ttl, so
// that a flood of requests never multiplies the probes).
type capabilitiesHandler struct {
	baseURL string
	inner   http.Handler
	probes  []capabilityProbe
	ttl     time.Duration

	mu      sync.Mutex
	doc     []byte
	checked time.Time
}

// newCapabilities returns the capabilities handler of the node at baseURL
// whose routes inner serves.
func newCapabilities(baseURL string, inner http.Handler) *capabilitiesHandler {
	sushiActive := func(status int, body []byte) bool {
		var st []struct {
			Active bool `json:"Service_Active"`
		}
		return status == http.StatusOK && json.Unmarshal(body, &st) == nil && len(st) > 0 && st[0].Active
	}
	rdf := []string{"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}
	return &capabilitiesHandler{baseURL: baseURL, inner: inner, ttl: 10 * time.Second, probes: []capabilityProbe{
		{Capability: Capability{Type: "catalogue", Standard: "DCAT-AP", Version: "3.0", Endpoint: baseURL + "/catalogue", Formats: rdf}, probe: "/healthz"},
		{Capability: Capability{Type: "changes", Standard: "DCAT-AP", Version: "3.0", Endpoint: baseURL + "/changes", Formats: rdf}, probe: "/healthz"},
		{Capability: Capability{Type: "oai-pmh", Standard: "OAI-PMH", Version: "2.0", Endpoint: baseURL + "/oai", Formats: []string{"oai_dc", "oai_datacite"}}, probe: "/oai?verb=Identify"},
		{Capability: Capability{Type: "sushi", Standard: "COUNTER Code of Practice for Research Data, SUSHI", Version: "5.1", Endpoint: baseURL + "/api/v1/sushi", Formats: []string{"application/json"}}, probe: "/api/v1/sushi/status", ok: sushiActive},
		{Capability: Capability{Type: "search", Standard: "PaNOSC search API", Version: "", Status: StatusUnavailable, Note: "not served by this node yet"}},
		{Capability: Capability{Type: "metrics", Standard: "Prometheus exposition format", Version: "0.0.4", Status: StatusUnavailable, Note: "served on each service's operations listener, not on the catalogue's"}},
	}}
}

// ServeHTTP answers the document as JSON.
func (h *capabilitiesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The probes' answer is cached for every caller: a client that goes
	// away must not cut them short (each probe has a timeout of its own).
	doc := h.document(context.WithoutCancel(r.Context()))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=10")
	_, _ = w.Write(doc)
}

// document returns the JSON document, probed again when older than ttl.
func (h *capabilitiesHandler) document(ctx context.Context) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.doc != nil && time.Since(h.checked) < h.ttl {
		return h.doc
	}
	var doc Capabilities
	doc.Node.BaseURL, doc.Node.Software, doc.Node.Version = h.baseURL, "fairway", softwareVersion()
	doc.Checked = time.Now().UTC().Truncate(time.Second)
	for _, p := range h.probes {
		c := p.Capability
		if p.probe != "" {
			c.Status, c.Note = h.probe(ctx, p)
		}
		doc.Capabilities = append(doc.Capabilities, c)
	}
	out, _ := json.MarshalIndent(doc, "", "  ")
	h.doc, h.checked = append(out, '\n'), time.Now()
	return h.doc
}

// probe runs p's request on the node's own handler, for at most 5 s.
func (h *capabilitiesHandler) probe(ctx context.Context, p capabilityProbe) (status, note string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.probe, nil)
	if err != nil {
		return StatusDown, err.Error()
	}
	req.RemoteAddr = "127.0.0.1:0"
	rec := &probeRecorder{header: http.Header{}}
	h.inner.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	ok := p.ok
	if ok == nil {
		ok = func(status int, _ []byte) bool { return status == http.StatusOK }
	}
	if ok(rec.status, rec.body.Bytes()) {
		return StatusUp, ""
	}
	return StatusDown, "probe " + p.probe + " answered " + http.StatusText(rec.status)
}

// probeRecorder keeps a probe's status and the first 64 KiB of its body.
type probeRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *probeRecorder) Header() http.Header { return r.header }

func (r *probeRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *probeRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := 64<<10 - r.body.Len(); room > 0 {
		r.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// softwareVersion is the module version this binary was built from.
func softwareVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
