package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/metrics"
)

// Default ops listeners of the targets that serve no catalogue (the
// targets all and publisher serve /metrics, /healthz and /readyz on their
// HTTP address; the publisher uses its ops listener only when --http is
// empty).
var defaultOpsListen = map[string]string{
	TargetHarvester:  "127.0.0.1:9101",
	TargetNormaliser: "127.0.0.1:9102",
	TargetEnricher:   "127.0.0.1:9103",
	TargetPublisher:  "127.0.0.1:9104",
	TargetAnalytics:  "127.0.0.1:9105",
}

// opsCheckTimeout bounds each readiness check.
const opsCheckTimeout = 2 * time.Second

// component is one part of the process /readyz reports on.
type component struct {
	name string
	// required parts make the process unready when they fail; the others
	// are reported only.
	required bool
	check    func(ctx context.Context) error
}

// health tracks the parts of a process for /healthz and /readyz.
type health struct {
	mu         sync.Mutex
	components []component
	running    map[string]bool
}

func newHealth() *health { return &health{running: map[string]bool{}} }

// add registers a component.
func (h *health) add(c component) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.components = append(h.components, c)
}

// stage registers a long-running part (a stage, the read model…): it is
// ready while it runs; set says whether it does.
func (h *health) stage(name string, required bool) (set func(bool)) {
	h.add(component{name: name, required: required, check: func(context.Context) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.running[name] {
			return errors.New("not running")
		}
		return nil
	}})
	return func(on bool) {
		h.mu.Lock()
		h.running[name] = on
		h.mu.Unlock()
	}
}

// componentStatus is one component in the body of /readyz.
type componentStatus struct {
	OK       bool   `json:"ok"`
	Required bool   `json:"required"`
	Error    string `json:"error,omitempty"`
}

// readiness is the body of /readyz.
type readiness struct {
	Ready      bool                       `json:"ready"`
	Components map[string]componentStatus `json:"components"`
}

// ready runs every check at once, each bounded by opsCheckTimeout.
func (h *health) ready(ctx context.Context) readiness {
	h.mu.Lock()
	comps := append([]component(nil), h.components...)
	h.mu.Unlock()
	sort.SliceStable(comps, func(i, j int) bool { return comps[i].name < comps[j].name })
	out := readiness{Ready: true, Components: make(map[string]componentStatus, len(comps))}
	results := make([]error, len(comps))
	var wg sync.WaitGroup
	for i, c := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, opsCheckTimeout)
			defer cancel()
			results[i] = c.check(cctx)
		}()
	}
	wg.Wait()
	for i, c := range comps {
		st := componentStatus{OK: results[i] == nil, Required: c.required}
		if results[i] != nil {
			st.Error = results[i].Error()
			if c.required {
				out.Ready = false
			}
		}
		out.Components[c.name] = st
	}
	return out
}

// opsHandler serves /metrics, /healthz (200 while the process runs) and
// /readyz (200 when every required component works, else 503; the body
// reports each component).
func opsHandler(m *metrics.Metrics, h *health) *http.ServeMux {
	mux := http.NewServeMux()
	addOpsRoutes(mux, m, h)
	return mux
}

func addOpsRoutes(mux *http.ServeMux, m *metrics.Metrics, h *health) {
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		st := h.ready(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !st.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(st)
	})
}

// natsComponent is ready when the bus is connected, its streams answer and
// the input consumers of stages exist.
func natsComponent(b *bus.Bus, stages []bus.Stage) component {
	return component{name: "nats", required: true, check: func(ctx context.Context) error {
		if err := b.Err(); err != nil {
			return err
		}
		return b.Check(ctx, stages...)
	}}
}

// clickHouseComponent is ready when ClickHouse answers (one connection,
// opened at the first check and again after a failure).
func clickHouseComponent(cfg analytics.Config, required bool, log *slog.Logger) (component, func()) {
	var (
		mu    sync.Mutex
		store *analytics.Store
	)
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	check := func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if store != nil {
			if err := store.Ping(ctx); err == nil {
				return nil
			}
			_ = store.Close()
			store = nil
		}
		s, err := analytics.Connect(ctx, cfg)
		if err != nil {
			return err
		}
		store = s
		return nil
	}
	closeStore := func() {
		mu.Lock()
		defer mu.Unlock()
		if store != nil {
			_ = store.Close()
			store = nil
		}
	}
	return component{name: "clickhouse", required: required, check: check}, closeStore
}

// serveOps serves h on addr until the returned stop is called; it
// returns the address it listens on.
func serveOps(addr string, h http.Handler, t HTTPTimeouts, errs chan<- error, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("node: ops listener: %w", err)
	}
	srv := newHTTPServer(h, t)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case errs <- fmt.Errorf("ops http: %w", err):
			default:
			}
		}
	}()
	log.Info("ops endpoints serving", "metrics", "http://"+ln.Addr().String()+"/metrics", "readyz", "http://"+ln.Addr().String()+"/readyz")
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
	}
	return ln.Addr().String(), stop, nil
}
