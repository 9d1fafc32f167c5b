package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
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
			bar := newRunBar(out)
			run, err := c.Follow(ctx, acc, interval, bar.update)
			bar.finish(run)
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

// runBar shows the progress of a run: a bar over the complete list when the
// source announced its size (completeListSize), a running count otherwise;
// then one summary line.
type runBar struct {
	out   io.Writer
	bar   *progressbar.ProgressBar
	max   int64
	runID string
}

func newRunBar(out io.Writer) *runBar { return &runBar{out: out} }

func (b *runBar) update(r api.Run) {
	if r.RunID == "" || r.Done() {
		return
	}
	if b.bar == nil || r.ListSize != b.max || r.RunID != b.runID {
		if b.bar != nil {
			_ = b.bar.Exit()
		}
		total := r.ListSize
		if total <= 0 {
			total = -1 // unknown: a spinner with the count
		}
		b.max, b.runID = r.ListSize, r.RunID
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.out),
			progressbar.OptionSetDescription("run "+r.RunID),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = b.bar.Set64(r.Records)
}

func (b *runBar) finish(r api.Run) {
	if b.bar != nil {
		_ = b.bar.Exit()
		fmt.Fprintln(b.out)
	}
	if r.RunID == "" {
		return
	}
	fmt.Fprintf(b.out, "run %s %s: %d pages, %d records (%d deleted, %d rejected), %s, %d retries, %.1f s\n",
		r.RunID, r.Status, r.Pages, r.Records, r.Deleted, r.Rejected, humanBytes(r.Bytes), r.Retries, r.Seconds)
	if r.Error != "" {
		fmt.Fprintf(b.out, "  %s\n", r.Error)
	}
}

// humanBytes writes n bytes for people.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
