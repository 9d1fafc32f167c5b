package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/panosc/fairway/pkg/harvester"
)

// LogConfig selects the log level and format.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string
	// Format is text or json. Default text.
	Format string
}

// Logger returns the slog logger the configuration describes.
func (c LogConfig) Logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.Level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(c.Format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", c.Format)
}

// BindFlags registers the node's flags for target on fs, with defaults.
func (c *Config) BindFlags(fs *pflag.FlagSet, target string) {
	c.Target = target
	fs.StringVar(&c.NATSURL, "nats", c.NATSURL, "NATS server URL(s), comma separated, nats://[user:password@]host:port (target all: empty starts an embedded server)")
	fs.StringVar(&c.NATSCredentials, "nats-credentials", envOr("FAIRWAY_NATS_CREDENTIALS", ""), "file of the NATS user and password (user=… and password=… lines; env FAIRWAY_NATS_CREDENTIALS)")
	fs.IntVar(&c.Topology.Replicas, "replicas", 1, "replicas of every stream and bucket: 3 on a 3-node NATS cluster (use the same value in every service)")
	if target == TargetAll {
		fs.StringVar(&c.DataDir, "data", ".fairway", "data directory (embedded NATS store, read model)")
		fs.StringVar(&c.NATSListen, "nats-listen", "", "also let clients reach the embedded NATS at this address")
		fs.IntVar(&c.NATSMaxMemoryMiB, "nats-max-memory", DefaultNATSMaxMemoryMiB, "MiB of the embedded JetStream's memory store (no stream uses it)")
	}
	fs.IntVar(&c.MemoryLimitMiB, "memory-limit", 0, fmt.Sprintf("the Go runtime's soft memory limit in MiB (default: for target all %d, raised to the live heap and %d%% more when that is larger; none for the others; unless env GOMEMLIMIT sets one; negative: none, GOMEMLIMIT's included)", DefaultMemoryLimitMiB, DefaultMemoryHeadroomPercent))
	if target == TargetPublisher {
		fs.StringVar(&c.DataDir, "data", ".fairway", "data directory (the read model of the catalogue, in <data>/readmodel)")
	}
	if target == TargetAll || target == TargetPublisher {
		fs.StringVar(&c.Replica, "replica", "", "name of this replica's read model consumer (default: host name and a digest of the data directory)")
		fs.StringVar(&c.HTTPAddr, "http", "127.0.0.1:8080", "HTTP listen address (catalogue, OAI-PMH); empty disables")
		fs.StringVar(&c.BaseURL, "base-url", "", "public base URL of the node (default http://<http>)")
		fs.StringVar(&c.AdminEmail, "admin-email", "", "e-mail address of the node's administrator, in OAI-PMH Identify (default: the provider's)")
		bindClickHouseFlags(fs, &c.ClickHouse)
		fs.StringVar(&c.OIDCConfigFile, "oidc-config", "", "YAML file of the OpenID Providers whose sign-in tokens the API accepts and how their claims map to roles (see docs/aai.md)")
		fs.StringVar(&c.OIDC.URL, "oidc-issuer", "", "an OpenID Provider (issuer URL) whose sign-in tokens the API accepts, beside the static tokens (e.g. EOSC AAI)")
		fs.StringVar(&c.OIDC.Audience, "oidc-audience", "", "the \"aud\" the --oidc-issuer's tokens must hold for this node")
		fs.DurationVar(&c.OIDC.ClockSkew, "oidc-clock-skew", 0, "clock difference allowed with the --oidc-issuer when checking expiry (default 30s, at most 10m)")
		fs.StringArrayVar(&c.OIDC.Claims, "oidc-claims", nil, "claims of the --oidc-issuer's tokens whose values the rules compare (default eduperson_entitlement, entitlements, groups)")
		fs.StringArrayVar(&c.OIDC.Operators, "oidc-operators", nil, "entitlements or groups (or sub:SUBJECT) of the --oidc-issuer's tokens that act as operator")
		fs.StringArrayVar(&c.OIDC.FacilityManagers, "oidc-facility-managers", nil, "FACILITY=ENTITLEMENT (or FACILITY=sub:SUBJECT): tokens of the --oidc-issuer that manage that facility's feeds and usage")
		fs.BoolVar(&c.NoAnalytics, "no-analytics", false, "do not write analytics to ClickHouse")
		bindQueryFlags(fs, &c.Queries)
		fs.StringVar(&c.UsageRobots, "usage-robots", envOr("FAIRWAY_USAGE_ROBOTS", ""), "file of robots' user-agent patterns whose traffic is not counted as usage (a regular expression a line, or COUNTER's JSON list; reread when it changes; default: the built-in list; env FAIRWAY_USAGE_ROBOTS)")
	}
	if target == TargetAnalytics {
		bindClickHouseFlags(fs, &c.ClickHouse)
	}
	if target == TargetAll || target == TargetPublisher || target == TargetHarvester {
		fs.StringVar(&c.TokensFile, "tokens", "", "JSON file of the feed API's tokens and address rules: {\"operator\": [...], \"facilities\": {\"ESRF\": [...]}} (also env FAIRWAY_OPERATOR_TOKEN)")
		fs.BoolVar(&c.AllowPrivateFeeds, "allow-private-feeds", false, "let feeds point at loopback, private and link-local addresses (registration and harvests)")
	}
	if target == TargetAll || target == TargetEnricher {
		fs.StringVar(&c.PaNET, "panet", envOr("FAIRWAY_PANET", ""), "path or URL of the PaNET OWL file (default: the official release; env FAIRWAY_PANET)")
		var aliases []string
		if env := envOr("FAIRWAY_PANET_ALIASES", ""); env != "" {
			aliases = strings.Split(env, ",")
		}
		fs.StringArrayVar(&c.PaNETAliases, "panet-aliases", aliases, "a PaNET alias dictionary (JSON, like ESRF's PaNET-aliases.json) whose names extend the synonyms; repeat for several (env FAIRWAY_PANET_ALIASES, comma separated)")
	}
	if target == TargetAll || target == TargetHarvester {
		fs.BoolVar(&c.Demo, "demo", false, "start the built-in sample facility and register its feeds (demo-<facility>)")
		fs.IntVar(&c.DemoRecords, "demo-records", 500, "records in the demo corpus")
		fs.IntVar(&c.DemoPageSize, "demo-page-size", 25, "page size of the demo feeds")
		fs.Float64Var(&c.DemoRate, "demo-rate", 0, "records per second the demo facility serves at most, over all its feeds (0: as fast as asked)")
		fs.DurationVar(&c.Harvester.PollInterval, "poll", 0, "how often the feed registry is checked (default 5s)")
		fs.IntVar(&c.Harvester.MaxBacklog, "max-backlog", harvester.DefaultMaxBacklog, "flow control: a harvest waits between pages while this many messages wait for the normaliser, enricher and publisher (negative: no bound)")
	}
	if def, ok := defaultOpsListen[target]; ok {
		usage := "address of the ops endpoints /metrics, /healthz and /readyz (default " + def + "; \"off\": none; the default taken by another process is logged, not fatal)"
		if target == TargetPublisher {
			usage += "; used only when --http is empty (else they are served there)"
		}
		// Empty here: the default is applied by Run, which then knows it
		// was not asked for.
		fs.StringVar(&c.OpsListen, "ops-listen", "", usage)
	}
	if target != TargetHarvester && target != TargetAnalytics {
		fs.IntVar(&c.Concurrency, "concurrency", DefaultConcurrency, "messages each stage handles at once")
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Command returns the command that runs target until SIGINT or SIGTERM,
// draining in-flight messages before it exits.
func Command(use, target, short string) *cobra.Command {
	var cfg Config
	var logc LogConfig
	var configFile string
	cmd := &cobra.Command{
		Use:           use,
		Short:         short,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: false,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return applySettings(cmd.Flags(), configFile)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logc.Logger()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				// After the first signal, a second one ends the process at
				// once instead of waiting for the drain.
				<-ctx.Done()
				stop()
			}()
			cfg.OperatorToken = os.Getenv("FAIRWAY_OPERATOR_TOKEN")
			ApplyMemoryLimit(context.WithoutCancel(ctx), cfg, log) // for as long as the process runs, its drain too
			return Run(ctx, cfg, log)
		},
	}
	cfg.BindFlags(cmd.Flags(), target)
	BindLogFlags(cmd.Flags(), &logc)
	bindConfigFlag(cmd.Flags(), &configFile)
	return cmd
}

// BindLogFlags registers --log-level and --log-format.
func BindLogFlags(fs *pflag.FlagSet, c *LogConfig) {
	fs.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.Format, "log-format", "text", "log format: text or json")
}

// Main runs one service's command and returns the process exit code.
func Main(target string) int {
	cmd := Command("fairway-"+target, target, "Fairway "+target+" service")
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		return 1
	}
	return 0
}
