package cli

import "github.com/spf13/cobra"

func newContainerCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	ls := newPsCommand(g)
	ls.Use, ls.Aliases = "ls [OPTIONS]", []string{"ps", "list"}
	rm := newRmCommand(g)
	cmd.AddCommand(newRunCommand(g), newCreateCommand(g), newStartCommand(g), newStopCommand(g, false), newStopCommand(g, true),
		newKillCommand(g), newPauseCommand(g, true), newPauseCommand(g, false), rm, newWaitCommand(g), ls, newLogsCommand(g),
		newExecCommand(g), newInspectCommand(g, true), newContainerPruneCommand(g), newAttachCommand(g), newRenameCommand(g),
		newStatsCommand(g), newTopCommand(g), newCommitCommand(g), newDiffCommand(g), newExportCommand(g), newCpCommand(g))
	return cmd
}
