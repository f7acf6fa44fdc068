package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// openSource opens src as a directory without following a symlink. It
// returns nil (and no error) if src is missing, not a directory, or a
// symlink: there is nothing to copy.
func openSource(src string) (*os.File, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	switch {
	case err == nil:
		return os.NewFile(uintptr(fd), src), nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ELOOP):
		return nil, nil
	}
	return nil, fmt.Errorf("open %s: %w", src, err)
}

// fileID names an inode, to find hard links.
type fileID struct{ dev, ino uint64 }

// copier copies a tree with *at syscalls on directory descriptors, never
// following a symlink and never resolving a path from the data directory
// down, so nothing outside it is written even if something else changes
// the tree while the copy runs.
type copier struct {
	ctx   context.Context
	root  *os.Root          // the data directory, for hard links
	links map[fileID]string // the first copy (path in root) of a multiply-linked source inode
}

// copyTree copies the directory src into the empty directory dst, then
// gives dst the owner, mode, extended attributes and times of src, and
// syncs dst's file system.
func copyTree(ctx context.Context, dst string, src *os.File) error {
	var dfd int
	err := ignoringEINTR(func() (err error) {
		dfd, err = unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("open %s: %w", dst, err)
	}
	d := os.NewFile(uintptr(dfd), dst)
	defer d.Close()
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	c := &copier{ctx: ctx, root: root, links: map[fileID]string{}}
	if err := c.dir(src, d, ""); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", src.Name(), err)
	}
	if err := setMeta(node{dirfd: -1, fd: int(src.Fd())}, node{dirfd: -1, fd: dfd}, &st); err != nil {
		return fmt.Errorf("copy metadata of %s: %w", src.Name(), err)
	}
	if err := unix.Syncfs(dfd); err != nil {
		return fmt.Errorf("sync %s: %w", dst, err)
	}
	return nil
}

// dir copies the entries of src into dst; rel is dst's path in the root.
func (c *copier) dir(src, dst *os.File, rel string) error {
	names, err := src.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", displayPath(rel), err)
	}
	for _, name := range names {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if err := c.entry(int(src.Fd()), int(dst.Fd()), name, path.Join(rel, name)); err != nil {
			return err
		}
	}
	return nil
}

// entry copies name from the directory sfd to the directory dfd.
func (c *copier) entry(sfd, dfd int, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", displayPath(rel), err)
	}
	kind := st.Mode & unix.S_IFMT
	id := fileID{dev: st.Dev, ino: st.Ino}
	linked := kind != unix.S_IFDIR && st.Nlink > 1
	if linked {
		if first, ok := c.links[id]; ok {
			if err := c.root.Link(first, rel); err == nil {
				return nil
			}
			// Not possible here (EMLINK, say): copy it instead.
		}
	}
	src := node{dirfd: sfd, name: name, fd: -1}
	dst := node{dirfd: dfd, name: name, fd: -1}
	var err error
	switch kind {
	case unix.S_IFDIR:
		err = c.copyDir(src, dst, &st, rel)
	case unix.S_IFREG:
		err = copyFile(src, dst, &st)
	case unix.S_IFLNK:
		err = copySymlink(src, dst, &st)
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		err = ignoringEINTR(func() error { return unix.Mknodat(dfd, name, kind|0o600, int(st.Rdev)) })
		if err == nil {
			err = setMeta(src, dst, &st)
		}
	default: // sockets belong to the process that made them
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", displayPath(rel), err)
	}
	if linked {
		if _, ok := c.links[id]; !ok {
			c.links[id] = rel
		}
	}
	return nil
}

func (c *copier) copyDir(src, dst node, st *unix.Stat_t, rel string) error {
	if err := unix.Mkdirat(dst.dirfd, dst.name, 0o700); err != nil {
		return err
	}
	sf, err := openDirAt(src.dirfd, src.name)
	if err != nil {
		return err
	}
	defer sf.Close()
	if err := sameFile(sf, st); err != nil {
		return err
	}
	df, err := openDirAt(dst.dirfd, dst.name)
	if err != nil {
		return err
	}
	defer df.Close()
	if err := c.dir(sf, df, rel); err != nil {
		return err
	}
	// After the entries: creating them changed the directory's times.
	src.fd, dst.fd = int(sf.Fd()), int(df.Fd())
	return setMeta(src, dst, st)
}

