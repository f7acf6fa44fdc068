package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registry"
)

func newPullCommand(g *globals) *cobra.Command {
	var (
		quiet, allTags bool
		platform       string
		rf             registryFlags
	)
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if allTags {
				return errors.New("berth pull --all-tags: not supported yet")
			}
			flags, err := rf.flags()
			if err != nil {
				return err
			}
			opts := image.PullOptions{}
			if platform != "" {
				if opts.Platform, err = registry.ParsePlatform(platform); err != nil {
					return err
				}
			}
			name, err := reference.Parse(args[0])
			if err != nil {
				return err
			}
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			out := g.streams.Out
			var prog *pullProgress
			if !quiet {
				if name.Tag() == "latest" && !hasTagOrDigest(args[0]) {
					fmt.Fprintln(out, "Using default tag: latest")
				}
				what := name.Tag()
				if name.Digest() != "" {
					what = string(name.Digest())
				}
				fmt.Fprintf(out, "%s: Pulling from %s\n", what, name.Path())
				prog = newPullProgress(out)
				opts.Progress = prog.update
			}
			_, res, err := e.Pull(cmd.Context(), args[0], flags, opts)
			if prog != nil {
				prog.finish()
			}
			if err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintf(out, "Digest: %s\n", res.Digest)
				if res.Downloaded {
					fmt.Fprintf(out, "Status: Downloaded newer image for %s\n", name.Familiar())
				} else {
					fmt.Fprintf(out, "Status: Image is up to date for %s\n", name.Familiar())
				}
			}
			fmt.Fprintln(out, name.String())
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	f.BoolVarP(&allTags, "all-tags", "a", false, "Download all tagged images in the repository (not supported yet)")
	f.StringVar(&platform, "platform", "", "Set platform if server is multi-platform capable (os/arch[/variant])")
	rf.add(f)
	return cmd
}

// hasTagOrDigest reports whether the user wrote a tag or digest.
func hasTagOrDigest(s string) bool {
	return strings.Contains(s, "@") || strings.LastIndexByte(s, ':') > strings.LastIndexByte(s, '/')
}
