package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"request timed out", fmt.Errorf("bus: consumer enricher: %w", context.DeadlineExceeded), true},
		{"nats timeout", nats.ErrTimeout, true},
		{"no responders", fmt.Errorf("x: %w", nats.ErrNoResponders), true},
		{"cluster without a leader", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{"stream in use with another config", &jetstream.APIError{Code: 400, ErrorCode: 10058, Description: "stream name already in use"}, false},
		{"anything else", errors.New("bus: stream FAIRWAY_RAW: layout"), false},
		// A connection opened while the server is away.
		{"closed by a server shutting down", fmt.Errorf("bus: connect nats://127.0.0.1:4222: %w", io.EOF), true},
		{"write to a server shutting down", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"no server answers", fmt.Errorf("bus: connect: %w", nats.ErrNoServers), true},
		// Refused for good: waiting mends nothing.
		{"authorisation", fmt.Errorf("bus: connect: %w", nats.ErrAuthorization), false},
		{"authorisation revoked", nats.ErrAuthRevoked, false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("%s: unavailable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestWhileUnavailableWaitsThenGivesUpOnOtherErrors(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	calls := 0
	err := whileUnavailable(ctx, log, func() error {
		calls++
		if calls < 3 {
			return nats.ErrTimeout
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want nil after 3", err, calls)
	}
	wrong := errors.New("wrong configuration")
	calls = 0
	err = whileUnavailable(ctx, log, func() error { calls++; return wrong })
	if !errors.Is(err, wrong) || calls != 1 {
		t.Fatalf("err %v after %d calls, want the error at once", err, calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls = 0
	if err := whileUnavailable(cctx, log, func() error { calls++; return nats.ErrTimeout }); err == nil || calls != 1 {
		t.Fatalf("ended context: err %v after %d calls, want an error after 1", err, calls)
	}
}
