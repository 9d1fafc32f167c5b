package fetch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Pacer spaces requests at least Interval apart, across every goroutine
// that shares it (a feed's rate limit). The zero Pacer, or one with
// Interval <= 0, never waits.
type Pacer struct {
	// Interval is the least time between the starts of two requests.
	Interval time.Duration

	mu   sync.Mutex
	next time.Time
}

// Wait reserves the next request slot and waits for it, or for ctx.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil || p.Interval <= 0 {
		return nil
	}
	p.mu.Lock()
	slot := p.next
	if now := time.Now(); slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.Interval)
	p.mu.Unlock()
	wait := time.Until(slot)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// LimitedReader reads from R and fails with an error wrapping
// ErrPageTooLarge once more than N bytes were read (N <= 0: no limit). It
// reads one byte past the limit, to tell a body of exactly N bytes from a
// longer one.
type LimitedReader struct {
	R io.Reader
	// N is the limit.
	N int64
	// Count is how many bytes were read.
	Count int64
}

// Read implements io.Reader.
func (l *LimitedReader) Read(p []byte) (int, error) {
	if l.N <= 0 {
		n, err := l.R.Read(p)
		l.Count += int64(n)
		return n, err
	}
	if l.Count > l.N {
		return 0, l.tooLarge()
	}
	if rem := l.N + 1 - l.Count; int64(len(p)) > rem {
		p = p[:rem]
	}
	k, err := l.R.Read(p)
	l.Count += int64(k)
	if l.Count > l.N {
		return k, l.tooLarge()
	}
	return k, err
}

// Exceeded reports whether more than N bytes were read.
func (l *LimitedReader) Exceeded() bool { return l.N > 0 && l.Count > l.N }

func (l *LimitedReader) tooLarge() error {
	return fmt.Errorf("%w: more than %d bytes", ErrPageTooLarge, l.N)
}

// RestyLogger sends resty's own log lines to slog.
type RestyLogger struct{ L *slog.Logger }

// Errorf implements resty.Logger.
func (r RestyLogger) Errorf(format string, v ...any) { r.L.Error(fmt.Sprintf(format, v...)) }

// Warnf implements resty.Logger.
func (r RestyLogger) Warnf(format string, v ...any) { r.L.Warn(fmt.Sprintf(format, v...)) }

// Debugf implements resty.Logger.
func (r RestyLogger) Debugf(format string, v ...any) { r.L.Debug(fmt.Sprintf(format, v...)) }
