// Package natsembed runs a NATS server with JetStream inside the process,
// for the all-in-one node and for tests. A server without a listener
// accepts only in-process connections and asks for no credentials; a
// server that listens requires the user and password of its credentials
// file from every client, in-process ones included.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// MaxPayload is the largest message the embedded server accepts (8 MiB,
// the streams' limit); deploy/nats/cluster.conf sets the same.
const MaxPayload = 8 << 20

// Config configures an embedded server.
type Config struct {
	// StoreDir is where JetStream keeps its file store. Required.
	StoreDir string
	// Listen is the client address ("127.0.0.1:4222"); empty means no
	// network listener at all (connect in-process).
	Listen string
	// CredentialsFile, with Listen, is where the user and password that
	// every client must present are kept: read when the file exists,
	// generated there (mode 0600) otherwise, so that they survive a
	// restart. Default <StoreDir>/nats-credentials. Ignored without
	// Listen.
	CredentialsFile string
	// ReadyTimeout bounds the start. Default 10s.
	ReadyTimeout time.Duration
	// MaxMemory and MaxStore bound JetStream (0: server defaults).
	MaxMemory, MaxStore int64
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if c.StoreDir == "" {
		return errors.New("natsembed: StoreDir is required")
	}
	if c.ReadyTimeout < 0 {
		return errors.New("natsembed: negative ReadyTimeout")
	}
	return nil
}

// CredentialsPath returns the credentials file the server requires, or ""
// when it does not listen (and asks for no credentials).
func (c Config) CredentialsPath() string {
	if c.Listen == "" {
		return ""
	}
	if c.CredentialsFile != "" {
		return c.CredentialsFile
	}
	return filepath.Join(c.StoreDir, CredentialsFile)
}

// Start starts the server and waits until it accepts connections. With
// Listen, it first reads or generates the credentials file
// (CredentialsPath); clients connect with ReadCredentials(path).Option().
func Start(cfg Config) (*server.Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	opts := &server.Options{
		ServerName:         "fairway",
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		NoSigs:             true,
		NoLog:              true,
		// Records up to the harvester's limit (4 MiB) and catalogue entries
		// must fit: the server's default is 1 MiB.
		MaxPayload: MaxPayload,
	}
	if cfg.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
		creds, err := ensureCredentials(cfg.CredentialsPath())
		if err != nil {
			return nil, err
		}
		opts.Username, opts.Password = creds.User, creds.Password
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(cfg.ReadyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("natsembed: server not ready after %s", cfg.ReadyTimeout)
	}
	return ns, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("natsembed: listen %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("natsembed: listen %q: bad port: %w", addr, err)
	}
	return host, port, nil
}
