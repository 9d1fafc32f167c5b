// Package piveautest serves a small piveau hub-repo API over catalogues and
// datasets held in memory, for tests of the piveau client and of the
// delivery to EOSC.
//
// It implements the routes a pusher uses, with hub-repo's statuses and
// short plain-text error bodies:
//
//	GET|HEAD /catalogues/{id}                                  200, 404 "Catalogue not found"
//	PUT      /catalogues/{id}                                  201 created, 204 updated
//	PUT      /catalogues/{id}/datasets/origin?originalId={o}   201, 204, 304 "Dataset is up to date"
//	GET      /catalogues/{id}/datasets/origin?originalId={o}   200 (the stored Turtle), 404
//	DELETE   /catalogues/{id}/datasets/origin?originalId={o}   204, 404 "Dataset not found" or "Catalogue not found"
//	GET      /catalogues/{id}/datasets?valueType=originalIds&limit=&offset=   a JSON array (limit 1..5000, default 100;
//	                                                           originalIds all at once, as hub-repo answers them)
//
// Writes need the API key ("X-API-Key") or the bearer token; reads do not.
// Switches inject the failures a destination shows: down (connections
// refused, or 503 with Retry-After for N requests), slow (a fixed latency),
// 429 bursts, a refused identifier (422), and a request count per route.
package piveautest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Routes, as Count names them.
const (
	RouteGetCatalogue = "GET catalogue"
	RoutePutCatalogue = "PUT catalogue"
	RoutePutDataset   = "PUT dataset"
	RouteGetDataset   = "GET dataset"
	RouteDelete       = "DELETE dataset"
	RouteList         = "GET datasets"
	RouteOther        = "other"
)

// Config configures a Server.
type Config struct {
	// APIKey, when set, is accepted as "X-API-Key: <APIKey>" on writes.
	APIKey string
	// BearerToken, when set, is accepted as "Authorization: Bearer
	// <BearerToken>" on writes. With neither set, writes need no
	// credentials.
	BearerToken string
	// Catalogues exist from the start.
	Catalogues []string
	// Latency delays every answer (a slow hub), e.g. 20 ms.
	Latency time.Duration
	// MaxLimit caps the page size of the list (default 5000, hub-repo's);
	// a larger limit gets 400.
	MaxLimit int
	// PageOriginalIDs makes the list of valueType=originalIds honour limit
	// and offset. hub-repo does not: it answers that value type with every
	// identifier of the catalogue, whatever the limit (the other value
	// types are paged).
	PageOriginalIDs bool
}

// Fault is an answer given instead of the real one.
type Fault struct {
	// Status of the answer (503, 429, …).
	Status int
	// RetryAfter, when not empty, is sent as Retry-After.
	RetryAfter string
	// Body of the answer; default the status text.
	Body string
}

type dataset struct {
	turtle []byte
	hash   [32]byte
	writes int
}

// Server is a running test hub.
type Server struct {
	// URL is the base URL of the API (http://127.0.0.1:port).
	URL string

	hs    *http.Server
	ln    net.Listener
	conns map[net.Conn]bool
	addr  string
	cfg   Config

	mu         sync.Mutex
	catalogues map[string]map[string]*dataset
	catTurtle  map[string][]byte
	faults     []Fault
	refused    map[string]string
	counts     map[string]int
	latency    time.Duration
	down       bool
}

// Start starts a hub on 127.0.0.1; Close stops it.
func Start(cfg Config) *Server {
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 5000
	}
	s := &Server{cfg: cfg, catalogues: map[string]map[string]*dataset{}, catTurtle: map[string][]byte{},
		refused: map[string]string{}, counts: map[string]int{}, latency: cfg.Latency}
	for _, c := range cfg.Catalogues {
		s.catalogues[c] = map[string]*dataset{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("piveautest: listen: %v", err))
	}
	s.conns = map[net.Conn]bool{}
	s.hs = &http.Server{Handler: http.HandlerFunc(s.serve), ConnState: s.track}
	s.ln, s.addr = ln, ln.Addr().String()
	s.URL = "http://" + s.addr
	go func() { _ = s.hs.Serve(ln) }()
	return s
}

// track keeps the open connections, so that Down can close them.
func (s *Server) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.conns[c] = true
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// Close stops the server.
func (s *Server) Close() { _ = s.hs.Close() }

// Down closes the listener: connections are refused until Up.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		s.down = true
		_ = s.ln.Close()
		for c := range s.conns {
			_ = c.Close()
		}
	}
}

// Up listens again on the same address after Down.
func (s *Server) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		return nil
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.down = false
	s.ln = l
	go func() { _ = s.hs.Serve(l) }()
	return nil
}

