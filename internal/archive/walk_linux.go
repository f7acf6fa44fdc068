//go:build linux

package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

const (
	// userOverlayXattrNS holds overlayfs metadata when it is mounted with
	// userxattr (rootless); it is dropped from archives like trusted.overlay.
	userOverlayXattrNS = "user.overlay."
	userOpaqueXattr    = "user.overlay.opaque"

	dirBufferSize = 32 << 10
)

var (
	// errVanished: the entry was removed after its directory was read; it
	// is left out, as if it had gone before.
	errVanished = errors.New("entry vanished")
	// errChanged: the entry changed type between its stat and its open;
	// it is looked at again. Returned only before anything of the entry
	// was written.
	errChanged = errors.New("entry changed while being read")
)

// walker writes a directory tree into a tar stream, for Diff and Tar. It
// holds one fd per directory level, opens every entry relative to its
// parent's fd and never follows a symlink: a name swapped for a symlink
// while the walk runs is archived as the symlink, or fails.
type walker struct {
	ctx     context.Context
	tw      *tar.Writer
	overlay bool            // write overlayfs whiteouts and opaque dirs in OCI form (Diff)
	exclude map[string]bool // cleaned paths relative to the top, no leading "/"; "" is the top
	noOwner bool
	links   map[fileID]string // archive name of the first entry of each inode with more than one link
	buf     []byte
	dirBuf  []byte
}

type fileID struct{ dev, ino uint64 }

func newWalker(ctx context.Context, tw *tar.Writer, exclude []string) *walker {
	w := &walker{
		ctx:     ctx,
		tw:      tw,
		exclude: map[string]bool{},
		links:   map[fileID]string{},
		buf:     make([]byte, copyBufferSize),
		dirBuf:  make([]byte, dirBufferSize),
	}
	for _, p := range exclude {
		w.exclude[strings.TrimPrefix(path.Clean("/"+p), "/")] = true
	}
	return w
}

// dir writes the directory open as fd: its own entry named arc+"/" when
// self is set, then its children in lexical order. rel is its path relative
// to the top ("" for the top itself).
func (w *walker) dir(fd int, rel, arc string, self bool) error {
	if self {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("stat %s: %w", displayPath(rel), err)
		}
		xattrs, err := readXattrs(fd, "")
		if err != nil {
			return fmt.Errorf("read xattrs of %s: %w", displayPath(rel), err)
		}
		if w.overlay && (hasKey(xattrs, overlayXattrNS+"redirect") || hasKey(xattrs, userOverlayXattrNS+"redirect")) {
			return fmt.Errorf("diff directory %s: renamed by overlayfs redirect_dir: %w", displayPath(rel), errdefs.ErrNotImplemented)
		}
		hdr := w.header(&st, tar.TypeDir, arc+"/", xattrs)
		if err := w.tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write header of %s: %w", displayPath(rel), err)
		}
		if w.overlay && (xattrs[opaqueXattr] == "y" || xattrs[userOpaqueXattr] == "y") {
			if err := w.tw.WriteHeader(whiteoutHeader(arc+"/"+opaqueMarker, &st)); err != nil {
				return fmt.Errorf("write opaque marker of %s: %w", displayPath(rel), err)
			}
		}
	}
	names, err := w.readNames(fd)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", displayPath(rel), err)
	}
	prefix := ""
	if arc != "" {
		prefix = arc + "/"
	}
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		if w.exclude[childRel] {
			continue
		}
		if err := w.entry(fd, name, childRel, prefix+name); err != nil {
			return err
		}
	}
	return nil
}

// entry writes name, an entry of the directory dirfd, and everything under
// it. rel is its path relative to the top, arc its name in the archive
// (without the "/" of a directory).
func (w *walker) entry(dirfd int, name, rel, arc string) error {
	for try := 0; ; try++ {
		err := w.entryOnce(dirfd, name, rel, arc)
		switch {
		case errors.Is(err, errVanished):
			return nil
		case errors.Is(err, errChanged) && try < 2:
			continue
		case errors.Is(err, errChanged):
			return fmt.Errorf("archive %s: %w: %w", displayPath(rel), err, errdefs.ErrConflict)
		}
		return err
	}
}

