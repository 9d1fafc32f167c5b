package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/node"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// pipelineOptions are the knobs of the end-to-end run.
type pipelineOptions struct {
	records, pageSize int
	panet, clickhouse string
	concurrency       int
	timeout           time.Duration
	// rate paces the sample feed (records/s; 0: as fast as asked).
	rate float64
	// pushLatency is the destination's answer time; negative: no
	// destination.
	pushLatency time.Duration
	// maxBacklog and memoryLimit are the node's --max-backlog and
	// --memory-limit (0: their defaults).
	maxBacklog, memoryLimit int
	// memprofile, when set, is where the heap profile of the live heap is
	// written once the catalogue is complete, while the node still runs.
	memprofile string
	// replicas is how many processes of each service the services run
	// starts (one of those not named).
	replicas replicaCounts
}

// hubCatalogue is the catalogue of the destination's hub.
const hubCatalogue = "panosc"

// runPipeline runs `fairway up --demo` in this process (embedded NATS,
// every stage, the read model, the analytics writer into ClickHouse, one
// push destination) over the sample facility and reports records per
// second from harvest to catalogue, the latency percentiles, peak RSS, CPU
// use, and whether the destination and ClickHouse received every dataset.
// The destination, a piveau hub answering every request after
// pushLatency, runs in a child process, so that what it keeps is not
// counted in this process's memory.
func runPipeline(o pipelineOptions) error {
	dir, err := os.MkdirTemp("", "fairway-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	hub, db, stopSinks, err := startSinks(ctx, o)
	if err != nil {
		return err
	}
	defer stopSinks()
	// A free port: other runs may share the machine.
	natsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg := node.Config{
		Target: node.TargetAll, DataDir: dir, NATSListen: natsAddr, PaNET: o.panet,
		Demo: true, DemoRecords: o.records, DemoPageSize: o.pageSize, DemoRate: o.rate, Concurrency: o.concurrency,
		ClickHouse: analytics.Config{Addr: o.clickhouse, Database: db}, NoAnalytics: o.clickhouse == "",
		MemoryLimitMiB: o.memoryLimit, Ready: make(chan struct{}),
	}
	cfg.Harvester.PollInterval = 100 * time.Millisecond
	cfg.Harvester.MaxBacklog = o.maxBacklog
	// As `fairway up` does.
	node.ApplyMemoryLimit(ctx, cfg, slog.New(slog.DiscardHandler))

	var peak atomic.Uint64
	stopWatch := watchRSS(&peak)
	defer stopWatch()
	nodeCtx, stopNode := context.WithCancel(ctx)
	defer stopNode()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- node.Run(nodeCtx, cfg, log) }()
	select {
	case <-cfg.Ready:
	case err := <-nodeDone:
		return fmt.Errorf("node: %w", err)
	}
	began := time.Now()
	cpuBegan := cpuTime()
	gcBegan := readGC()
	// The node's listening NATS requires the credentials it generated.
	creds, err := natsembed.ReadCredentials(filepath.Join(dir, natsembed.CredentialsFile))
	if err != nil {
		return err
	}
	b, err := bus.Connect(ctx, bus.Config{URL: "nats://" + natsAddr, Name: "bench", Logger: log, Options: []nats.Option{creds.Option()}})
	if err != nil {
		return err
	}
	defer b.Close()
	if err := registerHub(ctx, b, hub); err != nil {
		return err
	}
	fmt.Printf("bench: %d records, page size %d, concurrency %d, sample feed %s, max backlog %s, Go memory limit %s\n",
		o.records, o.pageSize, o.concurrency, feedPace(o.rate), orDefault(o.maxBacklog), memLimit(cfg.AdaptiveMemoryLimit()))

	catalogue := b.StreamReader(bus.Catalogue)
	if err := waitCatalogue(ctx, catalogue, o.records); err != nil {
		return err
	}
	elapsed := time.Since(began)
	cpu := cpuTime() - cpuBegan
	peakCatalogue := max(peak.Load(), rssKB("VmHWM"))
	gcEnded := readGC()
	if o.memprofile != "" {
		if err := writeHeapProfile(o.memprofile); err != nil {
			return err
		}
	}

	lat, done, err := awaitDeliveries(ctx, o, catalogue, hub, db, began)
	if err != nil {
		return err
	}
	peakAll := max(peak.Load(), rssKB("VmHWM"))
	_ = b.Close()
	stopNode()
	if err := <-nodeDone; err != nil {
		return fmt.Errorf("node: %w", err)
	}

	const since = "after the node was ready"
	printCatalogue(o.records, lat, elapsed, since)
	printCPU(cpu, elapsed)
	fmt.Printf("peak RSS:       %.0f MB until the catalogue was complete, %.0f MB until everything was delivered\n", float64(peakCatalogue)/1024, float64(peakAll)/1024)
	fmt.Printf("GC:             %d cycles, %.0f%% of the CPU the process used (the runtime's estimate), until the catalogue was complete; then a live heap of %.0f MB, %.0f MB of it with pointers\n",
		gcEnded.cycles-gcBegan.cycles, 100*(gcEnded.gc-gcBegan.gc)/max(gcEnded.used-gcBegan.used, 1e-9), float64(gcEnded.live)/1e6, float64(gcEnded.scan)/1e6)
	printDeliveries(o, lat.live, done, since)
	return nil
}

