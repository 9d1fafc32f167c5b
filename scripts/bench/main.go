// Command bench measures Fairway. By default it drives the whole pipeline in
// all-in-one mode (embedded NATS, every stage in one process) over the
// sample facility and prints records per second end to end, the p50/p99
// latency from harvest to catalogue, and the peak RSS of the process. With
// -stage harvest it measures the harvester alone against a nats-server of
// its own, and the parse-only rate of the same pages. With -stage
// catalogue it measures the read side of the catalogue: DCAT-AP rendering,
// the read model's lag, pages, OAI-PMH pages and the full export.
//
//	go run ./scripts/bench -records 50000 -panet PATH
//	go run ./scripts/bench -stage harvest -records 100000
//	go run ./scripts/bench -stage catalogue -records 100000 -panet PATH
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/node"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

func main() {
	stage := flag.String("stage", "pipeline", "what to measure: pipeline (every stage, end to end), harvest (the harvester alone) or catalogue (rendering, the read model, pages, OAI-PMH and the export)")
	records := flag.Int("records", 50000, "records in the sample corpus")
	pageSize := flag.Int("page-size", 500, "page size of the sample feed")
	panet := flag.String("panet", os.Getenv("FAIRWAY_PANET"), "path or URL of the PaNET OWL file")
	clickhouse := flag.String("clickhouse", "127.0.0.1:9000", "ClickHouse address ('' disables analytics)")
	concurrency := flag.Int("concurrency", 2, "messages each stage handles at once")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after this long")
	memprofile := flag.String("memprofile", "", "write a heap profile here at the end")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if *memprofile != "" {
		defer func() {
			f, err := os.Create(*memprofile)
			if err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}()
	}
	var err error
	switch *stage {
	case "pipeline":
		err = run(*records, *pageSize, *panet, *clickhouse, *concurrency, *timeout)
	case "harvest":
		err = runHarvest(*records, *pageSize, *timeout)
	case "catalogue":
		err = runCatalogue(*records, *panet, *timeout)
	default:
		err = fmt.Errorf("unknown stage %q", *stage)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1) //nolint:gocritic // the profile is of no use after a failure

	}
}

func run(records, pageSize int, panet, clickhouse string, concurrency int, timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "fairway-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db := fmt.Sprintf("fairway_bench_%d", time.Now().Unix())
	natsAddr := "127.0.0.1:14222"
	cfg := node.Config{
		Target: node.TargetAll, DataDir: dir, NATSListen: natsAddr, PaNET: panet,
		Demo: true, DemoRecords: records, DemoPageSize: pageSize, Concurrency: concurrency,
		ClickHouse: analytics.Config{Addr: clickhouse, Database: db}, NoAnalytics: clickhouse == "",
		Ready: make(chan struct{}),
	}
	cfg.Harvester.PollInterval = 100 * time.Millisecond
	if clickhouse != "" {
		defer func() {
			if st, err := analytics.Open(context.Background(), analytics.Config{Addr: clickhouse, Database: db}); err == nil {
				_ = st.DropDatabase(context.Background())
				_ = st.Close()
			}
		}()
	}
	nodeCtx, stopNode := context.WithCancel(ctx)
	defer stopNode()
	nodeDone := make(chan error, 1)
	began := time.Now()
	go func() { nodeDone <- node.Run(nodeCtx, cfg, log) }()
	select {
	case <-cfg.Ready:
	case err := <-nodeDone:
		return fmt.Errorf("node: %w", err)
	}
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
	catalogue := b.StreamReader(bus.Catalogue)
	fmt.Printf("bench: %d records, page size %d, concurrency %d\n", records, pageSize, concurrency)
	var peak uint64
	for {
		n, err := catalogue.Count(ctx)
		if err != nil {
			return err
		}
		if rss := rssKB("VmRSS"); rss > peak {
			peak = rss
		}
		if int(n) >= records {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out with %d of %d in the catalogue", n, records)
		case <-time.After(100 * time.Millisecond):
		}
	}
	elapsed := time.Since(began)
	lat, err := latencies(ctx, catalogue)
	if err != nil {
		return err
	}
	_ = b.Close()
	stopNode()
	if err := <-nodeDone; err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if hwm := rssKB("VmHWM"); hwm > peak {
		peak = hwm
	}
	fmt.Printf("records:        %d in %.1f s\n", records, elapsed.Seconds())
	fmt.Printf("throughput:     %.0f records/s end to end (harvest to catalogue)\n", float64(records)/elapsed.Seconds())
	fmt.Printf("latency p50:    %s\n", pct(lat, 0.50))
	fmt.Printf("latency p99:    %s\n", pct(lat, 0.99))
	fmt.Printf("peak RSS:       %.0f MB\n", float64(peak)/1024)
	return nil
}

// latencies reads the catalogue and returns, per entry, the time from the
// harvest of its page to its publication.
func latencies(ctx context.Context, catalogue *bus.StreamReader) ([]time.Duration, error) {
	var out []time.Duration
	err := catalogue.EachLast(ctx, func(m bus.StoredMessage) error {
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(m.Data, &e); err != nil {
			return err
		}
		h := e.GetDataset().GetDataset().GetProvenance().GetHarvestedAt()
		if h != nil && e.PublishedAt != nil {
			out = append(out, e.PublishedAt.AsTime().Sub(h.AsTime()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(float64(len(d)-1)*p)].Round(time.Millisecond)
}

// rssKB reads a memory figure of this process from /proc (Linux).
func rssKB(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return 0
}
