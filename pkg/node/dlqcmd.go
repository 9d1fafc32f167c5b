package node

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/bus"
)

// DeadLettersCommand returns `fairway dlq`, with which an operator inspects
// the dead letters of the node whose NATS server is at --nats and redrives
// them once the cause is fixed.
func DeadLettersCommand() *cobra.Command {
	var natsURL, stage string
	var limit int
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect and redrive dead letters"}
	cmd.PersistentFlags().StringVar(&natsURL, "nats", envOr("FAIRWAY_NATS", "nats://127.0.0.1:4222"), "NATS server of the node (env FAIRWAY_NATS)")
	cmd.PersistentFlags().StringVar(&stage, "stage", "", "only this stage's dead letters (normaliser, enricher, publisher, analytics, harvester)")
	cmd.PersistentFlags().IntVar(&limit, "limit", 100, "at most this many dead letters (0: all)")
	withBus := func(ctx context.Context, fn func(*bus.Bus) error) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		// No provisioning: the node owns the topology (and its replicas).
		b, err := bus.Connect(ctx, bus.Config{URL: natsURL, Name: "fairway-dlq", Logger: slog.New(slog.DiscardHandler), SkipProvision: true})
		if err != nil {
			return err
		}
		defer b.Close()
		return fn(b)
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters with their stage, reason and attempts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withBus(cmd.Context(), func(b *bus.Bus) error {
				letters, err := b.DeadLetters(cmd.Context(), stage, limit)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SEQ\tSTAGE\tATTEMPTS\tTIME\tKEY\tREASON")
				for _, d := range letters {
					fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\n", d.Seq, d.Stage, d.Attempts, d.Time.UTC().Format(time.RFC3339), d.Key, d.Reason)
				}
				return w.Flush()
			})
		},
	}
	redrive := &cobra.Command{
		Use:   "redrive",
		Short: "Send dead letters back to their stage (after fixing the cause)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withBus(cmd.Context(), func(b *bus.Bus) error {
				letters, err := b.DeadLetters(cmd.Context(), stage, limit)
				if err != nil {
					return err
				}
				sent, skipped := 0, 0
				for _, d := range letters {
					if err := b.Redrive(cmd.Context(), d); err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "dead letter %d: %v\n", d.Seq, err)
						skipped++
						continue
					}
					sent++
				}
				fmt.Fprintf(cmd.OutOrStdout(), "redriven: %d, left: %d\n", sent, skipped)
				return nil
			})
		},
	}
	cmd.AddCommand(list, redrive)
	return cmd
}
