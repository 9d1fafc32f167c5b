package samplefeed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Start serves h (typically a *Server) over HTTP on addr (e.g.
// "127.0.0.1:0" for a free port) in a background goroutine. It returns the
// OAI-PMH base URL ("http://<host:port>/oai"; the handler answers on every
// path) and a stop function that shuts the server down gracefully, within
// the deadline of its context (it may be called more than once). ctx only
// bounds the listen call.
func Start(ctx context.Context, addr string, h http.Handler) (baseURL string, stop func(context.Context) error, err error) {
	if h == nil {
		return "", nil, errors.New("samplefeed: nil handler")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("samplefeed: listen on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	var once sync.Once
	var stopErr error
	stop = func(ctx context.Context) error {
		once.Do(func() {
			stopErr = hs.Shutdown(ctx)
			if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && stopErr == nil {
				stopErr = serr
			}
		})
		return stopErr
	}
	return "http://" + ln.Addr().String() + "/oai", stop, nil
}
