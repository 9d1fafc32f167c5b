package publisher

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/panosc/fairway/pkg/dcat"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Handler serves the live catalogue over HTTP:
//
//	GET /catalogue   the whole catalogue as one DCAT-AP Turtle document
//	GET /healthz     200 when the node can read its catalogue
//
// The catalogue is streamed, and may take longer to send than the server's
// WriteTimeout: as each part is written, the connection's write deadline
// is moved to WriteTimeout from then, so that the document completes while
// the client keeps reading, and a client that stops reading is still cut
// off.
type Handler struct {
	cat  *Catalogue
	opts dcat.Options
	log  *slog.Logger
	mux  *http.ServeMux
	now  func() time.Time
	// maxStream bounds a streamed answer in all (MaxStream).
	maxStream time.Duration
}

// NewHandler returns the HTTP handler of the catalogue.
func NewHandler(cat *Catalogue, opts dcat.Options, log *slog.Logger) *Handler {
	h := &Handler{cat: cat, opts: opts, log: log, mux: http.NewServeMux(), now: time.Now, maxStream: MaxStream}
	h.mux.HandleFunc("GET /catalogue", h.catalogue)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) catalogue(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/turtle; charset=utf-8")
	cw, err := dcat.NewCatalogueWriter(h.streaming(w, r), h.opts)
	if err != nil {
		h.fail(w, err)
		return
	}
	err = h.cat.Each(r.Context(), func(e *fairwayv1.CatalogueEntry) error {
		if e.Deleted || e.Turtle == "" {
			return nil
		}
		return cw.WriteDataset(e.Dataset, e.Turtle)
	})
	if err == nil {
		err = cw.Close()
	}
	if err != nil {
		// The status is gone once the body started: the log says what
		// broke, and the aborted transfer tells the client its document is
		// incomplete (never a short catalogue that looks whole).
		h.log.Error("serving catalogue", "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if err := h.cat.Ping(r.Context()); err != nil {
		h.fail(w, err)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	h.log.Error("http", "err", err)
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
}

// MaxStream bounds the whole transfer of a streamed answer (the catalogue):
// however steadily a client reads, it cannot hold a handler and its
// stream reader longer.
const MaxStream = 30 * time.Minute

// streaming returns w for a streamed answer: when the server has a write
// timeout, every write first moves the connection's write deadline to that
// timeout from now, but never past MaxStream from the start.
func (h *Handler) streaming(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil || srv.WriteTimeout <= 0 {
		return w
	}
	return &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: srv.WriteTimeout, now: h.now, until: h.now().Add(h.maxStream)}
}

// deadlineWriter extends the write deadline of its connection before each
// write.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	now     func() time.Time
	until   time.Time
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	deadline := d.now().Add(d.timeout)
	if deadline.After(d.until) {
		deadline = d.until
	}
	if err := d.rc.SetWriteDeadline(deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	return d.ResponseWriter.Write(p)
}

// Unwrap returns the writer underneath, for http.ResponseController.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
