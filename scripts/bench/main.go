// Command bench measures Fairway. By default it drives the whole pipeline in
// all-in-one mode (`fairway up --demo` in this process: embedded NATS, every
// stage, the read model, analytics into ClickHouse and one push destination
// answering in 20 ms) over the sample facility and prints records per
// second from harvest to catalogue, the p50/p95/p99 latency, peak RSS, CPU
// use, and when the destination and ClickHouse had every dataset; -rate
// paces the sample feed (records per second) to measure latency at a
// steady load.
//
// With -stage services it runs the same pipeline as separate services:
// the pinned nats-server (JetStream, a temporary store) and the
// harvester (serving the sample facility, as --demo does), normaliser,
// enricher, publisher and analytics commands, each built and run as a
// process of its own, with the same destination and ClickHouse (a
// database of the run's own, dropped at the end). It prints the same
// figures, the peak RSS being that of the processes' summed resident sets
// (sampled every 100 ms) with each one's peak, and the CPU their summed
// user and system time (from /proc), with each one's; then every durable
// consumer's backlog (its stream's messages after its ack floor) over the
// run and the slowest stage, the one of the normaliser, enricher and
// publisher with the largest. -replicas STAGE=N runs N processes of a
// stage sharing its durable consumer (a second harvester shares the
// feeds, a lease each). Every process and the temporary directory are
// removed at the end, on an error, a timeout or SIGINT/SIGTERM.
//
// With -stage harvest it measures the harvester alone against a
// nats-server of its own, and the parse-only rate of the same pages. With
// -stage catalogue it measures the read side of the catalogue: DCAT-AP
// rendering, the read model's lag, pages, OAI-PMH pages and the full
// export.
//
//	go run ./scripts/bench -records 100000 -panet PATH
//	go run ./scripts/bench -records 100000 -panet PATH -rate 500
//	go run ./scripts/bench -stage services -records 10000 -panet PATH
//	go run ./scripts/bench -stage services -records 10000 -panet PATH -replicas normaliser=2
//	go run ./scripts/bench -stage harvest -records 100000
//	go run ./scripts/bench -stage catalogue -records 100000 -panet PATH
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/panosc/fairway/pkg/node"
)

func main() {
	stage := flag.String("stage", "pipeline", "what to measure: pipeline (every stage, end to end, in one process), services (every stage, end to end, each service a process of its own against a nats-server), harvest (the harvester alone) or catalogue (rendering, the read model, pages, OAI-PMH and the export)")
	records := flag.Int("records", 100000, "records in the sample corpus")
	pageSize := flag.Int("page-size", 500, "page size of the sample feed")
	panet := flag.String("panet", os.Getenv("FAIRWAY_PANET"), "path or URL of the PaNET OWL file")
	clickhouse := flag.String("clickhouse", "127.0.0.1:9000", "ClickHouse address ('' disables analytics)")
	concurrency := flag.Int("concurrency", node.DefaultConcurrency, "messages each stage handles at once")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after this long")
	rate := flag.Float64("rate", 0, "pipeline, services: records per second the sample feed serves (0: as fast as the harvester asks)")
	pushLatency := flag.Duration("push-latency", 20*time.Millisecond, "pipeline, services: how long the push destination (a piveau hub in a child process) takes to answer; negative: no destination")
	maxBacklog := flag.Int("max-backlog", 0, "pipeline, services: the harvester's --max-backlog (0: its default; negative: no flow control)")
	memoryLimit := flag.Int("memory-limit", 0, "pipeline: the node's --memory-limit in MiB (0: fairway up's default; negative: none); services: every service's (0: none, their default)")
	hubOnly := flag.Bool("serve-hub", false, "serve the destination hub on stdin/stdout (the pipeline's child process)")
	memprofile := flag.String("memprofile", "", "write a heap profile here: for the pipeline, of the live heap when the catalogue is complete (the node still running); otherwise at the end")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run here")
	replicas := replicaCounts{}
	flag.Var(replicas, "replicas", "services: processes of a service, STAGE=N (comma separated or repeated; harvester, normaliser, enricher, publisher or analytics; default 1 each)")
	flag.Parse()
	if *hubOnly {
		if err := serveHub(*pushLatency); err != nil {
			fmt.Fprintln(os.Stderr, "bench hub:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if *memprofile != "" && *stage != "pipeline" {
		defer func() {
			f, err := os.Create(*memprofile)
			if err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}()
	}
	o := pipelineOptions{records: *records, pageSize: *pageSize, panet: *panet, clickhouse: *clickhouse,
		concurrency: *concurrency, timeout: *timeout, rate: *rate, pushLatency: *pushLatency, maxBacklog: *maxBacklog, memoryLimit: *memoryLimit,
		memprofile: *memprofile, replicas: replicas}
	var err error
	switch *stage {
	case "pipeline":
		err = runPipeline(o)
	case "services":
		err = runServices(o)
	case "harvest":
		err = runHarvest(*records, *pageSize, *timeout)
	case "catalogue":
		err = runCatalogue(*records, *panet, *timeout)
	default:
		err = fmt.Errorf("unknown stage %q", *stage)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		// os.Exit skips the deferred calls: the CPU profile of a run that
		// failed or timed out is written all the same (it tells why).
		if *cpuprofile != "" {
			pprof.StopCPUProfile()
		}
		os.Exit(1) //nolint:gocritic // the heap profile is of no use after a failure
	}
}

// rssKB reads a memory figure of this process from /proc (Linux).
func rssKB(field string) uint64 { return procStatusKB("self", field) }
