package node

import (
	"errors"

	"github.com/spf13/cobra"
)

// DatasetsCommand returns `fairway datasets`: who owns a dataset, and the
// operator's transfer of a dataset to another facility.
func DatasetsCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "datasets",
		Short: "Dataset ownership on a running node",
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
	cmd.AddCommand(owner, transfer)
	return cmd
}
