package node

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
)

// ReplayCommand returns `fairway replay`, which re-runs a stage over its
// input stream (the last message of every key, narrowed by feed or
// facility and by sequence or time) on the node at --server, or pushes a
// destination again (--destination). An operator token is required.
func ReplayCommand() *cobra.Command {
	var af apiFlags
	var stage, destination, feed, facility, since, until, reason, retry string
	var dryRun, detach, all bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "replay --stage STAGE [--feed F | --facility X] [--since SEQ|TIME] [--until SEQ|TIME] [--dry-run] [--detach] | --retry ID --stage STAGE",
		Short: "Re-run a stage over its input stream, or push a destination again",
		Long: "Re-run a stage over the last message of every key of its input stream: the normaliser\n" +
			"reads the raw records, the enricher the canonical datasets, the publisher the enriched\n" +
			"datasets. The replay runs on one replica of the stage, through its handler and its publish\n" +
			"path: outputs equal to those the stage emitted already are dropped, changed ones flow on\n" +
			"to the catalogue, the destinations and the analytics. --feed or --facility, and --since\n" +
			"and --until (a stream sequence such as 1234, or an RFC 3339 time, or a duration before\n" +
			"now such as 24h) narrow the keys replayed; --dry-run only says how many there are.\n" +
			"--destination ID pushes one destination again instead (as `fairway destinations replay`),\n" +
			"from --since (a catalogue sequence or a time). The replay is followed with a progress\n" +
			"bar until it ends, unless --detach. A replay whose attempts keep failing (its events or\n" +
			"dead letters cannot be stored) waits longer after each and stops as failed: once the\n" +
			"cause is fixed, --retry ID --stage STAGE runs it again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if destination != "" {
				if stage != "" || feed != "" || facility != "" || until != "" || dryRun {
					return errors.New("--destination replays from --since only: no --stage, --feed, --facility, --until or --dry-run")
				}
				req, err := parseSince(since)
				if err != nil {
					return err
				}
				req.All = all
				d, err := c.ReplayDestination(cmd.Context(), destination, req)
				if err != nil {
					return err
				}
				id := ""
				if d.Replay != nil {
					id = d.Replay.ID
				}
				fmt.Fprintf(out, "replay %s of destination %s requested; `fairway destinations status %s` shows its lag\n", id, d.ID, d.ID)
				return nil
			}
			if !slices.Contains(api.ReplayableStages, bus.Stage(stage)) {
				return fmt.Errorf("--stage %q: want normaliser, enricher or publisher (or --destination ID)", clip(stage, 60))
			}
			var r bus.Replay
			if retry != "" {
				if feed != "" || facility != "" || since != "" || until != "" || dryRun {
					return errors.New("--retry runs a replay again as it was asked for: no --feed, --facility, --since, --until or --dry-run")
				}
				if r, err = c.RetryReplay(cmd.Context(), stage, retry); err != nil {
					return err
				}
				return followStageReplay(cmd, c, r, detach, interval)
			}
			if feed != "" && facility != "" {
				return errors.New("--feed or --facility, not both")
			}
			req := api.StageReplayRequest{Stage: stage, Reason: reason, Feed: feed, Facility: facility, DryRun: dryRun}
			if req.SinceSeq, req.Since, err = parseSeqOrTime("--since", since); err != nil {
				return err
			}
			if req.UntilSeq, req.Until, err = parseSeqOrTime("--until", until); err != nil {
				return err
			}
			if req.Reason == "" {
				req.Reason = "fairway replay"
			}
			if r, err = c.RequestStageReplay(cmd.Context(), req); err != nil {
				return err
			}
			return followStageReplay(cmd, c, r, detach, interval)
		},
	}
	af.bind(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&stage, "stage", "", "stage to replay: normaliser (from the raw records), enricher (from the canonical datasets) or publisher (from the enriched datasets)")
	f.StringVar(&destination, "destination", "", "push this destination again instead")
	f.StringVar(&retry, "retry", "", "run this failed replay (of --stage) again")
	f.StringVar(&feed, "feed", "", "only the keys whose last input message comes from this feed")
	f.StringVar(&facility, "facility", "", "only the keys whose last input message comes from this facility")
	f.StringVar(&since, "since", "", "only input messages from this stream sequence or time on (RFC 3339, or a duration before now)")
	f.StringVar(&until, "until", "", "only input messages up to this stream sequence (inclusive) or before this time")
	f.StringVar(&reason, "reason", "", "why (kept with the replay)")
	f.BoolVar(&dryRun, "dry-run", false, "only say how many keys the replay would touch")
	f.BoolVar(&detach, "detach", false, "do not follow the replay")
	f.BoolVar(&all, "all", false, "with --destination: push again even what the destination holds as it is")
	f.DurationVar(&interval, "interval", 500*time.Millisecond, "how often to poll the replay's progress")
	return cmd
}

// followStageReplay follows r with a progress bar until it ends (unless
// detach), then says what it did; a replay that failed is an error.
func followStageReplay(cmd *cobra.Command, c *api.Client, r bus.Replay, detach bool, interval time.Duration) error {
	out := cmd.OutOrStdout()
	if detach {
		fmt.Fprintf(out, "replay %s of the %s requested; follow it with: fairway panet replay-status %s --stage %s --follow\n", r.ID, r.Stage, r.ID, r.Stage)
		return nil
	}
	bar := newReplayBar(cmd.ErrOrStderr())
	bar.what = "replaying " + string(r.Stage)
	r, err := c.FollowReplay(cmd.Context(), r, interval, bar.update)
	bar.finish()
	if err != nil {
		return fmt.Errorf("following replay %s (it goes on): %w", r.ID, err)
	}
	if r.DryRun {
		fmt.Fprintf(out, "dry run: the replay would hand %d of %d keys to the %s\n", r.Matched, r.Total, r.Stage)
	} else {
		fmt.Fprintf(out, "replayed: %d of %d keys, %d changed, %d superseded by newer versions, %d refused\n",
			r.Matched, r.Total, r.Emitted, r.Superseded, r.Failed)
	}
	return replayEnded(out, r)
}

// replayEnded says how r ended beyond its counts (its last error, where its
// refused keys are) and returns the error of a replay that failed.
func replayEnded(out io.Writer, r bus.Replay) error {
	if r.LastError != "" {
		fmt.Fprintf(out, "  last error: %s\n", r.LastError)
	}
	if r.Failed > 0 {
		fmt.Fprintf(out, "  the %d keys refused are in the dead letters: fairway dlq list --stage %s\n", r.Failed, r.Stage)
	}
	return replayFailed(r)
}

// replayFailed returns the error that says r failed (nil unless it did).
func replayFailed(r bus.Replay) error {
	if r.State != bus.ReplayFailed {
		return nil
	}
	return fmt.Errorf("replay %s of the %s failed after %d attempts in a row (%s); what it published stays: once the cause is fixed, run it again with fairway replay --retry %s --stage %s",
		r.ID, r.Stage, r.Failures, clip(r.LastError, 500), r.ID, r.Stage)
}

// parseSeqOrTime reads a stream sequence, an RFC 3339 time or a duration
// before now ("" is neither).
func parseSeqOrTime(flag, v string) (uint64, time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, time.Time{}, nil
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n == 0 {
			return 0, time.Time{}, fmt.Errorf("%s 0: stream sequences start at 1", flag)
		}
		return n, time.Time{}, nil
	}
	t, err := parseWhen(flag, v)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("%s %q: want a stream sequence (1234), an RFC 3339 time or a duration such as 24h", flag, clip(v, 60))
	}
	return 0, t, nil
}
