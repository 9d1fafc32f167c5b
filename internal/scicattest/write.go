package scicattest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/scicat"
)

// The write side of the server, as a pusher of datasets uses it:
//
//   - POST /api/v3/auth/login {"username","password"} → 201
//     {"access_token","id","expires_in","ttl","created","userId"}; 401
//     for a wrong account;
//   - POST /api/v4/datasets creates a dataset (201, the stored document)
//     after SciCat's validation of the required fields (400 with every
//     missing or invalid field in "message"), 409 when its pid exists;
//   - PATCH /api/v4/datasets/{pid} merges the fields sent (200), 404 when
//     absent;
//   - DELETE /api/v4/datasets/{pid} removes it (200), 404 when absent;
//   - GET /api/v4/datasets/{pid} returns it (200), 404 when absent.
//
// These routes want an access token of the login ("Authorization: Bearer
// …", or Config.Token): none gives 403 "Forbidden resource", an unknown
// or expired one 401 "Unauthorized". The pid is one path segment,
// percent-encoded (SciCat pids hold slashes). Errors have SciCat's shape
// {"statusCode","message","error"}.

// Route keys of Counts.
const (
	RouteLogin      = "POST /api/v3/auth/login"
	RouteCreate     = "POST /api/v4/datasets"
	RoutePatch      = "PATCH /api/v4/datasets/{pid}"
	RouteDelete     = "DELETE /api/v4/datasets/{pid}"
	RouteGetDataset = "GET /api/v4/datasets/{pid}"
)

// RouteKey names the route of a request as Counts counts it: one of the
// Route constants, else the method and the path.
func RouteKey(r *http.Request) string {
	p := strings.ToLower(strings.TrimRight(r.URL.Path, "/"))
	switch {
	case r.Method == http.MethodPost && p == "/api/v3/auth/login":
		return RouteLogin
	case r.Method == http.MethodPost && p == "/api/v4/datasets":
		return RouteCreate
	}
	if _, ok := datasetPID(r); ok {
		switch r.Method {
		case http.MethodPatch:
			return RoutePatch
		case http.MethodDelete:
			return RouteDelete
		case http.MethodGet:
			return RouteGetDataset
		}
	}
	return r.Method + " " + r.URL.Path
}

// datasetPID returns the pid of /api/v4/datasets/{pid} (not /public).
func datasetPID(r *http.Request) (string, bool) {
	const prefix = "/api/v4/datasets/"
	ep := r.URL.EscapedPath()
	if len(ep) <= len(prefix) || !strings.EqualFold(ep[:len(prefix)], prefix) {
		return "", false
	}
	seg := ep[len(prefix):]
	if strings.Contains(seg, "/") || strings.EqualFold(seg, "public") {
		return "", false
	}
	pid, err := url.PathUnescape(seg)
	if err != nil || pid == "" {
		return "", false
	}
	return pid, true
}

// Counts returns how many requests each route received (see RouteKey),
// failed ones included.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// SetDown makes the server hang up on every request (the connection is
// closed without an answer) until SetDown(false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetLatency delays every answer by d from now on.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// ExpireTokens makes every access token issued so far expired now: the
// next request with one gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for t := range s.tokens {
		s.tokens[t] = past
	}
}

// Datasets returns the datasets the server holds (the harvest lists
// serve them too), in order.
func (s *Server) Datasets() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.docs[scicat.Datasets]...)
}

