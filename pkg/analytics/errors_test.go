package analytics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestUnavailableClassification(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "connection refused"}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dial error", fmt.Errorf("x: %w", refused), true},
		{"connection refused errno", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"connection reset", syscall.ECONNRESET, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"eof", fmt.Errorf("read: %w", io.EOF), true},
		{"unexpected eof", io.ErrUnexpectedEOF, true},
		{"deadline", context.DeadlineExceeded, true},
		{"acquire timeout", clickhouse.ErrAcquireConnTimeout, true},
		{"too many parts", &clickhouse.Exception{Code: 252, Name: "DB::Exception"}, true},
		{"too many queries", fmt.Errorf("q: %w", &clickhouse.Exception{Code: 202}), true},
		{"wrong password (18.16)", &clickhouse.Exception{Code: 193}, true},
		{"authentication failed (current)", &clickhouse.Exception{Code: 516}, true},
		{"unknown database", &clickhouse.Exception{Code: 81}, true},
		{"syntax error", &clickhouse.Exception{Code: 62}, false},
		{"unknown identifier", &clickhouse.Exception{Code: 47}, false},
		{"cannot parse", &clickhouse.Exception{Code: 6}, false},
		{"cancelled", context.Canceled, false},
		{"cancelled while dialling", fmt.Errorf("%w: %w", context.Canceled, refused), false},
		{"other", errors.New("something else"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unavailable(tt.err); got != tt.want {
				t.Fatalf("unavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			wrapped := wrap("op", tt.err)
			if errors.Is(wrapped, ErrUnavailable) != tt.want {
				t.Fatalf("wrap(%v) = %v: wraps ErrUnavailable %v, want %v", tt.err, wrapped, !tt.want, tt.want)
			}
			if !errors.Is(wrapped, tt.err) {
				t.Fatalf("wrap(%v) = %v loses the cause", tt.err, wrapped)
			}
		})
	}
	if wrap("op", nil) != nil {
		t.Fatal("wrap of nil is not nil")
	}
}