func (w *walker) entryOnce(dirfd int, name, rel, arc string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return errVanished
		}
		return fmt.Errorf("stat %s: %w", displayPath(rel), err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return nil
	case unix.S_IFDIR:
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return openError(rel, err)
		}
		defer unix.Close(fd)
		return w.dir(fd, rel, arc, true)
	case unix.S_IFREG:
		return w.file(dirfd, name, rel, arc)
	}

	if w.overlay && isWhiteout(&st) {
		parent, base := path.Split(arc)
		if err := w.tw.WriteHeader(whiteoutHeader(parent+whiteoutPrefix+base, &st)); err != nil {
			return fmt.Errorf("write whiteout of %s: %w", displayPath(rel), err)
		}
		return nil
	}
	if done, err := w.hardlink(&st, rel, arc); done || err != nil {
		return err
	}
	var typ byte
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		typ = tar.TypeSymlink
	case unix.S_IFCHR:
		typ = tar.TypeChar
	case unix.S_IFBLK:
		typ = tar.TypeBlock
	case unix.S_IFIFO:
		typ = tar.TypeFifo
	default:
		return fmt.Errorf("archive %s: unknown file type %#o: %w", displayPath(rel), st.Mode&unix.S_IFMT, errdefs.ErrNotImplemented)
	}
	// The fd path of the parent reaches name without following it.
	xattrs, err := readXattrs(-1, "/proc/self/fd/"+strconv.Itoa(dirfd)+"/"+name)
	if err != nil {
		return fmt.Errorf("read xattrs of %s: %w", displayPath(rel), err)
	}
	hdr := w.header(&st, typ, arc, xattrs)
	switch typ {
	case tar.TypeSymlink:
		target, err := readlinkat(dirfd, name, st.Size)
		if err == unix.EINVAL {
			return errChanged // no longer a symlink
		}
		if err != nil {
			return openError(rel, err)
		}
		hdr.Linkname = target
	case tar.TypeChar, tar.TypeBlock:
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write header of %s: %w", displayPath(rel), err)
	}
	w.written(&st, arc)
	return nil
}

// file writes the regular file name of dirfd. It is opened with O_PATH
// first and checked to be a regular file before it is opened for reading
// through /proc/self/fd, so that neither a symlink nor a device node swapped
// in after the stat is ever opened.
func (w *walker) file(dirfd int, name, rel, arc string) error {
	pfd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return openError(rel, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", displayPath(rel), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errChanged
	}
	if done, err := w.hardlink(&st, rel, arc); done || err != nil {
		return err
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", displayPath(rel), err)
	}
	defer unix.Close(fd)
	xattrs, err := readXattrs(fd, "")
	if err != nil {
		return fmt.Errorf("read xattrs of %s: %w", displayPath(rel), err)
	}
	if w.overlay && (hasKey(xattrs, overlayXattrNS+"metacopy") || hasKey(xattrs, userOverlayXattrNS+"metacopy")) {
		return fmt.Errorf("diff file %s: data in a lower layer (overlayfs metacopy): %w", displayPath(rel), errdefs.ErrNotImplemented)
	}
	hdr := w.header(&st, tar.TypeReg, arc, xattrs)
	hdr.Size = st.Size
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write header of %s: %w", displayPath(rel), err)
	}
	if err := w.copy(fd, st.Size); err != nil {
		return fmt.Errorf("archive %s: %w", displayPath(rel), err)
	}
	w.written(&st, arc)
	return nil
}

// copy streams size bytes of fd into the tar. A file that grew is cut at
// size; one that shrank is an error, as its header is already written.
func (w *walker) copy(fd int, size int64) error {
	for size > 0 {
		b := w.buf[:min(int64(len(w.buf)), size)]
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read file: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("file shrank by %d bytes while being read: %w", size, errdefs.ErrConflict)
		}
		if _, err := w.tw.Write(b[:n]); err != nil {
			return fmt.Errorf("write file content: %w", err)
		}
		size -= int64(n)
	}
	return nil
}

// hardlink writes a link entry when st is an inode already written under
// another name, and reports whether it did.
func (w *walker) hardlink(st *unix.Stat_t, rel, arc string) (bool, error) {
	if st.Nlink <= 1 {
		return false, nil
	}
	first, ok := w.links[fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}]
	if !ok {
		return false, nil
	}
	hdr := w.header(st, tar.TypeLink, arc, nil)
	hdr.Linkname = first
	if err := w.tw.WriteHeader(hdr); err != nil {
		return true, fmt.Errorf("write header of %s: %w", displayPath(rel), err)
	}
	return true, nil
}

