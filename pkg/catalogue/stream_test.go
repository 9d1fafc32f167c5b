package catalogue_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/knakk/rdf"

	"github.com/panosc/fairway/pkg/catalogue"
)

// slowClient is the connection of a client that takes perWrite to accept
// each part of an answer, on a clock of the test's own. Like a server's
// connection, it refuses a write that ends after its write deadline.
type slowClient struct {
	*httptest.ResponseRecorder
	clock    *time.Time
	perWrite time.Duration
	deadline time.Time
	writes   int
	moved    int
}

func (c *slowClient) SetWriteDeadline(t time.Time) error {
	c.deadline = t
	c.moved++
	return nil
}

func (c *slowClient) Write(p []byte) (int, error) {
	*c.clock = c.clock.Add(c.perWrite)
	if !c.deadline.IsZero() && c.clock.After(c.deadline) {
		return 0, os.ErrDeadlineExceeded
	}
	c.writes++
	return c.ResponseRecorder.Write(p)
}

// TestCatalogueExtendsWriteDeadline streams the export to a client that
// reads slowly, behind a server whose write timeout (200ms) is much
// shorter than the whole transfer: the handler moves the deadline as it
// writes, so the catalogue completes; a client that takes longer than the
// timeout over one part is cut off; without a write timeout nothing moves.
func TestCatalogueExtendsWriteDeadline(t *testing.T) {
	n := newNode(t)
	const datasets = 60 // several times the encoder's output buffer
	for i := range datasets {
		n.publish(dataset(fmt.Sprintf("doi:10.1/%d", i), "ESRF", fmt.Sprintf("Dataset %d", i)))
	}
	const timeout = 200 * time.Millisecond
	tests := []struct {
		name         string
		writeTimeout time.Duration
		perWrite     time.Duration
		complete     bool
		maxStream    time.Duration // 0: MaxStream
	}{
		{"slow reader, longer than the timeout in all", timeout, 100 * time.Millisecond, true, 0},
		{"reader stalled longer than the timeout", timeout, 300 * time.Millisecond, false, 0},
		{"slow reader past the bound of a stream", timeout, 100 * time.Millisecond, false, timeout},
		{"no write timeout", 0, 100 * time.Millisecond, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := catalogue.New(catalogue.Config{DCAT: n.st.Options()}, n.model, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := start
			catalogue.SetClock(h, func() time.Time { return clock })
			if tt.maxStream > 0 {
				catalogue.SetMaxStream(h, tt.maxStream)
			}
			c := &slowClient{ResponseRecorder: httptest.NewRecorder(), clock: &clock, perWrite: tt.perWrite}
			if tt.writeTimeout > 0 {
				c.deadline = start.Add(tt.writeTimeout) // set by the server once it read the request
			}
			r := httptest.NewRequest(http.MethodGet, "/export", nil)
			r = r.WithContext(context.WithValue(r.Context(), http.ServerContextKey, &http.Server{WriteTimeout: tt.writeTimeout}))
			aborted := serve(h, c, r)
			got := datasetsIn(c.Body.String())
			if !tt.complete {
				if !aborted && got == datasets {
					t.Fatalf("a client stalled for %s per write was served the whole catalogue", tt.perWrite)
				}
				return
			}
			if aborted || got != datasets {
				t.Fatalf("the catalogue was cut off after %d writes (%d of %d datasets), %s into the transfer (write timeout %s)",
					c.writes, got, datasets, clock.Sub(start), tt.writeTimeout)
			}
			if took := clock.Sub(start); took <= timeout {
				t.Fatalf("the transfer took %s; the test needs more than %s", took, timeout)
			}
			if tt.writeTimeout > 0 && c.moved < c.writes || tt.writeTimeout == 0 && c.moved != 0 {
				t.Fatalf("deadline moved %d times for %d writes (write timeout %s)", c.moved, c.writes, tt.writeTimeout)
			}
		})
	}
}

// datasetsIn counts the datasets a Turtle catalogue links (0 when it does
// not parse).
func datasetsIn(doc string) int {
	triples, err := rdf.NewTripleDecoder(strings.NewReader(doc), rdf.Turtle).DecodeAll()
	if err != nil {
		return 0
	}
	linked := map[string]bool{}
	for _, tr := range triples {
		if tr.Pred.String() == "http://www.w3.org/ns/dcat#dataset" {
			linked[tr.Obj.String()] = true
		}
	}
	return len(linked)
}

// serve runs h and reports whether it aborted the answer.
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			aborted = true
		}
	}()
	h.ServeHTTP(w, r)
	return false
}
