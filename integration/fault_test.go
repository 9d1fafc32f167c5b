package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/internal/piveautest"
	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/node"
	"github.com/panosc/fairway/pkg/samplefeed"
)

// faultRecords is the size of the fault test's harvest: 1,000 by default,
// so that CI stays within minutes on two cores; FAIRWAY_FAULT_RECORDS=20000
// runs the full size.
func faultRecords(t *testing.T) int {
	if v := os.Getenv("FAIRWAY_FAULT_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("FAIRWAY_FAULT_RECORDS=%q: want a positive count", v)
		}
		return n
	}
	return 1000
}

// restartable is a service process that the test kills and starts again
// with the same arguments.
type restartable struct {
	env  []string
	name string
	args []string
	p    *proc
}

func (r *restartable) start(t *testing.T) { r.p = startEnv(t, r.env, r.name, r.args...) }

// crash kills the process with SIGKILL and starts it again.
func (r *restartable) crash(t *testing.T) {
	t.Helper()
	_ = r.p.signal(t, syscall.SIGKILL)
	t.Logf("killed %s with SIGKILL; restarting", r.name)
	r.start(t)
}

// TestFaultsLoseNothing harvests the sample feed (every facility) through
// the five services, each its own process, over a 3-node NATS cluster of
// real nats-server processes with every stream replicated three times,
// while each service in turn is killed with SIGKILL and restarted, and one
// NATS server is killed and restarted. Afterwards the catalogue holds one
// entry per record, written once (its last sequence is the record count:
// nothing duplicated), the push destination every live dataset, and
// ClickHouse one live row per live dataset — what an undisturbed run gives.
func TestFaultsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test: not with -short")
	}
	records := faultRecords(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	corpus := samplefeed.NewCorpus(11, records)
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: corpus, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	feedURL, stopFeed, err := samplefeed.Start(ctx, "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer stopFeed(context.Background())

	// The cluster, from deploy/nats/cluster.conf.
	conf := natsConf(t, "cluster.conf")
	var clients, routes []string
	for range 3 {
		clients = append(clients, freeAddr(t))
		routes = append(routes, freeAddr(t))
	}
	var servers []*restartable
	for i := range 3 {
		env := clusterNATSEnv(t, i, clients, routes)
		s := &restartable{env: env, name: "nats-server", args: []string{"-c", conf}}
		s.start(t)
		servers = append(servers, s)
	}
	urls := "nats://" + strings.Join(clients, ",nats://")
	credentials := filepath.Join(t.TempDir(), "nats-credentials")
	if err := os.WriteFile(credentials, []byte("user="+clusterUser+"\npassword="+clusterPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var nc *nats.Conn
	eventually(t, 30*time.Second, "the cluster", func() (bool, string) {
		nc, err = nats.Connect(urls, nats.UserInfo(clusterUser, clusterPassword), nats.MaxReconnects(-1))
		return err == nil, fmt.Sprint(err)
	})
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a JetStream leader", func() (bool, string) {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		defer acancel()
		_, err := js.AccountInfo(actx)
		return err == nil, fmt.Sprint(err)
	})

	// The services, sharing one configuration file (3 replicas).
	cfgFile := filepath.Join(t.TempDir(), "fairway.yaml")
	if err := os.WriteFile(cfgFile, []byte("nats: "+urls+"\nnats-credentials: "+credentials+"\nreplicas: 3\nlog-format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const operatorToken = "fault-operator-token-0123456789abcdef"
	db := fmt.Sprintf("fairway_fault_%d", rand.Uint32())
	httpAddr := freeAddr(t)
	env := []string{node.ConfigEnv + "=" + cfgFile, "FAIRWAY_OPERATOR_TOKEN=" + operatorToken}
	svc := map[string]*restartable{
		"harvester":  {env: env, name: "harvester", args: []string{"--poll", "200ms", "--allow-private-feeds"}},
		"normaliser": {env: env, name: "normaliser"},
		"enricher":   {env: env, name: "enricher", args: []string{"--panet", testenv.PaNET(t)}},
		"publisher":  {env: env, name: "publisher", args: []string{"--http", httpAddr, "--data", t.TempDir(), "--no-analytics", "--allow-private-feeds"}},
		"analytics":  {env: env, name: "analytics", args: []string{"--clickhouse", clickhouseAddr(), "--clickhouse-db", db}},
	}
	// The publisher first: it creates the replicated streams, which five
	// processes creating at once on a fresh cluster time out on.
	svc["publisher"].start(t)
	eventually(t, time.Minute, "the feed API", func() (bool, string) {
		resp, err := httpClient.Get("http://" + httpAddr + "/api/v1/feeds")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	for _, name := range []string{"analytics", "harvester", "normaliser", "enricher"} {
		svc[name].start(t)
	}
	// A push destination (a piveau hub) that receives the catalogue.
	hub := piveautest.Start(piveautest.Config{APIKey: "fault-hub-key-1234"})
	t.Cleanup(hub.Close)
	keyFile := filepath.Join(t.TempDir(), "hub-key")
	if err := os.WriteFile(keyFile, []byte("fault-hub-key-1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runEnv(t, []string{"FAIRWAY_TOKEN=" + operatorToken}, "fairway", "destinations", "add", "--server", "http://"+httpAddr, "--id", "eosc",
		"--kind", "piveau", "--url", hub.URL, "--catalogue", "panosc", "--create-catalogue", "--api-key-file", keyFile)
	for _, f := range node.DemoFeeds(feedURL) {
		runEnv(t, []string{"FAIRWAY_TOKEN=" + operatorToken}, "fairway", "feeds", "add", "--server", "http://"+httpAddr, "--id", f.ID,
			"--facility", f.Facility, "--url", feedURL, "--format", f.Format, "--set", f.Set, "--every", "0")
	}

	msgs := func(s bus.Stream) uint64 {
		actx, acancel := context.WithTimeout(ctx, 3*time.Second)
		defer acancel()
		str, err := js.Stream(actx, string(s))
		if err != nil {
			return 0
		}
		info, err := str.Info(actx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}
	// The faults, each once the pipeline has moved on since the last.
	faults := []struct {
		stream bus.Stream
		share  float64
		do     func()
	}{
		{bus.Raw, 0.15, func() { svc["harvester"].crash(t) }},
		{bus.Normalised, 0.25, func() { svc["normaliser"].crash(t) }},
		{bus.Enriched, 0.35, func() { svc["enricher"].crash(t) }},
		{bus.Catalogue, 0.45, func() {
			_ = servers[1].p.signal(t, syscall.SIGKILL)
			t.Log("killed NATS server 2 with SIGKILL")
			time.Sleep(3 * time.Second)
			servers[1].start(t)
			t.Log("restarted NATS server 2")
		}},
		{bus.Catalogue, 0.55, func() { svc["publisher"].crash(t) }},
		{bus.Catalogue, 0.65, func() { svc["analytics"].crash(t) }},
	}
	for _, f := range faults {
		at := uint64(f.share * float64(records))
		eventually(t, 5*time.Minute, fmt.Sprintf("%s to reach %d messages", f.stream, at), func() (bool, string) {
			n := msgs(f.stream)
			return n >= at, fmt.Sprintf("%d", n)
		})
		if msgs(bus.Catalogue) >= uint64(records) {
			t.Fatalf("the harvest ended before the fault at %s %d: use more records", f.stream, at)
		}
		f.do()
	}

	eventually(t, 8*time.Minute, "the catalogue to hold every record", func() (bool, string) {
		n := msgs(bus.Catalogue)
		return n == uint64(records), fmt.Sprintf("%d entries, want %d (raw %d, normalised %d, enriched %d, dlq %d)", n, records,
			msgs(bus.Raw), msgs(bus.Normalised), msgs(bus.Enriched), msgs(bus.DeadLetters))
	})
	str, err := js.Stream(ctx, string(bus.Catalogue))
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != uint64(records) {
		t.Errorf("the catalogue received %d messages for %d records: a dataset was published twice", info.State.LastSeq, records)
	}
	if info.Config.Replicas != 3 {
		t.Errorf("catalogue replicas %d, want 3", info.Config.Replicas)
	}
	if n := msgs(bus.DeadLetters); n != 0 {
		t.Errorf("%d dead letters: the faults made records fail", n)
	}

	live := records - corpus.DeletedCount()
	// The destination holds every live dataset, each once (a push repeated
	// after a crash is an idempotent upsert of the same dataset).
	eventually(t, 3*time.Minute, "the hub to hold every live dataset", func() (bool, string) {
		n := hub.Len("panosc")
		return n == live, fmt.Sprintf("%d datasets, want %d", n, live)
	})
	repeated := 0
	for key := range hub.Datasets("panosc") {
		if hub.Writes("panosc", key) > 1 {
			repeated++
		}
	}
	t.Logf("%d of %d datasets pushed more than once (at-least-once delivery across the crashes)", repeated, live)
	store, err := analytics.Open(ctx, analytics.Config{Addr: clickhouseAddr(), Database: db})
	if err != nil {
		t.Fatalf("clickhouse at %s (run scripts/clickhouse.sh start): %v", clickhouseAddr(), err)
	}
	defer func() {
		_ = store.DropDatabase(context.Background())
		store.Close()
	}()
	eventually(t, 2*time.Minute, "ClickHouse to count every live dataset once", func() (bool, string) {
		n, err := store.LiveCount(ctx)
		if err != nil {
			return false, err.Error()
		}
		return n == uint64(live), fmt.Sprintf("%d live rows, want %d", n, live)
	})
	if n, err := store.Count(ctx, "datasets FINAL", "1"); err != nil || n != uint64(records) {
		t.Errorf("ClickHouse holds %d datasets (%v), want one row per record, %d", n, err, records)
	}
}