// written records that st was written as arc, for later names of the same
// inode.
func (w *walker) written(st *unix.Stat_t, arc string) {
	if st.Nlink > 1 {
		w.links[fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}] = arc
	}
}

// header returns the header every entry type shares. Times are the mtime
// only, cut to the second (as Docker does), so that the same tree always
// gives the same bytes. Xattrs in the overlay namespaces are left out.
func (w *walker) header(st *unix.Stat_t, typ byte, name string, xattrs map[string]string) *tar.Header {
	sec, _ := st.Mtim.Unix()
	hdr := &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     int64(st.Mode & 0o7777),
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		ModTime:  time.Unix(sec, 0),
		Format:   tar.FormatPAX,
	}
	if w.noOwner {
		hdr.Uid, hdr.Gid = 0, 0
	}
	for k, v := range xattrs {
		if strings.HasPrefix(k, overlayXattrNS) || strings.HasPrefix(k, userOverlayXattrNS) {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[xattrPAXPrefix+k] = v
	}
	return hdr
}

// whiteoutHeader is the empty file that stands for an overlay whiteout or
// opaque directory; it takes the mtime of what it stands for.
func whiteoutHeader(name string, st *unix.Stat_t) *tar.Header {
	sec, _ := st.Mtim.Unix()
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, ModTime: time.Unix(sec, 0), Format: tar.FormatPAX}
}

// isWhiteout reports whether st is an overlayfs whiteout: a 0/0 character
// device.
func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// readNames returns the names in the directory fd, sorted.
func (w *walker) readNames(fd int) ([]string, error) {
	return readNames(fd, w.dirBuf)
}

func readNames(fd int, buf []byte) ([]string, error) {
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	slices.Sort(names)
	return names, nil
}

// readXattrs returns the xattrs of fd or, when fd is -1, of the path p (not
// followed). A filesystem without xattrs gives none.
func readXattrs(fd int, p string) (map[string]string, error) {
	list := func(b []byte) (int, error) {
		if fd >= 0 {
			return unix.Flistxattr(fd, b)
		}
		return unix.Llistxattr(p, b)
	}
	get := func(name string, b []byte) (int, error) {
		if fd >= 0 {
			return unix.Fgetxattr(fd, name, b)
		}
		return unix.Lgetxattr(p, name, b)
	}
	names, err := readSized(list)
	if err == unix.ENOTSUP || err == unix.EPERM {
		return nil, nil
	}
	if err != nil || len(names) == 0 {
		return nil, err
	}
	xattrs := map[string]string{}
	for name := range strings.SplitSeq(strings.TrimSuffix(string(names), "\x00"), "\x00") {
		v, err := readSized(func(b []byte) (int, error) { return get(name, b) })
		switch err {
		case nil:
			xattrs[name] = string(v)
		case unix.ENODATA, unix.ENOTSUP, unix.EPERM:
			// removed since the list was read, or not readable here
		default:
			return nil, fmt.Errorf("get xattr %s: %w", name, err)
		}
	}
	return xattrs, nil
}

// readSized calls f with a nil buffer to learn the size, then with a buffer
// of that size, again while the value grows in between (ERANGE).
func readSized(f func([]byte) (int, error)) ([]byte, error) {
	for {
		n, err := f(nil)
		if err != nil || n == 0 {
			return nil, err
		}
		b := make([]byte, n)
		n, err = f(b)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		return b[:n], nil
	}
}

// readlinkat reads the target of the symlink name in dirfd; size is its
// length from stat.
func readlinkat(dirfd int, name string, size int64) (string, error) {
	n := max(int(size)+1, 128)
	for {
		b := make([]byte, n)
		k, err := unix.Readlinkat(dirfd, name, b)
		if err != nil {
			return "", err
		}
		if k < n {
			return string(b[:k]), nil
		}
		n *= 2
	}
}

// openError sorts an error opening an entry: gone, changed type, or a
// failure.
func openError(rel string, err error) error {
	switch err {
	case unix.ENOENT:
		return errVanished
	case unix.ENOTDIR, unix.ELOOP:
		return errChanged
	}
	return fmt.Errorf("open %s: %w", displayPath(rel), err)
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// displayPath is rel as errors show it.
func displayPath(rel string) string {
	return "/" + rel
}
