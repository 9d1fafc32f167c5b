package panoscapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// Prefix is where the node mounts the API.
const Prefix = "/panosc-api"

// DefaultMaxScan is Config.MaxScan's default.
const DefaultMaxScan = 20000

// Config configures a Handler.
type Config struct {
	// Model is the read model served (required).
	Model *readmodel.Model
	// Techniques resolves technique names to PaNET; nil (or a release not
	// loaded yet) takes only IRIs and ids.
	Techniques search.Techniques
	// MaxScan bounds the records one request reads from the read model
	// (default DefaultMaxScan); a filter the read model cannot answer
	// itself is evaluated over at most that many.
	MaxScan int
	// Log (default: discard).
	Log *slog.Logger
}

// Validate checks c.
func (c Config) Validate() error {
	if c.Model == nil {
		return errors.New("panoscapi: no read model")
	}
	if c.MaxScan < 0 || c.MaxScan > 10_000_000 {
		return fmt.Errorf("panoscapi: MaxScan %d out of [0, 10000000]", c.MaxScan)
	}
	return nil
}

// Handler serves the PaNOSC search API under Prefix.
type Handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the API's handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxScan == 0 {
		cfg.MaxScan = DefaultMaxScan
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	for _, name := range []string{"datasets", "Datasets"} {
		h.mux.HandleFunc("GET "+Prefix+"/"+name, h.listDatasets)
		h.mux.HandleFunc("GET "+Prefix+"/"+name+"/count", h.countDatasets)
		h.mux.HandleFunc("GET "+Prefix+"/"+name+"/{pid...}", h.getDataset)
	}
	for _, name := range []string{"documents", "Documents"} {
		h.mux.HandleFunc("GET "+Prefix+"/"+name, h.listDocuments)
		h.mux.HandleFunc("GET "+Prefix+"/"+name+"/count", h.countDocuments)
		h.mux.HandleFunc("GET "+Prefix+"/"+name+"/{pid...}", h.getDocument)
	}
	for _, name := range []string{"instruments", "Instruments"} {
		h.mux.HandleFunc("GET "+Prefix+"/"+name, h.listInstruments)
		h.mux.HandleFunc("GET "+Prefix+"/"+name+"/count", h.countInstruments)
		h.mux.HandleFunc("GET "+Prefix+"/"+name+"/{pid...}", h.getInstrument)
	}
	return h, nil
}

// ServeHTTP serves r.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) terms() *search.Terms {
	if h.cfg.Techniques == nil {
		return nil
	}
	return h.cfg.Techniques.Terms()
}

// request is a parsed list request.
type request struct {
	filter Filter
	query  string
}

func (h *Handler) parse(r *http.Request, whereOnly bool) (request, error) {
	var req request
	q := r.URL.Query()
	var err error
	if whereOnly {
		req.filter.Where, err = ParseWhere(q.Get("where"))
	} else {
		req.filter, err = ParseFilter(q.Get("filter"))
	}
	if err != nil {
		return req, err
	}
	req.query = strings.TrimSpace(q.Get("query"))
	if len(req.query) > 500 {
		return req, fmt.Errorf("%w: query longer than 500 bytes", ErrFilter)
	}
	expandTechniques(&req.filter, h.terms())
	return req, nil
}

// kind says which objects a scan yields.
type kind int

const (
	kindDataset kind = iota
	kindDocument
)

// Headers of an answer evaluated over the records read.
const (
	// HeaderScanned is how many records the API read and evaluated.
	HeaderScanned = "X-Total-Scanned"
	// HeaderTruncated is set (to MaxScan) when the records left by what
	// the read model could select were more than MaxScan, so that the
	// answer is of the first MaxScan of them only.
	HeaderTruncated = "X-Scan-Truncated"
)

// ErrTooBroad is the error of a request whose answer needs more records
// evaluated than MaxScan allows; the API answers it with 422.
var ErrTooBroad = errors.New("panoscapi: filter too broad")

