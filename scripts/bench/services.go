package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panosc/fairway/pkg/bus"
)

// services are Fairway's services, each a command in services/<name>, in
// the order of the pipeline.
var services = []string{"harvester", "normaliser", "enricher", "publisher", "analytics"}

// servicePkg is the package of service's command.
func servicePkg(service string) string { return "github.com/panosc/fairway/services/" + service }

// maxReplicas bounds -replicas: a 2-core machine runs out of CPU long
// before.
const maxReplicas = 8

// replicaCounts is the -replicas flag: how many processes of a service
// run, STAGE=N, comma separated or the flag repeated; a service not
// named runs once.
type replicaCounts map[string]int

// String returns the counts as the flag takes them, in pipeline order.
func (r replicaCounts) String() string {
	var parts []string
	for _, s := range services {
		if n, ok := r[s]; ok {
			parts = append(parts, s+"="+strconv.Itoa(n))
		}
	}
	return strings.Join(parts, ",")
}

// Set adds STAGE=N[,STAGE=N…].
func (r replicaCounts) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		name, count, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%q: want STAGE=N", part)
		}
		if !slices.Contains(services, name) {
			return fmt.Errorf("%q: no service %q (want one of %s)", part, name, strings.Join(services, ", "))
		}
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 || n > maxReplicas {
			return fmt.Errorf("%q: want a number of processes from 1 to %d", part, maxReplicas)
		}
		r[name] = n
	}
	return nil
}

// of returns how many processes of service run.
func (r replicaCounts) of(service string) int {
	if n, ok := r[service]; ok {
		return n
	}
	return 1
}

// fleet is the processes of a services run.
type fleet struct {
	bin, dir string
	// failed ends the run with the cause: a process that exited by
	// itself.
	failed context.CancelCauseFunc
	mu     sync.Mutex
	procs  []*process
	// peakKB is the highest sum of the processes' resident sets seen.
	peakKB atomic.Uint64
}

// add keeps p, so that its memory is sampled and it is stopped with the
// others.
func (f *fleet) add(p *process) {
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
}

// list returns the processes, in the order they started.
func (f *fleet) list() []*process {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.procs)
}

// exited ends the run: a process stopped by itself.
func (f *fleet) exited(p *process) {
	f.failed(fmt.Errorf("%s exited (%v); its last lines:\n%s", p.name, p.err, p.tail(15)))
}

