package node

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/analytics"
	"github.com/panosc/fairway/pkg/api"
)

// statsShort describes each statistic of `fairway stats`.
var statsShort = map[string]string{
	analytics.StatHoldings:   "Live datasets per facility: open, with a DOI, with a technique, mean quality",
	analytics.StatTechniques: "Datasets per PaNET technique, rolled up the hierarchy (direct: tagged with it exactly)",
	analytics.StatTimeline:   "Datasets per month of issue and facility",
	analytics.StatReuse:      "Most reused datasets: COUNTER investigations and requests, and citations",
	analytics.StatQuality:    "Quality score distribution per facility, in buckets of 0.1",
	analytics.StatGaps:       "Most common quality gaps per facility (--limit per facility)",
	analytics.StatHarvests:   "Harvest health per feed: error rate over the last runs, last success, lag",
}

// StatsCommand returns `fairway stats`, which asks the node's HTTP API
// (--server) the analytics questions of docs/analytics.md and prints the
// answer as an aligned table, CSV or JSON.
func StatsCommand() *cobra.Command {
	var (
		af                                        apiFlags
		format, facility, technique, since, until string
		limit                                     int
	)
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Ask the node's analytics: holdings, techniques, timeline, reuse, quality, gaps, harvests",
		Long: "Each statistic counts the current state of the catalogue (the latest version of every dataset,\n" +
			"withdrawn ones left out), read from the node's ClickHouse through its HTTP API.",
	}
	af.bind(cmd.PersistentFlags())
	fs := cmd.PersistentFlags()
	fs.StringVar(&format, "format", "table", "output: table, csv or json")
	fs.StringVar(&facility, "facility", "", "only this facility")
	fs.StringVar(&technique, "technique", "", "only datasets with this PaNET technique or a narrower one (PaNET01168 or its IRI)")
	fs.StringVar(&since, "since", "", "from this date on (YYYY-MM-DD or YYYY-MM): date of issue, month of usage, start of a harvest run")
	fs.StringVar(&until, "until", "", "before this date (YYYY-MM-DD or YYYY-MM)")
	fs.IntVar(&limit, "limit", 0, fmt.Sprintf("at most this many rows (default %d)", analytics.DefaultStatsLimit))
	for _, name := range analytics.StatNames {
		cmd.AddCommand(&cobra.Command{
			Use:   name,
			Short: statsShort[name],
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if format != "table" && format != "csv" && format != "json" {
					return fmt.Errorf("--format %q: want table, csv or json", format)
				}
				c, err := af.client()
				if err != nil {
					return err
				}
				params := url.Values{}
				for k, v := range map[string]string{"facility": facility, "technique": technique, "since": since, "until": until} {
					if v != "" {
						params.Set(k, v)
					}
				}
				if limit != 0 {
					params.Set("limit", strconv.Itoa(limit))
				}
				res, err := c.Stats(cmd.Context(), name, params)
				if err != nil {
					return err
				}
				return printStats(cmd.OutOrStdout(), format, res)
			},
		})
	}
	return cmd
}

// printStats writes res in format (table, csv or json).
func printStats(w io.Writer, format string, res *analytics.StatsResult) error {
	switch format {
	case "json":
		return printJSON(w, res)
	case "csv":
		return api.WriteStatsCSV(w, res)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = strings.ToUpper(c.Name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, row := range res.Rows {
		cells := api.StatsCells(row)
		for i := range cells {
			cells[i] = clip(strings.NewReplacer("\t", " ", "\n", " ").Replace(cells[i]), 80)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if len(res.Rows) == 0 {
		fmt.Fprintln(tw, "(no rows)")
	}
	return tw.Flush()
}