// Unavailable makes the next n requests get 503 with Retry-After
// retryAfter (seconds or an HTTP date; empty: none).
func (s *Server) Unavailable(n int, retryAfter string) {
	s.Fail(repeat(Fault{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter, Body: "Service Unavailable"}, n)...)
}

// Throttle makes the next n requests get 429 with Retry-After retryAfter.
func (s *Server) Throttle(n int, retryAfter string) {
	s.Fail(repeat(Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter, Body: "Too Many Requests"}, n)...)
}

func repeat(f Fault, n int) []Fault {
	out := make([]Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// Fail queues faults: the next requests, one each, get them.
func (s *Server) Fail(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// SetLatency changes the delay of every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Refuse makes every PUT of originalID get 422 with body (default a
// SHACL-like complaint).
func (s *Server) Refuse(originalID, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == "" {
		body = "Validation failed: dct:title is required"
	}
	s.refused[originalID] = body
}

// AddCatalogue creates an empty catalogue (no-op when it exists).
func (s *Server) AddCatalogue(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.catalogues[id] == nil {
		s.catalogues[id] = map[string]*dataset{}
	}
}

// Seed stores a dataset as if someone else had pushed it (it counts no
// write).
func (s *Server) Seed(catalogue, originalID string, turtle []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.catalogues[catalogue] == nil {
		s.catalogues[catalogue] = map[string]*dataset{}
	}
	s.catalogues[catalogue][originalID] = &dataset{turtle: turtle, hash: sha256.Sum256(turtle)}
}

// HasCatalogue reports whether the catalogue exists.
func (s *Server) HasCatalogue(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catalogues[id] != nil
}

// CatalogueTurtle returns what the last PUT of a catalogue sent.
func (s *Server) CatalogueTurtle(id string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catTurtle[id]
}

// Datasets returns the datasets of a catalogue by original identifier.
func (s *Server) Datasets(catalogue string) map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for id, d := range s.catalogues[catalogue] {
		out[id] = d.turtle
	}
	return out
}

// Len returns how many datasets a catalogue holds.
func (s *Server) Len(catalogue string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.catalogues[catalogue])
}

// Writes returns how often the dataset of originalID was created or
// changed (a 304 is no write), whatever happened to it since.
func (s *Server) Writes(catalogue, originalID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.catalogues[catalogue][originalID]; d != nil {
		return d.writes
	}
	return s.counts["writes:"+catalogue+"\x00"+originalID]
}

// Count returns how many requests a route received (faults included).
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Counts returns the requests per route.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.counts {
		if !strings.HasPrefix(k, "writes:") {
			out[k] = v
		}
	}
	return out
}

// text answers with a short plain text, as hub-repo does.
func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// route splits a path into the catalogue and the route name.
func route(method, path string) (catalogue, name string) {
	rest, ok := strings.CutPrefix(path, "/catalogues/")
	if !ok || rest == "" {
		return "", RouteOther
	}
	parts := strings.Split(rest, "/")
	catalogue = parts[0]
	switch {
	case len(parts) == 1 && (method == http.MethodGet || method == http.MethodHead):
		return catalogue, RouteGetCatalogue
	case len(parts) == 1 && method == http.MethodPut:
		return catalogue, RoutePutCatalogue
	case len(parts) == 2 && parts[1] == "datasets" && method == http.MethodGet:
		return catalogue, RouteList
	case len(parts) == 3 && parts[1] == "datasets" && parts[2] == "origin":
		switch method {
		case http.MethodPut:
			return catalogue, RoutePutDataset
		case http.MethodGet, http.MethodHead:
			return catalogue, RouteGetDataset
		case http.MethodDelete:
			return catalogue, RouteDelete
		}
	}
	return catalogue, RouteOther
}

