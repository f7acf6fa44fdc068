package cli

import "github.com/spf13/cobra"

func newImageCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	ls := newImagesCommand(g)
	ls.Use, ls.Aliases = "ls [OPTIONS] [REPOSITORY[:TAG]]", []string{"list"}
	cmd.AddCommand(
		newImageResolveCommand(g),
		newPullCommand(g),
		newPushCommand(g),
		ls,
		newImageInspectCommand(g),
		newTagCommand(g),
		newRmiCommand(g, "rm"),
		newImagePruneCommand(g),
		newHistoryCommand(g),
		newSaveCommand(g),
		newLoadCommand(g),
		newImportCommand(g),
	)
	return cmd
}