// start runs service as the process name with args and returns once its
// ops endpoints answer /readyz (every part it runs is working).
func (f *fleet) start(ctx context.Context, service, name string, args ...string) (*process, error) {
	ops, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args = append(args, "--ops-listen", ops)
	p, err := startProcess(name, filepath.Join(f.bin, service), args, filepath.Join(f.dir, name+".log"), f.exited)
	if err != nil {
		return nil, err
	}
	f.add(p)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		if resp, err := client.Get("http://" + ops + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s not ready: %w; its last lines:\n%s", name, context.Cause(ctx), p.tail(15))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// watchRSS samples the resident set of every process every 100 ms,
// keeping each one's peak and the peak of their sum, until stopped (the
// function it returns may be called more than once).
func (f *fleet) watchRSS() func() { return every(100*time.Millisecond, f.sampleRSS) }

// sampleRSS samples every process's resident set once.
func (f *fleet) sampleRSS() {
	var sum uint64
	for _, p := range f.list() {
		sum += p.sampleRSS()
	}
	storeMax(&f.peakKB, sum)
}

// cpu returns every process's CPU time so far, by name.
func (f *fleet) cpu() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, p := range f.list() {
		out[p.name] = p.cpu()
	}
	return out
}

// stop stops the services (all at once, so that none waits for another
// to drain), then the nats-server, and returns what went wrong.
func (f *fleet) stop() error {
	var nats *process
	var wg sync.WaitGroup
	procs := f.list()
	errs := make([]error, len(procs))
	for i, p := range procs {
		if p.name == "nats-server" {
			nats = p
			continue
		}
		wg.Go(func() {
			if err := p.stop(45 * time.Second); err != nil {
				errs[i] = fmt.Errorf("%s: %w; its last lines:\n%s", p.name, err, p.tail(10))
			}
		})
	}
	wg.Wait()
	if nats != nil {
		_ = nats.stop(10 * time.Second)
	}
	return errors.Join(errs...)
}

// stageBacklog is what the samples of the consumers' state tell of one
// durable consumer: the messages of its stream after its ack floor.
type stageBacklog struct {
	sum, max uint64
	n        int
}

func (s stageBacklog) mean() float64 { return float64(s.sum) / float64(max(s.n, 1)) }

// watchBacklogs samples every durable consumer's backlog (its stream's
// last sequence less its ack floor, as the harvester's flow control reads
// it) every 500 ms until stopped, and returns them by consumer name.
func watchBacklogs(ctx context.Context, b *bus.Bus) func() map[string]stageBacklog {
	out := map[string]stageBacklog{}
	stop := every(500*time.Millisecond, func() {
		st, err := b.Status(ctx)
		if err != nil {
			return // a sample fewer
		}
		for _, s := range st {
			for _, c := range s.Consumers {
				floor := c.AckFloor
				if s.FirstSeq > 0 {
					floor = max(floor, s.FirstSeq-1)
				}
				var n uint64
				if s.LastSeq > floor {
					n = s.LastSeq - floor
				}
				bl := out[c.Name]
				bl.sum, bl.max, bl.n = bl.sum+n, max(bl.max, n), bl.n+1
				out[c.Name] = bl
			}
		}
	})
	return func() map[string]stageBacklog { stop(); return out }
}

// slowestStage returns the stage of bus.PipelineStages with the largest
// mean backlog: the one the flow control's bound fills in front of.
func slowestStage(backlogs map[string]stageBacklog) bus.Stage {
	var slowest bus.Stage
	for _, st := range bus.PipelineStages {
		if slowest == "" || backlogs[string(st)].mean() > backlogs[string(slowest)].mean() {
			slowest = st
		}
	}
	return slowest
}

// runServices runs the pipeline as separate services, each a process of
// its own (and o.replicas of some), against one nats-server with
// JetStream in a process of its own, over the sample facility (served by
// the harvester, as --demo does) with the same destination and ClickHouse
// as runPipeline, and prints the same figures: records per second from
// harvest to catalogue, the latency percentiles, the peak of the
// processes' summed resident sets and each one's, their CPU, and when the
// destination and ClickHouse had every dataset; and the backlog of every
// stage, to tell the slowest.
func runServices(o pipelineOptions) (err error) {
	dir, err := os.MkdirTemp("", "fairway-bench-services")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("timed out after %s", o.timeout))
	defer cancelTimeout()
	ctx, failed := context.WithCancelCause(ctx)
	defer failed(nil)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	f := &fleet{bin: filepath.Join(dir, "bin"), dir: dir, failed: failed}
	pkgs := []string{natsServerPkg}
	for _, s := range services {
		pkgs = append(pkgs, servicePkg(s))
	}
	if err := buildCommands(ctx, f.bin, pkgs...); err != nil {
		return err
	}
	hub, db, stopSinks, err := startSinks(ctx, o)
	if err != nil {
		return err
	}
	defer stopSinks()
	// Every process is stopped before the database is dropped and the
	// directory removed, whatever ends the run.
	defer func() {
		if stopErr := f.stop(); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	stopWatch := f.watchRSS()
	defer stopWatch()

	ns, natsURL, err := startNATS(ctx, f.bin, dir, f.exited)
	if err != nil {
		return err
	}
	f.add(ns)
	common := []string{"--nats", natsURL, "--log-level", "warn"}
	if o.memoryLimit != 0 {
		common = append(common, "--memory-limit", strconv.Itoa(o.memoryLimit))
	}
	concurrency := []string{"--concurrency", strconv.Itoa(o.concurrency)}
	poll := []string{"--poll", "100ms", "--max-backlog", strconv.Itoa(o.maxBacklog)}
	if o.maxBacklog == 0 {
		poll = poll[:2] // the harvester's default
	}
	var names []string
	// The stages after the harvester first, all ready before a record is
	// harvested (the enricher reads PaNET first).
	var wg sync.WaitGroup
	var startMu sync.Mutex
	var startErrs []error
	for _, s := range services[1:] {
		if s == "analytics" && o.clickhouse == "" {
			continue
		}
		for i := range o.replicas.of(s) {
			name := s
			if i > 0 {
				name = fmt.Sprintf("%s-%d", s, i+1)
			}
			names = append(names, name)
			var args []string
			switch s {
			case "normaliser":
				args = concurrency
			case "enricher":
				args = concurrency
				if o.panet != "" {
					args = append(args, "--panet", o.panet)
				}
			case "publisher":
				// The destination is on loopback.
				args = append([]string{"--http=", "--no-analytics", "--allow-private-feeds", "--data", filepath.Join(dir, name)}, concurrency...)
			case "analytics":
				args = []string{"--clickhouse", o.clickhouse, "--clickhouse-db", db}
			}
			wg.Go(func() {
				if _, err := f.start(ctx, s, name, append(slices.Clone(common), args...)...); err != nil {
					startMu.Lock()
					startErrs = append(startErrs, err)
					startMu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(startErrs...); err != nil {
		return err
	}
	b, err := bus.Connect(ctx, bus.Config{URL: natsURL, Name: "bench", Logger: log})
	if err != nil {
		return err
	}
	defer b.Close()
	if err := registerHub(ctx, b, hub); err != nil {
		return err
	}

	// The harvester last: it serves the sample facility and harvests it
	// at once. Its replicas share its feeds (a lease each).
	cpuBegan := f.cpu()
	began := time.Now()
	stopBacklogs := watchBacklogs(ctx, b)
	var harvesters []string
	for i := range o.replicas.of("harvester") {
		args := append(slices.Clone(common), poll...)
		name := "harvester"
		if i == 0 {
			args = append(args, "--demo", "--demo-records", strconv.Itoa(o.records), "--demo-page-size", strconv.Itoa(o.pageSize),
				"--demo-rate", strconv.FormatFloat(o.rate, 'f', -1, 64))
		} else {
			name = fmt.Sprintf("harvester-%d", i+1)
			args = append(args, "--allow-private-feeds")
		}
		harvesters = append(harvesters, name)
		if _, err := f.start(ctx, "harvester", name, args...); err != nil {
			stopBacklogs()
			return err
		}
	}
	names = append(append([]string{"nats-server"}, harvesters...), names...)
	memory := "none (the services' default)"
	if o.memoryLimit > 0 {
		memory = fmt.Sprintf("%d MiB per service", o.memoryLimit)
	}
	fmt.Printf("bench services: %d records, page size %d, concurrency %d, sample feed %s, max backlog %s, Go memory limit %s\n",
		o.records, o.pageSize, o.concurrency, feedPace(o.rate), orDefault(o.maxBacklog), memory)
	fmt.Printf("processes:      %s\n", strings.Join(names, ", "))

	catalogue := b.StreamReader(bus.Catalogue)
	err = waitCatalogue(ctx, catalogue, o.records)
	backlogs := stopBacklogs()
	if err != nil {
		return err
	}
	elapsed := time.Since(began)
	cpuEnded := f.cpu()
	f.sampleRSS()
	peakCatalogue := f.peakKB.Load()

	lat, done, err := awaitDeliveries(ctx, o, catalogue, hub, db, began)
	if err != nil {
		return err
	}
	f.sampleRSS()
	peakAll := f.peakKB.Load()
	for _, p := range f.list() {
		storeMax(&p.peakKB, p.memKB("VmHWM"))
	}
	_ = b.Close()
	stopWatch()
	// A service that did not stop cleanly fails the run, after the
	// figures.
	stopErr := f.stop()

	const since = "after the harvester started"
	printCatalogue(o.records, lat, elapsed, since)
	var cpu time.Duration
	for name, c := range cpuEnded {
		cpu += c - cpuBegan[name]
	}
	printCPU(cpu, elapsed)
	fmt.Printf("peak RSS:       %.0f MB summed over the %d processes until the catalogue was complete, %.0f MB until everything was delivered (the sum sampled every 100 ms)\n",
		float64(peakCatalogue)/1024, len(f.list()), float64(peakAll)/1024)
	printDeliveries(o, lat.live, done, since)
	fmt.Println("per process:    peak RSS until everything was delivered; CPU until the catalogue was complete")
	procs := map[string]*process{}
	for _, p := range f.list() {
		procs[p.name] = p
	}
	for _, name := range names {
		p := procs[name]
		c := cpuEnded[name] - cpuBegan[name]
		fmt.Printf("  %-14s %4.0f MB  %5.1f s CPU (%.2f ms a record)\n", p.name, float64(p.peakKB.Load())/1024, c.Seconds(), float64(c.Microseconds())/1000/float64(o.records))
	}
	fmt.Println("backlog:        messages after each durable consumer's ack floor while the catalogue filled, mean (max) of samples every 500 ms")
	for _, name := range slices.Sorted(maps.Keys(backlogs)) {
		bl := backlogs[name]
		fmt.Printf("  %-22s %7.0f (%d)\n", name, bl.mean(), bl.max)
	}
	if slowest := slowestStage(backlogs); backlogs[string(slowest)].n > 0 {
		fmt.Printf("slowest stage:  %s (the largest backlog of the normaliser, enricher and publisher; a second process of it: -replicas %s=2)\n", slowest, slowest)
	} else {
		fmt.Println("slowest stage:  unknown (the run ended before the first sample)")
	}
	return stopErr
}
