package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registryconf"
)

func newPushCommand(g *globals) *cobra.Command {
	var quiet, allTags bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Long: `Upload an image to its registry, or to the push endpoint of the config rule
that matches it ("push" in a registries rule), and only there: a push never
falls back to the origin. A rule that is blocked, or has fallback "none" and no
push endpoint, refuses the push. Mirrors, rewrites and the --replace and
--registry-mirror flags apply to pulls only. 'berth image resolve --push NAME'
explains where a push goes.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if allTags {
				return fmt.Errorf("berth push --all-tags: not supported yet")
			}
			ref, err := reference.Parse(args[0])
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			plan, err := e.ResolvePush(cmd.Context(), ref.String())
			if err != nil {
				return err
			}
			out := g.streams.Out
			var prog *pullProgress
			if !quiet {
				ep := plan.Endpoint
				fmt.Fprintf(out, "The push refers to repository [%s]\n", ep.Ref.Name())
				if ep.Role == registryconf.RolePush {
					fmt.Fprintf(out, "Push endpoint of %s (no fallback to the origin)\n", ep.Rule)
				}
				prog = newPullProgress(out)
			}
			update := func(u imageProgress) {
				if prog != nil {
					prog.update(u)
				}
			}
			res, err := e.Push(cmd.Context(), plan, update)
			if prog != nil {
				prog.finish()
			}
			if err != nil {
				return err
			}
			if quiet {
				fmt.Fprintln(out, ref.String())
				return nil
			}
			fmt.Fprintf(out, "%s: digest: %s size: %d\n", res.Tag, res.Digest, res.Size)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	cmd.Flags().BoolVarP(&allTags, "all-tags", "a", false, "Push all tags of the repository (not supported yet)")
	return cmd
}
