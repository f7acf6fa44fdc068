package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newRmiCommand(g *globals, use string) *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, ctrs, err := g.imagesAndContainers(cmd)
			if err != nil {
				return err
			}
			var errs []error
			for _, a := range args {
				res, err := svc.Remove(cmd.Context(), a, force, ctrs.UsesImage)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for _, u := range res.Untagged {
					fmt.Fprintf(g.streams.Out, "Untagged: %s\n", u)
				}
				for _, d := range res.Deleted {
					fmt.Fprintf(g.streams.Out, "Deleted: %s\n", d)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents (berth has no parent images: no effect)")
	return cmd
}
