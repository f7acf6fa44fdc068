package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/image"
)

func newImportCommand(g *globals) *cobra.Command {
	var changes []string
	var message, platform string
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := args[0]
			if strings.Contains(src, "://") {
				return errdefs.New(errdefs.ErrNotImplemented, "import %s: importing from a URL is not supported; download the file and import it", src)
			}
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			var r io.Reader = g.streams.In
			if src != "-" {
				f, err := os.Open(src)
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				r = f
			}
			opts := image.CommitOptions{Changes: changes, Comment: message, Platform: platform, CreatedBy: ""}
			if opts.Comment == "" {
				opts.Comment = "Imported from " + src
			}
			if len(args) == 2 {
				opts.Ref = args[1]
			}
			img, err := svc.Commit(cmd.Context(), r, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.streams.Out, img.ID)
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	cmd.Flags().StringVarP(&message, "message", "m", "", "Set commit message for imported image")
	cmd.Flags().StringVar(&platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}