// startSinks starts what a run delivers to besides its catalogue: the
// destination's hub (unless o has none, a negative push latency: nil
// then), and names a ClickHouse database of the run's own (when o has a
// ClickHouse). The function it returns stops the hub and drops the
// database.
func startSinks(ctx context.Context, o pipelineOptions) (*hubProcess, string, func(), error) {
	db := fmt.Sprintf("fairway_bench_%d", time.Now().UnixNano())
	var hub *hubProcess
	if o.pushLatency >= 0 {
		var err error
		if hub, err = startHub(ctx, o.pushLatency); err != nil {
			return nil, "", nil, err
		}
	}
	return hub, db, func() {
		hub.stop()
		if o.clickhouse == "" {
			return
		}
		if st, err := analytics.Open(context.Background(), analytics.Config{Addr: o.clickhouse, Database: db}); err == nil {
			_ = st.DropDatabase(context.Background())
			_ = st.Close()
		}
	}, nil
}

// registerHub registers hub, when there is one, as the push destination
// eosc.
func registerHub(ctx context.Context, b *bus.Bus, hub *hubProcess) error {
	if hub == nil {
		return nil
	}
	reg := destinations.NewRegistry(b.State(bus.BucketDestinations))
	_, err := reg.Create(ctx, destinations.Destination{ID: "eosc", Kind: destinations.KindPiveau, URL: hub.url,
		Catalogue: hubCatalogue, APIKey: feeds.Secret("k"), Enabled: true})
	return err
}

// feedPace says how fast the sample feed serves.
func feedPace(rate float64) string {
	if rate > 0 {
		return fmt.Sprintf("paced at %.0f records/s", rate)
	}
	return "as fast as the harvester asks"
}

// waitCatalogue waits until the catalogue holds n entries.
func waitCatalogue(ctx context.Context, catalogue *bus.StreamReader, n int) error {
	return waitFor(ctx, "the catalogue", n, func() (int, error) {
		n, err := catalogue.Count(ctx)
		return int(n), err
	})
}

// deliveries is when the destination and ClickHouse held every live
// dataset, counted from the run's beginning (zero: not measured).
type deliveries struct{ hub, clickhouse time.Duration }

