package cli

import (
	"github.com/spf13/cobra"
)

func newTagCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  exactArgs(2, "SOURCE_IMAGE TARGET_IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			return svc.Tag(cmd.Context(), args[0], args[1])
		},
	}
}
