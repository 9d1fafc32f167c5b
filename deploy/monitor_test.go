package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/panosc/fairway/pkg/bus"
)

// jsz is the part of the monitoring endpoint's /jsz answer that KEDA's
// nats-jetstream scaler reads.
type jsz struct {
	Meta struct {
		ClusterSize int `json:"cluster_size"`
	} `json:"meta_cluster"`
	Accounts []struct {
		Name    string `json:"name"`
		Streams []struct {
			Name      string `json:"name"`
			Consumers []struct {
				Name       string `json:"name"`
				NumPending int    `json:"num_pending"`
				NumAck     int    `json:"num_ack_pending"`
				Cluster    struct {
					Leader string `json:"leader"`
				} `json:"cluster"`
			} `json:"consumer_detail"`
		} `json:"stream_detail"`
	} `json:"account_details"`
}

// consumer finds a consumer of stream in account: its lag (pending and
// unacknowledged, as KEDA counts it) and its leader.
func (j jsz) consumer(account, stream, name string) (lag int, leader string, ok bool) {
	for _, a := range j.Accounts {
		if a.Name != account {
			continue
		}
		for _, s := range a.Streams {
			if s.Name != stream {
				continue
			}
			for _, c := range s.Consumers {
				if c.Name == name {
					return c.NumPending + c.NumAck, c.Cluster.Leader, true
				}
			}
		}
	}
	return 0, "", false
}

// trigger is the metadata of one ScaledObject's nats-jetstream trigger.
type trigger struct{ target, endpoint, account, stream, consumer string }

// triggers reads the nats-jetstream triggers of the base's ScaledObjects.
func triggers(t *testing.T) []trigger {
	t.Helper()
	var out []trigger
	for _, d := range docs(t, filepath.Join("k8s", "base", "keda.yaml")) {
		for _, tr := range asList(get(d, "spec", "triggers")) {
			if str(tr, "type") != "nats-jetstream" {
				continue
			}
			m := get(tr, "metadata")
			out = append(out, trigger{str(d, "spec", "scaleTargetRef", "name"), str(m, "natsServerMonitoringEndpoint"), str(m, "account"), str(m, "stream"), str(m, "consumer")})
		}
	}
	if len(out) == 0 {
		t.Fatal("keda.yaml: no nats-jetstream trigger")
	}
	return out
}

