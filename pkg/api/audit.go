package api

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
)

// auditPrefix bounds how much of a request body the audit log reads to
// name the fields a write sets.
const auditPrefix = 64 << 10

// auditBody is a request body that keeps its first auditPrefix bytes.
type auditBody struct {
	r    io.ReadCloser
	head []byte
	more bool
}

func (b *auditBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if room := auditPrefix - len(b.head); room > 0 {
		b.head = append(b.head, p[:min(n, room)]...)
		b.more = b.more || n > room
	} else if n > 0 {
		b.more = true
	}
	return n, err
}

func (b *auditBody) Close() error { return b.r.Close() }

// changed describes what a JSON body sets without its values (which may
// be credentials): the names of an object's fields, or the length of a
// list (a usage batch).
func (b *auditBody) changed() []any {
	if len(b.head) == 0 {
		return nil
	}
	if b.more {
		return []any{"body_bytes_read", len(b.head), "body_truncated", true}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b.head, &obj); err == nil {
		fields := make([]string, 0, len(obj))
		for k := range obj {
			fields = append(fields, k)
		}
		sort.Strings(fields)
		return []any{"fields", fields}
	}
	var list []json.RawMessage
	if err := json.Unmarshal(b.head, &list); err == nil {
		return []any{"items", len(list)}
	}
	return []any{"body_bytes", len(b.head)}
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (a streamed
// answer extends its write deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush sends what the handler wrote so far, for handlers that stream.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// audit logs a write (every method but GET and HEAD) that passed
// authentication: who (subject, issuer, role), what (method, route, path
// and the fields its body sets) and how it ended (status). No token and no
// value of the body is logged.
func (s *Server) audit(r *http.Request, p Principal, status int, body *auditBody) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return
	}
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing: net/http answers 200
	}
	args := []any{"by", p, "method", r.Method, "route", r.Pattern, "path", r.URL.Path, "status", status}
	// A token sent in the query (RFC 6750 allows it; the node reads the
	// header only) is never logged.
	if q := r.URL.Query(); len(q) > 0 {
		q.Del("access_token")
		if len(q) > 0 {
			args = append(args, "query", q.Encode())
		}
	}
	args = append(args, body.changed()...)
	s.log.InfoContext(r.Context(), "audit", args...)
}