// awaitDeliveries reads the latencies of the catalogue, once complete,
// and waits until the destination (when there is one) and ClickHouse
// (when o has one) hold its live datasets; db is the run's database.
func awaitDeliveries(ctx context.Context, o pipelineOptions, catalogue *bus.StreamReader, hub *hubProcess, db string, began time.Time) (catalogueTimes, deliveries, error) {
	var d deliveries
	lat, err := latencies(ctx, catalogue)
	if err != nil {
		return lat, d, err
	}
	live := lat.live
	// The destination and ClickHouse catch up after the catalogue.
	if hub != nil {
		if err := waitFor(ctx, "the destination", live, hub.count); err != nil {
			return lat, d, err
		}
		d.hub = time.Since(began)
	}
	if o.clickhouse != "" {
		st, err := analytics.Open(ctx, analytics.Config{Addr: o.clickhouse, Database: db})
		if err != nil {
			return lat, d, err
		}
		err = waitFor(ctx, "ClickHouse", live, func() (int, error) {
			n, err := st.LiveCount(ctx)
			return int(n), err
		})
		_ = st.Close()
		if err != nil {
			return lat, d, err
		}
		d.clickhouse = time.Since(began)
	}
	return lat, d, nil
}

// printCatalogue prints the records, the throughput and the latency of a
// run whose catalogue was complete elapsed after its beginning (since
// names it).
func printCatalogue(records int, lat catalogueTimes, elapsed time.Duration, since string) {
	span := lat.lastPublished.Sub(lat.firstHarvested)
	fmt.Printf("records:        %d (%d live, %d deletions) in the catalogue %.1f s %s\n", records, lat.live, records-lat.live, elapsed.Seconds(), since)
	fmt.Printf("throughput:     %.0f records/s harvest to catalogue (first page harvested to last entry published: %.1f s)\n", float64(records)/span.Seconds(), span.Seconds())
	fmt.Printf("latency:        p50 %s, p95 %s, p99 %s, max %s (harvest of the page to publication in the catalogue)\n",
		pct(lat.d, 0.50), pct(lat.d, 0.95), pct(lat.d, 0.99), pct(lat.d, 1))
}

// printCPU prints the CPU time used over the wall time elapsed.
func printCPU(cpu, elapsed time.Duration) {
	fmt.Printf("CPU:            %.1f s user+sys over %.1f s: %.0f%% of %d cores\n", cpu.Seconds(), elapsed.Seconds(), 100*cpu.Seconds()/elapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
}

// printDeliveries prints when the destination and ClickHouse held every
// live dataset.
func printDeliveries(o pipelineOptions, live int, d deliveries, since string) {
	if d.hub > 0 {
		fmt.Printf("destination:    all %d live datasets at the hub (answering in %s) %.1f s %s\n", live, o.pushLatency, d.hub.Seconds(), since)
	}
	if o.clickhouse != "" {
		fmt.Printf("ClickHouse:     all %d live datasets in %s %.1f s %s\n", live, o.clickhouse, d.clickhouse.Seconds(), since)
	}
}

// gcStats is what the runtime counts of its garbage collector.
type gcStats struct {
	cycles uint64
	// gc and used are the runtime's estimates of the CPU seconds spent in
	// the collector and in all (less idle time).
	gc, used float64
	// live is the heap the last cycle marked, scan the part of it that
	// holds pointers (what a cycle has to scan), in bytes.
	live, scan uint64
}

// readGC reads gcStats from runtime/metrics.
func readGC() gcStats {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"},
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	u := func(i int) uint64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return s[i].Value.Uint64()
		}
		return 0
	}
	f := func(i int) float64 {
		if s[i].Value.Kind() == metrics.KindFloat64 {
			return s[i].Value.Float64()
		}
		return 0
	}
	return gcStats{cycles: u(0), gc: f(1), used: f(2) - f(3), live: u(4), scan: u(5)}
}

