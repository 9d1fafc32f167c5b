package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/enricher"
	"github.com/panosc/fairway/pkg/panet"
)

// PaNETCommand returns `fairway panet`: the node's PaNET release (show)
// and its update with a new release, with the re-tagging of every dataset
// by a replay of the normalised stream (update).
func PaNETCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{Use: "panet", Short: "Show or update the node's PaNET release"}
	af.bind(cmd.PersistentFlags())

	show := &cobra.Command{
		Use:   "show",
		Short: "Show the node's PaNET release and the release each running enricher uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			v, err := c.PaNET(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if v.Release == nil {
				fmt.Fprintln(out, "the node has no PaNET release yet (an enricher stores one when it starts)")
			} else {
				r := v.Release
				fmt.Fprintf(out, "version:    %s\ndigest:     sha256:%s\nclasses:    %d (%d techniques)\nsize:       %s\nsource:     %s\nstored at:  %s\n",
					r.Version, r.Digest, r.Classes, r.Techniques, humanBytes(int64(r.Size)), clip(r.Source, 200), r.StoredAt.Format(time.RFC3339))
			}
			if len(v.Enrichers) == 0 {
				fmt.Fprintln(out, "no enricher running")
				return nil
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ENRICHER\tVERSION\tDIGEST\tLOADED\tSEEN\tERROR")
			for _, e := range v.Enrichers {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", clip(e.Holder, 80), e.Version, short(e.Digest), e.LoadedAt.Format(time.RFC3339),
					e.Seen.Format(time.RFC3339), clip(e.Error, 300))
			}
			return w.Flush()
		},
	}

	var from string
	var yes, noRetag, detach bool
	var interval, wait time.Duration
	update := &cobra.Command{
		Use:   "update --from PATH_OR_URL [--yes] [--no-retag] [--detach]",
		Short: "Make a new PaNET release the node's and re-tag every dataset",
		Long: "Read the release at --from (a file or an http(s) URL) and parse it here first: a file that is\n" +
			"not a PaNET release, holds no technique or is larger than 16 MiB is refused with the reason.\n" +
			"Then print what it changes against the node's release (techniques added, removed,\n" +
			"relabelled; synonyms added and removed), upload it (an operator token: FAIRWAY_TOKEN or\n" +
			"--token-file) and wait until the running enrichers use it. Datasets harvested from then\n" +
			"on are tagged with it; the datasets already in the catalogue are re-tagged by replaying\n" +
			"the normalised stream, which is offered: a prompt on a terminal, --yes to re-tag without\n" +
			"asking, --no-retag to skip. Without a terminal and without --yes, nothing is re-tagged.\n" +
			"The replay is followed with a progress bar until it ends, unless --detach.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from PATH_OR_URL is required")
			}
			if yes && noRetag {
				return errors.New("--yes and --no-retag exclude each other")
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			data, err := enricher.ReadSource(ctx, from)
			if err != nil {
				return fmt.Errorf("refused: %w", err)
			}
			next, rel, err := enricher.ParseRelease(data, from)
			if err != nil {
				return fmt.Errorf("refused: %s: %w", from, err)
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			var prev *panet.Ontology
			old, err := c.PaNETRelease(ctx)
			var apiErr *api.Error
			switch {
			case err == nil:
				if prev, _, err = enricher.ParseRelease(old, ""); err != nil {
					fmt.Fprintf(out, "the node's release cannot be read (%v): every technique counts as new\n", err)
					prev = nil
				}
			case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
			default:
				return err
			}
			fmt.Fprint(out, panet.Diff(prev, next).String())
			up, err := c.PutPaNETRelease(ctx, data)
			if err != nil {
				return err
			}
			if up.Changed {
				fmt.Fprintf(out, "stored: PaNET %s (sha256:%s, %d techniques)\n", up.Release.Version, short(up.Release.Digest), up.Release.Techniques)
			} else {
				fmt.Fprintf(out, "the node has this release already (sha256:%s)\n", short(rel.Digest))
			}
			waitEnrichers(ctx, c, out, up.Release.Digest, wait)

			retag := yes
			switch {
			case noRetag:
				fmt.Fprintln(out, "not re-tagged (--no-retag): datasets keep their tags until they change or a replay runs")
				return nil
			case !yes && isTerminal(cmd.InOrStdin()):
				fmt.Fprint(out, "Re-tag every dataset by replaying the normalised stream? [y/N] ")
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				a := strings.ToLower(strings.TrimSpace(line))
				retag = a == "y" || a == "yes"
			case !yes:
				fmt.Fprintln(out, "not a terminal and no --yes: not re-tagged (run again with --yes to re-tag every dataset)")
				return nil
			}
			if !retag {
				fmt.Fprintln(out, "not re-tagged")
				return nil
			}
			r, err := c.RequestReplay(ctx, string(bus.StageEnricher), "PaNET "+up.Release.Version+" sha256:"+short(up.Release.Digest))
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "replay %s of the enricher requested\n", r.ID)
			if detach {
				fmt.Fprintf(out, "follow it with: fairway panet replay-status %s --follow\n", r.ID)
				return nil
			}
			return followReplay(cmd, c, r, interval)
		},
	}
	var follow bool
	var replayStage string
	status := &cobra.Command{
		Use:   "replay-status ID [--follow]",
		Short: "Show how a re-tagging replay (or another stage's replay, --stage) stands (operator token)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			r, err := c.Replay(cmd.Context(), replayStage, args[0])
			if err != nil {
				return err
			}
			if follow && !r.Done() {
				return followReplay(cmd, c, r, interval)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "replay %s of the %s: %s, %d of %d datasets read, %d changed, %d superseded, %d refused (attempt %d",
				r.ID, r.Stage, r.State, r.Read, r.Total, r.Emitted, r.Superseded, r.Failed, r.Attempts)
			if r.Holder != "" {
				fmt.Fprintf(out, ", by %s", clip(r.Holder, 80))
			}
			fmt.Fprintln(out, ")")
			if r.State == bus.ReplayRetrying && r.RetryAt != nil {
				fmt.Fprintf(out, "  %d attempts in a row failed; taken again at %s\n", r.Failures, r.RetryAt.Format(time.RFC3339))
			}
			if r.LastError != "" {
				fmt.Fprintf(out, "  last error: %s\n", r.LastError)
			}
			if err := replayFailed(r); err != nil {
				fmt.Fprintf(out, "  %s\n", err)
			}
			return nil
		},
	}
	status.Flags().BoolVar(&follow, "follow", false, "follow the replay until it is done")
	status.Flags().StringVar(&replayStage, "stage", string(bus.StageEnricher), "the stage replayed (a replay of `fairway replay`: normaliser, enricher or publisher)")
	status.Flags().DurationVar(&interval, "interval", 500*time.Millisecond, "how often to poll the replay's progress")
	update.Flags().StringVar(&from, "from", "", "the new release: a PaNET OWL file (RDF/XML), a path or an http(s) URL")
	update.Flags().BoolVar(&yes, "yes", false, "re-tag every dataset without asking")
	update.Flags().BoolVar(&noRetag, "no-retag", false, "do not re-tag the datasets already in the catalogue")
	update.Flags().BoolVar(&detach, "detach", false, "do not follow the replay")
	update.Flags().DurationVar(&interval, "interval", 500*time.Millisecond, "how often to poll the replay's progress")
	update.Flags().DurationVar(&wait, "wait", 20*time.Second, "how long to wait for the running enrichers to use the new release")
	cmd.AddCommand(show, update, status)
	return cmd
}

