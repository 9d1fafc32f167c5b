package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
)

// TestDeadLettersCommand lists a dead letter through `fairway dlq list` and
// sends it back with `fairway dlq redrive`, against a real NATS server that
// requires the credentials it generated: the command presents them from
// --nats-credentials, FAIRWAY_NATS_CREDENTIALS or the URL, and without
// them it is refused.
func TestDeadLettersCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ecfg := natsembed.Config{StoreDir: t.TempDir(), Listen: addr}
	ns, err := natsembed.Start(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	credsFile := ecfg.CredentialsPath()
	creds, err := natsembed.ReadCredentials(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Connect(ctx, bus.Config{InProcess: ns, Options: []nats.Option{creds.Option()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	handled := make(chan string, 4)
	var fixed atomic.Bool
	go func() {
		_ = b.Run(ctx, bus.RunConfig{Stage: bus.StageEnricher}, func(_ context.Context, m *bus.Message) ([]bus.Event, error) {
			if !fixed.Load() {
				return nil, bus.Permanent(errors.New("no technique table"))
			}
			handled <- m.Key
			return nil, nil
		})
	}()
	if err := b.Publish(ctx, "normaliser", bus.Event{Stream: bus.Normalised, Key: "doi:10.1/x", Hash: "h", Payload: []byte("ds")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		letters, err := b.DeadLetters(ctx, "", 0)
		if err == nil && len(letters) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter: %v %v", letters, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	exec := func(args ...string) (string, error) {
		cmd := DeadLettersCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec(append(args, "--nats", "nats://"+addr, "--nats-credentials", credsFile)...)
		if err != nil {
			t.Fatalf("dlq %v: %v\n%s", args, err, out)
		}
		return out
	}
	out := run("list", "--stage", "enricher")
	if !strings.Contains(out, "doi:10.1/x") || !strings.Contains(out, "no technique table") || !strings.Contains(out, "enricher") {
		t.Fatalf("list output:\n%s", out)
	}
	conns := []struct {
		name string
		env  string
		args []string
		ok   bool
	}{
		{"no credentials", "", []string{"--nats", "nats://" + addr}, false},
		{"credentials in the URL", "", []string{"--nats", "nats://" + creds.User + ":" + creds.Password + "@" + addr}, true},
		{"wrong password in the URL", "", []string{"--nats", "nats://" + creds.User + ":wrong@" + addr}, false},
		{"credentials file from the environment", credsFile, []string{"--nats", "nats://" + addr}, true},
		{"credentials given twice", "", []string{"--nats", "nats://" + creds.User + ":" + creds.Password + "@" + addr, "--nats-credentials", credsFile}, false},
		{"host:port without a scheme", credsFile, []string{"--nats", addr}, true},
	}
	for _, c := range conns {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("FAIRWAY_NATS_CREDENTIALS", c.env)
			out, err := exec(append([]string{"list"}, c.args...)...)
			if c.ok != (err == nil) {
				t.Fatalf("dlq list: err %v, want ok=%v\n%s", err, c.ok, out)
			}
			if err != nil && strings.Contains(err.Error()+out, creds.Password) {
				t.Fatalf("the error shows the password: %v", err)
			}
			if c.ok && !strings.Contains(out, "doi:10.1/x") {
				t.Fatalf("list output:\n%s", out)
			}
		})
	}
	fixed.Store(true)
	if out := run("redrive", "--all"); !strings.Contains(out, "redriven: 1, left: 0") {
		t.Fatalf("redrive output:\n%s", out)
	}
	select {
	case key := <-handled:
		if key != "doi:10.1/x" {
			t.Fatalf("redriven key %q", key)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the redriven message was not handled")
	}
	if out := run("list"); strings.Contains(out, "doi:10.1/x") {
		t.Fatalf("dead letter still listed:\n%s", out)
	}
}
