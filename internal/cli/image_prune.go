package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newImagePruneCommand(g *globals) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				warn := "WARNING! This will remove all dangling images."
				if all {
					warn = "WARNING! This will remove all images without at least one container associated to them."
				}
				if !confirm(g, warn) {
					return nil
				}
			}
			svc, ctrs, err := g.imagesAndContainers(cmd)
			if err != nil {
				return err
			}
			res, err := svc.Prune(cmd.Context(), all, ctrs.UsesImage)
			if err != nil {
				return err
			}
			if len(res.Removed) > 0 {
				fmt.Fprintln(g.streams.Out, "Deleted Images:")
				for _, r := range res.Removed {
					for _, u := range r.Untagged {
						fmt.Fprintf(g.streams.Out, "untagged: %s\n", u)
					}
					for _, d := range r.Deleted {
						fmt.Fprintf(g.streams.Out, "deleted: %s\n", d)
					}
				}
				fmt.Fprintln(g.streams.Out)
			}
			fmt.Fprintf(g.streams.Out, "Total reclaimed space: %s\n", humanSize(res.Reclaimed))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}
