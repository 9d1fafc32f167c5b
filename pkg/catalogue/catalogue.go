// Package catalogue serves the live catalogue over HTTP as federation
// portals read it: DCAT-AP documents in Turtle, N-Triples, RDF/XML and
// JSON-LD (chosen by Accept, ?format= overriding), paged with Hydra and
// filtered, a changes feed that lists deletions, a full export, every IRI
// the node mints dereferenced, datasets found by DOI, and the OAI-PMH
// provider mounted at /oai.
//
// Every answer comes from the read model (package readmodel): no request
// scans the catalogue stream.
package catalogue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/readmodel"
)

// Source is what the handler reads of the live catalogue; *readmodel.Model
// is the production one.
type Source interface {
	// Search returns one page of the records that match q.
	Search(ctx context.Context, q readmodel.Query) (readmodel.Page, error)
	// Each calls fn with every record that matches q, in order.
	Each(ctx context.Context, q readmodel.Query, fn func(readmodel.Record) error) error
	// Get returns the record of a dataset key, or readmodel.ErrNotFound.
	Get(ctx context.Context, key string) (readmodel.Record, error)
	// ByDOI returns the record of a DOI, or readmodel.ErrNotFound.
	ByDOI(ctx context.Context, doi string) (readmodel.Record, error)
	// Facilities returns the facilities with live datasets.
	Facilities(ctx context.Context) ([]readmodel.Count, error)
	// Quality returns the quality of every facility's live datasets.
	Quality(ctx context.Context) ([]readmodel.FacilityQuality, error)
	// FacilityQuality returns the quality of one facility's live
	// datasets, or readmodel.ErrNotFound.
	FacilityQuality(ctx context.Context, facility string) (readmodel.FacilityQuality, error)
	// Lag returns how far the model is behind the catalogue stream; an
	// error means the stream does not answer.
	Lag(ctx context.Context) (uint64, error)
	// Position returns the catalogue position the model applied last:
	// every change up to it is visible to the reads that follow.
	Position() uint64
}

var _ Source = (*readmodel.Model)(nil)

// Defaults of Config.
const (
	DefaultPageSize    = 100
	DefaultMaxPageSize = 1000
)

// Config configures the handler. The zero value serves with the defaults.
type Config struct {
	// DCAT are the rendering options of the node (base URL, catalogue
	// description): the IRIs in the answers are built from them.
	DCAT dcat.Options
	// PageSize is the number of datasets of a page or of a changes page
	// when the client asks for none. Default DefaultPageSize.
	PageSize int
	// MaxPageSize is the largest pageSize a client may ask for. Default
	// DefaultMaxPageSize.
	MaxPageSize int
	// OAI, when not nil, is mounted at /oai (the OAI-PMH provider).
	OAI http.Handler
	// Now is the clock of the write deadlines. Default time.Now.
	Now func() time.Time
	// Viewed, when set, is called after one dataset was served whole
	// (GET /datasets/{key}, GET /doi/{doi}, in any format; source is
	// "dataset" or "doi"): the node counts it as a usage investigation. It
	// must not block.
	Viewed func(r *http.Request, key, facility, source string)
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.PageSize < 0 || c.MaxPageSize < 0 {
		return errors.New("catalogue: negative page size")
	}
	if c.PageSize > 0 && c.MaxPageSize > 0 && c.PageSize > c.MaxPageSize {
		return fmt.Errorf("catalogue: page size %d over the largest page size %d", c.PageSize, c.MaxPageSize)
	}
	if err := c.DCAT.Validate(); err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MaxPageSize == 0 {
		c.MaxPageSize = DefaultMaxPageSize
	}
	if c.PageSize > c.MaxPageSize {
		c.PageSize = c.MaxPageSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DCAT.BaseURL == "" {
		c.DCAT.BaseURL = dcat.DefaultBaseURL
	}
}

// Handler serves the catalogue:
//
//	GET /catalogue                the node's catalogue, a page of its datasets (Hydra)
//	GET /catalogue/{facility}     one facility's catalogue, paged the same way
//	GET /export                   the whole catalogue (or a filter of it) in one document
//	GET /changes?since=POS|TIME   what changed after a position or a time, deletions included
//	GET /datasets/{key}           one dataset (its record and catalogue)
//	GET /doi/{doi}                the dataset of a DOI
//	GET /quality                  the quality metrics (DQV) the datasets' measurements refer to
//	GET /quality/facilities       the FAIR quality of each facility's datasets (JSON)
//	GET /quality/facilities/{facility}  the FAIR quality of one facility's datasets (JSON)
//	GET, POST /oai                the OAI-PMH provider (Config.OAI)
//	GET /healthz                  200 when the catalogue answers
//
// Pages and the export take the filters facility, technique (a PaNET IRI
// or id: its narrower techniques too) and modifiedSince (a time or a day).
type Handler struct {
	cfg       Config
	opts      dcat.Options
	src       Source
	log       *slog.Logger
	mux       *http.ServeMux
	now       func() time.Time
	maxStream time.Duration // bound of a streamed answer (MaxStream)
}

// New returns the handler of the catalogue read from src.
func New(cfg Config, src Source, log *slog.Logger) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src == nil {
		return nil, errors.New("catalogue: no source")
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, opts: cfg.DCAT, src: src, log: log, mux: http.NewServeMux(), now: cfg.Now, maxStream: MaxStream}
	h.mux.HandleFunc("GET /catalogue", h.cataloguePage)
	h.mux.HandleFunc("GET /catalogue/{facility}", h.facilityPage)
	h.mux.HandleFunc("GET /export", h.export)
	h.mux.HandleFunc("GET /changes", h.changes)
	h.mux.HandleFunc("GET /datasets/{key...}", h.dataset)
	h.mux.HandleFunc("GET /doi/{doi...}", h.doi)
	h.mux.HandleFunc("GET /quality", h.quality)
	h.mux.HandleFunc("GET /quality/facilities", h.facilitiesQuality)
	h.mux.HandleFunc("GET /quality/facilities/{facility}", h.facilityQuality)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	if cfg.OAI != nil {
		h.mux.Handle("GET /oai", cfg.OAI)
		h.mux.Handle("POST /oai", cfg.OAI)
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := h.src.Lag(r.Context()); err != nil {
		h.unavailable(w, err)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// unavailable answers 503 for a model or stream that does not answer.
func (h *Handler) unavailable(w http.ResponseWriter, err error) {
	h.log.Error("http", "err", err)
	http.Error(w, "the catalogue does not answer: "+err.Error(), http.StatusServiceUnavailable)
}

// aborted ends an answer whose body started: the status is gone, the log
// says what broke, and the aborted transfer tells the client its document
// is incomplete (never a short document that looks whole).
func (h *Handler) aborted(what string, err error) {
	h.log.Error("serving "+what, "err", err)
	panic(http.ErrAbortHandler)
}
