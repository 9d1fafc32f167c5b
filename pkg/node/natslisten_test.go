package node

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// TestRunWithNATSListener runs a node whose embedded NATS listens: its own
// stages connect in-process with the credentials it generated into the
// data directory (mode 0600); a client without them is refused, a client
// with them reads the node's streams.
func TestRunWithNATSListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := Config{
		Target: TargetAll, DataDir: dir, NATSListen: addr, NoAnalytics: true,
		PaNET: testenv.PaNET(t), Ready: make(chan struct{}),
	}
	ctx, stop := runUntilReady(t, cfg, slog.New(slog.DiscardHandler))
	defer stop()

	path := filepath.Join(dir, natsembed.CredentialsFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	if nc, err := nats.Connect("nats://"+addr, nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		if err == nil {
			nc.Close()
		}
		t.Fatalf("anonymous client: err %v, want an authorization violation", err)
	}
	js := testenv.NodeJetStream(t, addr, path)
	if _, err := js.Stream(ctx, string(bus.Catalogue)); err != nil {
		t.Fatalf("the node's catalogue stream: %v", err)
	}
}
