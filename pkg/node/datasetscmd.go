package node

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/readmodel"
)

// DatasetsCommand returns `fairway datasets`: who owns a dataset, the
// operator's transfer of a dataset to another facility, and the FAIR
// quality of each facility's datasets.
func DatasetsCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "datasets",
		Short: "Dataset ownership and quality on a running node",
		Long: "A dataset belongs to the facility whose feed first published it; records and deletions of\n" +
			"other facilities' feeds for it are refused into the dead letters. KEY is a dataset key\n" +
			"(doi:10.5072/abc, src:esrf:oai:…) or a DOI.",
	}
	af.bind(cmd.PersistentFlags())

	owner := &cobra.Command{
		Use:   "owner KEY",
		Short: "Show which facility owns a dataset",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			own, err := c.DatasetOwner(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), own)
		},
	}

	var to string
	var force bool
	transfer := &cobra.Command{
		Use:   "transfer KEY --to FACILITY [--force]",
		Short: "Make another facility the owner of a dataset (operator token)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return errors.New("--to FACILITY is required")
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			own, err := c.TransferDataset(cmd.Context(), args[0], to, force)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), own)
		},
	}
	transfer.Flags().StringVar(&to, "to", "", "facility that owns the dataset from now on")
	transfer.Flags().BoolVar(&force, "force", false, "hand over a key that nobody owns yet (a dataset not yet harvested)")

	var facility string
	var asJSON bool
	qualityCmd := &cobra.Command{
		Use:   "quality [--facility FACILITY] [--json]",
		Short: "Show the FAIR quality score of each facility's datasets",
		Long: "For each facility with live datasets (or one, with --facility): the datasets counted, the\n" +
			"mean score, the datasets per tenth of the score, the mean of each dimension and the checks\n" +
			"most often failed, from the node's read model (GET /quality/facilities).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			var fs []readmodel.FacilityQuality
			if facility != "" {
				f, err := c.FacilityQuality(cmd.Context(), facility)
				if err != nil {
					return err
				}
				fs = []readmodel.FacilityQuality{f}
			} else if fs, err = c.FacilitiesQuality(cmd.Context()); err != nil {
				return err
			}
			if asJSON {
				if facility != "" {
					return printJSON(cmd.OutOrStdout(), fs[0])
				}
				return printJSON(cmd.OutOrStdout(), map[string]any{"facilities": fs})
			}
			return printQuality(cmd.OutOrStdout(), fs)
		},
	}
	qualityCmd.Flags().StringVar(&facility, "facility", "", "only this facility")
	qualityCmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(owner, transfer, qualityCmd)
	return cmd
}

// qualityTopGaps is how many of the most common gaps the table shows per
// facility (the JSON has them all).
const qualityTopGaps = 3

// printQuality prints one row per facility: datasets, mean score, the
// datasets per tenth of the score (0-0.1 … 0.9-1), the mean of each
// dimension and the most common gaps.
func printQuality(out io.Writer, fs []readmodel.FacilityQuality) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	var dims []string
	for _, f := range fs {
		for _, d := range f.Dimensions {
			if !slices.Contains(dims, d.Name) {
				dims = append(dims, d.Name)
			}
		}
	}
	head := []string{"FACILITY", "DATASETS", "MEAN", "DISTRIBUTION (0-0.1 … 0.9-1)"}
	for _, d := range dims {
		head = append(head, strings.ToUpper(d))
	}
	fmt.Fprintln(w, strings.Join(append(head, "MOST COMMON GAPS"), "\t"))
	for _, f := range fs {
		var dist []string
		for _, b := range f.Distribution {
			dist = append(dist, fmt.Sprint(b.Datasets))
		}
		row := []string{clip(f.Facility, 64), fmt.Sprint(f.Datasets), fmt.Sprintf("%.4f", f.MeanScore), strings.Join(dist, " ")}
		for _, name := range dims {
			v := "-"
			for _, d := range f.Dimensions {
				if d.Name == name {
					v = fmt.Sprintf("%.4f", d.MeanScore)
				}
			}
			row = append(row, v)
		}
		var gaps []string
		for i, g := range f.Gaps {
			if i == qualityTopGaps {
				break
			}
			gaps = append(gaps, fmt.Sprintf("%s (%d)", clip(g.Check, 64), g.Datasets))
		}
		fmt.Fprintln(w, strings.Join(append(row, strings.Join(gaps, ", ")), "\t"))
	}
	return w.Flush()
}
