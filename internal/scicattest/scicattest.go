// Package scicattest serves a small SciCat REST API (v3 and v4) over
// documents held in memory, for tests of SciCat clients and harvesters.
//
// It implements what a harvester of published documents uses: the list
// endpoints of datasets (v3 /api/v3/Datasets, v4 /api/v4/datasets and
// /api/v4/datasets/public) and published data (v3 /api/v3/PublishedData,
// v4 /api/v4/publisheddata) with SciCat's filter parameter (where on
// isPublished and status; limits with skip and limit), bearer tokens, and
// injected failures (a status with a Retry-After). Paths match without
// regard to case, as in SciCat's backend.
//
// It also serves the write side a pusher of datasets uses (write.go): the
// login with expiring access tokens, and creating, patching, deleting and
// reading v4 datasets with SciCat's validation of the required fields;
// with switches for a server that is down or slow and counters per route.
package scicattest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/scicat"
)

// DefaultLimit is the page size the server applies when a filter has no
// limit, as SciCat does.
const DefaultLimit = 100

// Config configures a Server.
type Config struct {
	// Datasets and PublishedData are the documents served, in REST shape
	// (see FromMongo and LoadSeed), in this order.
	Datasets, PublishedData []json.RawMessage
	// Token, when set, must be sent as "Authorization: Bearer <Token>" with
	// every request; others get 401. When empty, every request is
	// anonymous, except that v4 /api/v4/datasets (not /public) requires
	// some bearer token (403 without).
	Token string
	// Versions are the API versions served ("v3", "v4"); default both.
	// Requests for another version get 404.
	Versions []string
	// IgnoreWhere makes the server return every document whatever the
	// where filter and the caller (a server that does not filter).
	IgnoreWhere bool
	// IgnoreLimits makes the server return every document whatever the
	// limits (a server that does not page).
	IgnoreLimits bool
	// OnRequest, when set, is called with the number of the request
	// (counted from 1) and the request before the server answers it.
	OnRequest func(n int, r *http.Request)

	// The write side (see write.go).

	// Users are the accounts of POST /api/v3/auth/login (username →
	// password). When nil, any non-empty username and password log in.
	Users map[string]string
	// TokenTTL is how long an access token of the login is valid.
	// Default one hour.
	TokenTTL time.Duration
	// Latency delays every answer (see also SetLatency).
	Latency time.Duration
}

// Fault is an answer the server gives instead of the real one.
type Fault struct {
	// Status of the answer; 0 lets the request through (to queue a fault
	// for the request after next).
	Status int
	// RetryAfter, when not empty, is sent as the Retry-After header.
	RetryAfter string
	// Body of the answer; default a SciCat-like JSON error.
	Body string
}

// Request is what the server recorded of one request.
type Request struct {
	// Path and Filter (the filter query parameter) of the request.
	Path, Filter string
	// Bearer is set when the request carried a bearer token.
	Bearer bool
	// Status is the status of the answer; 0 until the server answers.
	Status int
	// At is when the request arrived.
	At time.Time
}

// Server is a running test server.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:port).
	URL string

	srv      *httptest.Server
	cfg      Config
	mu       sync.Mutex
	docs     map[scicat.Collection][]json.RawMessage
	faults   []Fault
	requests []Request

	// The write side.
	tokens  map[string]time.Time // access token → expiry
	counts  map[string]int       // per route (RouteKey)
	down    bool
	latency time.Duration
	nextTok int
	pids    map[string]int // dataset pid → index in docs; nil: to rebuild
}

