// Package node is Fairway's command line: it wires the stages into a
// running process — one binary runs as the whole node (target "all":
// embedded NATS, every stage, one HTTP listener) or as one service per
// process (targets "harvester", "normaliser", "enricher", "publisher",
// "analytics") against an external NATS — and holds the operator's commands that talk to
// a running node (feeds, harvest, datasets, dlq).
package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/panosc/fairway/pkg/panoscapi"

	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/catalogue"
	"github.com/panosc/fairway/pkg/dcat"
	"github.com/panosc/fairway/pkg/delivery"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/harvester"
	"github.com/panosc/fairway/pkg/metrics"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/nodepage"
	"github.com/panosc/fairway/pkg/normaliser"
	"github.com/panosc/fairway/pkg/oaiprovider"
	"github.com/panosc/fairway/pkg/publisher"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/samplefeed"
	"github.com/panosc/fairway/pkg/search"
	"github.com/panosc/fairway/pkg/sushi"
	"github.com/panosc/fairway/pkg/urlguard"
	"github.com/panosc/fairway/pkg/usage"
)

// Targets a process can run.
const (
	TargetAll        = "all"
	TargetHarvester  = "harvester"
	TargetNormaliser = "normaliser"
	TargetEnricher   = "enricher"
	TargetPublisher  = "publisher"
	// TargetAnalytics runs the analytics writer alone (the targets all and
	// publisher run it too, unless NoAnalytics).
	TargetAnalytics = "analytics"
)

// Targets lists the valid targets.
var Targets = []string{TargetAll, TargetHarvester, TargetNormaliser, TargetEnricher, TargetPublisher, TargetAnalytics}

// DefaultConcurrency is the default Config.Concurrency. Separate services
// handled 263–314 records/s with 2 and 357–449 with 8, at less CPU per
// record (docs/performance.md#stage-concurrency); fairway up, whose CPU the
// garbage collector bounds, ran alike with either.
const DefaultConcurrency = 8