// Dataset returns the dataset with a pid decoded into a map, or nil.
func (s *Server) Dataset(pid string) map[string]any {
	d := s.Document(scicat.Datasets, pid)
	if d == nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(d, &m) != nil {
		return nil
	}
	return m
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// serveWrite answers the write side's routes and reports whether the
// request was one of them.
func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, answer func(int), fail func(int, string)) bool {
	key := RouteKey(r)
	switch key {
	case RouteLogin, RouteCreate, RoutePatch, RouteDelete, RouteGetDataset:
	default:
		return false
	}
	if !s.serves(scicat.APIv4) {
		fail(http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path)
		return true
	}
	failMany := func(code int, msgs []string) {
		w.Header().Set("Content-Type", "application/json")
		answer(code)
		b, _ := json.Marshal(map[string]any{"statusCode": code, "message": msgs, "error": http.StatusText(code)})
		_, _ = w.Write(b)
	}
	ok := func(code int, doc json.RawMessage) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		answer(code)
		_, _ = w.Write(doc)
	}
	if key == RouteLogin {
		s.login(w, r, answer, fail)
		return true
	}
	if code, msg := s.authorise(r); code != 0 {
		fail(code, msg)
		return true
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil || body == nil {
			fail(http.StatusBadRequest, "the body is not a JSON object")
			return true
		}
	}
	pid, _ := datasetPID(r)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	switch key {
	case RouteCreate:
		if msgs := validateDataset(body, true); len(msgs) > 0 {
			failMany(http.StatusBadRequest, msgs)
			return true
		}
		id, _ := body["pid"].(string)
		if id == "" {
			s.mu.Lock()
			s.nextTok++
			id = fmt.Sprintf("20.500.12345/%08d", s.nextTok)
			s.mu.Unlock()
			body["pid"] = id
		}
		body["createdAt"], body["updatedAt"] = now, now
		doc, _ := json.Marshal(body)
		s.mu.Lock()
		exists := s.find(id) >= 0
		if !exists {
			s.docs[scicat.Datasets] = append(s.docs[scicat.Datasets], doc)
			s.pids[id] = len(s.docs[scicat.Datasets]) - 1
		}
		s.mu.Unlock()
		if exists {
			fail(http.StatusConflict, "A dataset with this this unique key already exists!")
			return true
		}
		ok(http.StatusCreated, doc)
	case RoutePatch:
		delete(body, "pid")
		if msgs := validateDataset(body, false); len(msgs) > 0 {
			failMany(http.StatusBadRequest, msgs)
			return true
		}
		s.mu.Lock()
		i := s.find(pid)
		var doc json.RawMessage
		if i >= 0 {
			var cur map[string]any
			_ = json.Unmarshal(s.docs[scicat.Datasets][i], &cur)
			for k, v := range body {
				cur[k] = v
			}
			cur["updatedAt"] = now
			doc, _ = json.Marshal(cur)
			s.docs[scicat.Datasets][i] = doc
		}
		s.mu.Unlock()
		if i < 0 {
			fail(http.StatusNotFound, "dataset: "+pid+" not found")
			return true
		}
		ok(http.StatusOK, doc)
	case RouteDelete:
		s.mu.Lock()
		i := s.find(pid)
		var doc json.RawMessage
		if i >= 0 {
			doc = s.docs[scicat.Datasets][i]
			s.docs[scicat.Datasets] = append(s.docs[scicat.Datasets][:i:i], s.docs[scicat.Datasets][i+1:]...)
			s.pids = nil
		}
		s.mu.Unlock()
		if i < 0 {
			fail(http.StatusNotFound, "dataset: "+pid+" not found")
			return true
		}
		ok(http.StatusOK, doc)
	case RouteGetDataset:
		s.mu.Lock()
		i := s.find(pid)
		var doc json.RawMessage
		if i >= 0 {
			doc = s.docs[scicat.Datasets][i]
		}
		s.mu.Unlock()
		if i < 0 {
			fail(http.StatusNotFound, "dataset: "+pid+" not found")
			return true
		}
		ok(http.StatusOK, doc)
	}
	return true
}

// find returns the index of the dataset with a pid, or -1, from an index
// of the pids rebuilt after a change other than an append. s.mu is held.
func (s *Server) find(pid string) int {
	if s.pids == nil {
		s.pids = map[string]int{}
		for i, d := range s.docs[scicat.Datasets] {
			if id, err := scicat.DocumentID(scicat.Datasets, d); err == nil {
				if _, dup := s.pids[id]; !dup {
					s.pids[id] = i
				}
			}
		}
	}
	if i, ok := s.pids[pid]; ok {
		return i
	}
	return -1
}

