package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// TestHarvesterResumesAfterSIGKILL kills the harvester service mid-list
// (SIGKILL: no draining, no last checkpoint) while it harvests a slow
// OAI-PMH repository, starts it again, and checks that the run resumes from
// its checkpoint and completes, with every record exactly once in the raw
// stream and in the catalogue that the other services, running as
// separate processes, build from it.
func TestHarvesterResumesAfterSIGKILL(t *testing.T) {
	const records, pageSize = 600, 20
	const pages = records / pageSize
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A repository whose pages take a while.
	corpus := samplefeed.NewCorpus(5, records)
	repo, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: pageSize, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var lists atomic.Int64
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("verb") == "ListRecords" {
			lists.Add(1)
			time.Sleep(150 * time.Millisecond)
		}
		repo.ServeHTTP(w, r)
	})
	feedURL, stopFeed, err := samplefeed.Start(ctx, "127.0.0.1:0", slow)
	if err != nil {
		t.Fatal(err)
	}
	defer stopFeed(context.Background())

	// A real nats-server, and the feed registered straight in the registry.
	natsAddr := freeAddr(t)
	host, port, _ := strings.Cut(natsAddr, ":")
	start(t, "nats-server", "-js", "-a", host, "-p", port, "-sd", t.TempDir())
	natsURL := "nats://" + natsAddr
	var b *bus.Bus
	eventually(t, 20*time.Second, "nats-server", func() (bool, string) {
		b, err = bus.Connect(ctx, bus.Config{URL: natsURL, Logger: slog.New(slog.DiscardHandler), ConnectTimeout: time.Second})
		return err == nil, fmt.Sprint(err)
	})
	defer b.Close()
	feed := feeds.Feed{ID: "slow", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: feedURL, Format: "oai_datacite", Enabled: true}
	if _, err := feeds.NewRegistry(b.State(bus.BucketFeeds)).Put(ctx, feed); err != nil {
		t.Fatal(err)
	}
	rawStream, err := b.JetStream().Stream(ctx, string(bus.Raw))
	if err != nil {
		t.Fatal(err)
	}
	rawMsgs := func() uint64 {
		info, err := rawStream.Info(ctx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}

	// The rest of the pipeline runs throughout, as separate services.
	common := []string{"--nats", natsURL, "--log-format", "json"}
	start(t, "normaliser", common...)
	start(t, "enricher", append(common, "--panet", testenv.PaNET(t))...)
	start(t, "publisher", append(common, "--http", "", "--data", t.TempDir(), "--no-analytics")...)

	args := append(common, "--poll", "100ms", "--allow-private-feeds")
	first := start(t, "harvester", args...)
	eventually(t, time.Minute, "a third of the records in the raw stream", func() (bool, string) {
		n := rawMsgs()
		return n >= records/3, fmt.Sprintf("%d messages", n)
	})
	if err := first.signal(t, syscall.SIGKILL); err == nil {
		t.Fatal("the harvester exited cleanly after SIGKILL")
	}
	atKill, listsAtKill := rawMsgs(), lists.Load()
	if atKill >= records {
		t.Fatalf("the harvester finished (%d messages) before it was killed: slow the repository down", atKill)
	}
	cp := checkpointOf(ctx, t, b, feed.ID)
	if cp.Current == nil || cp.Current.Token == "" || cp.LastComplete != nil {
		t.Fatalf("checkpoint after the kill: %+v, want a run under way with its token", cp)
	}
	killedRun := cp.Current.RunID

	start(t, "harvester", args...)
	eventually(t, 2*time.Minute, "the run to complete", func() (bool, string) {
		cp := checkpointOf(ctx, t, b, feed.ID)
		return cp.LastComplete != nil, fmt.Sprintf("%d raw messages, %d pages asked", rawMsgs(), lists.Load())
	})

	cp = checkpointOf(ctx, t, b, feed.ID)
	if cp.LastComplete.RunID != killedRun || cp.Current != nil {
		t.Errorf("completed run %s, killed run %s: want the killed run resumed", cp.LastComplete.RunID, killedRun)
	}
	// The resumed harvester asked for the pages left, plus at most the one
	// it had fetched but not yet checkpointed and the one in flight.
	if n := lists.Load(); n > pages+2 {
		t.Errorf("%d pages asked for a list of %d (%d before the kill): the run started over", n, pages, listsAtKill)
	}
	keys := map[string]int{}
	cons, err := b.JetStream().OrderedConsumer(ctx, string(bus.Raw), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			keys[m.Headers().Get(bus.HeaderKey)]++
		}
		total += got
		if got == 0 {
			break
		}
	}
	if total != records || len(keys) != records {
		t.Fatalf("raw stream holds %d messages for %d keys, want %d once each", total, len(keys), records)
	}
	for i := range records {
		if k := "slow:" + corpus.Identifier(i); keys[k] != 1 {
			t.Errorf("record %d (%s) is in the raw stream %d times", i, k, keys[k])
		}
	}
	runs, err := harvester.LastRuns(ctx, b, feed.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != fairwayv1.HarvestStatus_HARVEST_STATUS_COMPLETE || runs[0].Records < records {
		t.Errorf("runs %v: want the one run, complete", runs)
	}

	// The catalogue is what a clean run gives: one entry per record, each
	// published once, tombstones for the deleted ones.
	catalogue, err := b.JetStream().Stream(ctx, string(bus.Catalogue))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "every record in the catalogue", func() (bool, string) {
		info, err := catalogue.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return info.State.Msgs == records, fmt.Sprintf("%d entries", info.State.Msgs)
	})
	info, err := catalogue.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != records {
		t.Errorf("catalogue received %d messages for %d records: the resume published some twice", info.State.LastSeq, records)
	}
	for i := range records {
		rec := corpus.Record(i)
		key := "doi:" + strings.ToLower(rec.DOI)
		if rec.Deleted {
			key = "src:esrf:" + rec.Identifier
		}
		m, err := catalogue.GetLastMsgForSubject(ctx, bus.Subject(bus.Catalogue, key))
		if err != nil {
			t.Errorf("record %d (%s): not in the catalogue: %v", i, key, err)
			continue
		}
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(testenv.Payload(t, m), &e); err != nil {
			t.Fatal(err)
		}
		if e.Deleted != rec.Deleted || (!rec.Deleted && e.GetDataset().GetDataset().GetTitle() != rec.Title) {
			t.Errorf("record %d: entry deleted=%v title %q", i, e.Deleted, e.GetDataset().GetDataset().GetTitle())
		}
	}
}

func checkpointOf(ctx context.Context, t *testing.T, b *bus.Bus, feedID string) harvester.Checkpoint {
	t.Helper()
	var cp harvester.Checkpoint
	e, err := b.KV(bus.BucketCheckpoints).Get(ctx, feedID)
	if err != nil {
		t.Fatalf("checkpoint of %s: %v", feedID, err)
	}
	if err := json.Unmarshal(e.Value(), &cp); err != nil {
		t.Fatal(err)
	}
	return cp
}
