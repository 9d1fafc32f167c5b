package node

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/mcpserver"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
	"github.com/panosc/fairway/pkg/usage"
)

// MCPPath is where the node serves MCP over the streamable HTTP transport.
const MCPPath = "/mcp"

// mcpParts are what the node's MCP server reads and whom it tells of the
// datasets agents read.
type mcpParts struct {
	search     mcpserver.Searcher
	model      mcpserver.Catalogue
	techniques search.Techniques
	// reader is the node's analytics, nil when they are off.
	reader *analytics.Reader
	// recorder counts the datasets agents read, nil for none.
	recorder *usage.Recorder
}

// config returns the MCP server's configuration of p.
func (p mcpParts) config() mcpserver.Config {
	cfg := mcpserver.Config{Search: p.search, Catalogue: p.model, Techniques: p.techniques}
	if p.reader != nil {
		cfg.Analytics = p.reader
	}
	if p.recorder != nil {
		cfg.Investigations = agentInvestigations{p.recorder}
	}
	return cfg
}

// agentInvestigations counts the datasets agents read through MCP as
// investigations by an AI agent, on the usage stream.
type agentInvestigations struct{ rec *usage.Recorder }

// Investigated implements mcpserver.Investigations.
func (a agentInvestigations) Investigated(_ context.Context, inv mcpserver.Investigation) {
	a.rec.AgentInvestigated(inv.Key, inv.Facility, "mcp:"+inv.Via, inv.Session)
}

// mcpHandler returns the streamable HTTP transport (stateless) of an MCP
// server over p. Each request's session, for the usage counts, is its
// client's address and user agent, as for the node's own pages.
func mcpHandler(p mcpParts) (http.Handler, error) {
	srv, err := mcpserver.New(p.config())
	if err != nil {
		return nil, err
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		h.ServeHTTP(w, r.WithContext(mcpserver.WithSession(r.Context(), "http:"+host+"\x00"+r.UserAgent())))
	}), nil
}

// runModel runs model in the background and waits until it has applied
// the catalogue stream's last entry as of now (it serves what it has when
// the stream cannot be asked). It fails when ctx ends first or the model's
// Run returns first (it failed: waiting would never end). stop ends Run,
// waits for it to return and closes the model, as readmodel.Close asks.
func runModel(ctx context.Context, model *readmodel.Model, b *bus.Bus, log *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		if runErr = model.Run(ctx); runErr != nil && ctx.Err() == nil {
			log.Error("read model stopped", "err", runErr)
		}
	}()
	stop = func() { cancel(); <-done; _ = model.Close() }
	seq, err := b.LastSequence(ctx, bus.Catalogue)
	if err != nil {
		return stop, nil
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	go func() {
		select {
		case <-done:
			wcancel()
		case <-wctx.Done():
		}
	}()
	if err := model.WaitFor(wctx, seq); err != nil {
		select {
		case <-done:
			err = fmt.Errorf("it stopped: %w", cmp.Or(runErr, err))
		default:
		}
		stop()
		return nil, fmt.Errorf("mcp: read model: %w", err)
	}
	return stop, nil
}

// releaseWait bounds how long `fairway mcp` waits for the node's PaNET
// release before it serves.
const releaseWait = 10 * time.Second

// MCPCommand returns `fairway mcp`: the node's MCP server for AI data
// agents over stdio, answering from a read model of the node's catalogue
// stream kept in its own directory.
func MCPCommand() *cobra.Command {
	var (
		natsURL, credentials, dir string
		noAnalytics               bool
		clickhouse                analytics.Config
	)
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the catalogue to AI agents over MCP on stdin and stdout",
		Long: "Serves the node's MCP server (tools search_datasets, get_dataset, list_techniques, facility_stats,\n" +
			"reuse_stats; dataset and inventory resources; prompts) over stdio, for an agent that starts it as\n" +
			"a subprocess. It reads the node's catalogue stream (--nats) into a read model of its own in --dir,\n" +
			"built anew when missing, and the node's analytics in ClickHouse (--clickhouse; --no-analytics for\n" +
			"none). The datasets the agent reads are counted on the node's usage stream as investigations by\n" +
			"an AI agent, one session per process. Logs go to stderr. The node's HTTP server serves the same\n" +
			"over the streamable HTTP transport at " + MCPPath + ".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			urls, opts, err := natsClient(natsURL, credentials)
			if err != nil {
				return err
			}
			b, err := bus.Connect(ctx, bus.Config{URL: urls, Options: opts, Name: "fairway-mcp", Logger: log, SkipProvision: true})
			if err != nil {
				return err
			}
			defer b.Close()
			model, err := readmodel.Open(ctx, readmodel.Config{Dir: dir, Replica: defaultReplica(dir)}, b, log)
			if err != nil {
				return err
			}
			stopModel, err := runModel(ctx, model, b, log)
			if err != nil {
				return err
			}
			defer stopModel()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			techniques := search.NewRelease(b, log)
			go func() { _ = techniques.Run(ctx, 0) }()
			// The node's release is on the bus: wait a moment for it, so
			// that the first call already knows technique names.
			for wait := time.Now().Add(releaseWait); techniques.Terms() == nil && time.Now().Before(wait) && ctx.Err() == nil; {
				time.Sleep(20 * time.Millisecond)
			}
			if techniques.Terms() == nil {
				log.Warn("the node's PaNET release is not loaded yet: techniques are known by IRI or id until it is")
			}
			searcher, err := search.New(search.Config{Techniques: techniques}, model)
			if err != nil {
				return err
			}
			parts := mcpParts{search: searcher, model: model, techniques: techniques}
			use, err := newUsage(ctx, Config{DataDir: dir, NoAnalytics: noAnalytics, ClickHouse: clickhouse}, b, log)
			if err != nil {
				// Answers matter more than counting them.
				log.Warn("agent reads are not counted: no usage recorder", "err", err)
			} else {
				defer use.close(log)
				parts.reader, parts.recorder = use.reader, use.recorder
				recorded := make(chan struct{})
				rctx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
				go func() { defer close(recorded); _ = use.recorder.Run(rctx) }()
				// Publishes what is queued before the bus closes.
				defer func() { stopRecorder(); <-recorded }()
			}
			srv, err := mcpserver.New(parts.config())
			if err != nil {
				return err
			}
			return srv.Run(ctx, &mcp.StdioTransport{})
		},
	}
	cmd.Flags().StringVar(&natsURL, "nats", envOr("FAIRWAY_NATS", "nats://127.0.0.1:4222"), "the node's NATS server, nats://[user:password@]host:port (env FAIRWAY_NATS)")
	cmd.Flags().StringVar(&credentials, "nats-credentials", envOr("FAIRWAY_NATS_CREDENTIALS", ""), "file of the NATS user and password, e.g. .fairway/"+natsembed.CredentialsFile+" (env FAIRWAY_NATS_CREDENTIALS)")
	cmd.Flags().StringVar(&dir, "dir", envOr("FAIRWAY_MCP_DIR", ".fairway/mcp-readmodel"), "directory of this command's read model (env FAIRWAY_MCP_DIR)")
	cmd.Flags().BoolVar(&noAnalytics, "no-analytics", false, "read no analytics from ClickHouse (reuse_stats then answers that analytics are off)")
	bindClickHouseFlags(cmd.Flags(), &clickhouse)
	return cmd
}
