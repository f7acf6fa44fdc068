//go:build linux

package archive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

// Tar writes the tree at dir to w as a plain tar, for docker export and
// docker cp out of a container. Headers follow the rules of [Diff] (PAX,
// xattrs but overlayfs's own, hardlinks, devices, mtime to the second,
// symlinks never followed, sockets skipped) without the whiteout
// conversion: a 0/0 character device is written as one.
//
// When dir is a directory, its entries are named relative to it, under
// opts.Name when that is set (with an entry opts.Name+"/" for dir itself).
// When dir is anything else (docker cp of a single file or symlink), dir's
// last element is not followed and the archive holds that one entry, named
// opts.Name or else dir's base name (no entry for a socket). The rest of dir's path is resolved by
// the caller's rules: it is followed. ctx is checked between entries.
func Tar(ctx context.Context, w io.Writer, dir string, opts TarOptions) error {
	name := opts.Name
	if name != "" {
		name = path.Clean(name)
		if path.IsAbs(name) || name == "." || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("tar %s: invalid entry name %q: %w", dir, opts.Name, errdefs.ErrInvalidArgument)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	tw := tar.NewWriter(w)
	wk := newWalker(ctx, tw, opts.Exclude)
	wk.noOwner = opts.NoOwnership
	var err error
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		err = tarDir(wk, dir, name)
	} else {
		err = tarOne(wk, dir, name)
	}
	if err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	return nil
}

func tarDir(wk *walker, dir, name string) error {
	if wk.exclude[""] {
		return nil
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer unix.Close(fd)
	return wk.dir(fd, "", name, name != "")
}

// tarOne writes the single entry dir, through its parent.
func tarOne(wk *walker, dir, name string) error {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if name == "" {
		name = base
	}
	fd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open parent directory: %w", err)
	}
	defer unix.Close(fd)
	return wk.entry(fd, base, "", name)
}
