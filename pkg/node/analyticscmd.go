package node

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/panosc/fairway/pkg/analytics"
)

// bindClickHouseFlags registers the flags of the ClickHouse that holds the
// analytics, with their environment defaults, on fs.
func bindClickHouseFlags(fs *pflag.FlagSet, c *analytics.Config) {
	fs.StringVar(&c.Addr, "clickhouse", envOr("FAIRWAY_CLICKHOUSE_ADDR", analytics.DefaultAddr), "ClickHouse native address (env FAIRWAY_CLICKHOUSE_ADDR)")
	fs.StringVar(&c.Database, "clickhouse-db", envOr("FAIRWAY_CLICKHOUSE_DB", analytics.DefaultDatabase), "ClickHouse database (env FAIRWAY_CLICKHOUSE_DB)")
	fs.StringVar(&c.Username, "clickhouse-user", envOr("FAIRWAY_CLICKHOUSE_USER", analytics.DefaultUsername), "ClickHouse user (env FAIRWAY_CLICKHOUSE_USER; its password from env FAIRWAY_CLICKHOUSE_PASSWORD)")
	c.Password = envOr("FAIRWAY_CLICKHOUSE_PASSWORD", "")
}

// AnalyticsCommand returns `fairway analytics`, which operates the analytics
// database directly (not through a running node): `migrate` applies the
// schema's migrations, as every writer does when it starts.
func AnalyticsCommand() *cobra.Command {
	var cfg analytics.Config
	cmd := &cobra.Command{Use: "analytics", Short: "Operate the analytics database in ClickHouse"}
	bindClickHouseFlags(cmd.PersistentFlags(), &cfg)
	var dryRun bool
	migrate := &cobra.Command{
		Use:   "migrate [--dry-run]",
		Short: "Apply the analytics schema's migrations (--dry-run: show what would run)",
		Long: "Applies, in order, the migrations the database lacks and records each in " + analytics.MigrationsTable + ".\n" +
			"A migration already applied with another checksum stops it with an error. Every writer\n" +
			"(fairway up, services/analytics, services/publisher) does the same when it starts.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			cfg.Logger = slog.New(slog.DiscardHandler)
			s, err := analytics.Connect(ctx, cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.Migrate(ctx, dryRun)
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tNAME\tSTATE")
			for _, m := range st {
				state := "pending"
				switch {
				case m.Applied:
					state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
				case m.Ran:
					state = "applied now"
				case !dryRun:
					state = "not applied"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\n", m.Version, m.Name, state)
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if dryRun {
				for _, m := range st {
					if m.Applied {
						continue
					}
					fmt.Fprintf(cmd.OutOrStdout(), "\n-- migration %d: %s (checksum %s)\n", m.Version, m.Name, m.Checksum())
					for _, q := range m.Statements(s.Database()) {
						fmt.Fprintf(cmd.OutOrStdout(), "%s;\n", q)
					}
				}
			}
			return err
		},
	}
	migrate.Flags().BoolVar(&dryRun, "dry-run", false, "change nothing: list the migrations and print the statements that would run")
	cmd.AddCommand(migrate)
	return cmd
}