// Config configures a node process.
type Config struct {
	// Target selects what the process runs. Default "all".
	Target string
	// NATSURL is the external NATS server. Empty with target "all" starts an
	// embedded server (file store under DataDir/nats).
	NATSURL string
	// NATSCredentials is a file of the user and password the external NATS
	// server wants (as `fairway up --nats-listen` writes it); the URLs may
	// carry them instead (nats://user:password@host:port).
	NATSCredentials string
	// NATSListen, with an embedded server, also listens for clients there
	// (e.g. 127.0.0.1:4222); empty means in-process only. Clients then
	// need the user and password of DataDir/nats-credentials (generated
	// the first time, mode 0600).
	NATSListen string
	// DataDir holds the embedded server's store, the generated operator
	// token, the last PaNET release loaded and the read model of the
	// catalogue (DataDir/readmodel); a relative one is made absolute at
	// start. Default ".fairway".
	DataDir string
	// Replica names this process's read model consumer on the catalogue
	// stream: each replica of the publisher keeps a read model of its own.
	// Default: the host name and a digest of the data directory, so that
	// it stays the same across restarts.
	Replica string
	// AdminEmail is the administrator's address that OAI-PMH Identify
	// gives. Default: the provider's.
	AdminEmail string
	// HTTPAddr is where the catalogue is served (targets all and
	// publisher); "" disables HTTP. Default 127.0.0.1:8080.
	HTTPAddr string
	// BaseURL is the node's public URL. Default http://<HTTPAddr>.
	BaseURL string
	// HTTPTimeouts bound the HTTP server's connections.
	HTTPTimeouts HTTPTimeouts
	// Queries says who may call the query endpoints (MCP, the PaNOSC
	// search API) and how often.
	Queries QueryEndpoints
	// TokensFile is the JSON file of the API's tokens (see api.TokensFile);
	// empty means none.
	TokensFile string
	// OperatorToken is one more operator token of the API; Command reads
	// it from FAIRWAY_OPERATOR_TOKEN (never from a flag: ps shows flags).
	OperatorToken string
	// OIDCConfigFile is a YAML (or JSON) file of the issuers whose sign-in
	// tokens the API accepts and how their claims map to roles (see
	// aai.Config); empty means none.
	OIDCConfigFile string
	// OIDC is one more issuer, given by flags (--oidc-issuer and the
	// flags beside it).
	OIDC aai.FlagIssuer
	// AllowPrivateFeeds lets feeds point at loopback, private and
	// link-local addresses (implied by Demo).
	AllowPrivateFeeds bool
	// ClickHouse is where analytics go (targets all, publisher and
	// analytics).
	ClickHouse analytics.Config
	// NoAnalytics turns the analytics writer off (targets all, publisher and
	// analytics), and the usage reports, which read what it writes.
	NoAnalytics bool
	// UsageRobots is a file of the user-agent patterns of robots whose
	// traffic is not counted as usage (one regular expression a line, or
	// COUNTER's JSON list), read again when it changes; empty means the
	// built-in list (see usage.Classifier).
	UsageRobots string
	// PaNET is the path or URL of the PaNET OWL file.
	PaNET string
	// PaNETAliases are alias dictionaries that extend PaNET's synonyms
	// (see enricher.Config.Aliases).
	PaNETAliases []string
	// Demo starts the built-in sample facility and registers it as a feed.
	Demo bool
	// DemoRecords is the size of the demo corpus. Default 500.
	DemoRecords int
	// DemoPageSize is the demo feeds' page size. Default 25.
	DemoPageSize int
	// DemoRate, when positive, is how many records per second the demo
	// facility serves at most, over all its feeds (a steady feed, for
	// measuring latency). Default 0: as fast as it is asked.
	DemoRate float64
	// Concurrency of each consuming stage: messages each handles at once
	// (each on a consumer connection of its own). Default 8
	// (DefaultConcurrency).
	Concurrency int
	// Harvester tunes the harvester.
	Harvester harvester.Config
	// Topology tunes streams and consumers.
	Topology bus.Topology
	// MemoryLimitMiB is the Go runtime's soft memory limit in MiB, set by
	// the commands before Run (see ApplyMemoryLimit). Zero means, for
	// target all, DefaultMemoryLimitMiB or the live heap and
	// DefaultMemoryHeadroomPercent more, whichever is larger (unless
	// GOMEMLIMIT is set), and none for the other targets; negative means
	// none, GOMEMLIMIT's too.
	MemoryLimitMiB int
	// NATSMaxMemoryMiB bounds the embedded JetStream's memory store, in
	// MiB. Default DefaultNATSMaxMemoryMiB.
	NATSMaxMemoryMiB int
	// Ready, when set, is closed once every stage runs.
	Ready chan struct{}
	// OpsListen is where /metrics, /healthz and /readyz are served by a
	// process without the catalogue's HTTP (the targets all and publisher
	// serve them on HTTPAddr, unless it is empty); "off" disables them.
	// Default per target: harvester 127.0.0.1:9101, normaliser :9102,
	// enricher :9103, publisher :9104, analytics :9105.
	OpsListen string
	// OpsAddr, when set, receives the address the ops endpoints are served
	// on once they are (tests listen on port 0).
	OpsAddr chan<- string
	// opsDefault says OpsListen is the target's default.
	opsDefault bool
}

