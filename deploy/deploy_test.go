// Package deploy holds the node's deployment files (NATS, Kubernetes,
// compose, ClickHouse); its tests check that they parse and agree with
// each other and with the code.
package deploy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/node"
)

// services are the node's services and their targets.
var services = []string{node.TargetHarvester, node.TargetNormaliser, node.TargetEnricher, node.TargetPublisher, node.TargetAnalytics}

// docs reads every YAML document of path.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

// get walks a parsed YAML document: keys for maps, ints for lists.
func get(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

func str(v any, path ...any) string { s, _ := get(v, path...).(string); return s }

// TestNATSConfigs parses the NATS servers' configurations with the
// server's own parser: the cluster has a name, three routes and
// JetStream, both demand a user and password and open the monitoring
// port that KEDA's scaler reads (monitor_test.go runs them).
func TestNATSConfigs(t *testing.T) {
	env := map[string]string{
		"FAIRWAY_NATS_NAME": "fairway-1", "FAIRWAY_NATS_HOST": "127.0.0.1", "FAIRWAY_NATS_PORT": "4222",
		"FAIRWAY_NATS_CLUSTER_PORT": "6222", "FAIRWAY_NATS_MONITOR_PORT": "8222", "FAIRWAY_NATS_STORE": t.TempDir(),
		"FAIRWAY_NATS_USER": "fairway", "FAIRWAY_NATS_PASSWORD": "secret",
		"FAIRWAY_NATS_ROUTE_1": "nats://127.0.0.1:6222", "FAIRWAY_NATS_ROUTE_2": "nats://127.0.0.1:6223", "FAIRWAY_NATS_ROUTE_3": "nats://127.0.0.1:6224",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	for _, name := range []string{"single.conf", "cluster.conf"} {
		opts, err := server.ProcessConfigFile(filepath.Join("nats", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !opts.JetStream || opts.StoreDir != env["FAIRWAY_NATS_STORE"] || opts.Username != "fairway" || opts.Password != "secret" {
			t.Errorf("%s: jetstream %v, store %q, user %q", name, opts.JetStream, opts.StoreDir, opts.Username)
		}
		if opts.HTTPPort != 8222 || opts.HTTPSPort != 0 {
			t.Errorf("%s: monitoring port %d (https %d), want FAIRWAY_NATS_MONITOR_PORT's 8222 over http (KEDA's scaler)", name, opts.HTTPPort, opts.HTTPSPort)
		}
		if opts.MaxPayload < 8<<20 {
			t.Errorf("%s: max_payload %d, want at least the streams' 8 MiB", name, opts.MaxPayload)
		}
		if name == "cluster.conf" && (opts.Cluster.Name != "fairway" || len(opts.Routes) != 3 || opts.ServerName != "fairway-1") {
			t.Errorf("%s: cluster %q, %d routes, server %q", name, opts.Cluster.Name, len(opts.Routes), opts.ServerName)
		}
	}
}

// TestKustomizations checks every kustomization's references: its
// resources and generators' files exist, and its patches and images name
// what the base defines.
func TestKustomizations(t *testing.T) {
	base := filepath.Join("k8s", "base")
	kinds := map[string]bool{} // kind/name the base defines
	for _, d := range docs(t, filepath.Join(base, "kustomization.yaml")) {
		for _, r := range get(d, "resources").([]any) {
			for _, doc := range docs(t, filepath.Join(base, r.(string))) {
				kinds[str(doc, "kind")+"/"+str(doc, "metadata", "name")] = true
			}
		}
		for _, g := range []string{"configMapGenerator", "secretGenerator"} {
			for _, gen := range get(d, g).([]any) {
				kind := map[string]string{"configMapGenerator": "ConfigMap", "secretGenerator": "Secret"}[g]
				kinds[kind+"/"+str(gen, "name")] = true
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join("k8s", "overlays", "*"))
	for _, dir := range append([]string{base}, dirs...) {
		for _, d := range docs(t, filepath.Join(dir, "kustomization.yaml")) {
			if str(d, "kind") != "Kustomization" {
				t.Errorf("%s: kind %q", dir, str(d, "kind"))
			}
			for _, r := range asList(get(d, "resources")) {
				if _, err := os.Stat(filepath.Join(dir, r.(string))); err != nil {
					t.Errorf("%s: resource %v: %v", dir, r, err)
				}
			}
			for _, g := range []string{"configMapGenerator", "secretGenerator"} {
				for _, gen := range asList(get(d, g)) {
					for _, f := range asList(get(gen, "files")) {
						if _, err := os.Stat(filepath.Join(dir, f.(string))); err != nil {
							t.Errorf("%s: %s file %v: %v", dir, g, f, err)
						}
					}
					if dir != base && str(gen, "behavior") != "replace" && !kinds["ConfigMap/"+str(gen, "name")] {
						t.Errorf("%s: generator %s neither replaces the base's nor is new", dir, str(gen, "name"))
					}
				}
			}
			for _, p := range asList(get(d, "patches")) {
				if k := str(p, "target", "kind") + "/" + str(p, "target", "name"); !kinds[k] {
					t.Errorf("%s: patch of %s, which the base lacks", dir, k)
				}
			}
			var images []string
			for _, im := range asList(get(d, "images")) {
				images = append(images, str(im, "name"))
			}
			if dir != base {
				for _, s := range services {
					if !slices.Contains(images, "fairway-"+s) {
						t.Errorf("%s: no image for fairway-%s", dir, s)
					}
				}
			}
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestDeployments checks each service's Deployment: its image, the probes
// on the port of the ops endpoints, resources, and the ConfigMap and Secret it reads
// being the base's.
func TestDeployments(t *testing.T) {
	for _, s := range services {
		var dep map[string]any
		for _, d := range docs(t, filepath.Join("k8s", "base", s+".yaml")) {
			if str(d, "kind") == "Deployment" {
				dep = d
			}
		}
		if dep == nil {
			t.Fatalf("%s.yaml: no Deployment", s)
		}
		name := "fairway-" + s
		if str(dep, "metadata", "name") != name || str(dep, "spec", "selector", "matchLabels", "app.kubernetes.io/name") != name ||
			str(dep, "spec", "template", "metadata", "labels", "app.kubernetes.io/name") != name {
			t.Errorf("%s: name or selector not %s", s, name)
		}
		c := get(dep, "spec", "template", "spec", "containers", 0)
		if str(c, "image") != name {
			t.Errorf("%s: image %q, want %s", s, str(c, "image"), name)
		}
		// The publisher serves the ops endpoints on its HTTP listener; the
		// others on the ops port (k8s/render_test.go checks both against
		// the rendered configuration).
		opsPort, opsNumber := "ops", 9100
		if s == node.TargetPublisher {
			opsPort, opsNumber = "http", 8080
		}
		if str(c, "livenessProbe", "httpGet", "path") != "/healthz" || str(c, "readinessProbe", "httpGet", "path") != "/readyz" ||
			str(c, "livenessProbe", "httpGet", "port") != opsPort || str(c, "readinessProbe", "httpGet", "port") != opsPort {
			t.Errorf("%s: probes %v %v", s, get(c, "livenessProbe"), get(c, "readinessProbe"))
		}
		if get(c, "ports", 0, "name") != opsPort || get(c, "ports", 0, "containerPort") != opsNumber {
			t.Errorf("%s: first port %v, want %s %d", s, get(c, "ports", 0), opsPort, opsNumber)
		}
		if get(c, "resources", "requests", "cpu") == nil || get(c, "resources", "requests", "memory") == nil || get(c, "resources", "limits", "memory") == nil {
			t.Errorf("%s: resources %v", s, get(c, "resources"))
		}
		args := fmt.Sprint(get(c, "args"))
		if !strings.Contains(args, "--config /etc/fairway/fairway.yaml") {
			t.Errorf("%s: args %s lack --config", s, args)
		}
		vols := map[string]string{}
		for _, v := range asList(get(dep, "spec", "template", "spec", "volumes")) {
			vols[str(v, "name")] = str(v, "configMap", "name") + str(v, "secret", "secretName")
		}
		if vols["config"] != "fairway-config" || vols["secrets"] != "fairway-secrets" {
			t.Errorf("%s: volumes %v", s, vols)
		}
		for _, m := range asList(get(c, "volumeMounts")) {
			if _, ok := vols[str(m, "name")]; !ok {
				t.Errorf("%s: mount of unknown volume %s", s, str(m, "name"))
			}
		}
		for _, e := range asList(get(c, "env")) {
			if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil && str(ref, "name") != "fairway-secrets" {
				t.Errorf("%s: env %s from secret %s", s, str(e, "name"), str(ref, "name"))
			}
		}
	}
}

// TestScaledObjects checks that every KEDA ScaledObject scales a
// Deployment of the base on the lag of that stage's own durable consumer
// on its input stream.
func TestScaledObjects(t *testing.T) {
	n := 0
	for _, d := range docs(t, filepath.Join("k8s", "base", "keda.yaml")) {
		n++
		target := str(d, "spec", "scaleTargetRef", "name")
		stage, ok := strings.CutPrefix(target, "fairway-")
		if !ok || !slices.Contains(services, stage) {
			t.Errorf("ScaledObject %s scales %q", str(d, "metadata", "name"), target)
			continue
		}
		trig := get(d, "spec", "triggers", 0)
		if str(trig, "type") != "nats-jetstream" {
			t.Errorf("%s: trigger %q", target, str(trig, "type"))
		}
		in, ok := bus.InputOf(bus.Stage(str(trig, "metadata", "consumer")))
		if !ok || str(trig, "metadata", "consumer") != stage || string(in) != str(trig, "metadata", "stream") {
			t.Errorf("%s: consumer %q on stream %q, want %s on %s", target, str(trig, "metadata", "consumer"), str(trig, "metadata", "stream"), stage, in)
		}
		if str(trig, "metadata", "lagThreshold") == "" || str(trig, "metadata", "natsServerMonitoringEndpoint") == "" {
			t.Errorf("%s: trigger metadata %v", target, get(trig, "metadata"))
		}
	}
	if n != 4 {
		t.Errorf("%d ScaledObjects, want one per consuming stage (4)", n)
	}
}

// TestCompose checks the compose file: NATS from single.conf, ClickHouse,
// one container per service, each reading the shared configuration.
func TestCompose(t *testing.T) {
	d := docs(t, filepath.Join("compose", "compose.yaml"))
	if len(d) != 1 {
		t.Fatalf("%d documents", len(d))
	}
	svcs, _ := get(d[0], "services").(map[string]any)
	for _, s := range append([]string{"nats", "clickhouse"}, services...) {
		if svcs[s] == nil {
			t.Errorf("no service %s", s)
		}
	}
	if !strings.HasPrefix(str(svcs["clickhouse"], "image"), "clickhouse/clickhouse-server:") {
		t.Errorf("clickhouse image %q", str(svcs["clickhouse"], "image"))
	}
	for _, s := range services {
		if str(svcs[s], "image") != "fairway-"+s || str(svcs[s], "environment", "FAIRWAY_CONFIG") != "/etc/fairway/fairway.yaml" {
			t.Errorf("%s: image %q, config %q", s, str(svcs[s], "image"), str(svcs[s], "environment", "FAIRWAY_CONFIG"))
		}
	}
	for _, v := range asList(get(svcs["nats"], "volumes")) {
		if src, _, _ := strings.Cut(v.(string), ":"); strings.HasPrefix(src, ".") {
			if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
				t.Errorf("nats volume %s: %v", src, err)
			}
		}
	}
}

// TestConfigFiles runs every deployment's fairway.yaml through every
// service's own settings: each file is accepted by each service.
func TestConfigFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("k8s", "*", "fairway.yaml"))
	more, _ := filepath.Glob(filepath.Join("k8s", "overlays", "*", "fairway.yaml"))
	files = append(append(files, more...), filepath.Join("compose", "fairway.yaml"))
	if len(files) < 4 {
		t.Fatalf("found %v", files)
	}
	t.Setenv(node.ConfigEnv, "")
	for _, f := range files {
		for _, s := range append([]string{node.TargetAll}, services...) {
			cmd := node.Command("test", s, "")
			if err := cmd.ParseFlags([]string{"--config", f}); err != nil {
				t.Fatal(err)
			}
			if err := cmd.PreRunE(cmd, nil); err != nil {
				t.Errorf("%s as %s: %v", f, s, err)
			}
		}
	}
}

var updateDocs = flag.Bool("update-docs", false, "rewrite the stream table of docs/deploy.md")

// roles describe the streams whose configuration has no description.
var roles = map[bus.Stream]string{
	bus.Raw:        "harvested records exactly as received, with provenance",
	bus.Normalised: "canonical datasets, last version per dataset",
	bus.Enriched:   "datasets with PaNET techniques, links and quality, last version per dataset",
}

// streamTable renders the settings of every stream with three replicas.
func streamTable() string {
	var b strings.Builder
	b.WriteString("| Stream | Subjects | Replicas | Keeps | Per subject | Dedup window | What it holds |\n|---|---|---|---|---|---|---|\n")
	for _, s := range bus.Streams {
		c := bus.Topology{Replicas: 3}.StreamConfig(s)
		keeps := "forever"
		if c.MaxAge > 0 {
			keeps = fmt.Sprintf("%d days", int(c.MaxAge.Hours()/24))
		}
		per := "all"
		if c.MaxMsgsPerSubject > 0 {
			per = fmt.Sprintf("last %d", c.MaxMsgsPerSubject)
		}
		desc := c.Description
		if desc == "" {
			desc = roles[s]
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %d | %s | %s | %s | %s |\n", c.Name, strings.Join(c.Subjects, " "), c.Replicas, keeps, per, c.Duplicates, desc)
	}
	return b.String()
}

// TestStreamTable fails when docs/deploy.md's stream table differs from
// the streams the bus creates.
func TestStreamTable(t *testing.T) {
	const begin, end = "<!-- streams:begin -->\n", "<!-- streams:end -->"
	path := filepath.Join("..", "docs", "deploy.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), begin)
	_, after, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("%s lacks the stream table markers", path)
	}
	want := before + begin + streamTable() + end + after
	if want == string(doc) {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is stale: go test ./deploy/ -run TestStreamTable -update-docs", path)
}
