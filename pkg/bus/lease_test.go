package bus_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// TestLease takes a lease on a real embedded JetStream: a second holder is
// refused while the first holds it, the entry names the holder, a release
// frees it at once, and a holder whose entry was taken from it (as when it
// expired and another replica took it) sees its context end.
func TestLease(t *testing.T) {
	ctx := context.Background()
	b := testenv.Bus(t)
	const key = "test.lease"
	actx, releaseA, err := b.Lease(ctx, key, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Lease(ctx, key, "b", nil); !errors.Is(err, bus.ErrExists) {
		t.Fatalf("second holder: %v, want ErrExists", err)
	}
	if e, err := b.State(bus.BucketLeases).Get(ctx, key); err != nil || string(e.Value) != "a" {
		t.Fatalf("lease entry %q, %v; want the holder a", e.Value, err)
	}
	releaseA()
	if actx.Err() == nil {
		t.Fatal("a released lease's context has not ended")
	}
	bctx, releaseB, err := b.Lease(ctx, key, "b", nil)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	// The entry goes, and another holder takes it: b can no longer
	// refresh at its revision, and stops.
	if err := b.State(bus.BucketLeases).Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.State(bus.BucketLeases).Create(ctx, key, []byte("c")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bctx.Done():
	case <-time.After(bus.LeaseTTL/3 + 5*time.Second):
		t.Fatal("a lease taken by another holder did not end its context")
	}
	releaseB()
	// b's release must not remove c's lease.
	if e, err := b.State(bus.BucketLeases).Get(ctx, key); err != nil || string(e.Value) != "c" {
		t.Fatalf("after b's release: %q, %v; want c's lease kept", e.Value, err)
	}
}

// TestLeaseEndsWithItsContext checks that a lease ends with the context it
// was taken with, and that its entry stays until it is released.
func TestLeaseEndsWithItsContext(t *testing.T) {
	b := testenv.Bus(t)
	ctx, cancel := context.WithCancel(context.Background())
	lctx, release, err := b.Lease(ctx, "test.ctx", "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-lctx.Done()
	if _, err := b.State(bus.BucketLeases).Get(context.Background(), "test.ctx"); err != nil {
		t.Fatalf("entry before release: %v", err)
	}
	release()
	if _, err := b.State(bus.BucketLeases).Get(context.Background(), "test.ctx"); !errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("entry after release: %v, want ErrNotFound", err)
	}
}

// TestLeaseEndsWhenTheServerStalls holds a lease over a connection whose
// bytes stop flowing (a stalled server, a network that drops everything):
// the holder cannot refresh, and its context must end before its entry
// can expire (LeaseTTL after it was written), so that it never works on
// while another replica may take the key.
func TestLeaseEndsWhenTheServerStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a lease refresh to time out (about 20 s)")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	ns, err := natsembed.Start(natsembed.Config{StoreDir: dir, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	creds, err := natsembed.ReadCredentials(natsembed.Config{StoreDir: dir, Listen: listen}.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	// Provisioned over a direct connection; the holder's goes through
	// the proxy.
	direct, err := bus.Connect(ctx, bus.Config{URL: "nats://" + listen, Options: []nats.Option{creds.Option()}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = direct.Close() })
	proxy := newStallingProxy(t, listen)
	held, err := bus.Connect(ctx, bus.Config{URL: "nats://" + proxy.addr, Options: []nats.Option{creds.Option()}, Logger: quiet, SkipProvision: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = held.Close() })

	taken := time.Now()
	lctx, release, err := held.Lease(ctx, "test.stall", "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	proxy.stall()
	select {
	case <-lctx.Done():
		d := time.Since(taken)
		t.Logf("the lease ended %s after it was taken", d)
		if d >= bus.LeaseTTL-2*time.Second {
			t.Errorf("the lease ended %s after it was taken: its entry may have expired (LeaseTTL %s)", d, bus.LeaseTTL)
		}
	case <-time.After(bus.LeaseTTL):
		t.Fatal("a holder that cannot reach the server still holds its lease after LeaseTTL")
	}
	// The entry is still there, as the server saw it last: the holder
	// stopped on its own, before anyone could take the key.
	if e, err := direct.State(bus.BucketLeases).Get(ctx, "test.stall"); err != nil || string(e.Value) != "a" {
		t.Errorf("lease entry %v, %v", e, err)
	}
	// The network comes back broken (the holder's connection closes):
	// the release gives up at once instead of waiting on it.
	proxy.cut()
	release()
}

// stallingProxy forwards TCP connections to a server until stall, after
// which it forwards nothing more (the connections stay open until cut).
type stallingProxy struct {
	addr    string
	ln      net.Listener
	stalled atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func newStallingProxy(t *testing.T, target string) *stallingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallingProxy{addr: ln.Addr().String(), ln: ln}
	var conns sync.WaitGroup
	t.Cleanup(func() { p.cut(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			conns.Add(2)
			closeBoth := func() { c.Close(); s.Close() }
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { defer conns.Done(); p.copy(s, c); closeBoth() }()
			go func() { defer conns.Done(); p.copy(c, s); closeBoth() }()
		}
	}()
	return p
}

func (p *stallingProxy) stall() { p.stalled.Store(true) }

// cut closes every connection the proxy forwarded, and stops taking new
// ones.
func (p *stallingProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// copy forwards from src to dst until either closes; once stalled, what
// it reads is dropped.
func (p *stallingProxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
