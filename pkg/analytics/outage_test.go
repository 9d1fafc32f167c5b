package analytics

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// ownClickHouse is a ClickHouse server of the test's own, started with
// scripts/clickhouse.sh on a free loopback port, its data in a temporary
// directory; the test can stop and start it.
type ownClickHouse struct {
	t    *testing.T
	env  []string
	addr string
}

// startOwnClickHouse starts a server of the test's own and stops it when
// the test ends. It fails the test, with the script's output, when the
// server cannot start.
func startOwnClickHouse(t *testing.T) *ownClickHouse {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	c := &ownClickHouse{
		t:    t,
		env:  append(os.Environ(), "FAIRWAY_DATA="+dir, "FAIRWAY_CLICKHOUSE_PORT="+strconv.Itoa(port), "FAIRWAY_CLICKHOUSE_WAIT=90"),
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
	}
	c.run("start")
	t.Cleanup(func() { c.run("stop") })
	return c
}

func (c *ownClickHouse) run(verb string) {
	c.t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "clickhouse.sh"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(script, verb)
	cmd.Env = c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("scripts/clickhouse.sh %s (%s): %v\n%s", verb, c.addr, err, out)
	}
}

// TestWriterSurvivesClickHouseStoppedAndStartedMidStream stops the
// writer's ClickHouse while the catalogue is being written and starts it
// again: the writer waits, its consumers lag, and afterwards every dataset
// and pipeline event is there exactly once.
func TestWriterSurvivesClickHouseStoppedAndStartedMidStream(t *testing.T) {
	ch := startOwnClickHouse(t)
	b := testenv.Bus(t)
	cfg := Config{Addr: ch.addr, Database: "fairway_outage", DialTimeout: time.Second, BatchSize: 200}
	store, err := Open(testContext(t), cfg)
	if err != nil {
		t.Fatalf("open the test's ClickHouse: %v", err)
	}
	defer store.Close()
	stop := runSink(t, b, cfg)
	defer stop()

	const total = 3000
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			key := fmt.Sprintf("doi:10.5072/outage.%d", i)
			d := &fairwayv1.Dataset{Key: key, Facility: "PSI", ContentHash: key,
				Provenance: &fairwayv1.Provenance{HarvestedAt: timestamppb.New(harvested)}}
			e := &fairwayv1.CatalogueEntry{Key: key, ContentHash: key, Dataset: &fairwayv1.EnrichedDataset{Dataset: d}}
			if err := b.Publish(context.Background(), "publisher", bus.Event{Stream: bus.Catalogue, Key: key, Hash: key, Payload: mustMarshal(t, e)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(0, 1000)
	// Part of the stream is written…
	deadline := time.Now().Add(60 * time.Second)
	for count(t, store, "SELECT count() FROM %[1]s.datasets") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing written before the outage")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// …when ClickHouse stops. The pipeline goes on.
	ch.run("stop")
	publish(1000, total)
	cons, err := b.JetStream().Consumer(context.Background(), string(bus.Catalogue), string(bus.StageAnalytics))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream >= total {
		t.Fatalf("writer acknowledged up to %d of %d while ClickHouse was stopped", info.AckFloor.Stream, total)
	}
	ch.run("start")
	waitCount(t, store, "SELECT count() FROM %[1]s.datasets FINAL", total)
	waitCount(t, store, "SELECT uniqExact(key) FROM %[1]s.datasets", total)
	waitCount(t, store, "SELECT count() FROM %[1]s.pipeline_events FINAL WHERE stage = 'publisher'", total)
	waitAcked(t, cons, total)
}
