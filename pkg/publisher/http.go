package publisher

import (
	"log/slog"
	"net/http"

	"github.com/panosc/fairway/pkg/dcat"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// Handler serves the live catalogue over HTTP:
//
//	GET /catalogue   the whole catalogue as one DCAT-AP Turtle document
//	GET /healthz     200 when the node can read its catalogue
type Handler struct {
	cat  *Catalogue
	opts dcat.Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// NewHandler returns the HTTP handler of the catalogue.
func NewHandler(cat *Catalogue, opts dcat.Options, log *slog.Logger) *Handler {
	h := &Handler{cat: cat, opts: opts, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /catalogue", h.catalogue)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) catalogue(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/turtle; charset=utf-8")
	cw, err := dcat.NewCatalogueWriter(w, h.opts)
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
