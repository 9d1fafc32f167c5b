package integration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// opsAddrOf waits for the address a service logged for its ops endpoints.
func opsAddrOf(t *testing.T, p *proc) string {
	t.Helper()
	re := regexp.MustCompile(`"readyz":"http://([0-9.:]+)/readyz"`)
	var addr string
	eventually(t, 30*time.Second, p.name+"'s ops endpoints", func() (bool, string) {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			addr = m[1]
			return true, ""
		}
		return false, "not logged yet"
	})
	return addr
}

// TestServicesStopOnSIGTERM sends SIGTERM to the harvester, the
// normaliser and the enricher, each a process of its own, while a harvest
// runs: each exits 0 within 20 s, and once they are started again the run
// completes with every record in the raw stream and the catalogue once.
func TestServicesStopOnSIGTERM(t *testing.T) {
	const records, pageSize = 400, 20
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	corpus := samplefeed.NewCorpus(7, records)
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
	feed := feeds.Feed{ID: "term", Facility: "ESRF", Kind: feeds.KindOAIPMH, URL: feedURL, Format: "oai_datacite", Enabled: true}
	if _, err := feeds.NewRegistry(b.State(bus.BucketFeeds)).Put(ctx, feed); err != nil {
		t.Fatal(err)
	}
	msgs := func(s bus.Stream) uint64 {
		st, err := b.JetStream().Stream(ctx, string(s))
		if err != nil {
			return 0
		}
		info, err := st.Info(ctx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}

	common := []string{"--nats", natsURL, "--log-format", "json", "--ops-listen", "127.0.0.1:0"}
	services := map[string][]string{
		"harvester":  append(append([]string{}, common...), "--poll", "100ms", "--allow-private-feeds"),
		"normaliser": common,
		"enricher":   append(append([]string{}, common...), "--panet", testenv.PaNET(t)),
	}
	start(t, "publisher", "--nats", natsURL, "--log-format", "json", "--http", "", "--ops-listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-analytics")
	running := map[string]*proc{}
	for _, name := range []string{"normaliser", "enricher", "harvester"} {
		running[name] = start(t, name, services[name]...)
	}
	eventually(t, time.Minute, "a quarter of the records in the catalogue", func() (bool, string) {
		n := msgs(bus.Catalogue)
		return n >= records/4, fmt.Sprintf("%d entries, %d raw", n, msgs(bus.Raw))
	})
	for _, name := range []string{"harvester", "normaliser", "enricher"} {
		began := time.Now()
		if err := running[name].stop(t); err != nil {
			t.Errorf("%s on SIGTERM: %v, want exit 0\n%s", name, err, running[name].out.String())
		}
		if took := time.Since(began); took > 20*time.Second {
			t.Errorf("%s took %s to stop", name, took)
		}
	}
	if n := msgs(bus.Raw); n >= records {
		t.Fatalf("the harvest finished (%d raw messages) before SIGTERM: slow the repository down", n)
	}

	for _, name := range []string{"normaliser", "enricher", "harvester"} {
		running[name] = start(t, name, services[name]...)
	}
	eventually(t, 3*time.Minute, "every record in the catalogue", func() (bool, string) {
		n := msgs(bus.Catalogue)
		return n == records, fmt.Sprintf("%d entries, %d raw, %d pages asked", n, msgs(bus.Raw), lists.Load())
	})
	raw := map[string]int{}
	cons, err := b.JetStream().OrderedConsumer(ctx, string(bus.Raw), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			raw[m.Headers().Get(bus.HeaderKey)]++
			if f := m.Headers().Get(bus.HeaderFeed); f != feed.ID {
				t.Fatalf("raw message with feed header %q", f)
			}
		}
		if got == 0 {
			break
		}
	}
	for i := range records {
		if k := "term:" + corpus.Identifier(i); raw[k] != 1 {
			t.Errorf("record %d is in the raw stream %d times", i, raw[k])
		}
	}
	if dl := msgs(bus.DeadLetters); dl != 0 {
		t.Errorf("%d dead letters after the SIGTERMs", dl)
	}

	// The restarted normaliser's ops endpoints: ready, and its metrics
	// parse, with what it handled since its restart.
	addr := opsAddrOf(t, running["normaliser"])
	resp, err := httpClient.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("normaliser /readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = httpClient.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("normaliser /metrics: %v", err)
	}
	if f := fams["fairway_stage_messages_in_total"]; f == nil || len(f.GetMetric()) == 0 || f.GetMetric()[0].GetCounter().GetValue() < 1 {
		t.Errorf("normaliser handled nothing after its restart, by its metrics: %v", f)
	}
}