// login answers POST /api/v3/auth/login.
func (s *Server) login(w http.ResponseWriter, r *http.Request, answer func(int), fail func(int, string)) {
	var cred struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&cred); err != nil {
		fail(http.StatusBadRequest, "the body is not a JSON object")
		return
	}
	good := cred.Username != "" && cred.Password != ""
	if s.cfg.Users != nil {
		pw, known := s.cfg.Users[cred.Username]
		good = known && pw == cred.Password
	}
	if !good {
		fail(http.StatusUnauthorized, "Unauthorized")
		return
	}
	s.mu.Lock()
	s.nextTok++
	token := fmt.Sprintf("token-%d-%d", s.nextTok, time.Now().UnixNano())
	created := time.Now().UTC()
	s.tokens[token] = created.Add(s.cfg.TokenTTL)
	ttl := int(s.cfg.TokenTTL / time.Second)
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{
		"access_token": token, "id": token, "expires_in": ttl, "ttl": ttl,
		"created": created.Format(time.RFC3339), "userId": "user-" + cred.Username,
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	answer(http.StatusCreated)
	_, _ = w.Write(b)
}

// authorise checks the bearer token of a write-side request: 0 when it is
// good, else the status and message SciCat gives.
func (s *Server) authorise(r *http.Request) (int, string) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return http.StatusForbidden, "Forbidden resource"
	}
	if s.cfg.Token != "" && token == s.cfg.Token {
		return 0, ""
	}
	s.mu.Lock()
	exp, known := s.tokens[token]
	s.mu.Unlock()
	if !known || !time.Now().Before(exp) {
		return http.StatusUnauthorized, "Unauthorized"
	}
	return 0, ""
}

// validateDataset checks a dataset as SciCat's validation of
// CreateRawDatasetDto and CreateDerivedDatasetDto does (full: every
// required field present; else only the fields present), and returns
// its messages, sorted.
func validateDataset(m map[string]any, full bool) []string {
	var msgs []string
	str := func(name string, required bool) {
		v, present := m[name]
		if !present {
			if required && full {
				msgs = append(msgs, name+" must be a string", name+" should not be empty")
			}
			return
		}
		if s, ok := v.(string); !ok || (required && s == "") {
			msgs = append(msgs, name+" must be a string")
		}
	}
	strs := func(name string, required bool) {
		v, present := m[name]
		if !present {
			if required && full {
				msgs = append(msgs, name+" must be an array", "each value in "+name+" must be a string")
			}
			return
		}
		list, ok := v.([]any)
		if !ok {
			msgs = append(msgs, name+" must be an array")
			return
		}
		for _, x := range list {
			if _, ok := x.(string); !ok {
				msgs = append(msgs, "each value in "+name+" must be a string")
				return
			}
		}
	}
	for _, f := range []string{"owner", "sourceFolder", "ownerGroup", "datasetName"} {
		str(f, true)
	}
	for _, f := range []string{"description", "license", "ownerEmail", "orcidOfOwner"} {
		str(f, false)
	}
	strs("accessGroups", true)
	strs("keywords", false)
	email := func(name string, required bool) {
		v, present := m[name]
		if !present {
			if required && full {
				msgs = append(msgs, name+" must be an email")
			}
			return
		}
		s, _ := v.(string)
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
			msgs = append(msgs, name+" must be an email")
		}
	}
	email("contactEmail", true)
	if _, present := m["ownerEmail"]; present {
		email("ownerEmail", false)
	}
	if v, present := m["creationTime"]; present || full {
		s, _ := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			msgs = append(msgs, "creationTime must be a valid ISO 8601 date string")
		}
	}
	if v, present := m["isPublished"]; present {
		if _, ok := v.(bool); !ok {
			msgs = append(msgs, "isPublished must be a boolean value")
		}
	}
	typ, _ := m["type"].(string)
	if _, present := m["type"]; present || full {
		switch typ {
		case "raw":
			str("principalInvestigator", true)
			str("creationLocation", true)
		case "derived":
			str("investigator", true)
			strs("inputDatasets", true)
			strs("usedSoftware", true)
		default:
			msgs = append(msgs, "type must be one of the following values: raw, derived")
		}
	}
	if v, present := m["scientificMetadata"]; present {
		if _, ok := v.(map[string]any); !ok {
			msgs = append(msgs, "scientificMetadata must be an object")
		}
	}
	sort.Strings(msgs)
	return msgs
}
