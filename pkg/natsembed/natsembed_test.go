package natsembed_test

import (
	"net"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/panosc/fairway/pkg/natsembed"
)

func TestStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name    string
		cfg     natsembed.Config
		wantErr bool
		network bool
	}{
		{"in-process only", natsembed.Config{StoreDir: t.TempDir()}, false, false},
		{"with a listener", natsembed.Config{StoreDir: t.TempDir(), Listen: addr}, false, true},
		{"no store", natsembed.Config{}, true, false},
		{"bad listen address", natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1"}, true, false},
		{"bad port", natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:http"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := natsembed.Start(tt.cfg)
			if tt.wantErr {
				if err == nil {
					ns.Shutdown()
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ns.Shutdown()
			if !ns.JetStreamEnabled() {
				t.Fatal("JetStream is off")
			}
			nc, err := nats.Connect("", nats.InProcessServer(ns))
			if err != nil {
				t.Fatal(err)
			}
			nc.Close()
			if tt.network {
				nc, err := nats.Connect("nats://" + tt.cfg.Listen)
				if err != nil {
					t.Fatalf("listener: %v", err)
				}
				nc.Close()
			}
		})
	}
}