func (c *Config) setDefaults() {
	if c.Target == "" {
		c.Target = TargetAll
	}
	if c.DataDir == "" {
		c.DataDir = ".fairway"
	}
	if c.BaseURL == "" && c.HTTPAddr != "" {
		c.BaseURL = "http://" + c.HTTPAddr
	}
	if c.DemoRecords == 0 {
		c.DemoRecords = 500
	}
	if c.DemoPageSize == 0 {
		c.DemoPageSize = 25
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.NATSMaxMemoryMiB == 0 {
		c.NATSMaxMemoryMiB = DefaultNATSMaxMemoryMiB
	}
	if c.OpsListen == "" {
		c.OpsListen = defaultOpsListen[c.Target]
		c.opsDefault = true
	}
}

// Validate reports whether the configuration is usable.
func (c Config) Validate() error {
	if !slices.Contains(Targets, c.Target) {
		return fmt.Errorf("node: target %q: want one of %v", c.Target, Targets)
	}
	if c.Target != TargetAll && c.NATSURL == "" {
		return fmt.Errorf("node: target %s needs a NATS URL", c.Target)
	}
	if c.Demo && c.Target != TargetAll && c.Target != TargetHarvester {
		return errors.New("node: --demo needs target all or harvester")
	}
	if c.DemoRecords < 0 || c.DemoPageSize < 0 || c.Concurrency < 0 || c.NATSMaxMemoryMiB < 0 || c.DemoRate < 0 {
		return errors.New("node: negative demo records, demo page size, demo rate, concurrency or NATS max memory")
	}
	// The sign-in file is read here, so that a bad one stops the node
	// before anything starts, not when the API does.
	if _, err := c.SignIn(); err != nil {
		return err
	}
	if err := c.Queries.Validate(); err != nil {
		return err
	}
	return c.HTTPTimeouts.Validate()
}

// SignIn returns the sign-in configuration: the issuers of
// OIDCConfigFile and the one of the --oidc flags, validated.
func (c Config) SignIn() (aai.Config, error) {
	sc, err := aai.LoadFile(c.OIDCConfigFile)
	if err != nil {
		return sc, err
	}
	is, ok, err := c.OIDC.Issuer()
	if err != nil {
		return sc, err
	}
	if ok {
		sc.Issuers = append(sc.Issuers, is)
	}
	return sc, sc.Validate()
}

func (c Config) runs(target string) bool { return c.Target == TargetAll || c.Target == target }

// Run runs the node until ctx ends, then drains every stage and returns.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Every path derived from the data directory is absolute, whatever the
	// user passed: logs name it, and other programs resolve it elsewhere.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("node: data dir %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dataDir
	// One registry per process: the stages report through the bus, the
	// harvester through its observer.
	mx := metrics.New()
	cfg.Harvester.Observer = mx
	bcfg := bus.Config{Name: "fairway-" + cfg.Target, Topology: cfg.Topology, Logger: log, Observer: mx}
	if cfg.NATSURL != "" {
		// Credentials in the URLs move into options: errors and logs quote
		// URLs.
		if bcfg.URL, bcfg.Options, err = natsClient(cfg.NATSURL, cfg.NATSCredentials); err != nil {
			return err
		}
	}
	if cfg.NATSURL == "" {
		// The data directory holds the operator token and the NATS
		// credentials: only its owner may enter it.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("node: data dir: %w", err)
		}
		dir := filepath.Join(cfg.DataDir, "nats")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("node: data dir: %w", err)
		}
		ecfg := natsembed.Config{StoreDir: dir, Listen: cfg.NATSListen, CredentialsFile: filepath.Join(cfg.DataDir, natsembed.CredentialsFile),
			MaxMemory: int64(cfg.NATSMaxMemoryMiB) << 20}
		ns, err := natsembed.Start(ecfg)
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		bcfg.InProcess = ns
		log.Info("embedded NATS started", "store", dir, "listen", cfg.NATSListen)
		if path := ecfg.CredentialsPath(); path != "" {
			creds, err := natsembed.ReadCredentials(path)
			if err != nil {
				return err
			}
			bcfg.Options = append(bcfg.Options, creds.Option())
			log.Info("embedded NATS: clients need the user and password of the credentials file", "listen", cfg.NATSListen, "user", creds.User, "file", path)
		}
	}
	b, err := bus.Connect(ctx, bcfg)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := mx.RegisterLag(b, metrics.LagConfig{Logger: log}); err != nil {
		return err
	}
	hl := newHealth()
	var consumed []bus.Stage
	for _, st := range []bus.Stage{bus.StageNormaliser, bus.StageEnricher, bus.StagePublisher} {
		if cfg.runs(string(st)) {
			consumed = append(consumed, st)
		}
	}
	hl.add(natsComponent(b, consumed))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	// A set-up error after some stages started stops them before returning.
	defer func() {
		cancel()
		wg.Wait()
	}()
	errs := make(chan error, 8)
	// A connection the server closed for good cannot be recovered here: the
	// node stops and exits non-zero, so that its supervisor restarts it
	// (a dropped connection is reconnected by the bus).
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-b.Lost():
			errs <- b.Err()
			cancel()
		case <-ctx.Done():
		}
	}()
	start := func(name string, run func(context.Context) error) {
		// Every part is required but the analytics writer: analytics
		// that wait for ClickHouse never make the catalogue unready.
		running := hl.stage(name, name != "analytics" || cfg.Target == TargetAnalytics)
		running(true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := run(ctx)
			if err != nil || ctx.Err() != nil {
				// Failed, or draining; a part that ended its job
				// (a robots list without a file to watch) stays ready.
				running(false)
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}

	if cfg.runs(TargetHarvester) {
		tokens, err := api.LoadTokensFile(cfg.TokensFile)
		if err != nil {
			return err
		}
		policy, err := feedPolicy(cfg, tokens)
		if err != nil {
			return err
		}
		// Every request to a feed, redirects included, obeys the address
		// policy, checked again when the connection is made.
		cfg.Harvester.HTTPClient = policy.HTTPClient(nil)
		h, err := harvester.New(cfg.Harvester, b, log.With("stage", "harvester"))
		if err != nil {
			return err
		}
		if cfg.Demo {
			stop, err := startDemo(ctx, cfg, h.Registry(), log)
			if err != nil {
				return err
			}
			defer stop()
		}
		start("harvester", h.Run)
	}
	if cfg.runs(TargetNormaliser) {
		n, err := normaliser.New(normaliser.Config{Concurrency: cfg.Concurrency}, b, log.With("stage", "normaliser"))
		if err != nil {
			return err
		}
		start("normaliser", n.Run)
	}
	if cfg.runs(TargetEnricher) {
		ecfg := enricher.Config{PaNET: cfg.PaNET, Aliases: cfg.PaNETAliases, Concurrency: cfg.Concurrency}
		if cfg.Target == TargetAll {
			// The last release fetched is kept, for starts without network.
			ecfg.Copy = filepath.Join(cfg.DataDir, "panet", "PaNET.owl")
		}
		e, err := enricher.New(ctx, ecfg, b, log.With("stage", "enricher"))
		if err != nil {
			return err
		}
		start("enricher", e.Run)
	}
	if cfg.Target == TargetAnalytics || cfg.runs(TargetPublisher) && !cfg.NoAnalytics {
		sink, err := analytics.NewSink(analytics.SinkConfig{Store: cfg.ClickHouse}, b, log.With("stage", "analytics"))
		if err != nil {
			return err
		}
		start("analytics", sink.Run)
		ch, closeCH := clickHouseComponent(cfg.ClickHouse, cfg.Target == TargetAnalytics, log.With("component", "readyz"))
		defer closeCH()
		hl.add(ch)
	}
	var srv *http.Server
	if cfg.runs(TargetPublisher) {
		pcfg := publisher.Config{BaseURL: cfg.BaseURL, Concurrency: cfg.Concurrency}
		if cfg.Demo {
			// The demo's facilities are known by their full names too.
			pcfg.Facilities = map[string]dcat.Facility{}
			for _, f := range samplefeed.Facilities {
				pcfg.Facilities[f.Acronym] = dcat.Facility{Name: f.Name}
			}
		}
		p, err := publisher.New(pcfg, b, log.With("stage", "publisher"))
		if err != nil {
			return err
		}
		start("publisher", p.Run)
		model, err := openReadModel(ctx, cfg, b, log.With("component", "readmodel"))
		if err != nil {
			return err
		}
		// Closed once every part that reads it has stopped.
		defer func() {
			cancel()
			wg.Wait()
			if err := model.Close(); err != nil {
				log.Warn("closing the read model", "err", err)
			}
		}()
		start("read model", model.Run)
		// The catalogue is ready when its read model and stream answer; its
		// lag behind the catalogue stream is a metric.
		hl.add(component{name: "catalogue", required: true, check: func(ctx context.Context) error {
			_, err := model.Lag(ctx)
			return err
		}})
		if err := mx.RegisterGauge("readmodel_lag_messages", "Messages of the catalogue stream the read model has not applied yet.", func(ctx context.Context) (float64, error) {
			n, err := model.Lag(ctx)
			return float64(n), err
		}); err != nil {
			return err
		}
		pushes, err := newDelivery(cfg, b, mx, log.With("component", "delivery"))
		if err != nil {
			return err
		}
		start("delivery", pushes.Run)
		if cfg.HTTPAddr != "" {
			use, err := newUsage(ctx, cfg, b, log.With("component", "usage"))
			if err != nil {
				return err
			}
			defer use.close(log)
			start("usage recorder", use.recorder.Run)
			start("robots list", func(ctx context.Context) error {
				use.classifier.Watch(ctx, time.Minute, log.With("component", "usage"))
				return nil
			})
			techniques := search.NewRelease(b, log.With("component", "search"))
			start("search techniques", func(ctx context.Context) error { return techniques.Run(ctx, time.Minute) })
			searcher, err := search.New(search.Config{Techniques: techniques}, model)
			if err != nil {
				return err
			}
			feedAPI, err := newAPI(cfg, b, use, searcher, log.With("component", "api"))
			if err != nil {
				return err
			}
			catalogue, err := catalogueHandler(cfg, model, p.Options(), use.recorder, log.With("component", "http"))
			if err != nil {
				return err
			}
			panosc, err := panoscapi.New(panoscapi.Config{Model: model, Techniques: techniques, Log: log.With("component", "panoscapi")})
			if err != nil {
				return err
			}
			mcpH, err := mcpHandler(mcpParts{search: searcher, model: model, techniques: techniques, reader: use.reader, recorder: use.recorder})
			if err != nil {
				return err
			}
			page, err := nodePage(p.Options(), model, searcher, feedAPI, use, log.With("component", "nodepage"))
			if err != nil {
				return err
			}
			handler, err := httpHandler(cfg.BaseURL, feedAPI, catalogue, panosc, opsHandler(mx, hl), mcpH, page, cfg.Queries, log.With("component", "http"))
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.HTTPAddr)
			if err != nil {
				return fmt.Errorf("node: http: %w", err)
			}
			srv = newHTTPServer(mx.HTTP(handler), cfg.HTTPTimeouts)
			if cfg.OpsAddr != nil {
				cfg.OpsAddr <- ln.Addr().String()
			}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					errs <- fmt.Errorf("http: %w", err)
					cancel()
				}
			}()
			log.Info("serving", "catalogue", cfg.BaseURL+"/catalogue", "oai", cfg.BaseURL+"/oai", "feeds", cfg.BaseURL+api.Prefix+"feeds")
		}
	}
	if srv == nil && cfg.OpsListen != "off" && cfg.OpsListen != "" {
		addr, stopOps, err := serveOps(cfg.OpsListen, mx.HTTP(opsHandler(mx, hl)), cfg.HTTPTimeouts, errs, log)
		switch {
		case err != nil && cfg.opsDefault:
			// The default address taken (a second replica on the host):
			// the stages run, without ops endpoints, and say so.
			log.Error("no ops endpoints: the default address is taken; give --ops-listen", "addr", cfg.OpsListen, "err", err)
		case err != nil:
			return err
		default:
			// Served until the stages have drained: /healthz answers while
			// the process runs.
			defer stopOps()
			if cfg.OpsAddr != nil {
				cfg.OpsAddr <- addr
			}
		}
	}
	if cfg.Ready != nil {
		close(cfg.Ready)
	}
	log.Info("node running", "target", cfg.Target)
	<-ctx.Done()
	log.Info("node draining", "target", cfg.Target)
	if srv != nil {
		// Answers in progress get 10 s; longer ones (an export) are cut
		// off (their connections closed) before the stages and the read
		// model stop.
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("HTTP answers cut off at shutdown", "err", err)
			_ = srv.Close()
		}
		scancel()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	log.Info("node stopped", "target", cfg.Target)
	return errors.Join(all...)
}

