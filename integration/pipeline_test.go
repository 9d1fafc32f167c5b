// Package integration holds end-to-end tests that run Fairway's services as
// separate processes against a real nats-server and a real ClickHouse.
package integration

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knakk/rdf"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/samplefeed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// clickhouseAddr is the ClickHouse the tests use (started by `task test`).
func clickhouseAddr() string {
	if a := os.Getenv("FAIRWAY_CLICKHOUSE_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:9000"
}

// TestPipelineAsSeparateServices harvests the sample facility through the
// five services (the analytics writer as its own), each its own process,
// over a real nats-server, and checks the catalogue, the tombstones,
// ClickHouse (datasets, pipeline events per stage, harvest runs) and the
// Turtle export.
func TestPipelineAsSeparateServices(t *testing.T) {
	const records, pageSize = 240, 40
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The sample facility, on loopback: two of its facilities are
	// registered, one harvested in oai_datacite and one in oai_dc.
	corpus := samplefeed.NewCorpus(7, records)
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	feedURL, stopFeed, err := samplefeed.Start(ctx, "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer stopFeed(context.Background())
	harvested := map[string]string{"esrf": "oai_datacite", "ill": "oai_dc"}

	// A real nats-server, built from the pinned module, with the project's
	// single-server configuration: clients need its user and password.
	natsAddr := freeAddr(t)
	startEnv(t, singleNATSEnv(t, natsAddr), "nats-server", "-c", natsConf(t, "single.conf"))
	natsURL := "nats://" + natsAddr
	credentials := filepath.Join(t.TempDir(), "nats-credentials")
	if err := os.WriteFile(credentials, []byte("user="+clusterUser+"\npassword="+clusterPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var nc *nats.Conn
	eventually(t, 20*time.Second, "nats-server", func() (bool, string) {
		nc, err = nats.Connect(natsURL, nats.UserInfo(clusterUser, clusterPassword))
		return err == nil, fmt.Sprint(err)
	})
	defer nc.Close()

	want := 0
	for i := range records {
		if _, ok := harvested[corpus.FacilityOf(i).Slug]; ok {
			want++
		}
	}

	// The publisher serves the feed API; the feeds are registered through
	// it with the CLI, as an operator would.
	const operatorToken = "pipeline-operator-token-0123456789"
	db := fmt.Sprintf("fairway_it_%d", rand.Uint32())
	httpAddr := freeAddr(t)
	common := []string{"--nats", natsURL, "--nats-credentials", credentials, "--log-format", "json"}
	publisher := startEnv(t, []string{"FAIRWAY_OPERATOR_TOKEN=" + operatorToken}, "publisher",
		append(common, "--http", httpAddr, "--data", t.TempDir(), "--no-analytics", "--allow-private-feeds")...)
	services := []*proc{
		start(t, "analytics", append(common, "--clickhouse", clickhouseAddr(), "--clickhouse-db", db)...),
		start(t, "harvester", append(common, "--poll", "200ms", "--allow-private-feeds")...),
		start(t, "normaliser", common...),
		start(t, "enricher", append(common, "--panet", testenv.PaNET(t))...),
		publisher,
	}
	eventually(t, 30*time.Second, "the feed API", func() (bool, string) {
		resp, err := httpClient.Get("http://" + httpAddr + "/api/v1/feeds")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	cli := []string{"FAIRWAY_TOKEN=" + operatorToken}
	for slug, format := range harvested {
		runEnv(t, cli, "fairway", "feeds", "add", "--server", "http://"+httpAddr, "--id", "sample-"+slug, "--facility", strings.ToUpper(slug),
			"--url", feedURL, "--format", format, "--set", slug, "--every", "0")
	}

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Every record, live or deleted, ends up as one catalogue entry.
	eventually(t, 3*time.Minute, "the catalogue to hold every record", func() (bool, string) {
		s, err := js.Stream(ctx, string(bus.Catalogue))
		if err != nil {
			return false, err.Error()
		}
		info, err := s.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return info.State.Msgs == uint64(want), fmt.Sprintf("%d entries, want %d", info.State.Msgs, want)
	})

	str, _ := js.Stream(ctx, string(bus.Catalogue))
	info, _ := str.Info(ctx)
	if info.State.LastSeq != uint64(want) {
		t.Errorf("catalogue received %d messages for %d records: some dataset was published twice", info.State.LastSeq, want)
	}
	live := 0
	for i := range records {
		rec := corpus.Record(i)
		if _, ok := harvested[rec.Facility.Slug]; !ok {
			continue
		}
		var key string
		if rec.Deleted {
			key = "src:" + rec.Facility.Slug + ":" + rec.Identifier
		} else {
			key = "doi:" + strings.ToLower(rec.DOI)
			live++
		}
		m, err := str.GetLastMsgForSubject(ctx, bus.Subject(bus.Catalogue, key))
		if err != nil {
			t.Errorf("record %d (%s): no catalogue entry: %v", i, key, err)
			continue
		}
		var e fairwayv1.CatalogueEntry
		if err := proto.Unmarshal(testenv.Payload(t, m), &e); err != nil {
			t.Fatalf("entry %s: %v", key, err)
		}
		if rec.Deleted {
			if !e.Deleted || e.Turtle != "" {
				t.Errorf("record %d: deleted at the source but entry is not a tombstone", i)
			}
			continue
		}
		if got := e.Dataset.GetDataset().GetTitle(); got != rec.Title {
			t.Errorf("record %d: title %q, want %q", i, got, rec.Title)
		}
		got := map[string]bool{}
		for _, tech := range e.Dataset.GetTechniques() {
			got[tech.Iri] = true
		}
		for _, want := range expectedTechniques(rec) {
			if !got[want] {
				t.Errorf("record %d: technique %s not tagged (got %v)", i, want, got)
			}
		}
		if n, err := parseDatasets(e.Turtle); err != nil || n != 1 {
			t.Errorf("record %d: entry Turtle describes %d datasets (%v)", i, n, err)
		}
	}
	if live == 0 || live == want {
		t.Fatalf("corpus has %d live of %d records: the test needs both kinds", live, records)
	}

	// ClickHouse: one live row per live dataset.
	store, err := analytics.Open(ctx, analytics.Config{Addr: clickhouseAddr(), Database: db})
	if err != nil {
		t.Fatalf("clickhouse at %s (run scripts/clickhouse.sh start): %v", clickhouseAddr(), err)
	}
	defer func() {
		_ = store.DropDatabase(context.Background())
		store.Close()
	}()
	eventually(t, time.Minute, "ClickHouse to count every live dataset", func() (bool, string) {
		n, err := store.LiveCount(ctx)
		if err != nil {
			return false, err.Error()
		}
		return n == uint64(live), fmt.Sprintf("%d live rows, want %d", n, live)
	})
	// Every record passed the three stages, each an event with the time
	// it took from the harvest; the runs are there with their bytes.
	for _, stage := range []string{"normaliser", "enricher", "publisher"} {
		eventually(t, time.Minute, "pipeline events of the "+stage, func() (bool, string) {
			n, err := store.Count(ctx, "pipeline_events FINAL", "stage = '"+stage+"' AND facility IN ('ESRF', 'ILL') AND harvested_at > toDateTime(0)")
			if err != nil {
				return false, err.Error()
			}
			return n == uint64(want), fmt.Sprintf("%d events, want %d", n, want)
		})
	}
	eventually(t, time.Minute, "the harvest runs", func() (bool, string) {
		n, err := store.Count(ctx, "harvest_runs FINAL", "status = 'complete' AND bytes > 0 AND records > 0")
		if err != nil {
			return false, err.Error()
		}
		return n == uint64(len(harvested)), fmt.Sprintf("%d complete runs with bytes, want %d", n, len(harvested))
	})

	// The Turtle export parses and describes every live dataset.
	resp, err := httpClient.Get("http://" + httpAddr + "/export")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /export: %d %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/turtle") {
		t.Errorf("content type %q", ct)
	}
	datasets := countDatasets(t, string(body))
	if datasets != live {
		_ = os.WriteFile(filepath.Join(t.TempDir(), "catalogue.ttl"), body, 0o644)
		t.Errorf("catalogue describes %d datasets, want %d", datasets, live)
	}

	// Every service drains and exits cleanly on SIGTERM.
	for _, p := range services {
		if err := p.stop(t); err != nil {
			t.Errorf("%s exited with %v after SIGTERM", p.name, err)
		}
	}
	if !strings.Contains(publisher.out.String(), "feed registered") || strings.Contains(publisher.out.String(), operatorToken) {
		t.Error("the publisher's log does not show the registrations, or shows the operator token")
	}
}

// countDatasets parses a Turtle document and counts its dcat:Dataset nodes.
func countDatasets(t *testing.T, doc string) int {
	t.Helper()
	n, err := parseDatasets(doc)
	if err != nil {
		t.Fatalf("catalogue is not valid Turtle: %v", err)
	}
	return n
}

// parseDatasets parses a Turtle document and counts its dcat:Dataset nodes.
func parseDatasets(doc string) (int, error) {
	dec := rdf.NewTripleDecoder(strings.NewReader(doc), rdf.Turtle)
	triples, err := dec.DecodeAll()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tr := range triples {
		if tr.Pred.String() == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" &&
			tr.Obj.String() == "http://www.w3.org/ns/dcat#Dataset" {
			n++
		}
	}
	return n, nil
}

// expectedTechniques returns the PaNET IRIs a record names by IRI, by bare id
// or by exact label: what the enricher must find.
func expectedTechniques(rec samplefeed.SampleRecord) []string {
	const ns = "http://purl.org/pan-science/PaNET/"
	var out []string
	for _, s := range rec.Subjects {
		for _, tech := range rec.Techniques {
			if s.ValueURI == ns+tech.ID || s.Value == tech.ID || strings.EqualFold(s.Value, tech.Label) {
				out = append(out, ns+tech.ID)
			}
		}
	}
	return out
}
