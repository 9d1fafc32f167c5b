package node

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/api"
)

// StatusCommand returns `fairway status`: the node's streams, consumers
// and their lag, feeds and their last runs, destinations, dead letters,
// read-model and analytics lag, from GET /api/v1/status of the node at
// --server (an operator token).
func StatusCommand() *cobra.Command {
	var af apiFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show how the node stands: streams, lag, feeds, destinations, dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
	af.bind(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

// printStatus writes st as tables.
func printStatus(out io.Writer, st api.NodeStatus) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "status at %s\n\n", when(st.Time))
	fmt.Fprintln(w, "STREAM\tMESSAGES\tBYTES\tFIRST\tFIRST TIME\tLAST\tLAST TIME")
	for _, s := range st.Streams {
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%s\t%d\t%s\n", s.Name, s.Messages, humanBytes(int64(s.Bytes)), s.FirstSeq, when(s.FirstTime), s.LastSeq, when(s.LastTime))
	}
	fmt.Fprintln(w, "\nSTAGE\tINPUT\tPENDING\tACK PENDING\tLAG\tDEAD LETTERS")
	for _, s := range st.Stages {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\n", s.Stage, s.Stream, s.Pending, s.AckPending, s.Lag, s.DeadLetters)
	}
	fmt.Fprintln(w, "\nCONSUMER\tSTREAM\tPENDING\tACK PENDING\tLAG\tLAST ACK")
	for _, s := range st.Streams {
		for _, c := range s.Consumers {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\n", clip(c.Name, 80), c.Stream, c.Pending, c.AckPending, c.Lag, when(c.LastActive))
		}
	}
	fmt.Fprintf(w, "\nread-model lag: %d (%d read models)\t%s\n", st.ReadModelLag, len(st.ReadModels), analyticsLine(st))
	fmt.Fprintln(w, "\nFEED\tFACILITY\tENABLED\tLAST RUN\tSTATUS\tSTARTED\tRECORDS\tERROR")
	for _, f := range st.Feeds {
		if f.LastRun == nil {
			fmt.Fprintf(w, "%s\t%s\t%v\t-\tnever harvested\t-\t-\t\n", clip(f.ID, 60), f.Facility, f.Enabled)
			continue
		}
		r := f.LastRun
		started := "-"
		if r.StartedAt != nil {
			started = when(*r.StartedAt)
		}
		fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%s\t%d\t%s\n", clip(f.ID, 60), f.Facility, f.Enabled, clip(r.RunID, 40), r.Status, started, r.Records, clip(oneLine(r.Error), 200))
	}
	if st.Destinations != nil {
		fmt.Fprintln(w, "\nDESTINATION\tKIND\tENABLED\tRUNNING\tHELD\tPENDING\tFAILED\tDEAD LETTERS\tLAST ERROR")
		for _, d := range st.Destinations {
			fmt.Fprintf(w, "%s\t%s\t%v\t%v\t%d\t%d\t%d\t%d\t%s\n", clip(d.ID, 60), d.Kind, d.Enabled, d.Running, d.Held, d.Pending, d.Failed, d.DeadLetters, clip(oneLine(d.LastError), 200))
		}
	}
	fmt.Fprintf(w, "\ndead letters: %d", st.DeadLettersTotal)
	for _, k := range slices.Sorted(maps.Keys(st.DeadLetters)) {
		fmt.Fprintf(w, "  %s: %d", k, st.DeadLetters[k])
	}
	fmt.Fprintln(w)
	return w.Flush()
}

// analyticsLine says how the analytics stand: their lag while a writer
// reads their consumers, else that they are disabled (or absent).
func analyticsLine(st api.NodeStatus) string {
	switch st.AnalyticsState {
	case api.AnalyticsDisabled:
		return fmt.Sprintf("analytics: disabled (no writer reads its %d consumers: --no-analytics, and no analytics service elsewhere)", len(st.Analytics))
	case api.AnalyticsAbsent:
		return "analytics: absent (no analytics consumer)"
	}
	return fmt.Sprintf("analytics lag: %d (%d consumers)", st.AnalyticsLag, len(st.Analytics))
}
