package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/archive"
	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/errdefs"
)

func newCommitCommand(g *globals) *cobra.Command {
	var author, message string
	var changes []string
	var pause bool
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			opts := container.CommitOptions{Author: author, Comment: message, Changes: changes, Pause: pause}
			if len(args) == 2 {
				opts.Ref = args[1]
			}
			img, err := svc.Commit(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.streams.Out, img.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringArrayVarP(&changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	f.StringVarP(&message, "message", "m", "", "Commit message")
	f.BoolVarP(&pause, "pause", "p", true, "Pause container during commit")
	return cmd
}

func newDiffCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  exactArgs(1, "CONTAINER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			changes, err := svc.Changes(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Fprintf(g.streams.Out, "%s %s\n", c.Kind, c.Path)
			}
			return nil
		},
	}
}

func newExportCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  exactArgs(1, "CONTAINER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				if isTerminal(g.streams.Out) {
					return errdefs.New(errdefs.ErrInvalidArgument, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
				}
				return svc.Export(cmd.Context(), args[0], g.streams.Out)
			}
			return writeFileAtomically(output, func(w io.Writer) error { return svc.Export(cmd.Context(), args[0], w) })
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// writeFileAtomically writes a file through a temporary one beside it, so
// that a failure leaves nothing under the name.
func writeFileAtomically(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".berth-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

func newCpCommand(g *globals) *cobra.Command {
	var archiveMode, followLink, quiet bool
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem\n\n" +
			"Use '-' as the source to read a tar archive from stdin and extract it to a directory destination in a container.\n" +
			"Use '-' as the destination to stream a tar archive of a container source to stdout.",
		Args: exactArgs(2, "SRC DEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, dst := args[0], args[1]
			srcCtr, srcPath, srcIn := splitCpArg(src)
			dstCtr, dstPath, dstIn := splitCpArg(dst)
			switch {
			case srcIn && dstIn:
				return usageError{errors.New("copying between containers is not supported")}
			case !srcIn && !dstIn:
				return usageError{errors.New("must specify at least one container source")}
			}
			svc, err := g.containers(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if srcIn {
				return copyFromContainer(ctx, g, svc, srcCtr, srcPath, dst, archiveMode, followLink)
			}
			return copyToContainer(ctx, g, svc, src, dstCtr, dstPath, archiveMode, followLink)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&archiveMode, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&followLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	f.BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output during copy (there is none)")
	return cmd
}

// splitCpArg splits CONTAINER:PATH; a local path is one with a "/" before
// any ":" (or starting with "." or "/"), as the docker CLI decides.
func splitCpArg(arg string) (ctr, path string, inContainer bool) {
	if arg == "-" || strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg, false
	}
	c, p, ok := strings.Cut(arg, ":")
	if !ok || strings.Contains(c, "/") {
		return "", arg, false
	}
	return c, p, true
}

func copyFromContainer(ctx context.Context, g *globals, svc *container.Service, ctr, path, dst string, archiveMode, followLink bool) error {
	if dst == "-" {
		return svc.CopyFrom(ctx, ctr, path, g.streams.Out, followLink)
	}
	// The archive is unpacked into a staging dir beside the destination
	// (with the layer applier's checks), then moved into place: into an
	// existing directory, or as the destination's name.
	target := dst
	name := filepath.Base(filepath.Clean("/" + path))
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		target = filepath.Join(dst, name)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	} else if _, err := os.Stat(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(target), ".berth-cp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	pr, pw := io.Pipe()
	copied := make(chan error, 1)
	go func() {
		err := svc.CopyFrom(ctx, ctr, path, pw, followLink)
		pw.CloseWithError(err)
		copied <- err
	}()
	_, err = archive.Apply(ctx, staging, pr)
	pr.CloseWithError(err)
	// CopyFrom unmounts its view of the container when it returns.
	if cerr := <-copied; err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(staging)
	if err != nil || len(ents) != 1 {
		return fmt.Errorf("copy from %s:%s: unexpected archive", ctr, path)
	}
	got := filepath.Join(staging, ents[0].Name())
	if !archiveMode {
		// Files copied out belong to the user who runs cp, as in Docker.
		uid, gid := os.Getuid(), os.Getgid()
		filepath.WalkDir(got, func(p string, _ os.DirEntry, err error) error {
			if err == nil {
				os.Lchown(p, uid, gid)
			}
			return nil
		})
	}
	if fi, err := os.Lstat(target); err == nil && fi.IsDir() {
		if gfi, _ := os.Lstat(got); gfi != nil && gfi.IsDir() {
			return mergeDirs(got, target)
		}
	}
	os.RemoveAll(target)
	return os.Rename(got, target)
}

// mergeDirs moves the entries of src into the existing directory dst.
func mergeDirs(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() && e.IsDir() {
			if err := mergeDirs(s, d); err != nil {
				return err
			}
			continue
		}
		os.RemoveAll(d)
		if err := os.Rename(s, d); err != nil {
			return err
		}
	}
	return nil
}

func copyToContainer(ctx context.Context, g *globals, svc *container.Service, src, ctr, path string, archiveMode, followLink bool) error {
	if src == "-" {
		return svc.CopyTo(ctx, ctr, path, g.streams.In)
	}
	local := src
	if followLink {
		if r, err := filepath.EvalSymlinks(src); err == nil {
			local = r
		}
	}
	if _, err := os.Lstat(local); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	send := func(dir, name string) error {
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			pw.CloseWithError(archive.Tar(ctx, pw, local, archive.TarOptions{Name: name, NoOwnership: !archiveMode}))
			close(done)
		}()
		err := svc.CopyTo(ctx, ctr, dir, pr)
		pr.CloseWithError(err)
		<-done
		return err
	}
	// Into the destination if it is a directory, else as it (renamed).
	err := send(path, filepath.Base(filepath.Clean(src)))
	if errdefs.IsNotFound(err) || errors.Is(err, errdefs.ErrInvalidArgument) {
		clean := filepath.Clean("/" + path)
		return send(filepath.Dir(clean), filepath.Base(clean))
	}
	return err
}
