package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/panosc/fairway/internal/testenv"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/node"
)

// TestClusterSurvivesLosingAServer runs the node against a 3-node NATS
// cluster started from deploy/nats/cluster.conf, with every stream
// replicated three times, then kills one server: the catalogue stays whole
// and served.
// The clients' user and password of the tests' NATS servers
// (deploy/nats/*.conf require one).
const clusterUser, clusterPassword = "fairway", "cluster-test-password-0123456789"

func TestClusterSurvivesLosingAServer(t *testing.T) {
	const records = 120
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	conf := natsConf(t, "cluster.conf")
	var clients, routes []string
	for range 3 {
		clients = append(clients, freeAddr(t))
		routes = append(routes, freeAddr(t))
	}
	var servers []*proc
	for i := range 3 {
		env := clusterNATSEnv(t, i, clients, routes)
		servers = append(servers, startEnv(t, env, "nats-server", "-c", conf))
	}
	urls := "nats://" + strings.Join(clients, ",nats://")
	credentials := filepath.Join(t.TempDir(), "nats-credentials")
	if err := os.WriteFile(credentials, []byte("user="+clusterUser+"\npassword="+clusterPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(urls, nats.UserInfo(clusterUser, clusterPassword))
	for i := 0; err != nil && i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
		nc, err = nats.Connect(urls, nats.UserInfo(clusterUser, clusterPassword))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if anon, err := nats.Connect(urls); err == nil {
		anon.Close()
		t.Fatal("the cluster let a client without credentials in")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// The first election can take long on a loaded machine (once here no
	// metadata leader came within 30 s, the servers' routes all up): the
	// test is of losing a server, not of how fast a cluster forms.
	eventually(t, 90*time.Second, "the cluster to elect a JetStream leader", func() (bool, string) {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		defer acancel()
		_, err := js.AccountInfo(actx)
		return err == nil, fmt.Sprint(err)
	})

	corpus := node.DemoCorpus(records)
	httpAddr := freeAddr(t)
	up := start(t, "fairway", "up", "--nats", urls, "--nats-credentials", credentials, "--replicas", "3", "--demo", "--demo-records", fmt.Sprint(records),
		"--demo-page-size", "20", "--http", httpAddr, "--data", t.TempDir(), "--no-analytics", "--poll", "200ms", "--panet", testenv.PaNET(t))

	var str jetstream.Stream
	eventually(t, 2*time.Minute, "every record in the replicated catalogue", func() (bool, string) {
		str, err = js.Stream(ctx, string(bus.Catalogue))
		if err != nil {
			return false, err.Error()
		}
		info, err := str.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		// Say where records are if they do not arrive.
		var where []string
		for _, name := range []bus.Stream{bus.Raw, bus.Normalised, bus.Enriched, bus.DeadLetters} {
			if s, err := js.Stream(ctx, string(name)); err == nil {
				if i, err := s.Info(ctx); err == nil {
					where = append(where, fmt.Sprintf("%s %d", name, i.State.Msgs))
				}
			}
		}
		return info.State.Msgs == records, fmt.Sprintf("%d entries (%s)", info.State.Msgs, strings.Join(where, ", "))
	})
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("catalogue replicas %d, cluster %+v; want 3 replicas", info.Config.Replicas, info.Cluster)
	}

	// One server dies; the catalogue is still whole and served.
	if err := servers[0].signal(t, syscall.SIGKILL); err == nil {
		t.Log("first server exited cleanly after SIGKILL?")
	}
	live := records - corpus.DeletedCount()
	eventually(t, time.Minute, "GET /export with one server down", func() (bool, string) {
		// A request that met the dying server may fail: the next one is
		// served by the others.
		client := http.Client{Timeout: 15 * time.Second}
		resp, err := client.Get("http://" + httpAddr + "/export")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false, resp.Status
		}
		n, err := parseDatasets(string(b))
		if err != nil {
			return false, err.Error()
		}
		return n == live, fmt.Sprintf("%d datasets, want %d", n, live)
	})
	if err := up.stop(t); err != nil {
		t.Errorf("fairway up exited with %v", err)
	}
}