// scanned says what a scan read.
type scanned struct {
	// n records were read and evaluated.
	n int
	// truncated: more records matched the read model's query than the
	// scan's bound.
	truncated bool
}

// scan reads the records of q (by relevance to query when there is one,
// else by key; in batches of q.Limit, default 500) and calls fn with each
// one's dataset or document until fn says stop, over at most bound
// records.
func (h *Handler) scan(ctx context.Context, k kind, q readmodel.Query, query string, bound int, fn func(*object) (bool, error)) (scanned, error) {
	q.Order = readmodel.ByKey
	if q.Limit == 0 {
		q.Limit = 500
	}
	if query != "" {
		q.Text, q.Order = query, readmodel.ByRelevance
	}
	m := &mapper{}
	var sc scanned
	errStop := errors.New("stop")
	err := h.cfg.Model.Each(ctx, q, func(rec readmodel.Record) error {
		if sc.n >= bound {
			sc.truncated = true
			h.cfg.Log.Warn("panoscapi: scan bound reached", "max_scan", bound)
			return errStop
		}
		sc.n++
		if query != "" && m.maxScore == 0 {
			m.maxScore = rec.Score
		}
		more, err := fn(m.object(rec, k))
		if err != nil {
			return err
		}
		if !more {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return sc, nil
	}
	return sc, err
}

// report sets the headers of what sc read.
func (h *Handler) report(w http.ResponseWriter, sc scanned) {
	w.Header().Set(HeaderScanned, strconv.Itoa(sc.n))
	if sc.truncated {
		w.Header().Set(HeaderTruncated, strconv.Itoa(h.cfg.MaxScan))
		w.Header().Set("Warning", fmt.Sprintf(`299 fairway "only the first %d records the read model selects were evaluated: narrow the filter"`, h.cfg.MaxScan))
	}
}

// tooBroad is the error of a truncated scan of q: how many records the
// read model's narrowing left.
func (h *Handler) tooBroad(ctx context.Context, q readmodel.Query) error {
	q.Limit, q.KeysOnly, q.Order = 1, true, readmodel.ByKey
	n := "more"
	if page, err := h.cfg.Model.Search(ctx, q); err == nil {
		n = strconv.FormatUint(page.Total, 10)
	}
	return fmt.Errorf("%w: %s records to evaluate, over the bound of %d; narrow the filter with conditions the read model takes "+
		"(a PaNET technique, an instrument, a facility, a licence; see docs/panosc-api.md)", ErrTooBroad, n, h.cfg.MaxScan)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, k kind) {
	req, err := h.parse(r, false)
	if err != nil {
		h.fail(w, err)
		return
	}
	limit := req.filter.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	p := pushDown(&req.filter, k)
	if p.exact {
		out, sc, err := h.exactPage(r.Context(), k, p.q, req.query, &req.filter, limit)
		if err != nil {
			h.fail(w, err)
			return
		}
		h.report(w, sc)
		h.write(w, out)
		return
	}
	out := []any{}
	skipped := 0
	sc, err := h.scan(r.Context(), k, p.q, req.query, h.cfg.MaxScan, func(o *object) (bool, error) {
		s, err := selectObject(o, &req.filter)
		if err != nil || s == nil {
			return err == nil, err
		}
		if skipped < req.filter.Skip {
			skipped++
			return true, nil
		}
		out = append(out, s.JSON())
		return len(out) < limit, nil
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	h.report(w, sc)
	h.write(w, out)
}

// exactPage answers a page of a filter the read model selects exactly
// (q): it pages, so that the records skipped are not read.
func (h *Handler) exactPage(ctx context.Context, k kind, q readmodel.Query, query string, f *Filter, limit int) ([]any, scanned, error) {
	q.Order, q.Offset, q.Limit = readmodel.ByKey, f.Skip, limit
	if query != "" {
		q.Text, q.Order = query, readmodel.ByRelevance
	}
	page, err := h.cfg.Model.Search(ctx, q)
	if err != nil {
		return nil, scanned{}, err
	}
	m := &mapper{}
	if query != "" && len(page.Records) > 0 {
		// Scores are over the best match's, the first of the whole query.
		m.maxScore = page.Records[0].Score
		if f.Skip > 0 {
			best := q
			best.Offset, best.Limit, best.KeysOnly = 0, 1, true
			top, err := h.cfg.Model.Search(ctx, best)
			if err != nil {
				return nil, scanned{}, err
			}
			if len(top.Records) > 0 {
				m.maxScore = top.Records[0].Score
			}
		}
	}
	out := []any{}
	for _, rec := range page.Records {
		s, err := selectObject(m.object(rec, k), f)
		if err != nil {
			return nil, scanned{}, err
		}
		if s == nil {
			// The push-down would be wrong: say so, leave it out.
			h.cfg.Log.Error("panoscapi: a record of an exact query does not match the filter", "key", rec.Key)
			continue
		}
		out = append(out, s.JSON())
	}
	return out, scanned{n: len(page.Records)}, nil
}

func (h *Handler) count(w http.ResponseWriter, r *http.Request, k kind) {
	req, err := h.parse(r, true)
	if err != nil {
		h.fail(w, err)
		return
	}
	p := pushDown(&req.filter, k)
	if p.exact {
		q := p.q
		q.Limit, q.KeysOnly = 1, true
		page, err := h.cfg.Model.Search(r.Context(), q)
		if err != nil {
			h.fail(w, err)
			return
		}
		h.report(w, scanned{})
		h.write(w, map[string]uint64{"count": page.Total})
		return
	}
	n := 0
	sc, err := h.scan(r.Context(), k, p.q, "", h.cfg.MaxScan, func(o *object) (bool, error) {
		if req.filter.Where.matches(o) {
			n++
		}
		return true, nil
	})
	if err == nil && sc.truncated {
		h.report(w, sc)
		err = h.tooBroad(r.Context(), p.q)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	h.report(w, sc)
	h.write(w, map[string]int{"count": n})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, k kind) {
	req, err := h.parse(r, false)
	if err != nil {
		h.fail(w, err)
		return
	}
	pid := r.PathValue("pid")
	rec, err := h.cfg.Model.ByDOI(r.Context(), pid)
	if errors.Is(err, readmodel.ErrNotFound) {
		rec, err = h.cfg.Model.Get(r.Context(), pid)
	}
	if err == nil && rec.Deleted {
		err = readmodel.ErrNotFound
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	s, err := selectObject((&mapper{}).object(rec, k), &req.filter)
	if err != nil {
		h.fail(w, err)
		return
	}
	if s == nil {
		h.fail(w, fmt.Errorf("%w: %s does not match the filter", readmodel.ErrNotFound, pid))
		return
	}
	h.write(w, s.JSON())
}

func (h *Handler) listDatasets(w http.ResponseWriter, r *http.Request)   { h.list(w, r, kindDataset) }
func (h *Handler) countDatasets(w http.ResponseWriter, r *http.Request)  { h.count(w, r, kindDataset) }
func (h *Handler) getDataset(w http.ResponseWriter, r *http.Request)     { h.get(w, r, kindDataset) }
func (h *Handler) listDocuments(w http.ResponseWriter, r *http.Request)  { h.list(w, r, kindDocument) }
func (h *Handler) countDocuments(w http.ResponseWriter, r *http.Request) { h.count(w, r, kindDocument) }
func (h *Handler) getDocument(w http.ResponseWriter, r *http.Request)    { h.get(w, r, kindDocument) }

// instruments returns the instruments of the datasets of q scanned, by
// pid.
func (h *Handler) instruments(ctx context.Context, q readmodel.Query) ([]*object, scanned, error) {
	byPID := map[string]*object{}
	sc, err := h.scan(ctx, kindDataset, q, "", h.cfg.MaxScan, func(o *object) (bool, error) {
		for _, in := range o.rels["instrument"] {
			pid := objectPID(in)
			if _, ok := byPID[pid]; !ok && pid != "" {
				byPID[pid] = in
			}
		}
		return true, nil
	})
	out := make([]*object, 0, len(byPID))
	for _, o := range byPID {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return objectPID(out[i]) < objectPID(out[j]) })
	return out, sc, err
}

// instrumentQuery is the read-model query of the datasets of the
// instruments w can select.
func instrumentQuery(w *Where) readmodel.Query {
	var p pushed
	p.instrumentWhere(w)
	return p.q
}

func (h *Handler) listInstruments(w http.ResponseWriter, r *http.Request) {
	req, err := h.parse(r, false)
	if err != nil {
		h.fail(w, err)
		return
	}
	all, sc, err := h.instruments(r.Context(), instrumentQuery(req.filter.Where))
	if err != nil {
		h.fail(w, err)
		return
	}
	var sel []any
	for _, o := range all {
		s, err := selectObject(o, &req.filter)
		if err != nil {
			h.fail(w, err)
			return
		}
		if s != nil {
			sel = append(sel, s.JSON())
		}
	}
	limit := req.filter.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	out := page(sel, req.filter.Skip, limit)
	if out == nil {
		out = []any{}
	}
	h.report(w, sc)
	h.write(w, out)
}

func (h *Handler) countInstruments(w http.ResponseWriter, r *http.Request) {
	req, err := h.parse(r, true)
	if err != nil {
		h.fail(w, err)
		return
	}
	q := instrumentQuery(req.filter.Where)
	all, sc, err := h.instruments(r.Context(), q)
	if err == nil && sc.truncated {
		h.report(w, sc)
		err = h.tooBroad(r.Context(), q)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	n := 0
	for _, o := range all {
		if req.filter.Where.matches(o) {
			n++
		}
	}
	h.report(w, sc)
	h.write(w, map[string]int{"count": n})
}

func (h *Handler) getInstrument(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	// The instrument's own PID, else facility/name.
	queries := []readmodel.Query{{Instrument: pid}}
	if fac, name, ok := strings.Cut(pid, "/"); ok && fac != "" && name != "" {
		queries = append(queries, readmodel.Query{Facility: fac, Instrument: name})
	}
	var truncated bool
	for _, q := range queries {
		all, sc, err := h.instruments(r.Context(), q)
		if errors.Is(err, readmodel.ErrBadQuery) {
			continue
		}
		if err != nil {
			h.fail(w, err)
			return
		}
		truncated = truncated || sc.truncated
		for _, o := range all {
			if strings.EqualFold(objectPID(o), pid) {
				h.write(w, (&selected{obj: o}).JSON())
				return
			}
		}
	}
	if truncated {
		h.fail(w, fmt.Errorf("%w: more records of instrument %.200s than the bound of %d", ErrTooBroad, pid, h.cfg.MaxScan))
		return
	}
	h.fail(w, fmt.Errorf("%w: instrument %.200s", readmodel.ErrNotFound, pid))
}

func (h *Handler) write(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		h.cfg.Log.Debug("panoscapi: write", "err", err)
	}
}

// fail answers err: 400 for a bad filter, 404 for what is not there,
// 500 otherwise (LoopBack's error shape).
func (h *Handler) fail(w http.ResponseWriter, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, ErrFilter), errors.Is(err, readmodel.ErrBadQuery):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, readmodel.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, ErrTooBroad):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, context.Canceled):
		status, msg = 499, "canceled"
	default:
		h.cfg.Log.Error("panoscapi: request", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"statusCode": status, "message": msg}})
}

// objectPID returns o's pid, "" when it has none.
func objectPID(o *object) string {
	pid, _ := o.props["pid"].(string)
	return pid
}