// openReadModel opens this replica's read model of the catalogue in
// DataDir/readmodel (built anew from the stream when missing).
func openReadModel(ctx context.Context, cfg Config, b *bus.Bus, log *slog.Logger) (*readmodel.Model, error) {
	replica := cfg.Replica
	if replica == "" {
		replica = defaultReplica(cfg.DataDir)
	}
	return readmodel.Open(ctx, readmodel.Config{Dir: filepath.Join(cfg.DataDir, "readmodel"), Replica: replica}, b, log)
}

// defaultReplica names a replica by its host and a digest of its data
// directory: the same across restarts, different for two replicas on one
// host.
func defaultReplica(dataDir string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	var b strings.Builder
	for _, c := range strings.ToLower(host) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		}
		if b.Len() >= 40 {
			break
		}
	}
	sum := sha256.Sum256([]byte(dataDir))
	return b.String() + "-" + hex.EncodeToString(sum[:4])
}

// OAITokenKeyFile is the file of the data directory that holds the key
// signing OAI-PMH resumption tokens (generated the first time, mode 0600):
// a harvest resumes across restarts, and replicas behind one address
// share tokens when they are given the same file.
const OAITokenKeyFile = "oai-token-key"

// oaiTokenKey reads the key signing resumption tokens from the data
// directory, or makes one there.
func oaiTokenKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, OAITokenKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 16 {
			return nil, fmt.Errorf("node: %s: not a key of at least 16 bytes in hex", path)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("node: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("node: OAI-PMH token key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return oaiTokenKey(dataDir) // made meanwhile by another process
	}
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return key, nil
}

