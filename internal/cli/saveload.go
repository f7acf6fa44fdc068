package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/image"
)

func newSaveCommand(g *globals) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  minArgs(1, "IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			var w io.Writer = g.streams.Out
			var tmp *os.File
			if output == "" || output == "-" {
				if isTerminal(g.streams.Out) {
					return errdefs.New(errdefs.ErrInvalidArgument, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
				}
			} else {
				// Written beside the target and renamed, so that a failed
				// save leaves no half archive under the name.
				if tmp, err = os.CreateTemp(filepath.Dir(output), ".berth-save-*"); err != nil {
					return fmt.Errorf("save: %w", err)
				}
				defer os.Remove(tmp.Name())
				defer tmp.Close()
				w = tmp
			}
			if err := svc.Save(cmd.Context(), w, args, format); err != nil {
				return err
			}
			if tmp == nil {
				return nil
			}
			if err := tmp.Chmod(0o644); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			return os.Rename(tmp.Name(), output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	cmd.Flags().StringVar(&format, "format", image.FormatDocker, `Archive format: "docker" (Docker 25's: an OCI layout with manifest.json) or "oci"`)
	return cmd
}

func newLoadCommand(g *globals) *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive or STDIN (docker save output or an OCI layout, plain or compressed)",
		Args:  noArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := g.images(cmd)
			if err != nil {
				return err
			}
			var r io.Reader = g.streams.In
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return fmt.Errorf("load: %w", err)
				}
				defer f.Close()
				r = f
			} else if f, ok := g.streams.In.(*os.File); ok && isTerminal(f) {
				return errdefs.New(errdefs.ErrInvalidArgument, "requested load from stdin, but stdin is empty")
			}
			loaded, err := svc.Load(cmd.Context(), r)
			if err != nil {
				return err
			}
			if len(loaded) == 0 {
				return errors.New("load: the archive holds no image")
			}
			for _, l := range loaded {
				if len(l.Refs) == 0 {
					fmt.Fprintf(g.streams.Out, "Loaded image ID: %s\n", l.ID)
					continue
				}
				for _, r := range l.Refs {
					fmt.Fprintf(g.streams.Out, "Loaded image: %s\n", r.Familiar())
				}
			}
			_ = quiet
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output (there is no progress output to suppress)")
	return cmd
}
