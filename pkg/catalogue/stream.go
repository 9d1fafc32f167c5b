package catalogue

import (
	"errors"
	"net/http"
	"time"
)

// MaxStream bounds the whole transfer of a streamed answer (an export, a
// page): however steadily a client reads, it cannot hold a handler and its
// read of the model longer.
const MaxStream = 30 * time.Minute

// streaming returns w for a streamed answer: when the server has a write
// timeout, every write first moves the connection's write deadline to that
// timeout from now, but never past the bound of a stream from the start.
// The answer may then take longer to send than the server's WriteTimeout,
// as long as the client keeps reading; a client that stops reading is
// still cut off.
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
