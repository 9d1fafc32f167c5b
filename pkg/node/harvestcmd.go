package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/api"
)

// HarvestCommand returns `fairway harvest FEED`, which asks a running node
// to harvest a feed now and follows the run to its end (unless --detach).
func HarvestCommand() *cobra.Command {
	var af apiFlags
	var req api.HarvestRequest
	var detach bool
	var interval, timeout time.Duration
	cmd := &cobra.Command{
		Use:   "harvest FEED [--full] [--from DATE] [--until DATE] [--confirm-deletions] [--detach]",
		Short: "Harvest a feed now and follow the run to its end",
		Long: "Ask the node (--server) to harvest FEED now, outside its schedule: the changes since the\n" +
			"last complete run, the whole list (--full), or the changes since a date (--from\n" +
			"YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ). The run is followed to its end, with its progress,\n" +
			"unless --detach is given; the command fails when the run fails. Needs FAIRWAY_TOKEN.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			acc, err := c.Harvest(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			what := "changes since the last complete run"
			switch {
			case acc.From != "":
				what = "changes since " + acc.From
			case acc.Full:
				what = "the whole list"
			}
			if acc.Until != "" {
				what += ", until " + acc.Until
			}
			if acc.ConfirmDeletions {
				what += ", applying held deletions"
			}
			fmt.Fprintf(out, "harvest of %s requested (%s)\n", acc.FeedID, what)
			if detach {
				return nil
			}
			fmt.Fprintln(out, "following the run (interrupting stops following, not the run)")
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			last := ""
			run, err := c.Follow(ctx, acc, interval, func(r api.Run) {
				line := fmt.Sprintf("run %s %s: %d pages, %d records", r.RunID, r.Status, r.Pages, r.Records)
				if r.Done() {
					line += fmt.Sprintf(" (%d deleted, %d rejected)", r.Deleted, r.Rejected)
				}
				if line != last {
					fmt.Fprintln(out, line)
					last = line
				}
			})
			if errors.Is(err, context.DeadlineExceeded) && timeout > 0 {
				if run.RunID == "" {
					return fmt.Errorf("no run of %s started within %s (is a harvester running?)", acc.FeedID, timeout)
				}
				return fmt.Errorf("run %s still %s after %s; it goes on (fairway feeds runs %s)", run.RunID, run.Status, timeout, acc.FeedID)
			}
			return err
		},
	}
	af.bind(cmd.Flags())
	cmd.Flags().BoolVar(&req.Full, "full", false, "harvest the whole list, not the changes since the last run")
	cmd.Flags().StringVar(&req.From, "from", "", "harvest the changes since this date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
	cmd.Flags().StringVar(&req.Until, "until", "", "harvest the changes up to this date (same forms as --from)")
	cmd.Flags().BoolVar(&req.ConfirmDeletions, "confirm-deletions", false, "with --full: apply the deletions an earlier run held back because there were too many")
	cmd.Flags().BoolVar(&detach, "detach", false, "do not follow the run")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often to poll the run's state")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop following after this long (0: until the run ends; the run goes on)")
	return cmd
}
