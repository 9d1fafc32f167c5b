package node

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/panoscapi"
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

// mcpProtocolVersion is the newest MCP protocol version the node's server
// (the Go SDK) speaks; clients may ask for older ones.
const mcpProtocolVersion = "2026-07-28"

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

// served says which of the query endpoints a node's handler mounts, for
// its capabilities document.
type served struct {
	// panosc: the PaNOSC search API; mcp: MCP at MCPPath, which needs a
	// bearer token when mcpToken is set.
	panosc, mcp, mcpToken bool
}

// newCapabilities returns the capabilities handler of the node at baseURL
// whose routes inner serves, with the query endpoints s says it mounts.
func newCapabilities(baseURL string, inner http.Handler, s served) *capabilitiesHandler {
	sushiActive := func(status int, body []byte) bool {
		var st []struct {
			Active bool `json:"Service_Active"`
		}
		return status == http.StatusOK && json.Unmarshal(body, &st) == nil && len(st) > 0 && st[0].Active
	}
	rdf := []string{"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}
	panosc := capabilityProbe{Capability: Capability{Type: "search", Standard: "PaNOSC search API", Status: StatusUnavailable, Note: "not served by this node"}}
	if s.panosc {
		panosc = capabilityProbe{Capability: Capability{Type: "search", Standard: "PaNOSC search API", Endpoint: baseURL + panoscapi.Prefix,
			Formats: []string{"application/json"}}, probe: panoscapi.Prefix + `/datasets?filter={"limit":1}`}
	}
	// MCP answers POSTs only; its status is that of the read model it
	// reads, as the catalogue's is.
	mcp := capabilityProbe{Capability: Capability{Type: "mcp", Standard: "Model Context Protocol, streamable HTTP", Status: StatusUnavailable, Note: "not served by this node"}}
	if s.mcp {
		mcp = capabilityProbe{Capability: Capability{Type: "mcp", Standard: "Model Context Protocol, streamable HTTP", Version: mcpProtocolVersion,
			Endpoint: baseURL + MCPPath, Formats: []string{"application/json", "text/event-stream"}}, probe: "/healthz"}
		if s.mcpToken {
			mcp.Note = "needs a bearer token (see " + aai.MetadataPath + ")"
		}
	}
	return &capabilitiesHandler{baseURL: baseURL, inner: inner, ttl: 10 * time.Second, probes: []capabilityProbe{
		{Capability: Capability{Type: "catalogue", Standard: "DCAT-AP", Version: "3.0", Endpoint: baseURL + "/catalogue", Formats: rdf}, probe: "/healthz"},
		{Capability: Capability{Type: "changes", Standard: "DCAT-AP", Version: "3.0", Endpoint: baseURL + "/changes", Formats: rdf}, probe: "/healthz"},
		{Capability: Capability{Type: "oai-pmh", Standard: "OAI-PMH", Version: "2.0", Endpoint: baseURL + "/oai", Formats: []string{"oai_dc", "oai_datacite"}}, probe: "/oai?verb=Identify"},
		{Capability: Capability{Type: "sushi", Standard: "COUNTER Code of Practice for Research Data, SUSHI", Version: "5.1", Endpoint: baseURL + "/api/v1/sushi", Formats: []string{"application/json"}}, probe: "/api/v1/sushi/status", ok: sushiActive},
		panosc,
		mcp,
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
			status, note := h.probe(ctx, p)
			c.Status = status
			switch {
			case note != "" && c.Note != "":
				c.Note = note + "; " + c.Note
			case note != "":
				c.Note = note
			}
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
