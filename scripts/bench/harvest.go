package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/oaipmh"
	"github.com/panosc/fairway/pkg/samplefeed"
)

// runHarvest measures the harvester alone: the sample facility (in this
// process, streaming its pages) serves records in oai_datacite, the
// harvester splits every record and publishes it with its message id and
// checkpoints to a nats-server in a process of its own. It then parses the
// same pages without publishing, the upper bound of this stage.
func runHarvest(records, pageSize int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp("", "fairway-bench-harvest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	if err := buildCommands(ctx, dir, natsServerPkg); err != nil {
		return err
	}
	ns, natsURL, err := startNATS(ctx, dir, dir, nil)
	if err != nil {
		return err
	}
	defer ns.stop(10 * time.Second) //nolint:errcheck // its exit after the figures says nothing of them

	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: samplefeed.NewCorpus(42, records), PageSize: pageSize, Logger: log})
	if err != nil {
		return err
	}
	feedURL, stopFeed, err := samplefeed.Start(ctx, "127.0.0.1:0", srv)
	if err != nil {
		return err
	}
	defer stopFeed(context.Background())

	b, err := bus.Connect(ctx, bus.Config{URL: natsURL, Name: "bench-harvester", Logger: log})
	if err != nil {
		return err
	}
	defer b.Close()
	// No flow control: no stage reads the raw stream here.
	h, err := harvester.New(harvester.Config{MaxBacklog: -1}, b, log)
	if err != nil {
		return err
	}
	feed := feeds.Feed{ID: "bench", Facility: "BENCH", Kind: feeds.KindOAIPMH, URL: feedURL, Format: "oai_datacite", Enabled: true}
	fmt.Printf("bench harvest: %d records in oai_datacite, page size %d, nats-server in its own process\n", records, pageSize)

	var peak atomic.Uint64
	stopWatch := watchRSS(&peak)
	began := time.Now()
	run, err := h.Harvest(ctx, feed, harvester.RunRequest{Full: true})
	elapsed := time.Since(began)
	stopWatch()
	if err != nil {
		return err
	}
	if run.Records != int64(records) {
		return fmt.Errorf("harvested %d records, want %d", run.Records, records)
	}
	harvestRate := float64(records) / elapsed.Seconds()

	// The same pages, parsed only.
	client, err := oaipmh.NewClient(oaipmh.Config{BaseURL: feedURL, MetadataPrefix: "oai_datacite"})
	if err != nil {
		return err
	}
	parsed := 0
	began = time.Now()
	err = client.ListRecords(ctx, oaipmh.ListRequest{}, func(_ context.Context, p *oaipmh.Page, _ string) error {
		parsed += len(p.Records)
		return nil
	})
	parseElapsed := time.Since(began)
	if err != nil {
		return err
	}
	parseRate := float64(parsed) / parseElapsed.Seconds()

	fmt.Printf("harvest:        %d records in %.1f s, %d pages\n", run.Records, elapsed.Seconds(), run.Pages)
	fmt.Printf("throughput:     %.0f records/s into the raw stream\n", harvestRate)
	fmt.Printf("parse only:     %.0f records/s (fetch and split the same pages, no publishing)\n", parseRate)
	fmt.Printf("ratio:          %.2f of the parse-only rate\n", harvestRate/parseRate)
	fmt.Printf("peak RSS:       %.0f MB (harvester process: harvester and sample server)\n", float64(max(peak.Load(), rssKB("VmHWM")))/1024)
	return nil
}

// watchRSS samples the resident set of this process until stopped.
func watchRSS(peak *atomic.Uint64) func() {
	return every(50*time.Millisecond, func() { storeMax(peak, rssKB("VmRSS")) })
}

// every calls sample every interval until the function it returns is
// called (more than once is fine); that returns once sample has.
func every(interval time.Duration, sample func()) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