// getJSON GETs u and decodes its JSON body into v.
func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return fmt.Errorf("GET %s: %s, %s: %.200s", u, resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// kedaURL is the URL KEDA's scaler asks a monitoring endpoint (host:port).
func kedaURL(endpoint, account string) string {
	return "http://" + endpoint + "/jsz?acc=" + url.QueryEscape(account) + "&consumers=true&config=true"
}

// startNATS starts an in-process nats-server from one of deploy/nats's
// configurations with env, and stops it at the end of the test.
func startNATS(t *testing.T, conf string, env map[string]string) *server.Server {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(filepath.Join("nats", conf))
	if err != nil {
		t.Fatalf("%s: %v", conf, err)
	}
	opts.NoSigs, opts.NoLog = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("%s: %v", conf, err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("%s: server not ready", conf)
	}
	if s.MonitorAddr() == nil {
		t.Fatalf("%s: no monitoring listener", conf)
	}
	return s
}

const natsUser, natsPassword = "fairway", "monitor-test-password"

// provision connects the bus to urls with the configurations' user, as
// the services do, which creates every stream and consumer, and puts n
// records on the raw stream, which nothing consumes here.
func provision(ctx context.Context, t *testing.T, urls string, replicas, n int) {
	t.Helper()
	b, err := bus.Connect(ctx, bus.Config{URL: urls, Topology: bus.Topology{Replicas: replicas}, Options: []nats.Option{nats.UserInfo(natsUser, natsPassword)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, err := nats.Connect(urls, nats.UserInfo(natsUser, natsPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := js.Publish(bus.Subject(bus.Raw, fmt.Sprint("record-", i)), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNATSMonitoringSingle starts a server from single.conf on loopback,
// provisions the topology, and reads every ScaledObject's consumer from
// the monitoring port as KEDA does: its lag is the records waiting.
func TestNATSMonitoringSingle(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s := startNATS(t, "single.conf", map[string]string{
		"FAIRWAY_NATS_HOST": "127.0.0.1", "FAIRWAY_NATS_PORT": "-1", "FAIRWAY_NATS_MONITOR_PORT": "-1",
		"FAIRWAY_NATS_STORE": t.TempDir(), "FAIRWAY_NATS_USER": natsUser, "FAIRWAY_NATS_PASSWORD": natsPassword,
	})
	const records = 7
	provision(ctx, t, s.ClientURL(), 1, records)
	mon := s.MonitorAddr().String()

	// The shorter /jsz?consumers=true names them too.
	var plain jsz
	if err := getJSON(ctx, "http://"+mon+"/jsz?consumers=true", &plain); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := plain.consumer("$G", string(bus.Raw), string(bus.StageNormaliser)); !ok {
		t.Errorf("/jsz?consumers=true does not name %s on %s: %+v", bus.StageNormaliser, bus.Raw, plain)
	}
	for _, tr := range triggers(t) {
		var j jsz
		if err := getJSON(ctx, kedaURL(mon, tr.account), &j); err != nil {
			t.Fatal(err)
		}
		lag, _, ok := j.consumer(tr.account, tr.stream, tr.consumer)
		if !ok {
			t.Errorf("%s: the monitoring endpoint names no consumer %s on %s in account %s", tr.target, tr.consumer, tr.stream, tr.account)
			continue
		}
		if want := wantLag(tr.stream, records); lag != want {
			t.Errorf("%s: lag %d, want %d", tr.target, lag, want)
		}
	}
}

// wantLag is the lag of a consumer of stream once provision put records
// on the raw stream: the records for the raw stream's, none for the others.
func wantLag(stream string, records int) int {
	if stream == string(bus.Raw) {
		return records
	}
	return 0
}

// freeSharedPort returns a TCP port free on every host of hosts, so that
// each server of the test's cluster listens on its own address and the
// same ports, as pods do.
func freeSharedPort(t *testing.T, hosts []string, taken []int) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", hosts[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{ln}
		free := !slices.Contains(taken, port)
		for _, h := range hosts[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			lns = append(lns, l)
		}
		for _, l := range lns {
			l.Close()
		}
		if free {
			return port
		}
	}
	t.Fatal("no port free on every address")
	return 0
}

// TestNATSMonitoringCluster starts three servers from cluster.conf, each
// on an address of its own (127.0.0.1, .2, .3) with the same ports, as
// three pods, provisions the topology with three replicas, and then finds
// the lag of every ScaledObject's consumer the way KEDA's scaler does in a
// cluster: /varz of the endpoint lists the servers' client URLs; on each
// of their hosts, at the endpoint's port, /varz gives the server's name
// and /jsz the consumer; the server that leads the consumer answers.
func TestNATSMonitoringCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	hosts := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	for _, h := range hosts[1:] {
		ln, err := net.Listen("tcp", h+":0")
		if err != nil {
			t.Skipf("no loopback address %s on this system: %v", h, err)
		}
		ln.Close()
	}
	var ports []int
	for range 3 {
		ports = append(ports, freeSharedPort(t, hosts, ports))
	}
	client, route, monitor := strconv.Itoa(ports[0]), strconv.Itoa(ports[1]), strconv.Itoa(ports[2])
	var urls []string
	for i, h := range hosts {
		s := startNATSCluster(t, map[string]string{
			"FAIRWAY_NATS_NAME": fmt.Sprintf("fairway-%d", i+1), "FAIRWAY_NATS_HOST": h,
			"FAIRWAY_NATS_PORT": client, "FAIRWAY_NATS_CLUSTER_PORT": route, "FAIRWAY_NATS_MONITOR_PORT": monitor,
			"FAIRWAY_NATS_STORE": t.TempDir(), "FAIRWAY_NATS_USER": natsUser, "FAIRWAY_NATS_PASSWORD": natsPassword,
			"FAIRWAY_NATS_ROUTE_1": "nats://127.0.0.1:" + route, "FAIRWAY_NATS_ROUTE_2": "nats://127.0.0.2:" + route,
			"FAIRWAY_NATS_ROUTE_3": "nats://127.0.0.3:" + route,
		})
		urls = append(urls, s.ClientURL())
	}
	// Once the cluster has a meta leader, so that provisioning does not
	// begin with requests that nobody answers.
	endpoint := net.JoinHostPort(hosts[0], monitor) // the Service's address
	for {
		var j struct {
			Meta struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		err := getJSON(ctx, "http://"+endpoint+"/jsz", &j)
		if err == nil && j.Meta.Leader != "" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no meta leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	const records = 5
	// Without a deadline of its own: a JetStream request lost while the
	// cluster settles then times out after the client's default 5 s and the
	// bus retries it, as in a service (with ctx's deadline, the first
	// request would wait for all of it).
	provision(t.Context(), t, strings.Join(urls, ","), 3, records)

	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, tr := range triggers(t) {
		var lead []string // servers that lead the consumer, with its lag
		for {
			lead = nil
			var varz struct {
				ConnectURLs []string `json:"connect_urls"`
			}
			if err := getJSON(ctx, "http://"+endpoint+"/varz", &varz); err != nil {
				t.Fatal(err)
			}
			for _, u := range varz.ConnectURLs {
				host, _, _ := strings.Cut(u, ":")
				var info struct {
					Name string `json:"server_name"`
				}
				if err := getJSON(ctx, "http://"+net.JoinHostPort(host, monitor)+"/varz", &info); err != nil {
					t.Fatal(err)
				}
				var j jsz
				if err := getJSON(ctx, kedaURL(net.JoinHostPort(host, monitor), tr.account), &j); err != nil {
					t.Fatal(err)
				}
				if lag, leader, ok := j.consumer(tr.account, tr.stream, tr.consumer); ok && leader == info.Name && j.Meta.ClusterSize == 3 {
					lead = append(lead, fmt.Sprintf("%s:%d", info.Name, lag))
				}
			}
			if len(varz.ConnectURLs) == 3 && len(lead) == 1 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: servers %v, consumer %s on %s led by %v; want one leader among three servers", tr.target, varz.ConnectURLs, tr.consumer, tr.stream, lead)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, lag, _ := strings.Cut(lead[0], ":"); lag != strconv.Itoa(wantLag(tr.stream, records)) {
			t.Errorf("%s: leader and lag %s, want lag %d", tr.target, lead[0], wantLag(tr.stream, records))
		}
	}
}

// startNATSCluster starts one server of the cluster from cluster.conf.
// Unlike startNATS it does not wait for JetStream: a server of a cluster
// is ready once its peers are up.
func startNATSCluster(t *testing.T, env map[string]string) *server.Server {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(filepath.Join("nats", "cluster.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts.NoSigs, opts.NoLog = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	//s.ConfigureLogger()
	go s.Start()
	t.Cleanup(s.Shutdown)
	deadline := time.Now().Add(10 * time.Second)
	for s.ClientURL() == "" || s.MonitorAddr() == nil {
		if time.Now().After(deadline) {
			t.Fatal("cluster server not listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}
