//go:build linux

package archive

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Changes returns what docker diff shows for a container whose overlayfs
// upper directory is upper and whose lower directories are lowers (top
// first), sorted by path. Every entry of upper is listed, directories
// included: a whiteout as ChangeDelete of the path it hides, any other
// entry as ChangeModify when the path exists below, else ChangeAdd.
//
// A path exists below when the first lower that has it holds it as
// something else than a whiteout. The lookup follows overlayfs: a whiteout
// or a non-directory on the way hides the path in all lower layers, and an
// opaque directory hides the layers below its own. An opaque directory in
// upper is itself looked up, but hides the lowers from everything under it,
// so that its children are ChangeAdd; the lower entries it hides are not
// listed. Nothing is followed: upper is walked through directory fds and
// lowers with lstat.
func Changes(upper string, lowers []string) ([]Change, error) {
	fd, err := unix.Open(upper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open upper dir %s: %w", upper, err)
	}
	defer unix.Close(fd)
	c := &changeLister{lowers: lowers, buf: make([]byte, dirBufferSize)}
	if err := c.walk(fd, "", false); err != nil {
		return nil, fmt.Errorf("list changes of %s: %w", upper, err)
	}
	slices.SortFunc(c.changes, func(a, b Change) int { return cmp.Compare(a.Path, b.Path) })
	return c.changes, nil
}

type changeLister struct {
	lowers  []string
	buf     []byte
	changes []Change
}

// walk lists the entries of the upper directory dirfd, whose path relative
// to upper is rel; hidden says an opaque directory above hides the lowers.
func (c *changeLister) walk(dirfd int, rel string, hidden bool) error {
	names, err := readNames(dirfd, c.buf)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", displayPath(rel), err)
	}
	for _, name := range names {
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT {
				continue
			}
			return fmt.Errorf("stat %s: %w", displayPath(p), err)
		}
		if isWhiteout(&st) {
			c.changes = append(c.changes, Change{Kind: ChangeDelete, Path: "/" + p})
			continue
		}
		kind := ChangeAdd
		if !hidden {
			below, err := c.below(p)
			if err != nil {
				return err
			}
			if below {
				kind = ChangeModify
			}
		}
		c.changes = append(c.changes, Change{Kind: kind, Path: "/" + p})
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
			continue // removed or replaced since the stat
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", displayPath(p), err)
		}
		op, err := isOpaque(fd, "")
		if err == nil {
			err = c.walk(fd, p, hidden || op)
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// below reports whether the path p (relative, cleaned) is visible in the
// union of the lowers.
func (c *changeLister) below(p string) (bool, error) {
	parts := strings.Split(p, "/")
	for _, l := range c.lowers {
		found, stop, err := lookupLower(l, parts)
		if err != nil || found || stop {
			return found, err
		}
	}
	return false, nil
}

// lookupLower looks the path parts up in the layer dir l. found means l
// holds it; stop means l hides it from the layers below (a whiteout, a
// non-directory or an opaque directory on the way).
func lookupLower(l string, parts []string) (found, stop bool, err error) {
	p := l
	opaqueAbove := false
	for i, part := range parts {
		p += "/" + part
		var st unix.Stat_t
		err := unix.Lstat(p, &st)
		if err == unix.ENOENT || err == unix.ENOTDIR {
			return false, opaqueAbove, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("stat %s: %w", p, err)
		}
		switch {
		case isWhiteout(&st):
			return false, true, nil
		case i == len(parts)-1:
			return true, false, nil
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			return false, true, nil
		}
		op, err := isOpaque(-1, p)
		if err != nil {
			return false, false, err
		}
		opaqueAbove = opaqueAbove || op
	}
	return false, opaqueAbove, nil
}

// isOpaque reports whether the directory fd, or the path p when fd is -1,
// is an overlayfs opaque directory.
func isOpaque(fd int, p string) (bool, error) {
	for _, name := range []string{opaqueXattr, userOpaqueXattr} {
		buf := make([]byte, 1)
		var n int
		var err error
		if fd >= 0 {
			n, err = unix.Fgetxattr(fd, name, buf)
		} else {
			n, err = unix.Lgetxattr(p, name, buf)
		}
		switch {
		case err == nil && n == 1 && buf[0] == 'y':
			return true, nil
		case err == nil, errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP),
			errors.Is(err, unix.EPERM), errors.Is(err, unix.ERANGE):
		default:
			return false, fmt.Errorf("get xattr %s: %w", name, err)
		}
	}
	return false, nil
}