// catalogueHandler returns the catalogue's HTTP handler over the read
// model, the OAI-PMH provider mounted at /oai.
func catalogueHandler(cfg Config, model *readmodel.Model, opts dcat.Options, rec *usage.Recorder, log *slog.Logger) (http.Handler, error) {
	key, err := oaiTokenKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	oai, err := oaiprovider.New(oaiprovider.Config{BaseURL: cfg.BaseURL, AdminEmail: cfg.AdminEmail, DCAT: opts, TokenKey: key,
		Viewed: func(r *http.Request, key, facility string) { rec.Viewed(r, key, facility, "oai") }}, model, log.With("component", "oai"))
	if err != nil {
		return nil, err
	}
	return catalogue.New(catalogue.Config{DCAT: opts, OAI: oai, Viewed: rec.Viewed}, model, log)
}

// nodePage returns the node's own pages (/, /search, the dataset pages)
// over the read model, the search, the node's status and, unless the node
// runs without analytics, ClickHouse; a dataset page counts as a usage
// investigation of the dataset.
func nodePage(opts dcat.Options, model *readmodel.Model, searcher *search.Searcher, status *api.Server, use *usageParts, log *slog.Logger) (*nodepage.Handler, error) {
	pc := nodepage.Config{Title: opts.CatalogueTitle, Catalogue: model, Search: searcher, Status: status, Viewed: use.recorder.Viewed, Log: log}
	if use.reader != nil {
		pc.Analytics = use.reader
	}
	return nodepage.New(pc)
}

