//go:build linux

package archive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// Diff writes the overlayfs upper directory upper to w as an OCI image
// layer (an uncompressed tar, the inverse of [Apply]), as docker commit
// does, and returns the number of bytes written.
//
// Entries come depth-first in lexical order, parents first, named relative
// to upper ("etc/", "etc/passwd"); upper itself has no entry. A whiteout (a
// 0/0 character device) a/b becomes the empty file a/.wh.b; an opaque
// directory (trusted.overlay.opaque or user.overlay.opaque = "y") is
// followed by the empty file dir/.wh..wh..opq. Regular files, directories,
// symlinks (never followed), fifos and devices are written with their
// owner, mode, mtime (to the second; no atime or ctime) and xattrs
// (SCHILY.xattr. PAX records; overlayfs's own are left out). An inode seen
// before under another name is written as a hardlink to that name. Sockets
// are skipped. Paths in opts.Exclude are left out with all under them. The
// same upper gives the same bytes.
//
// Every entry is opened relative to its parent's fd without following
// symlinks, so a file swapped for a symlink during the walk cannot pull a
// host file in; an entry removed during the walk is left out. An upper that
// depends on a lower layer for content (overlayfs redirect_dir or
// metacopy) gives an error of kind errdefs.ErrNotImplemented. ctx is
// checked between entries.
func Diff(ctx context.Context, w io.Writer, upper string, opts DiffOptions) (int64, error) {
	cw := &countWriter{w: w}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("diff %s: %w", upper, err)
	}
	fd, err := unix.Open(upper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open upper dir %s: %w", upper, err)
	}
	defer unix.Close(fd)
	tw := tar.NewWriter(cw)
	wk := newWalker(ctx, tw, opts.Exclude)
	wk.overlay = true
	if !wk.exclude[""] {
		if err := wk.dir(fd, "", "", false); err != nil {
			return cw.n, fmt.Errorf("diff %s: %w", upper, err)
		}
	}
	if err := tw.Close(); err != nil {
		return cw.n, fmt.Errorf("diff %s: %w", upper, err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
