// Command fairway is the node's own command: `fairway up` runs the whole
// pipeline in one process (embedded NATS, every stage, one HTTP listener),
// and the other subcommands operate a running node.
package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/node"
)

func main() {
	root := &cobra.Command{
		Use:          "fairway",
		Short:        "Fairway: the PaNOSC node's catalogue pipeline",
		SilenceUsage: true,
	}
	root.AddCommand(
		node.Command("up", node.TargetAll, "Run the whole pipeline in one process until interrupted"),
		node.FeedsCommand(),
		node.DestinationsCommand(),
		node.HarvestCommand(),
		node.DeadLettersCommand(),
		node.MCPCommand(),
		node.ReplayCommand(),
		node.StatusCommand(),
		node.DatasetsCommand(),
		node.PaNETCommand(),
		node.AnalyticsCommand(),
		node.StatsCommand(),
		node.LoginCommand(),
		node.LogoutCommand(),
	)
	if err := root.ExecuteContext(context.Background()); err != nil {
		os.Exit(1)
	}
}
