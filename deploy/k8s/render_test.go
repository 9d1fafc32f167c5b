// Package k8s holds the node's Kubernetes manifests (kustomize). Its tests
// render every overlay with the kustomize library, as `kustomize build`
// does, and check what would be applied against the code: the services'
// flags and settings, the ports and paths they serve, the objects the
// Deployments refer to, and the streams and consumers the autoscaler reads.
// It is a module of its own so that kustomize's dependencies stay out of
// the node's.
package k8s

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/node"
)

// The ops endpoints every service serves (pkg/node: on --ops-listen, or on
// the publisher's --http when it has one).
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
	metricsPath = "/metrics"
)

// monitorPort is the NATS servers' monitoring port (FAIRWAY_NATS_MONITOR_PORT
// in deploy/nats, docs/deploy.md).
const monitorPort = "8222"

// envRead are the environment variables the services read besides their
// flags' (node.EnvName), and which targets read them ("" for all).
var envRead = map[string]string{
	node.ConfigEnv:                "",
	"FAIRWAY_OPERATOR_TOKEN":      "",
	"FAIRWAY_CLICKHOUSE_PASSWORD": "clickhouse", // targets with a --clickhouse flag
}

// rendered is one overlay's output: every object by kind and name.
type rendered map[string]map[string]map[string]any

func (r rendered) get(kind, name string) map[string]any { return r[kind][name] }

// render builds the kustomization in dir as `kustomize build dir` does.
func render(t *testing.T, dir string) rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := rendered{}
	for _, res := range m.Resources() {
		obj, err := res.Map()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, res.CurId(), err)
		}
		if out[res.GetKind()] == nil {
			out[res.GetKind()] = map[string]map[string]any{}
		}
		if out[res.GetKind()][res.GetName()] != nil {
			t.Errorf("%s: two %s named %s", dir, res.GetKind(), res.GetName())
		}
		out[res.GetKind()][res.GetName()] = obj
	}
	return out
}

// overlays lists the overlays' directories.
func overlays(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("overlays", "*"))
	if err != nil || len(dirs) < 2 {
		t.Fatalf("overlays: %v %v", dirs, err)
	}
	return dirs
}

// get walks a decoded object: keys for maps, ints for lists.
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

