package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/feeds"
)

// FeedsCommand returns `fairway feeds`, which manages the feed registry of
// the node whose NATS server is at --nats.
func FeedsCommand() *cobra.Command {
	var natsURL string
	cmd := &cobra.Command{Use: "feeds", Short: "Manage the feed registry"}
	cmd.PersistentFlags().StringVar(&natsURL, "nats", envOr("FAIRWAY_NATS", "nats://127.0.0.1:4222"), "NATS server of the node (env FAIRWAY_NATS)")
	withRegistry := func(ctx context.Context, fn func(*feeds.Registry) error) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		b, err := bus.Connect(ctx, bus.Config{URL: natsURL, Name: "fairway-cli", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		defer b.Close()
		return fn(feeds.NewRegistry(b.KV(bus.BucketFeeds)))
	}

	var f feeds.Feed
	var every time.Duration
	var disabled bool
	add := &cobra.Command{
		Use:   "add",
		Short: "Register a feed (or replace one with the same id)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Every, f.Enabled = feeds.Duration(every), !disabled
			return withRegistry(cmd.Context(), func(r *feeds.Registry) error {
				saved, err := r.Put(cmd.Context(), f)
				if err != nil {
					return err
				}
				return printJSON(saved)
			})
		},
	}
	add.Flags().StringVar(&f.ID, "id", "", "feed id (a-z, 0-9, -, _)")
	add.Flags().StringVar(&f.Facility, "facility", "", "facility name")
	add.Flags().StringVar(&f.Kind, "kind", feeds.KindOAIPMH, "oai-pmh or scicat")
	add.Flags().StringVar(&f.URL, "url", "", "OAI-PMH base URL or SciCat API URL")
	add.Flags().StringVar(&f.Format, "format", "oai_datacite", "OAI-PMH metadataPrefix")
	add.Flags().StringVar(&f.Set, "set", "", "OAI-PMH set")
	add.Flags().DurationVar(&every, "every", 6*time.Hour, "interval between harvests (0: once)")
	add.Flags().BoolVar(&disabled, "disabled", false, "register without harvesting")

	list := &cobra.Command{
		Use:   "list",
		Short: "List registered feeds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRegistry(cmd.Context(), func(r *feeds.Registry) error {
				all, err := r.List(cmd.Context())
				if err != nil {
					return err
				}
				return printJSON(all)
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a feed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRegistry(cmd.Context(), func(r *feeds.Registry) error { return r.Delete(cmd.Context(), args[0]) })
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