// writeHeapProfile collects the garbage and writes a heap profile of what
// is live now to path.
func writeHeapProfile(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freeAddr returns a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitFor polls count every 100 ms until it reaches want, or ctx ends
// (its cause is in the error: a timeout, or a process of the run that
// stopped).
func waitFor(ctx context.Context, what string, want int, count func() (int, error)) error {
	for {
		n, err := count()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up with %d of %d in %s: %w", n, want, what, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func orDefault(n int) string {
	switch {
	case n < 0:
		return "none"
	case n == 0:
		return "default"
	}
	return strconv.Itoa(n)
}

// memLimit describes the soft limit ApplyMemoryLimit set: the adaptive
// default by its rule (the follower may have moved it already), else the
// runtime's limit in force (the flag's, GOMEMLIMIT's, or none).
func memLimit(adaptive bool) string {
	if adaptive {
		return fmt.Sprintf("%d MiB or the live heap and %d%% more", node.DefaultMemoryLimitMiB, node.DefaultMemoryHeadroomPercent)
	}
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		return fmt.Sprintf("%d MiB", limit>>20)
	}
	return "none"
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// catalogueTimes is what the catalogue tells of the run.
type catalogueTimes struct {
	// d holds, per entry, the time from the harvest of its page to its
	// publication, sorted.
	d                             []time.Duration
	firstHarvested, lastPublished time.Time
	// live counts the entries that are not tombstones.
	live int
}

// latencies reads the catalogue.
func latencies(ctx context.Context, catalogue *bus.StreamReader) (catalogueTimes, error) {
	var out catalogueTimes
	err := catalogue.EachLast(ctx, func(m bus.StoredMessage) error {
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &e); err != nil {
			return err
		}
		if !e.Deleted {
			out.live++
		}
		h := e.GetDataset().GetDataset().GetProvenance().GetHarvestedAt()
		if h == nil || e.PublishedAt == nil {
			return nil
		}
		ht, pt := h.AsTime(), e.PublishedAt.AsTime()
		out.d = append(out.d, pt.Sub(ht))
		if out.firstHarvested.IsZero() || ht.Before(out.firstHarvested) {
			out.firstHarvested = ht
		}
		if pt.After(out.lastPublished) {
			out.lastPublished = pt
		}
		return nil
	})
	sort.Slice(out.d, func(i, j int) bool { return out.d[i] < out.d[j] })
	return out, err
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(float64(len(d)-1)*p)].Round(time.Millisecond)
}

// hubProcess is the destination: this program run again with -serve-hub.
type hubProcess struct {
	url   string
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	count func() (int, error)
}

// startHub starts the destination's hub in a child process and returns
// once it serves.
func startHub(ctx context.Context, latency time.Duration) (*hubProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve-hub", "-push-latency", latency.String())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &hubProcess{cmd: cmd, in: in, out: bufio.NewReader(stdout)}
	line, err := h.out.ReadString('\n')
	if err != nil {
		h.stop()
		return nil, fmt.Errorf("destination hub: %w", err)
	}
	h.url = strings.TrimSpace(line)
	h.count = func() (int, error) {
		if _, err := io.WriteString(h.in, "count\n"); err != nil {
			return 0, err
		}
		line, err := h.out.ReadString('\n')
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(strings.TrimSpace(line))
	}
	return h, nil
}

// stop ends the hub's process; a nil hub is none.
func (h *hubProcess) stop() {
	if h == nil {
		return
	}
	_ = h.in.Close()
	if err := h.cmd.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		_ = h.cmd.Process.Kill()
	}
}

// serveHub is the child's side: a piveau hub answering after latency,
// its URL on the first line of stdout, then the number of datasets of
// its catalogue for every line read on stdin, until stdin closes.
func serveHub(latency time.Duration) error {
	hub := piveautest.Start(piveautest.Config{APIKey: "k", Catalogues: []string{hubCatalogue}, Latency: latency})
	defer hub.Close()
	fmt.Println(hub.URL)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(hub.Len(hubCatalogue))
	}
	return in.Err()
}
