package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// natsServerPkg is the pinned nats-server (go.mod), built by the runs
// that start one in a process of its own.
const natsServerPkg = "github.com/nats-io/nats-server/v2"

// buildCommands builds the commands of pkgs into dir, each named for the
// last element of its path (nats-server for natsServerPkg), with one go
// build.
func buildCommands(ctx context.Context, dir string, pkgs ...string) error {
	args := append([]string{"build", "-o", dir + string(os.PathSeparator)}, pkgs...)
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// process is a command of a run in a process of its own, its output in a
// log file.
type process struct {
	name, log string
	cmd       *exec.Cmd
	// done is closed once the process has exited, with err its exit error.
	done chan struct{}
	err  error
	// stopping is set once the run stops it: an exit is then expected.
	stopping atomic.Bool
	// peakKB is the highest resident set seen, in KiB.
	peakKB atomic.Uint64
}

// startProcess starts bin with args, its output in log. exited, when not
// nil, is called if the process exits before stop is called.
func startProcess(name, bin string, args []string, log string, exited func(*process)) (*process, error) {
	out, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	p := &process{name: name, log: log, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// Killed with the run, should it end without stopping it (Pdeathsig
	// follows the thread that started it: no goroutine here locks its
	// thread), and in a process group of its own, so that a Ctrl-C of the
	// bench reaches the bench alone, which then stops the services before
	// the nats-server.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		out.Close()
		close(p.done)
		if exited != nil && !p.stopping.Load() {
			exited(p)
		}
	}()
	return p, nil
}

// stop asks the process to end (SIGTERM: the services drain) and kills it
// if it has not within grace. It returns its exit error, nil for a clean
// exit.
func (p *process) stop(grace time.Duration) error {
	p.stopping.Store(true)
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM: killed", p.name, grace)
	}
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of the process's output.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// memKB reads a memory figure of the process (VmRSS, VmHWM) from /proc,
// 0 once it has exited.
func (p *process) memKB(field string) uint64 {
	if p.exited() {
		// Reaped: its PID may be another process's already.
		return 0
	}
	return procStatusKB(strconv.Itoa(p.cmd.Process.Pid), field)
}

// sampleRSS reads the process's resident set, keeps its peak and returns
// it (0 once it has exited).
func (p *process) sampleRSS() uint64 {
	r := p.memKB("VmRSS")
	storeMax(&p.peakKB, r)
	return r
}

// storeMax raises v to n if n is more (v is read and written by the
// sampler and the run at once).
func storeMax(v *atomic.Uint64, n uint64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go runs on).
const clockTicks = 100

// cpu returns the user and system CPU time of the process so far, from
// /proc/PID/stat; 0 once it has exited.
func (p *process) cpu() time.Duration {
	if p.exited() {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted from 3 (state) start after the last parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// Fields 14 (utime) and 15 (stime).
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / clockTicks
}

// startNATS runs the nats-server built into bin with JetStream on a free
// loopback port, its store and log under dir, and returns once it takes
// clients. exited is as for startProcess.
func startNATS(ctx context.Context, bin, dir string, exited func(*process)) (*process, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	host, port, _ := strings.Cut(addr, ":")
	p, err := startProcess("nats-server", filepath.Join(bin, "nats-server"),
		[]string{"-js", "-a", host, "-p", port, "-sd", filepath.Join(dir, "nats-store")}, filepath.Join(dir, "nats-server.log"), exited)
	if err != nil {
		return nil, "", err
	}
	url := "nats://" + addr
	for ctx.Err() == nil && !p.exited() {
		if nc, err := nats.Connect(url); err == nil {
			nc.Close()
			return p, url, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = p.stop(5 * time.Second)
	return nil, "", errors.New("nats-server did not start: " + p.tail(20))
}

// procStatusKB reads a memory figure of process pid ("self": this one)
// from /proc/PID/status (Linux), 0 when there is none.
func procStatusKB(pid, field string) uint64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return 0
}
