package node

import (
	"errors"
	"fmt"
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
	var stage, destination, feed, facility, since, until, reason string
	var dryRun, detach, all bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "replay --stage STAGE [--feed F | --facility X] [--since SEQ|TIME] [--until SEQ|TIME] [--dry-run] [--detach]",
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
			"bar until it ends, unless --detach.",
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
			r, err := c.RequestStageReplay(cmd.Context(), req)
			if err != nil {
				return err
			}
			if detach {
				fmt.Fprintf(out, "replay %s of the %s requested; follow it with: fairway panet replay-status %s --stage %s --follow\n", r.ID, r.Stage, r.ID, r.Stage)
				return nil
			}
			bar := newReplayBar(cmd.ErrOrStderr())
			bar.what = "replaying " + stage
			r, err = c.FollowReplay(cmd.Context(), r, interval, bar.update)
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
			if r.LastError != "" {
				fmt.Fprintf(out, "  last error: %s\n", r.LastError)
			}
			return nil
		},
	}
	af.bind(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&stage, "stage", "", "stage to replay: normaliser (from the raw records), enricher (from the canonical datasets) or publisher (from the enriched datasets)")
	f.StringVar(&destination, "destination", "", "push this destination again instead")
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