// Start starts a server on 127.0.0.1; Close stops it.
func Start(cfg Config) *Server {
	if len(cfg.Versions) == 0 {
		cfg.Versions = []string{scicat.APIv3, scicat.APIv4}
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	s := &Server{cfg: cfg, tokens: map[string]time.Time{}, counts: map[string]int{}, latency: cfg.Latency, docs: map[scicat.Collection][]json.RawMessage{
		scicat.Datasets:      append([]json.RawMessage(nil), cfg.Datasets...),
		scicat.PublishedData: append([]json.RawMessage(nil), cfg.PublishedData...),
	}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Fail queues faults: the next requests, one each, get them instead of
// their answer.
func (s *Server) Fail(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Put adds a document to a collection, or replaces the document with the
// same identifier (see scicat.DocumentID) where it stands.
func (s *Server) Put(coll scicat.Collection, doc json.RawMessage) error {
	id, err := scicat.DocumentID(coll, doc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids = nil
	for i, d := range s.docs[coll] {
		if other, _ := scicat.DocumentID(coll, d); other == id {
			s.docs[coll][i] = doc
			return nil
		}
	}
	s.docs[coll] = append(s.docs[coll], doc)
	return nil
}

// Remove removes the document with an identifier from a collection and
// reports whether it was there.
func (s *Server) Remove(coll scicat.Collection, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids = nil
	for i, d := range s.docs[coll] {
		if other, _ := scicat.DocumentID(coll, d); other == id {
			s.docs[coll] = append(s.docs[coll][:i:i], s.docs[coll][i+1:]...)
			return true
		}
	}
	return false
}

// Document returns the document with an identifier, or nil.
func (s *Server) Document(coll scicat.Collection, id string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.docs[coll] {
		if other, _ := scicat.DocumentID(coll, d); other == id {
			return d
		}
	}
	return nil
}

// route is what a path selects.
type route struct {
	version string
	coll    scicat.Collection
	// public is v4's /datasets/public; private is v4's /datasets.
	public, private bool
}

func parseRoute(path string) (route, bool) {
	switch strings.ToLower(strings.TrimRight(path, "/")) {
	case "/api/v3/datasets":
		return route{version: scicat.APIv3, coll: scicat.Datasets}, true
	case "/api/v3/publisheddata":
		return route{version: scicat.APIv3, coll: scicat.PublishedData}, true
	case "/api/v4/datasets":
		return route{version: scicat.APIv4, coll: scicat.Datasets, private: true}, true
	case "/api/v4/datasets/public":
		return route{version: scicat.APIv4, coll: scicat.Datasets, public: true}, true
	case "/api/v4/publisheddata":
		return route{version: scicat.APIv4, coll: scicat.PublishedData}, true
	}
	return route{}, false
}

// filter is SciCat's filter query parameter.
type filter struct {
	Where  map[string]json.RawMessage `json:"where"`
	Limits *struct {
		Skip  *int `json:"skip"`
		Limit *int `json:"limit"`
	} `json:"limits"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	bearer := strings.HasPrefix(auth, "Bearer ") && len(auth) > len("Bearer ")
	rec := Request{Path: r.URL.Path, Filter: r.URL.Query().Get("filter"), Bearer: bearer, At: time.Now()}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	n := len(s.requests)
	s.counts[RouteKey(r)]++
	down, latency := s.down, s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if down {
		hangUp(w)
		return
	}
	// The status is recorded before the answer is written, so that a client
	// that has the answer finds it in Requests.
	answer := func(code int) {
		s.mu.Lock()
		s.requests[n-1].Status = code
		s.mu.Unlock()
		w.WriteHeader(code)
	}
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(n, r)
	}
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		answer(code)
		_, _ = fmt.Fprintf(w, `{"statusCode":%d,"message":%q}`, code, msg)
	}

	s.mu.Lock()
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		fault = &f
	}
	s.mu.Unlock()
	if fault != nil && fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		if fault.Body != "" {
			answer(fault.Status)
			_, _ = w.Write([]byte(fault.Body))
			return
		}
		fail(fault.Status, http.StatusText(fault.Status))
		return
	}

	if s.serveWrite(w, r, answer, fail) {
		return
	}
	if r.Method != http.MethodGet {
		fail(http.StatusMethodNotAllowed, "only GET is served")
		return
	}
	rt, ok := parseRoute(r.URL.Path)
	if !ok || !s.serves(rt.version) {
		fail(http.StatusNotFound, "Cannot GET "+r.URL.Path)
		return
	}
	if s.cfg.Token != "" && auth != "Bearer "+s.cfg.Token {
		fail(http.StatusUnauthorized, "Unauthorized")
		return
	}
	if rt.private && !bearer {
		fail(http.StatusForbidden, "Forbidden resource")
		return
	}
	var f filter
	if rec.Filter != "" {
		if err := json.Unmarshal([]byte(rec.Filter), &f); err != nil {
			fail(http.StatusBadRequest, "filter is not JSON: "+err.Error())
			return
		}
	}
	docs, err := s.page(rt, f, bearer)
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	answer(http.StatusOK)
	var b bytes.Buffer
	b.WriteString("[")
	for i, d := range docs {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  ")
		b.Write(d)
	}
	b.WriteString("\n]\n")
	_, _ = w.Write(b.Bytes())
}

func (s *Server) serves(version string) bool {
	for _, v := range s.cfg.Versions {
		if strings.EqualFold(v, version) {
			return true
		}
	}
	return false
}

// page returns the documents a request asks for.
func (s *Server) page(rt route, f filter, bearer bool) ([]json.RawMessage, error) {
	s.mu.Lock()
	all := append([]json.RawMessage(nil), s.docs[rt.coll]...)
	s.mu.Unlock()
	var out []json.RawMessage
	for _, d := range all {
		if s.cfg.IgnoreWhere {
			out = append(out, d)
			continue
		}
		var fields struct {
			IsPublished bool   `json:"isPublished"`
			Status      string `json:"status"`
		}
		_ = json.Unmarshal(d, &fields)
		// What the caller may see: anonymous callers and v4's public
		// endpoint see published documents only.
		if rt.coll == scicat.Datasets && (rt.public || !bearer) && !fields.IsPublished {
			continue
		}
		if rt.coll == scicat.PublishedData && !bearer {
			public := fields.Status == "registered"
			if rt.version == scicat.APIv4 {
				public = public || fields.Status == "public" || fields.Status == "amended"
			}
			if !public {
				continue
			}
		}
		match := true
		for k, v := range f.Where {
			switch k {
			case "isPublished":
				var want bool
				if err := json.Unmarshal(v, &want); err != nil {
					return nil, fmt.Errorf("where.isPublished: %w", err)
				}
				match = match && fields.IsPublished == want
			case "status":
				var want string
				if err := json.Unmarshal(v, &want); err != nil {
					return nil, fmt.Errorf("where.status: %w", err)
				}
				match = match && fields.Status == want
			default:
				return nil, fmt.Errorf("where.%s: not supported by the test server", k)
			}
		}
		if match {
			out = append(out, d)
		}
	}
	if s.cfg.IgnoreLimits {
		return out, nil
	}
	skip, limit := 0, DefaultLimit
	if f.Limits != nil {
		if f.Limits.Skip != nil {
			skip = *f.Limits.Skip
		}
		if f.Limits.Limit != nil && *f.Limits.Limit > 0 {
			limit = *f.Limits.Limit
		}
	}
	if skip < 0 {
		return nil, errors.New("limits.skip must not be negative")
	}
	if skip >= len(out) {
		return nil, nil
	}
	return out[skip:min(skip+limit, len(out))], nil
}

// FromMongo converts a document of a SciCat MongoDB seed or dump (extended
// JSON) to the REST shape: the top-level "_id" becomes idField ("pid" for a
// dataset, "doi" for published data), {"$date": …} becomes an ISO 8601
// string, {"$oid": …} a string, and {"$numberLong"|"$numberInt"|
// "$numberDouble": …} a number.
func FromMongo(doc []byte, idField string) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("scicattest: %w", err)
	}
	if id, ok := v["_id"]; ok && idField != "" && idField != "_id" {
		delete(v, "_id")
		v[idField] = id
	}
	out, err := convert(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("scicattest: %w", err)
	}
	return json.RawMessage(bytes.TrimSpace(b.Bytes())), nil
}

func convert(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, inner := range x {
				switch k {
				case "$date":
					return mongoDate(inner)
				case "$oid":
					return fmt.Sprint(inner), nil
				case "$numberLong", "$numberInt", "$numberDouble":
					return json.Number(fmt.Sprint(inner)), nil
				}
			}
		}
		for k, inner := range x {
			c, err := convert(inner)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			x[k] = c
		}
		return x, nil
	case []any:
		for i, inner := range x {
			c, err := convert(inner)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	}
	return v, nil
}

// mongoDate converts the value of a $date: an ISO string, or milliseconds
// since the epoch (a number or {"$numberLong": "…"}).
func mongoDate(v any) (any, error) {
	const iso = "2006-01-02T15:04:05.000Z"
	if m, ok := v.(map[string]any); ok {
		v = m["$numberLong"]
	}
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Format(iso), nil
		}
		ms, err := json.Number(x).Int64()
		if err != nil {
			return nil, fmt.Errorf("scicattest: $date %q", x)
		}
		return time.UnixMilli(ms).UTC().Format(iso), nil
	case json.Number:
		ms, err := x.Int64()
		if err != nil {
			return nil, fmt.Errorf("scicattest: $date %s", x)
		}
		return time.UnixMilli(ms).UTC().Format(iso), nil
	}
	return nil, fmt.Errorf("scicattest: $date of type %T", v)
}

// LoadSeed reads a SciCat seed file (a JSON array of MongoDB documents) and
// converts each document with FromMongo.
func LoadSeed(path, idField string) ([]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scicattest: %w", err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("scicattest: %s: %w", path, err)
	}
	out := make([]json.RawMessage, 0, len(raw))
	for i, d := range raw {
		c, err := FromMongo(d, idField)
		if err != nil {
			return nil, fmt.Errorf("scicattest: %s document %d: %w", path, i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Seed returns the scicatlive seed documents of a collection (published
// datasets or published data) from the reference data beside the checkout,
// in the REST API's shape.
func Seed(t testing.TB, coll scicat.Collection) []json.RawMessage {
	t.Helper()
	file, id := "Dataset.json", "pid"
	if coll == scicat.PublishedData {
		file, id = "PublishedData.json", "doi"
	}
	docs, err := LoadSeed(testenv.SharedData(t, "scicat-samples", "scicatlive-seed", file), id)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}