// newAPI returns the feed registry's HTTP API: its tokens come from the
// tokens file and FAIRWAY_OPERATOR_TOKEN, else (target all) from the data
// directory, where one is generated the first time; the demo on loopback
// runs open.
func newAPI(cfg Config, b *bus.Bus, use *usageParts, searcher api.Searcher, log *slog.Logger) (*api.Server, error) {
	tokens, err := api.LoadTokensFile(cfg.TokensFile)
	if err != nil {
		return nil, err
	}
	ac := api.AccessConfig{Tokens: tokens, OperatorToken: cfg.OperatorToken, OpenOnLoopback: cfg.Demo, Listen: cfg.HTTPAddr}
	if cfg.Target == TargetAll {
		ac.DataDir = cfg.DataDir
	}
	signIn, err := cfg.SignIn()
	if err != nil {
		return nil, err
	}
	if signIn.Enabled() {
		if ac.OIDC, err = aai.NewVerifier(signIn, log.With("component", "aai")); err != nil {
			return nil, err
		}
	}
	access, err := api.SetupAccess(ac, log)
	if err != nil {
		return nil, err
	}
	policy, err := feedPolicy(cfg, tokens)
	if err != nil {
		return nil, err
	}
	if policy.AllowPrivate {
		log.Info("feeds may point at loopback, private and link-local addresses")
	}
	checker, err := feeds.NewChecker(feeds.CheckerConfig{Policy: policy, Logger: log})
	if err != nil {
		return nil, err
	}
	// Destinations obey the address rules of feeds.
	destChecker, err := destinations.NewChecker(destinations.CheckerConfig{Policy: policy, Logger: log})
	if err != nil {
		return nil, err
	}
	acfg := api.Config{Access: access, Checker: checker, DestinationChecker: destChecker, Destinations: delivery.NewStatusReader(b),
		Usage: use.intake, SUSHI: sushi.Config{Platform: cfg.BaseURL}, ResourceMetadataURL: aai.MetadataURL(cfg.BaseURL), Search: searcher}
	if use.reader != nil {
		acfg.Reports = use.reader
		acfg.Stats = use.reader
	}
	return api.New(acfg, b, log)
}

