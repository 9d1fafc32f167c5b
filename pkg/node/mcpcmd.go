package node

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/mcpserver"
	"github.com/panosc/fairway/pkg/natsembed"
	"github.com/panosc/fairway/pkg/readmodel"
	"github.com/panosc/fairway/pkg/search"
)

// MCPPath is where the node serves MCP over the streamable HTTP transport.
const MCPPath = "/mcp"

// mcpHandler returns the streamable HTTP transport (stateless) of an MCP
// server over searcher.
func mcpHandler(searcher mcpserver.Searcher) (http.Handler, error) {
	srv, err := mcpserver.New(mcpserver.Config{Search: searcher})
	if err != nil {
		return nil, err
	}
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true}), nil
}

// MCPCommand returns `fairway mcp`: the node's MCP server for AI data
// agents over stdio, answering from a read model of the node's catalogue
// stream kept in its own directory.
func MCPCommand() *cobra.Command {
	var natsURL, credentials, dir string
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the catalogue to AI agents over MCP on stdin and stdout",
		Long: "Serves the node's MCP server (tools search_datasets, ...) over stdio, for an agent that\n" +
			"starts it as a subprocess. It reads the node's catalogue stream (--nats) into a read model\n" +
			"of its own in --dir, built anew when missing. Logs go to stderr. The node's HTTP server\n" +
			"serves the same over the streamable HTTP transport at " + MCPPath + ".",
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
			defer func() { _ = model.Close() }()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				if err := model.Run(ctx); err != nil && ctx.Err() == nil {
					log.Error("read model stopped", "err", err)
				}
			}()
			if seq, err := b.LastSequence(ctx, bus.Catalogue); err == nil {
				if err := model.WaitFor(ctx, seq); err != nil {
					return fmt.Errorf("mcp: read model: %w", err)
				}
			}
			techniques := search.NewRelease(b, log)
			go func() { _ = techniques.Run(ctx, 0) }()
			searcher, err := search.New(search.Config{Techniques: techniques}, model)
			if err != nil {
				return err
			}
			srv, err := mcpserver.New(mcpserver.Config{Search: searcher})
			if err != nil {
				return err
			}
			return srv.Run(ctx, &mcp.StdioTransport{})
		},
	}
	cmd.Flags().StringVar(&natsURL, "nats", envOr("FAIRWAY_NATS", "nats://127.0.0.1:4222"), "the node's NATS server, nats://[user:password@]host:port (env FAIRWAY_NATS)")
	cmd.Flags().StringVar(&credentials, "nats-credentials", envOr("FAIRWAY_NATS_CREDENTIALS", ""), "file of the NATS user and password, e.g. .fairway/"+natsembed.CredentialsFile+" (env FAIRWAY_NATS_CREDENTIALS)")
	cmd.Flags().StringVar(&dir, "dir", envOr("FAIRWAY_MCP_DIR", ".fairway/mcp-readmodel"), "directory of this command's read model (env FAIRWAY_MCP_DIR)")
	return cmd
}
