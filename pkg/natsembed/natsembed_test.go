package natsembed_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/pkg/natsembed"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestStart(t *testing.T) {
	addr := freeAddr(t)
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
			opts := []nats.Option{nats.InProcessServer(ns)}
			if tt.network {
				creds, err := natsembed.ReadCredentials(tt.cfg.CredentialsPath())
				if err != nil {
					t.Fatal(err)
				}
				opts = append(opts, creds.Option())
			} else if tt.cfg.CredentialsPath() != "" {
				t.Fatalf("a server without a listener has credentials %q", tt.cfg.CredentialsPath())
			}
			nc, err := nats.Connect("", opts...)
			if err != nil {
				t.Fatal(err)
			}
			nc.Close()
		})
	}
}

// TestListenerRequiresCredentials starts a server with a listener: a
// client without credentials is refused; the generated credentials (mode 0600) let a client use JetStream, and
// a restart keeps them.
func TestListenerRequiresCredentials(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	credsPath := filepath.Join(dir, "data", natsembed.CredentialsFile)
	cfg := natsembed.Config{StoreDir: filepath.Join(dir, "data", "nats"), Listen: addr, CredentialsFile: credsPath}
	if cfg.CredentialsPath() != credsPath {
		t.Fatalf("CredentialsPath() = %q", cfg.CredentialsPath())
	}
	ns, err := natsembed.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(credsPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	creds, err := natsembed.ReadCredentials(credsPath)
	if err != nil {
		t.Fatal(err)
	}
	if creds.User != natsembed.DefaultUser || len(creds.Password) < 32 || strings.Contains(creds.String(), creds.Password) {
		t.Fatalf("credentials %q / %d characters", creds.String(), len(creds.Password))
	}

	tests := []struct {
		name    string
		url     string
		opts    []nats.Option
		refused bool
	}{
		{"anonymous over TCP", "nats://" + addr, nil, true},
		{"wrong password", "nats://" + addr, []nats.Option{nats.UserInfo(creds.User, "not-the-password")}, true},
		{"credentials over TCP", "nats://" + addr, []nats.Option{creds.Option()}, false},
		{"credentials in a URL", "nats://" + creds.User + ":" + creds.Password + "@" + addr, nil, false},
		// In-process clients pass the same check (without credentials the
		// server drops the pipe).
		{"credentials in-process", "", []nats.Option{nats.InProcessServer(ns), creds.Option()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(tt.url, append(tt.opts, nats.MaxReconnects(0), nats.Timeout(5*time.Second))...)
			if tt.refused {
				if err == nil {
					nc.Close()
					t.Fatal("connected without valid credentials")
				}
				if !errors.Is(err, nats.ErrAuthorization) {
					t.Fatalf("err = %v, want an authorization violation", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.AccountInfo(context.Background()); err != nil {
				t.Fatalf("JetStream with the credentials: %v", err)
			}
		})
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	ns, err = natsembed.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	again, err := natsembed.ReadCredentials(credsPath)
	if err != nil || again != creds {
		t.Fatalf("after a restart the credentials changed (err %v)", err)
	}
	nc, err := nats.Connect("nats://"+addr, creds.Option())
	if err != nil {
		t.Fatalf("the credentials from before the restart: %v", err)
	}
	nc.Close()
}

func TestReadCredentials(t *testing.T) {
	tests := []struct {
		name, content string
		want          natsembed.Credentials
		err           bool
		mode          os.FileMode // 0: 0600
	}{
		{"generated form", "# comment\nuser=fairway\npassword=s3cret-and-long\n", natsembed.Credentials{User: "fairway", Password: "s3cret-and-long"}, false, 0},
		{"spaces", "  user = ops \n\n password = pw \n", natsembed.Credentials{User: "ops", Password: "pw"}, false, 0},
		{"no password", "user=fairway\n", natsembed.Credentials{}, true, 0},
		{"unknown key", "user=fairway\npassword=pw\ntoken=x\n", natsembed.Credentials{}, true, 0},
		{"bare line", "user=fairway\npw-without-key\n", natsembed.Credentials{}, true, 0},
		{"readable by others", "user=fairway\npassword=pw\n", natsembed.Credentials{}, true, 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "creds")
			mode := tt.mode
			if mode == 0 {
				mode = 0o600
			}
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			got, err := natsembed.ReadCredentials(path)
			if tt.err {
				if !errors.Is(err, natsembed.ErrCredentials) {
					t.Fatalf("err = %v, want ErrCredentials", err)
				}
				if strings.Contains(err.Error(), "pw-without-key") {
					t.Fatalf("the error quotes the line: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReadCredentials = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), ReadyTimeout: -time.Second}); err == nil {
		t.Fatal("a negative ReadyTimeout was accepted")
	}
	if _, err := natsembed.Start(natsembed.Config{}); err == nil {
		t.Fatal("a server without a store directory was started")
	}
}