func (s *Server) authorised(r *http.Request) bool {
	if s.cfg.APIKey == "" && s.cfg.BearerToken == "" {
		return true
	}
	if s.cfg.APIKey != "" && r.Header.Get("X-API-Key") == s.cfg.APIKey {
		return true
	}
	if s.cfg.BearerToken != "" && r.Header.Get("Authorization") == "Bearer "+s.cfg.BearerToken {
		return true
	}
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	catalogue, name := route(r.Method, r.URL.Path)
	s.mu.Lock()
	s.counts[name]++
	latency := s.latency
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		text(w, http.StatusRequestEntityTooLarge, "Request body too large")
		return
	}
	if fault != nil {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		text(w, fault.Status, cmpOr(fault.Body, http.StatusText(fault.Status)))
		return
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if write && !s.authorised(r) {
		text(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	cat := s.catalogues[catalogue]
	switch name {
	case RouteGetCatalogue:
		if cat == nil {
			text(w, http.StatusNotFound, "Catalogue not found")
			return
		}
		w.Header().Set("Content-Type", "text/turtle")
		_, _ = w.Write(s.catTurtle[catalogue])
	case RoutePutCatalogue:
		if !rdfType(r) {
			text(w, http.StatusUnsupportedMediaType, "Unsupported content type")
			return
		}
		if !strings.Contains(string(body), "Catalog") {
			text(w, http.StatusBadRequest, "No dcat:Catalog found")
			return
		}
		s.catTurtle[catalogue] = body
		if cat == nil {
			s.catalogues[catalogue] = map[string]*dataset{}
			w.Header().Set("Location", s.URL+"/catalogues/"+catalogue)
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case RoutePutDataset, RouteGetDataset, RouteDelete:
		id := q.Get("originalId")
		if !q.Has("originalId") || id == "" {
			text(w, http.StatusBadRequest, "Missing parameter originalId")
			return
		}
		if cat == nil {
			text(w, http.StatusNotFound, "Catalogue not found")
			return
		}
		switch name {
		case RouteGetDataset:
			d := cat[id]
			if d == nil {
				text(w, http.StatusNotFound, "Dataset not found")
				return
			}
			w.Header().Set("Content-Type", "text/turtle")
			_, _ = w.Write(d.turtle)
		case RouteDelete:
			if cat[id] == nil {
				text(w, http.StatusNotFound, "Dataset not found")
				return
			}
			s.counts["writes:"+catalogue+"\x00"+id] = cat[id].writes
			delete(cat, id)
			w.WriteHeader(http.StatusNoContent)
		default:
			s.putDataset(w, r, catalogue, id, body)
		}
	case RouteList:
		s.list(w, q, cat)
	default:
		text(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) putDataset(w http.ResponseWriter, r *http.Request, catalogue, id string, body []byte) {
	if !rdfType(r) {
		text(w, http.StatusUnsupportedMediaType, "Unsupported content type")
		return
	}
	if len(body) == 0 {
		text(w, http.StatusBadRequest, "Body required")
		return
	}
	if msg, ok := s.refused[id]; ok {
		text(w, http.StatusUnprocessableEntity, msg)
		return
	}
	if n := strings.Count(string(body), "dcat:Dataset") + strings.Count(string(body), "<http://www.w3.org/ns/dcat#Dataset>"); n != 1 {
		text(w, http.StatusBadRequest, "Exactly one dcat:Dataset required, found "+strconv.Itoa(n))
		return
	}
	cat := s.catalogues[catalogue]
	h := sha256.Sum256(body)
	d := cat[id]
	switch {
	case d == nil:
		prior := s.counts["writes:"+catalogue+"\x00"+id]
		cat[id] = &dataset{turtle: body, hash: h, writes: prior + 1}
		w.Header().Set("Location", s.URL+"/datasets/"+url.PathEscape(normalise(id)))
		w.WriteHeader(http.StatusCreated)
	case d.hash == h:
		w.WriteHeader(http.StatusNotModified)
	default:
		d.turtle, d.hash = body, h
		d.writes++
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) list(w http.ResponseWriter, q url.Values, cat map[string]*dataset) {
	if cat == nil {
		text(w, http.StatusNotFound, "Catalogue not found")
		return
	}
	limit, offset := 100, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.cfg.MaxLimit {
			text(w, http.StatusBadRequest, fmt.Sprintf("limit must be between 1 and %d", s.cfg.MaxLimit))
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			text(w, http.StatusBadRequest, "offset must not be negative")
			return
		}
		offset = n
	}
	ids := make([]string, 0, len(cat))
	for id := range cat {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var page []string
	switch vt := q.Get("valueType"); vt {
	case "originalIds":
		page = ids
	case "identifiers":
		for _, id := range ids {
			page = append(page, normalise(id))
		}
	case "", "uriRefs":
		for _, id := range ids {
			page = append(page, s.URL+"/datasets/"+url.PathEscape(normalise(id)))
		}
	default:
		text(w, http.StatusBadRequest, "Unknown valueType")
		return
	}
	if q.Get("valueType") != "originalIds" || s.cfg.PageOriginalIDs {
		page = page[min(offset, len(page)):min(offset+limit, len(page))]
	}
	if page == nil {
		page = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

// normalise is a stand-in for hub-repo's normalised identifier.
func normalise(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func rdfType(r *http.Request) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	switch ct {
	case "text/turtle", "application/rdf+xml", "application/ld+json", "application/n-triples", "text/n3":
		return true
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