// followReplay follows r with a progress bar until it is done, then says
// what it did.
func followReplay(cmd *cobra.Command, c *api.Client, r bus.Replay, interval time.Duration) error {
	bar := newReplayBar(cmd.ErrOrStderr())
	r, err := c.FollowReplay(cmd.Context(), r, interval, bar.update)
	bar.finish()
	if err != nil {
		return fmt.Errorf("following replay %s (it goes on): %w", r.ID, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "re-tagged: %d datasets read, %d changed, %d superseded by newer versions, %d refused\n", r.Read, r.Emitted, r.Superseded, r.Failed)
	return replayEnded(out, r)
}

// waitEnrichers waits (at most d) until every running enricher reports
// digest, and says how many do.
func waitEnrichers(ctx context.Context, c *api.Client, out io.Writer, digest string, d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		v, err := c.PaNET(ctx)
		if err != nil {
			fmt.Fprintf(out, "cannot tell which release the enrichers use: %v\n", err)
			return
		}
		using, failed := 0, ""
		for _, e := range v.Enrichers {
			if e.Digest == digest {
				using++
			} else if e.Error != "" {
				failed = e.Holder + ": " + e.Error
			}
		}
		if n := len(v.Enrichers); (n > 0 && using == n) || failed != "" || time.Now().After(deadline) {
			switch {
			case n == 0:
				fmt.Fprintln(out, "no enricher running: the release is loaded when one starts")
			case failed != "":
				fmt.Fprintf(out, "enrichers using it: %d of %d; one cannot load it: %s\n", using, n, clip(failed, 500))
			default:
				fmt.Fprintf(out, "enrichers using it: %d of %d\n", using, n)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// isTerminal reports whether r is a terminal (an interactive user who can
// answer a prompt).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// short is the first 12 characters of a digest.
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

// replayBar shows a replay's progress.
type replayBar struct {
	out  io.Writer
	what string
	bar  *progressbar.ProgressBar
	max  uint64
}

func newReplayBar(out io.Writer) *replayBar { return &replayBar{out: out, what: "re-tagging"} }

func (b *replayBar) update(r bus.Replay) {
	if r.State == bus.ReplayPending {
		return
	}
	if b.bar == nil || r.Total != b.max {
		if b.bar != nil {
			_ = b.bar.Exit()
		}
		b.max = r.Total
		b.bar = progressbar.NewOptions64(int64(max(r.Total, 1)),
			progressbar.OptionSetWriter(b.out),
			progressbar.OptionSetDescription(b.what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("keys"),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	}
	_ = b.bar.Set64(int64(r.Read))
}

func (b *replayBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		fmt.Fprintln(b.out)
	}
}
