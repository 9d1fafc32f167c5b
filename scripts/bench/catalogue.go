package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/catalogue"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/oaiprovider"
	"github.com/panosc/fairway/pkg/panet"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// runCatalogue measures the catalogue's read side over N datasets of the
// sample corpus (read by the real readers, enriched, rendered by the
// publisher into an embedded JetStream's catalogue stream): DCAT-AP
// rendering, how far the read model lags while the catalogue fills, pages
// of 1,000 datasets, OAI-PMH ListRecords pages of 100, and a full export
// (time, size and the peak RSS of the process while it streams).
func runCatalogue(records int, panetPath string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "fairway-bench-catalogue")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ns, err := natsembed.Start(natsembed.Config{StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	b, err := bus.Connect(ctx, bus.Config{InProcess: ns, Name: "bench", Logger: log})
	if err != nil {
		return err
	}
	defer b.Close()
	ont, err := panet.Load(ctx, panetPath)
	if err != nil {
		return err
	}
	enr := enricher.NewWithOntology(enricher.Config{}, nil, ont, log)
	pub, err := publisher.NewWithCatalogue(publisher.Config{BaseURL: "http://127.0.0.1:8080"}, nil, nil, log)
	if err != nil {
		return err
	}
	fmt.Printf("bench: catalogue of %d datasets\n", records)

	// The datasets, read and enriched before the clock starts.
	corpus := samplefeed.NewCorpus(1, records)
	datasets := make([]*fairwayv1.EnrichedDataset, 0, records)
	now := time.Now()
	for i := range records {
		r := corpus.Record(i)
		if r.Deleted {
			continue
		}
		raw := &fairwayv1.RawRecord{
			FeedId: "bench-" + r.Facility.Slug, Facility: r.Facility.Acronym, SourceKind: "oai-pmh", SourceIdentifier: r.Identifier,
			MetadataFormat: "oai_datacite", Payload: r.OAIDataCiteXML(),
			Provenance: &fairwayv1.Provenance{FeedId: "bench-" + r.Facility.Slug},
		}
		d, err := normaliser.Normalise(raw, now)
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		datasets = append(datasets, enr.Enrich(d))
	}

	// Rendering: the publisher's entries (DCAT-AP Turtle), one core.
	began := time.Now()
	events := make([]bus.Event, 0, len(datasets))
	for _, e := range datasets {
		entry, err := pub.Entry(e)
		if err != nil {
			return err
		}
		payload, err := proto.Marshal(entry)
		if err != nil {
			return err
		}
		events = append(events, bus.Event{Stream: bus.Catalogue, Key: entry.Key, Hash: entry.ContentHash, Payload: payload})
	}
	render := time.Since(began)
	datasets = nil
	fmt.Printf("render:         %.0f datasets/s (DCAT-AP Turtle of the publisher's entries)\n", float64(len(events))/render.Seconds())

	// The read model follows the catalogue while it fills.
	model, err := readmodel.Open(ctx, readmodel.Config{Dir: filepath.Join(dir, "readmodel"), Replica: "bench"}, b, log)
	if err != nil {
		return err
	}
	defer model.Close()
	modelCtx, stopModel := context.WithCancel(ctx)
	modelDone := make(chan error, 1)
	go func() { modelDone <- model.Run(modelCtx) }()
	defer func() { stopModel(); <-modelDone }()
	var maxLag uint64
	sampled := make(chan struct{})
	filling := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if lag, err := model.Lag(ctx); err == nil && lag > maxLag {
				maxLag = lag
			}
			select {
			case <-filling:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	began = time.Now()
	for i := 0; i < len(events); i += 500 {
		batch := events[i:min(i+500, len(events))]
		if err := b.PublishBatch(ctx, "bench", batch); err != nil {
			return err
		}
		clear(batch) // the payloads are in the stream now
	}
	events = nil
	filled := time.Since(began)
	close(filling)
	<-sampled
	for {
		lag, err := model.Lag(ctx)
		if err != nil {
			return err
		}
		if lag == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the read model still lags %d", lag)
		case <-time.After(20 * time.Millisecond):
		}
	}
	caughtUp := time.Since(began)
	live, err := model.Search(ctx, readmodel.Query{Limit: 1, KeysOnly: true})
	if err != nil {
		return err
	}
	fmt.Printf("catalogue:      %d entries written in %.1f s (%.0f/s)\n", live.Total, filled.Seconds(), float64(live.Total)/filled.Seconds())
	fmt.Printf("read model:     caught up %.1f s after the first write (%.0f entries/s); largest lag %d entries, %.1f s behind at the end of writing\n",
		caughtUp.Seconds(), float64(live.Total)/caughtUp.Seconds(), maxLag, (caughtUp - filled).Seconds())

	// The HTTP side, on loopback.
	oai, err := oaiprovider.New(oaiprovider.Config{BaseURL: "http://127.0.0.1:8080", DCAT: pub.Options()}, model, log)
	if err != nil {
		return err
	}
	h, err := catalogue.New(catalogue.Config{DCAT: pub.Options(), OAI: oai}, model, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Minute}

	pages := int(live.Total / 1000)
	var took []time.Duration
	for range 20 {
		page := 1 + rand.IntN(max(pages, 1))
		d, _, err := timedGet(client, fmt.Sprintf("%s/catalogue?pageSize=1000&page=%d", base, page))
		if err != nil {
			return err
		}
		took = append(took, d)
	}
	fmt.Printf("page of 1,000:  p50 %s, p99 %s (GET /catalogue?pageSize=1000, Turtle, 20 random pages)\n", median(took), pct(sortedDur(took), 0.99))

	took = took[:0]
	next := base + "/oai?verb=ListRecords&metadataPrefix=oai_datacite"
	token := regexp.MustCompile(`<resumptionToken[^>]*>([^<]+)</resumptionToken>`)
	for range 20 {
		d, body, err := timedGet(client, next)
		if err != nil {
			return err
		}
		took = append(took, d)
		m := token.FindSubmatch(body)
		if m == nil {
			break
		}
		var tok string
		if err := xml.Unmarshal([]byte("<t>"+string(m[1])+"</t>"), &tok); err != nil {
			return err
		}
		next = base + "/oai?verb=ListRecords&resumptionToken=" + url.QueryEscape(tok)
	}
	fmt.Printf("OAI page of 100: p50 %s, p99 %s (ListRecords oai_datacite, %d pages in a row)\n", median(took), pct(sortedDur(took), 0.99), len(took))

	// The full export, with the peak RSS reset first (Linux: clear_refs 5)
	// so that the figure is the export's, not the build's.
	// What the run built and let go is returned to the system first, so
	// that the figures are the export's.
	runtime.GC()
	debug.FreeOSMemory()
	before := rssKB("VmRSS")
	resetPeak := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	// The anonymous part of the RSS (heap and stacks, not the pages of
	// the files the read model and the NATS store map) is sampled too.
	var peakAnon uint64
	sampling, sampled2 := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled2)
		for {
			if a := rssKB("RssAnon"); a > peakAnon {
				peakAnon = a
			}
			select {
			case <-sampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	began = time.Now()
	resp, err := client.Get(base + "/export")
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(sampling)
	<-sampled2
	if err != nil {
		return err
	}
	export := time.Since(began)
	peak := rssKB("VmHWM")
	note := "peak RSS of the process while it streamed"
	if !resetPeak {
		note = "peak RSS of the whole run (the peak could not be reset)"
	}
	fmt.Printf("export:         %d datasets, %.0f MB of Turtle in %.1f s (%.0f datasets/s); RSS %.0f MB before, %.0f MB %s, of which anonymous (heap, stacks) at most %.0f MB\n",
		live.Total, float64(n)/1e6, export.Seconds(), float64(live.Total)/export.Seconds(), float64(before)/1024, float64(peak)/1024, note, float64(peakAnon)/1024)

	return nil
}

func timedGet(c *http.Client, url string) (time.Duration, []byte, error) {
	began := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return time.Since(began), b, err
}

func sortedDur(d []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func median(d []time.Duration) time.Duration { return pct(sortedDur(d), 0.5) }