func str(v any, path ...any) string {
	switch x := get(v, path...).(type) {
	case nil, map[string]any, []any:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func list(v any, path ...any) []any { l, _ := get(v, path...).([]any); return l }

// dataKeys returns the keys of a ConfigMap's or Secret's data, with their
// decoded values.
func dataKeys(obj map[string]any) map[string]string {
	out := map[string]string{}
	for _, field := range []string{"data", "stringData", "binaryData"} {
		m, _ := get(obj, field).(map[string]any)
		for k, v := range m {
			s, _ := v.(string)
			if obj["kind"] == "Secret" && field == "data" || field == "binaryData" {
				if b, err := base64.StdEncoding.DecodeString(s); err == nil {
					s = string(b)
				}
			}
			out[k] = s
		}
	}
	return out
}

var quantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`)

// mount is a container's volume mount, resolved to its volume.
type mount struct {
	path, subPath string
	readOnly      bool
	kind, object  string // ConfigMap or Secret and its name; "" for others
	keys          map[string]string
}

// fileIn finds the mount holding the absolute path p and the key of the
// ConfigMap or Secret it is ("" for other volumes).
func fileIn(mounts []mount, p string) (mount, string, bool) {
	p = path.Clean(p)
	for _, m := range mounts {
		if m.subPath != "" && p == m.path {
			return m, m.subPath, true
		}
		if m.subPath == "" && (p == m.path || strings.HasPrefix(p, m.path+"/")) {
			return m, strings.TrimPrefix(strings.TrimPrefix(p, m.path), "/"), true
		}
	}
	return mount{}, "", false
}

// TestRenderedDeployments renders every overlay and checks each
// Deployment against the service it runs: its arguments and environment
// are settings of that service and are accepted with the rendered
// configuration, the files they name are mounted from objects of the
// render, the probes and the scrape annotations reach the ops endpoints
// on the port the service serves them on, and resources are set.
func TestRenderedDeployments(t *testing.T) {
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := render(t, dir)
			if len(r["Deployment"]) != len(node.Targets)-1 {
				t.Errorf("%d Deployments, want one per service (%d)", len(r["Deployment"]), len(node.Targets)-1)
			}
			for name, dep := range r["Deployment"] {
				t.Run(name, func(t *testing.T) { checkDeployment(t, r, name, dep) })
			}
			for name, svc := range r["Service"] {
				checkService(t, r, name, svc)
			}
		})
	}
}

func checkDeployment(t *testing.T, r rendered, name string, dep map[string]any) {
	target, ok := strings.CutPrefix(name, "fairway-")
	if !ok || target == node.TargetAll || !slices.Contains(node.Targets, target) {
		t.Fatalf("Deployment %s runs no service of the node", name)
	}
	spec := get(dep, "spec", "template", "spec")
	labels, _ := get(dep, "spec", "template", "metadata", "labels").(map[string]any)
	sel, _ := get(dep, "spec", "selector", "matchLabels").(map[string]any)
	if len(sel) == 0 {
		t.Error("no selector")
	}
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("selector %s=%v does not match the pods' labels %v", k, v, labels)
		}
	}
	cs := list(spec, "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	c := cs[0]
	if img := str(c, "image"); !strings.Contains(img, "/fairway-"+target+":") {
		t.Errorf("image %q: not the overlay's fairway-%s with a registry and tag", img, target)
	}

	// Volumes and mounts, resolved to the render's objects.
	vols := map[string]map[string]any{}
	for _, v := range list(spec, "volumes") {
		vols[str(v, "name")], _ = v.(map[string]any)
	}
	var mounts []mount
	for _, mv := range list(c, "volumeMounts") {
		v, ok := vols[str(mv, "name")]
		if !ok {
			t.Errorf("mount of volume %s, which the pod lacks", str(mv, "name"))
			continue
		}
		m := mount{path: path.Clean(str(mv, "mountPath")), subPath: str(mv, "subPath"), readOnly: get(mv, "readOnly") == true}
		switch {
		case get(v, "configMap") != nil:
			m.kind, m.object = "ConfigMap", str(v, "configMap", "name")
		case get(v, "secret") != nil:
			m.kind, m.object = "Secret", str(v, "secret", "secretName")
		}
		if m.kind != "" {
			obj := r.get(m.kind, m.object)
			if obj == nil {
				t.Errorf("volume %s: %s %s is not in the render", str(mv, "name"), m.kind, m.object)
				continue
			}
			m.keys = dataKeys(obj)
			if _, ok := m.keys[m.subPath]; m.subPath != "" && !ok {
				t.Errorf("mount %s: %s %s has no key %s", m.path, m.kind, m.object, m.subPath)
			}
		}
		mounts = append(mounts, m)
	}

	// The environment: variables the service reads, from the render's
	// Secrets and ConfigMaps.
	cmd := node.Command("fairway-"+target, target, "")
	readEnv := map[string]bool{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) { readEnv[node.EnvName(f.Name)] = true })
	for e, needs := range envRead {
		if needs == "" || cmd.Flags().Lookup(needs) != nil {
			readEnv[e] = true
		}
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FAIRWAY_") {
			t.Setenv(k, "") // an empty variable is no setting
		}
	}
	for _, e := range list(c, "env") {
		k := str(e, "name")
		if !readEnv[k] {
			t.Errorf("env %s: no setting of the %s", k, target)
		}
		val := str(e, "value")
		for kind, ref := range map[string]string{"Secret": "secretKeyRef", "ConfigMap": "configMapKeyRef"} {
			if get(e, "valueFrom", ref) == nil {
				continue
			}
			obj := r.get(kind, str(e, "valueFrom", ref, "name"))
			v, ok := dataKeys(obj)[str(e, "valueFrom", ref, "key")]
			if obj == nil || !ok {
				t.Errorf("env %s: %s %s has no key %s", k, kind, str(e, "valueFrom", ref, "name"), str(e, "valueFrom", ref, "key"))
			}
			val = v
		}
		t.Setenv(k, val)
	}

	// The arguments: flags of the service, accepted with the mounted
	// configuration file (copied out of the render).
	args := slices.Clone(toStrings(list(c, "args")))
	if cmdline := list(c, "command"); len(cmdline) > 0 {
		t.Errorf("command %v replaces the image's entrypoint (the service)", cmdline)
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("args %v: %v", args, err)
	}
	if rest := cmd.Flags().Args(); len(rest) > 0 {
		t.Errorf("args %v: %v are no flags (the service takes no arguments)", args, rest)
	}
	cmd = node.Command("fairway-"+target, target, "")
	if cf := flagIn(args, "config"); cf != "" {
		m, key, ok := fileIn(mounts, cf)
		content, has := m.keys[key]
		if !ok || !has {
			t.Fatalf("--config %s is not mounted from a ConfigMap or Secret of the render", cf)
		}
		local := filepath.Join(t.TempDir(), "fairway.yaml")
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		args = replaceFlag(args, "config", local)
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := cmd.PreRunE(cmd, nil); err != nil {
		t.Fatalf("settings refused: %v", err)
	}
	setting := func(f string) string {
		if fl := cmd.Flags().Lookup(f); fl != nil {
			return fl.Value.String()
		}
		return ""
	}

	// Every setting that is an absolute path names a mounted file or
	// directory: the ConfigMap's or Secret's key, or a writable volume for
	// the data directory.
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		v := f.Value.String()
		if f.Name == "config" || !strings.HasPrefix(v, "/") {
			return
		}
		m, key, ok := fileIn(mounts, v)
		switch {
		case !ok:
			t.Errorf("--%s %s: not on a mounted volume", f.Name, v)
		case f.Name == "data" && (m.readOnly || m.kind != ""):
			t.Errorf("--data %s: on a read-only volume", v)
		case m.kind != "":
			if _, has := m.keys[key]; !has {
				t.Errorf("--%s %s: %s %s has no key %q", f.Name, v, m.kind, m.object, key)
			}
		}
	})

	// Where the ops endpoints are served (pkg/node Run): the publisher's
	// HTTP listener when it has one, else --ops-listen.
	ops := setting("ops-listen")
	if target == node.TargetPublisher && setting("http") != "" {
		ops = setting("http")
	}
	host, port, err := net.SplitHostPort(ops)
	if err != nil {
		t.Fatalf("ops endpoints on %q (unset, the default is loopback): %v", ops, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		t.Errorf("ops endpoints on %s: loopback, out of the kubelet's and Prometheus's reach", ops)
	}
	ports := map[string]string{} // name and number → number
	for _, p := range list(c, "ports") {
		n := str(p, "containerPort")
		ports[n] = n
		if str(p, "name") != "" {
			ports[str(p, "name")] = n
		}
	}
	if ports[port] != port {
		t.Errorf("the ops endpoints' port %s is not a container port (%v)", port, list(c, "ports"))
	}
	for probe, want := range map[string]string{"livenessProbe": healthzPath, "readinessProbe": readyzPath, "startupProbe": healthzPath} {
		if get(c, probe) == nil && probe == "startupProbe" {
			continue
		}
		if p := str(c, probe, "httpGet", "path"); p != want {
			t.Errorf("%s: path %q, want %s", probe, p, want)
		}
		if p := ports[str(c, probe, "httpGet", "port")]; p != port {
			t.Errorf("%s: port %q (%s), want the ops endpoints' %s", probe, str(c, probe, "httpGet", "port"), p, port)
		}
	}
	ann, _ := get(dep, "spec", "template", "metadata", "annotations").(map[string]any)
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != metricsPath {
		t.Errorf("scrape annotations %v, want port %s and path %s", ann, port, metricsPath)
	}

	for _, res := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
		a, b, _ := strings.Cut(res, ".")
		if q := str(c, "resources", a, b); !quantity.MatchString(q) {
			t.Errorf("resources.%s %q", res, q)
		}
	}
}

// checkService checks that a Service selects the pods of a Deployment and
// forwards to one of their ports.
func checkService(t *testing.T, r rendered, name string, svc map[string]any) {
	sel, _ := get(svc, "spec", "selector").(map[string]any)
	var pods []string
	for dn, dep := range r["Deployment"] {
		labels, _ := get(dep, "spec", "template", "metadata", "labels").(map[string]any)
		match := len(sel) > 0
		for k, v := range sel {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		pods = append(pods, dn)
		for _, p := range list(svc, "spec", "ports") {
			tp, found := str(p, "targetPort"), false
			for _, cp := range list(dep, "spec", "template", "spec", "containers", 0, "ports") {
				found = found || str(cp, "name") == tp || str(cp, "containerPort") == tp
			}
			if !found {
				t.Errorf("Service %s: target port %s is no port of %s", name, tp, dn)
			}
		}
	}
	if len(pods) != 1 {
		t.Errorf("Service %s selects the pods of %v, want one Deployment", name, pods)
	}
}

func toStrings(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// flagIn returns the value of --name in args ("" when absent).
func flagIn(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// replaceFlag returns args with the value of --name set to v.
func replaceFlag(args []string, name, v string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if strings.HasPrefix(a, "--"+name+"=") {
			out[i] = "--" + name + "=" + v
		}
		if a == "--"+name && i+1 < len(out) {
			out[i+1] = v
		}
	}
	return out
}

// TestRenderedScaledObjects checks every overlay's KEDA ScaledObjects: each
// scales a Deployment of the render, within its replica bounds, on the lag
// of a durable consumer of the bus's topology that the Deployment's
// service reads, through the monitoring port of the NATS servers the
// services connect to.
func TestRenderedScaledObjects(t *testing.T) {
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := render(t, dir)
			if len(r["ScaledObject"]) == 0 {
				t.Fatal("no ScaledObject")
			}
			for name, so := range r["ScaledObject"] {
				ref := str(so, "spec", "scaleTargetRef", "name")
				if k := str(so, "spec", "scaleTargetRef", "kind"); k != "" && k != "Deployment" {
					t.Errorf("%s scales a %s", name, k)
				}
				dep := r.get("Deployment", ref)
				if dep == nil {
					t.Errorf("%s scales %s, which the render lacks", name, ref)
					continue
				}
				if str(so, "metadata", "namespace") != str(dep, "metadata", "namespace") {
					t.Errorf("%s in namespace %q, its Deployment in %q", name, str(so, "metadata", "namespace"), str(dep, "metadata", "namespace"))
				}
				lo, _ := strconv.Atoi(str(so, "spec", "minReplicaCount"))
				hi, _ := strconv.Atoi(str(so, "spec", "maxReplicaCount"))
				n, _ := strconv.Atoi(str(dep, "spec", "replicas"))
				if lo < 1 || hi < lo || n < lo || n > hi {
					t.Errorf("%s: replicas %d to %d, its Deployment %d", name, lo, hi, n)
				}
				target := strings.TrimPrefix(ref, "fairway-")
				natsHosts := natsHostsOf(t, r, dep, target)
				trs := list(so, "spec", "triggers")
				if len(trs) == 0 {
					t.Errorf("%s: no trigger", name)
				}
				for _, tr := range trs {
					checkTrigger(t, name, target, natsHosts, tr)
				}
			}
		})
	}
}

func checkTrigger(t *testing.T, name, target string, natsHosts []string, tr any) {
	if str(tr, "type") != "nats-jetstream" {
		t.Errorf("%s: trigger %q", name, str(tr, "type"))
		return
	}
	stream, stage := bus.Stream(str(tr, "metadata", "stream")), bus.Stage(str(tr, "metadata", "consumer"))
	if !slices.Contains(bus.Streams, stream) {
		t.Errorf("%s: stream %q is not one of the bus's %v", name, stream, bus.Streams)
	}
	if !slices.Contains(bus.Consumers, bus.ConsumerSpec{Stage: stage, Stream: stream}) {
		t.Errorf("%s: no durable consumer %q on %s in the bus's topology", name, stage, stream)
	}
	if string(stage) != target && (target != node.TargetAnalytics || !bus.BatchStage(stage)) {
		t.Errorf("%s: consumer %s is not read by the %s", name, stage, target)
	}
	if a := str(tr, "metadata", "account"); a != "$G" {
		t.Errorf("%s: account %q; the servers have no accounts (deploy/nats), so $G", name, a)
	}
	host, port, err := net.SplitHostPort(str(tr, "metadata", "natsServerMonitoringEndpoint"))
	if err != nil || port != monitorPort {
		t.Errorf("%s: monitoring endpoint %q, want host:%s (FAIRWAY_NATS_MONITOR_PORT): %v", name, str(tr, "metadata", "natsServerMonitoringEndpoint"), monitorPort, err)
	}
	for _, h := range natsHosts {
		if h != host && !strings.HasSuffix(h, "."+host) {
			t.Errorf("%s: monitoring endpoint %s is not the Service of the NATS server %s the services use", name, host, h)
		}
	}
	for _, k := range []string{"lagThreshold", "activationLagThreshold"} {
		if v, err := strconv.Atoi(str(tr, "metadata", k)); err != nil || v < 0 || k == "lagThreshold" && v == 0 {
			t.Errorf("%s: %s %q", name, k, str(tr, "metadata", k))
		}
	}
}

// natsHostsOf returns the hosts of the NATS URLs of the Deployment's
// service, from its rendered configuration file.
func natsHostsOf(t *testing.T, r rendered, dep map[string]any, target string) []string {
	t.Helper()
	c := get(dep, "spec", "template", "spec", "containers", 0)
	cf := flagIn(toStrings(list(c, "args")), "config")
	var content string
	for _, m := range list(c, "volumeMounts") {
		if path.Clean(str(m, "mountPath")) != path.Clean(cf) {
			continue
		}
		for _, v := range list(dep, "spec", "template", "spec", "volumes") {
			if str(v, "name") == str(m, "name") {
				content = dataKeys(r.get("ConfigMap", str(v, "configMap", "name")))[str(m, "subPath")]
			}
		}
	}
	local := filepath.Join(t.TempDir(), "fairway.yaml")
	if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(node.ConfigEnv, "")
	t.Setenv(node.EnvName("nats"), "")
	cmd := node.Command("x", target, "")
	if err := cmd.ParseFlags([]string{"--config", local}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.PreRunE(cmd, nil); err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, s := range strings.Split(cmd.Flags().Lookup("nats").Value.String(), ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Hostname() == "" {
			t.Errorf("NATS URL %q: %v", s, err)
			continue
		}
		hosts = append(hosts, u.Hostname())
	}
	if len(hosts) == 0 {
		t.Error("the service's configuration names no NATS server")
	}
	return hosts
}