// newDelivery returns the manager that keeps the registered push
// destinations in step with the catalogue; destinations obey the address
// rules of feeds.
func newDelivery(cfg Config, b *bus.Bus, obs delivery.Observer, log *slog.Logger) (*delivery.Manager, error) {
	tokens, err := api.LoadTokensFile(cfg.TokensFile)
	if err != nil {
		return nil, err
	}
	policy, err := feedPolicy(cfg, tokens)
	if err != nil {
		return nil, err
	}
	replica := cfg.Replica
	if replica == "" {
		replica = defaultReplica(cfg.DataDir)
	}
	return delivery.New(delivery.Config{Holder: replica, Policy: policy, Clients: delivery.ClientOptions{NodeBaseURL: cfg.BaseURL}, Observer: obs}, b, log)
}

// feedPolicy is the address policy of feed URLs: private addresses are
// refused unless --allow-private-feeds, the demo or the tokens file allow
// them.
func feedPolicy(cfg Config, tokens api.TokensFile) (urlguard.Policy, error) {
	nets, err := tokens.Networks()
	if err != nil {
		return urlguard.Policy{}, err
	}
	return urlguard.Policy{AllowPrivate: cfg.AllowPrivateFeeds || cfg.Demo || tokens.AllowPrivateFeeds, Allow: nets}, nil
}

// DemoCorpus is the corpus the demo facility serves: records of several
// facilities, one OAI-PMH set per facility.
func DemoCorpus(records int) samplefeed.Corpus {
	return samplefeed.NewCorpus(1, records)
}

// DemoFeeds returns the feeds the demo registers for the sample server at
// url: one per facility (its set), most in oai_datacite, some in oai_dc.
func DemoFeeds(url string) []feeds.Feed {
	var out []feeds.Feed
	for i, f := range samplefeed.Facilities {
		format := "oai_datacite"
		if i%3 == 2 {
			format = "oai_dc"
		}
		out = append(out, feeds.Feed{
			ID: "demo-" + f.Slug, Facility: f.Acronym, Kind: feeds.KindOAIPMH, URL: url, Format: format,
			Set: f.Slug, Every: feeds.Duration(time.Hour), Enabled: true,
		})
	}
	return out
}

// startDemo serves the built-in sample facility on loopback and registers
// its feeds.
func startDemo(ctx context.Context, cfg Config, reg *feeds.Registry, log *slog.Logger) (func(), error) {
	srv, err := samplefeed.NewServer(samplefeed.ServerConfig{Corpus: DemoCorpus(cfg.DemoRecords), PageSize: cfg.DemoPageSize, Rate: cfg.DemoRate, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("node: demo feed: %w", err)
	}
	url, stop, err := samplefeed.Start(ctx, "127.0.0.1:0", srv)
	if err != nil {
		return nil, fmt.Errorf("node: demo feed: %w", err)
	}
	for _, f := range DemoFeeds(url) {
		if _, err := reg.Put(ctx, f); err != nil {
			_ = stop(context.Background())
			return nil, err
		}
	}
	log.Info("demo facility serving", "url", url, "records", cfg.DemoRecords, "feeds", len(samplefeed.Facilities))
	return func() { _ = stop(context.Background()) }, nil
}