func copyFile(src, dst node, st *unix.Stat_t) error {
	var sfd int
	err := ignoringEINTR(func() (err error) {
		// O_NONBLOCK: should a fifo replace the file, opening it must not hang.
		sfd, err = unix.Openat(src.dirfd, src.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return err
	}
	in := os.NewFile(uintptr(sfd), src.name)
	defer in.Close()
	if err := sameFile(in, st); err != nil {
		return err
	}
	if err := unix.SetNonblock(sfd, false); err != nil {
		return err
	}
	var dfd int
	err = ignoringEINTR(func() (err error) {
		dfd, err = unix.Openat(dst.dirfd, dst.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(dfd), dst.name)
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil { // copy_file_range where it can
		return err
	}
	src.fd, dst.fd = sfd, dfd
	if err := setMeta(src, dst, st); err != nil {
		return err
	}
	return out.Close()
}

func copySymlink(src, dst node, st *unix.Stat_t) error {
	buf := make([]byte, max(st.Size+1, 256))
	for {
		n, err := unix.Readlinkat(src.dirfd, src.name, buf)
		if err != nil {
			return err
		}
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	if err := unix.Symlinkat(string(buf), dst.dirfd, dst.name); err != nil {
		return err
	}
	return setMeta(src, dst, st)
}

// openDirAt opens the directory name in dirfd, not following a symlink.
func openDirAt(dirfd int, name string) (*os.File, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// sameFile checks that f is the inode st describes: it was not replaced
// between the stat and the open.
func sameFile(f *os.File, st *unix.Stat_t) error {
	var got unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &got); err != nil {
		return err
	}
	if got.Dev != st.Dev || got.Ino != st.Ino || got.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT {
		return errors.New("changed while being copied")
	}
	return nil
}

// node is a file named by its directory and name, and also by its own
// descriptor when it is open (fd >= 0). The data directory itself is a
// node with an fd and no directory.
type node struct {
	dirfd int
	name  string
	fd    int
}

// procPath names the node through /proc, for the calls that have no *at
// form: the directory's descriptor is followed, the last component never.
func (n node) procPath() string {
	if n.fd >= 0 {
		return "/proc/self/fd/" + strconv.Itoa(n.fd)
	}
	return "/proc/self/fd/" + strconv.Itoa(n.dirfd) + "/" + n.name
}

// setMeta gives dst the owner, mode, extended attributes and times that
// the source st describes (xattrs read from src). The order matters:
// chown clears the set-ID bits and file capabilities, so mode and xattrs
// come after it; the times come last.
func setMeta(src, dst node, st *unix.Stat_t) error {
	symlink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	var err error
	if dst.fd >= 0 {
		err = unix.Fchown(dst.fd, int(st.Uid), int(st.Gid))
	} else {
		err = unix.Fchownat(dst.dirfd, dst.name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if !symlink {
		mode := st.Mode & 0o7777
		if dst.fd >= 0 {
			err = unix.Fchmod(dst.fd, mode)
		} else {
			err = chmodNoFollow(dst.dirfd, dst.name, mode)
		}
		if err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := copyXattrs(src, dst); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if dst.fd >= 0 {
		err = unix.UtimesNano(dst.procPath(), ts)
	} else {
		err = unix.UtimesNanoAt(dst.dirfd, dst.name, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// chmodNoFollow is fchmodat(AT_SYMLINK_NOFOLLOW), with the fallback libc
// uses on kernels without fchmodat2: chmod through an O_PATH descriptor.
func chmodNoFollow(dirfd int, name string, mode uint32) error {
	err := unix.Fchmodat(dirfd, name, mode, unix.AT_SYMLINK_NOFOLLOW)
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return unix.EOPNOTSUPP
	}
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}

// copyXattrs copies src's extended attributes to dst, best effort: a file
// system or file type that does not take one (ENOTSUP, or EPERM for user.*
// on a symlink or device) is not an error. trusted.overlay.* belongs to
// the overlay below a container's rootfs and is never copied.
func copyXattrs(src, dst node) error {
	names, err := listXattrs(src)
	if err != nil {
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, name := range names {
		if strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		val, err := getXattr(src, name)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get xattr %s: %w", name, err)
		}
		if dst.fd >= 0 {
			err = unix.Fsetxattr(dst.fd, name, val, 0)
		} else {
			err = unix.Lsetxattr(dst.procPath(), name, val, 0)
		}
		switch {
		case err == nil, errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EPERM),
			errors.Is(err, unix.ENOSPC), errors.Is(err, unix.E2BIG):
		default:
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

func listXattrs(n node) ([]string, error) {
	list := func(buf []byte) (int, error) {
		if n.fd >= 0 {
			return unix.Flistxattr(n.fd, buf)
		}
		return unix.Llistxattr(n.procPath(), buf)
	}
	for {
		size, err := list(nil)
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		size, err = list(buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew meanwhile
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, name := range strings.Split(string(buf[:size]), "\x00") {
			if name != "" {
				names = append(names, name)
			}
		}
		return names, nil
	}
}

func getXattr(n node, name string) ([]byte, error) {
	get := func(buf []byte) (int, error) {
		if n.fd >= 0 {
			return unix.Fgetxattr(n.fd, name, buf)
		}
		return unix.Lgetxattr(n.procPath(), name, buf)
	}
	for {
		size, err := get(nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size)
		size, err = get(buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:size], nil
	}
}

func displayPath(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
