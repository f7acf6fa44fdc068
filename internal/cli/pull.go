package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/image"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registry"
	"berth.dev/berth/internal/registryconf"
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
			if quiet {
				if _, _, err := e.Pull(cmd.Context(), args[0], flags, opts); err != nil {
					return err
				}
			} else {
				if name.Tag() == "latest" && !hasTagOrDigest(args[0]) {
					fmt.Fprintln(out, "Using default tag: latest")
				}
				if _, err := pullImage(cmd.Context(), e, out, name, flags, opts); err != nil {
					return err
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

// pullImage pulls name as Docker shows it, on w: "TAG: Pulling from PATH",
// the layers' progress, the digest, and whether anything changed: "Image is
// up to date" when the name already resolved to the image, at the digest
// the registry gave. run and create use it too, on stderr.
func pullImage(ctx context.Context, e *engine.Engine, w io.Writer, name reference.Reference, flags registryconf.Flags, opts image.PullOptions) (*image.PullResult, error) {
	what := name.Tag()
	if name.Digest() != "" {
		what = string(name.Digest())
	}
	fmt.Fprintf(w, "%s: Pulling from %s\n", what, name.Path())
	prog := newPullProgress(w)
	opts.Progress = prog.update
	_, res, err := e.Pull(ctx, name.String(), flags, opts)
	prog.finish()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "Digest: %s\n", res.Digest)
	if res.Downloaded {
		fmt.Fprintf(w, "Status: Downloaded newer image for %s\n", name.Familiar())
	} else {
		fmt.Fprintf(w, "Status: Image is up to date for %s\n", name.Familiar())
	}
	return res, nil
}
