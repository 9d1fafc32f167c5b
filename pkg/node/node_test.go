package node

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/panosc/fairway/pkg/api"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"all, embedded", Config{}, ""},
		{"service with nats", Config{Target: TargetEnricher, NATSURL: "nats://127.0.0.1:4222"}, ""},
		{"service without nats", Config{Target: TargetPublisher}, "needs a NATS URL"},
		{"unknown target", Config{Target: "indexer"}, "target"},
		{"demo on enricher", Config{Target: TargetEnricher, NATSURL: "nats://x", Demo: true}, "--demo"},
		{"demo on harvester", Config{Target: TargetHarvester, NATSURL: "nats://x", Demo: true}, ""},
		{"negative concurrency", Config{Concurrency: -1}, "negative"},
		{"negative demo records", Config{Demo: true, DemoRecords: -5}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.setDefaults()
			err := tt.cfg.Validate()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.err)
			}
		})
	}
}

// TestFlagsPerTarget checks that each service exposes the flags of what it
// runs, and only those.
func TestFlagsPerTarget(t *testing.T) {
	tests := []struct {
		target       string
		want, absent []string
	}{
		{TargetAll, []string{"nats", "data", "http", "clickhouse", "panet", "demo", "concurrency", "tokens", "allow-private-feeds"}, []string{"operator-token"}},
		{TargetHarvester, []string{"nats", "demo", "poll", "tokens", "allow-private-feeds"}, []string{"http", "panet", "concurrency"}},
		{TargetNormaliser, []string{"nats", "concurrency"}, []string{"http", "panet", "demo", "tokens"}},
		{TargetEnricher, []string{"nats", "panet"}, []string{"http", "demo", "tokens"}},
		{TargetPublisher, []string{"nats", "http", "clickhouse", "base-url", "tokens", "allow-private-feeds"}, []string{"panet", "demo", "operator-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var cfg Config
			fs := pflag.NewFlagSet(tt.target, pflag.ContinueOnError)
			cfg.BindFlags(fs, tt.target)
			for _, name := range tt.want {
				if fs.Lookup(name) == nil {
					t.Errorf("missing --%s", name)
				}
			}
			for _, name := range tt.absent {
				if fs.Lookup(name) != nil {
					t.Errorf("unexpected --%s", name)
				}
			}
		})
	}
}

func TestDemoFeedsAreValid(t *testing.T) {
	formats := map[string]int{}
	for _, f := range DemoFeeds("http://127.0.0.1:1/oai") {
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
		formats[f.Format]++
	}
	if formats["oai_datacite"] == 0 || formats["oai_dc"] == 0 {
		t.Errorf("demo feeds use formats %v; want both oai_datacite and oai_dc", formats)
	}
}

func TestLogConfig(t *testing.T) {
	for _, c := range []LogConfig{{"info", "text"}, {"debug", "json"}, {"warn", ""}} {
		if _, err := c.Logger(); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
	for _, c := range []LogConfig{{"loud", "text"}, {"info", "xml"}} {
		if _, err := c.Logger(); err == nil {
			t.Errorf("%v: want an error", c)
		}
	}
}

func TestFeedPolicy(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		tokens  api.TokensFile
		private bool
		allow   int
		err     bool
	}{
		{"default refuses private feeds", Config{}, api.TokensFile{}, false, 0, false},
		{"flag", Config{AllowPrivateFeeds: true}, api.TokensFile{}, true, 0, false},
		{"demo", Config{Demo: true}, api.TokensFile{}, true, 0, false},
		{"tokens file", Config{}, api.TokensFile{AllowPrivateFeeds: true}, true, 0, false},
		{"allowed networks", Config{}, api.TokensFile{AllowNetworks: []string{"10.1.0.0/16", "fd00::/8"}}, false, 2, false},
		{"bad network", Config{}, api.TokensFile{AllowNetworks: []string{"10.1.0.0"}}, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := feedPolicy(tt.cfg, tt.tokens)
			if tt.err != (err != nil) || p.AllowPrivate != tt.private || len(p.Allow) != tt.allow {
				t.Fatalf("feedPolicy = %+v, %v", p, err)
			}
		})
	}
}
