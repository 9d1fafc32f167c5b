package node

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the settings table of docs/configuration.md")

// clearSettingsEnv empties every environment variable a setting reads, so
// that the machine's environment cannot leak into a test.
func clearSettingsEnv(t *testing.T) {
	t.Helper()
	for name := range knownSettings() {
		t.Setenv(EnvName(name), "")
	}
	t.Setenv(ConfigEnv, "")
	t.Setenv("FAIRWAY_CLICKHOUSE_PASSWORD", "")
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fairway.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSettingsPrecedence checks flag > environment > file > default, for
// scalar and list settings, and that FAIRWAY_CONFIG names the file.
func TestSettingsPrecedence(t *testing.T) {
	file := "concurrency: 5\nreplicas: 3\nnats: nats://file:4222\npanet-aliases: [a.json, b.json]\nno-analytics: true\n" +
		"panet: /file/PaNET.owl\n"
	tests := []struct {
		name     string
		target   string
		args     []string
		env      map[string]string
		file     string // "" means no file
		viaEnv   bool   // the file is named by FAIRWAY_CONFIG, not --config
		flagName string
		want     string
	}{
		{"default", TargetAll, nil, nil, "", false, "concurrency", "8"},
		{"file over default", TargetAll, nil, nil, file, false, "concurrency", "5"},
		{"file named by FAIRWAY_CONFIG", TargetAll, nil, nil, file, true, "concurrency", "5"},
		{"env over file", TargetAll, nil, map[string]string{"FAIRWAY_CONCURRENCY": "7"}, file, false, "concurrency", "7"},
		{"flag over env and file", TargetAll, []string{"--concurrency", "9"}, map[string]string{"FAIRWAY_CONCURRENCY": "7"}, file, false, "concurrency", "9"},
		{"env over default", TargetNormaliser, nil, map[string]string{"FAIRWAY_REPLICAS": "3"}, "", false, "replicas", "3"},
		{"file replicas on a service", TargetNormaliser, nil, nil, file, false, "replicas", "3"},
		{"file string", TargetHarvester, nil, nil, file, false, "nats", "nats://file:4222"},
		{"env under its listed name", TargetAnalytics, nil, map[string]string{"FAIRWAY_CLICKHOUSE_ADDR": "10.0.0.9:9000"}, "clickhouse: 10.0.0.8:9000\n", false, "clickhouse", "10.0.0.9:9000"},
		{"file list", TargetEnricher, nil, nil, file, false, "panet-aliases", "[a.json,b.json]"},
		{"env list, comma separated", TargetEnricher, nil, map[string]string{"FAIRWAY_PANET_ALIASES": "x.json,y.json"}, file, false, "panet-aliases", "[x.json,y.json]"},
		{"flag list over file", TargetEnricher, []string{"--panet-aliases", "z.json"}, nil, file, false, "panet-aliases", "[z.json]"},
		{"file bool", TargetPublisher, nil, nil, file, false, "no-analytics", "true"},
		{"flag bool false over file", TargetPublisher, []string{"--no-analytics=false"}, nil, file, false, "no-analytics", "false"},
		{"env path over file", TargetEnricher, nil, map[string]string{"FAIRWAY_PANET": "/env/PaNET.owl"}, file, false, "panet", "/env/PaNET.owl"},
		{"duration from file", TargetHarvester, nil, nil, "poll: 30s\n", false, "poll", "30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearSettingsEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var path string
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			cmd := Command("test", tt.target, "")
			args := tt.args
			if path != "" && tt.viaEnv {
				t.Setenv(ConfigEnv, path)
			} else if path != "" {
				args = append(args, "--config", path)
			}
			if err := cmd.ParseFlags(args); err != nil {
				t.Fatal(err)
			}
			if err := cmd.PreRunE(cmd, nil); err != nil {
				t.Fatal(err)
			}
			f := cmd.Flags().Lookup(tt.flagName)
			if f == nil {
				t.Fatalf("no --%s", tt.flagName)
			}
			if got := f.Value.String(); got != tt.want {
				t.Fatalf("--%s = %q, want %q", tt.flagName, got, tt.want)
			}
		})
	}
}

// TestSettingsFileErrors checks that a file the node cannot use stops it
// with the reason, and that a key only other services know is skipped.
func TestSettingsFileErrors(t *testing.T) {
	tests := []struct {
		name, target, file string
		err                string // "" means no error
	}{
		{"misspelt key", TargetAll, "concurency: 3\n", "unknown settings concurency"},
		{"key of another service", TargetNormaliser, "panet: /x.owl\nhttp: 127.0.0.1:9\n", ""},
		{"bad number", TargetAll, "concurrency: many\n", "concurrency"},
		{"map value", TargetAll, "nats: {a: b}\n", "want a string"},
		{"list for a scalar", TargetAll, "nats: [a, b]\n", "one value"},
		{"not a mapping", TargetAll, "- a\n- b\n", "configuration file"},
		{"empty file", TargetAll, "", ""},
		{"too large", TargetAll, "# " + strings.Repeat("x", maxConfigFile) + "\n", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearSettingsEnv(t)
			fs := targetFlags(tt.target)
			err := applySettings(fs, writeFile(t, tt.file))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("applySettings = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("applySettings = %v, want %q", err, tt.err)
			}
			if tt.name != "bad number" && !errors.Is(err, ErrConfigFile) {
				t.Fatalf("applySettings = %v, not ErrConfigFile", err)
			}
		})
	}
	clearSettingsEnv(t)
	if err := applySettings(targetFlags(TargetAll), filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("a missing configuration file was accepted")
	}
}

// settingsTable renders the table of every setting from the flag
// definitions of every target.
func settingsTable(t *testing.T) string {
	t.Helper()
	clearSettingsEnv(t)
	type row struct {
		def, usage string
		targets    []string
	}
	rows := map[string]*row{}
	for _, target := range Targets {
		targetFlags(target).VisitAll(func(f *pflag.Flag) {
			r, ok := rows[f.Name]
			if !ok {
				r = &row{def: f.DefValue, usage: f.Usage}
				rows[f.Name] = r
			}
			r.targets = append(r.targets, target)
		})
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("| Flag | Environment | Default | Services | What it sets |\n|---|---|---|---|---|\n")
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	for _, n := range names {
		r := rows[n]
		targets := strings.Join(r.targets, ", ")
		if len(r.targets) == len(Targets) {
			targets = "every one"
		}
		env := "`" + EnvName(n) + "`"
		if n == "config" {
			env = "`" + ConfigEnv + "`"
		}
		def := r.def
		if def == "" || def == "[]" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		b.WriteString("| `--" + n + "` | " + env + " | " + esc.Replace(def) + " | " + targets + " | " + esc.Replace(r.usage) + " |\n")
	}
	return b.String()
}

const tableBegin, tableEnd = "<!-- settings:begin (generated: go test ./pkg/node/ -run TestConfigurationDoc -update-docs) -->\n", "<!-- settings:end -->"

// TestConfigurationDoc fails when the settings table of
// docs/configuration.md differs from the flags the services define.
func TestConfigurationDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "configuration.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), tableBegin)
	_, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("%s lacks the table markers %q … %q", path, tableBegin, tableEnd)
	}
	want := before + tableBegin + settingsTable(t) + tableEnd + after
	if want == string(doc) {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is stale: run go test ./pkg/node/ -run TestConfigurationDoc -update-docs", path)
}
