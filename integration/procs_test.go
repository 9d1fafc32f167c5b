package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/panosc/fairway/internal/testenv"
)

// httpClient is what the tests ask the node with: a request that hangs
// fails the poll instead of the whole test.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// binDir holds the binaries TestMain builds once for every test.
var binDir string

// build compiles the pinned nats-server and Fairway's commands into dir.
func build(dir string) error {
	pkgs := []string{
		"github.com/nats-io/nats-server/v2",
		"../services/fairway", "../services/harvester", "../services/normaliser",
		"../services/enricher", "../services/publisher", "../services/analytics",
	}
	args := append([]string{"build", "-o", dir + string(os.PathSeparator)}, pkgs...)
	cmd := exec.Command("go", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fairway-it-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a process started by a test, with its output kept for failures.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan error
}

// start runs binary name from binDir with args; the test stops it at the end
// and prints its output if the test failed.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, name, args...)
}

// startEnv is start with extra environment variables.
func startEnv(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &testenv.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(filepath.Join(binDir, name), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit; it returns the exit error.
func (p *proc) stop(t *testing.T) error {
	return p.signal(t, syscall.SIGTERM)
}

// signal sends sig and waits for the process to end.
func (p *proc) signal(t *testing.T, sig os.Signal) error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(45 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop within 45s of SIGTERM", p.name)
		return <-p.done
	}
}

// run runs binary name to completion and returns its stdout.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	return runEnv(t, nil, name, args...)
}

// runEnv is run with extra environment variables.
func runEnv(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	out, stderr, err := runResult(env, name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr)
	}
	return out
}

// runResult runs binary name to completion with extra environment
// variables and returns its stdout, its stderr and its exit error.
func runResult(env []string, name string, args ...string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last: %s)", timeout, what, last)
}

// natsConf returns the absolute path of one of the project's NATS server
// configurations in deploy/nats.
func natsConf(t *testing.T, name string) string {
	t.Helper()
	conf, err := filepath.Abs(filepath.Join("..", "deploy", "nats", name))
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// singleNATSEnv is the environment deploy/nats/single.conf reads, for a
// server listening on addr (host:port), with a store of its own, the
// tests' user and no monitoring port.
func singleNATSEnv(t *testing.T, addr string) []string {
	host, port, _ := strings.Cut(addr, ":")
	return []string{"FAIRWAY_NATS_HOST=" + host, "FAIRWAY_NATS_PORT=" + port, "FAIRWAY_NATS_MONITOR_PORT=0",
		"FAIRWAY_NATS_STORE=" + t.TempDir(), "FAIRWAY_NATS_USER=" + clusterUser, "FAIRWAY_NATS_PASSWORD=" + clusterPassword}
}

// clusterNATSEnv is the environment deploy/nats/cluster.conf reads for
// server i of a cluster whose servers listen for clients on clients and
// for each other on routes (host:port each).
func clusterNATSEnv(t *testing.T, i int, clients, routes []string) []string {
	host, port, _ := strings.Cut(clients[i], ":")
	_, cport, _ := strings.Cut(routes[i], ":")
	env := []string{
		fmt.Sprintf("FAIRWAY_NATS_NAME=fairway-%d", i+1), "FAIRWAY_NATS_HOST=" + host,
		"FAIRWAY_NATS_PORT=" + port, "FAIRWAY_NATS_CLUSTER_PORT=" + cport, "FAIRWAY_NATS_MONITOR_PORT=0",
		"FAIRWAY_NATS_STORE=" + t.TempDir(), "FAIRWAY_NATS_USER=" + clusterUser, "FAIRWAY_NATS_PASSWORD=" + clusterPassword,
	}
	for j, r := range routes {
		env = append(env, fmt.Sprintf("FAIRWAY_NATS_ROUTE_%d=nats://%s", j+1, r))
	}
	return env
}
