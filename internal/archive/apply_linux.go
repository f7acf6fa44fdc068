//go:build linux

package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

const (
	whiteoutPrefix = ".wh."
	// whiteoutMeta prefixes AUFS metadata (".wh..wh.plnk", ".wh..wh.aufs"),
	// which Docker skips; the opaque marker is the one meta name that counts.
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	overlayXattrNS = "trusted.overlay."
	xattrPAXPrefix = "SCHILY.xattr."
	sparsePAX      = "GNU.sparse."

	copyBufferSize = 128 << 10
)

// Apply reads the uncompressed tar stream r and writes its entries under dir,
// which must exist and be empty. OCI/Docker whiteouts are converted to overlayfs
// form. Apply stops at the tar end-of-archive marker (it does not read r to EOF:
// callers that hash the stream drain it themselves). It returns the total size
// in bytes of the regular-file content written.
//
// An entry that is malformed, unsupported, or would write outside dir (by
// name, by hardlink target or through a symlink) stops Apply with an
// [*EntryError]. Other failures (I/O, a broken stream, ctx done) are returned
// wrapped. On error dir is left part-written and the size returned is what
// was written so far. The same path may be written twice: the last entry
// wins, except that a directory over a directory only updates its metadata.
// A whiteout of a name this layer already wrote is ignored, because
// whiteouts hide lower layers only. Xattrs in the trusted.overlay. namespace
// are dropped from headers (overlay metadata comes from whiteouts alone), and
// xattrs the filesystem does not support (ENOTSUP, EPERM) are skipped, as
// Docker does. Directories a name implies but the tar does not list are made
// with mode 0755, owned by the caller.
func Apply(ctx context.Context, dir string, r io.Reader, opts ...Option) (int64, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	a, err := newApplier(dir)
	if err != nil {
		return 0, err
	}
	defer a.close()

	var split *splitReader
	if o.packer != nil {
		split = newSplitReader(r, o.packer)
		r = split
	}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return a.size, fmt.Errorf("apply layer to %s: %w", dir, err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// With GODEBUG=tarinsecurepath=0 the reader flags names it finds
		// unsafe but still returns the header; Apply judges names itself.
		if err != nil && (hdr == nil || !errors.Is(err, tar.ErrInsecurePath)) {
			return a.size, fmt.Errorf("read layer tar: %w", err)
		}
		if split != nil {
			split.header(hdr)
		}
		if err := a.entry(hdr, tr); err != nil {
			var ee *EntryError
			if errors.As(err, &ee) {
				return a.size, ee
			}
			return a.size, fmt.Errorf("apply layer entry %q: %w", hdr.Name, err)
		}
	}
	if err := a.setDirTimes(); err != nil {
		return a.size, fmt.Errorf("apply layer to %s: %w", dir, err)
	}
	if split != nil {
		if err := split.finish(); err != nil {
			return a.size, err
		}
	}
	return a.size, nil
}

// applier is the state of one Apply call.
type applier struct {
	root    *os.Root
	rootDir *os.File // dir itself, for entries at the top
	escape  error    // what os.Root returns for a path leading out of it
	buf     []byte
	size    int64

	// parent is the last parent directory opened, by cleaned name. It is
	// marked stale when anything is removed and reopened on next use, so the
	// fd stays valid for the entry that is using it.
	parent struct {
		name  string
		f     *os.File
		stale bool
	}

	// dirs holds the times of directory entries, set once all entries are
	// written because children change a directory's mtime. dirIdx indexes
	// it by cleaned name; a removed path's records are marked gone.
	dirs   []dirTimes
	dirIdx map[string]int
}

type dirTimes struct {
	name  string
	times []unix.Timespec
	gone  bool
}

func newApplier(dir string) (*applier, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open layer dir: %w", err)
	}
	rootDir, err := root.OpenFile(".", os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("open layer dir: %w", err)
	}
	a := &applier{root: root, rootDir: rootDir, dirIdx: map[string]int{}}
	names, err := rootDir.Readdirnames(1)
	if err != nil && err != io.EOF {
		a.close()
		return nil, fmt.Errorf("read layer dir %s: %w", dir, err)
	}
	if len(names) > 0 {
		a.close()
		return nil, fmt.Errorf("apply layer to %s: directory not empty: %w", dir, errdefs.ErrInvalidArgument)
	}
	// os.Root reports a path leading out of it with an unexported error;
	// take it from a path that leads out without touching the filesystem.
	_, probe := root.Lstat("..")
	var pe *fs.PathError
	var errno syscall.Errno
	if !errors.As(probe, &pe) || errors.As(probe, &errno) {
		a.close()
		return nil, fmt.Errorf("open layer dir %s: unexpected os.Root answer for \"..\": %v", dir, probe)
	}
	a.escape = pe.Err
	a.buf = make([]byte, copyBufferSize)
	return a, nil
}

func (a *applier) close() {
	if a.parent.f != nil {
		a.parent.f.Close()
	}
	a.rootDir.Close()
	a.root.Close()
}

// entry applies one tar entry; r reads its content.
func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, reason := cleanName(hdr.Name)
	if reason != "" {
		return &EntryError{Entry: hdr.Name, Reason: reason}
	}
	parent, base := split(name)
	if hasMetaComponent(parent) || (base != opaqueMarker && strings.HasPrefix(base, whiteoutMeta)) {
		return nil // AUFS metadata, which Docker skips too
	}
	if hasWhiteoutComponent(parent) {
		return &EntryError{Entry: hdr.Name, Reason: "path inside a whiteout"}
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(hdr, parent, base)
	}
	if err := checkHeader(hdr, name); err != nil {
		return err
	}

	var target *linkTarget
	if hdr.Typeflag == tar.TypeLink {
		t, err := a.openLinkTarget(hdr)
		if err != nil {
			return err
		}
		defer t.dir.Close()
		target = t
	}

	dirfd, err := a.parentDir(hdr.Name, parent)
	if err != nil {
		return err
	}

	isSymlink, isDir := false, false
	switch hdr.Typeflag {
	case tar.TypeReg, '\x00':
		return a.writeFile(hdr, dirfd, name, base, r)
	case tar.TypeDir:
		isDir = true
		if err := a.create(dirfd, name, base, true, func() error {
			return unix.Mkdirat(dirfd, base, 0o700)
		}); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
	case tar.TypeSymlink:
		isSymlink = true
		if err := a.create(dirfd, name, base, false, func() error {
			return unix.Symlinkat(hdr.Linkname, dirfd, base)
		}); err != nil {
			return fmt.Errorf("create symlink: %w", err)
		}
	case tar.TypeLink:
		linked, err := a.link(dirfd, name, base, target)
		if err != nil {
			return fmt.Errorf("create hardlink: %w", err)
		}
		isSymlink = linked.Mode&unix.S_IFMT == unix.S_IFLNK
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := uint32(unix.S_IFIFO)
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode = unix.S_IFCHR
		case tar.TypeBlock:
			mode = unix.S_IFBLK
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := a.create(dirfd, name, base, false, func() error {
			return unix.Mknodat(dirfd, base, mode, int(dev))
		}); err != nil {
			return fmt.Errorf("create device node: %w", err)
		}
	}
	return a.setMetadata(hdr, node{dirfd: dirfd, base: base, fd: -1}, name, isDir, isSymlink)
}

// checkHeader refuses, before anything is written, an entry Apply does not
// handle.
func checkHeader(hdr *tar.Header, name string) error {
	refuse := func(reason string) error { return &EntryError{Entry: hdr.Name, Reason: reason} }
	switch hdr.Typeflag {
	case tar.TypeReg, '\x00', tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	case tar.TypeChar, tar.TypeBlock:
		if hdr.Devmajor < 0 || hdr.Devmajor > math.MaxUint32 || hdr.Devminor < 0 || hdr.Devminor > math.MaxUint32 {
			return refuse("invalid device number")
		}
	default:
		return refuse(fmt.Sprintf("unsupported entry type %q", hdr.Typeflag))
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, sparsePAX) {
			return refuse("unsupported sparse file")
		}
	}
	if name == "." && hdr.Typeflag != tar.TypeDir {
		return refuse("entry replaces the layer root")
	}
	if hdr.Typeflag == tar.TypeSymlink && hdr.Linkname == "" {
		return refuse("empty symlink target")
	}
	// -1 would mean "leave unchanged" to chown.
	if hdr.Uid < 0 || hdr.Uid >= math.MaxUint32 || hdr.Gid < 0 || hdr.Gid >= math.MaxUint32 {
		return refuse("invalid owner")
	}
	return nil
}

// cleanName checks a name from a tar header and cleans it. A non-empty
// reason says why the name is refused.
func cleanName(name string) (string, string) {
	switch {
	case name == "":
		return "", "empty name"
	case strings.IndexByte(name, 0) >= 0:
		return "", "name contains NUL"
	case name[0] == '/':
		return "", "absolute path"
	}
	var parts []string
	for p := range strings.SplitSeq(name, "/") {
		switch p {
		case "..":
			return "", "path escapes the layer"
		case "", ".":
		default:
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ".", ""
	}
	return strings.Join(parts, "/"), ""
}

// split splits a cleaned name into its parent and base; both are "." for
// the layer root.
func split(name string) (parent, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ".", name
	}
	return name[:i], name[i+1:]
}

func hasMetaComponent(name string) bool {
	for p := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(p, whiteoutMeta) {
			return true
		}
	}
	return false
}

func hasWhiteoutComponent(name string) bool {
	for p := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(p, whiteoutPrefix) {
			return true
		}
	}
	return false
}

// whiteout applies a ".wh.NAME" or ".wh..wh..opq" entry in overlayfs form.
func (a *applier) whiteout(hdr *tar.Header, parent, base string) error {
	if base == opaqueMarker {
		dirfd, err := a.parentDir(hdr.Name, parent)
		if err != nil {
			return err
		}
		if err := unix.Fsetxattr(dirfd, opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("mark directory opaque: %w", err)
		}
		return nil
	}
	hidden := strings.TrimPrefix(base, whiteoutPrefix)
	if hidden == "" || hidden == "." || hidden == ".." {
		return &EntryError{Entry: hdr.Name, Reason: "invalid whiteout"}
	}
	dirfd, err := a.parentDir(hdr.Name, parent)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	err = unix.Fstatat(dirfd, hidden, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil {
		return nil // written by this layer; the whiteout hides lower layers only
	}
	if err != unix.ENOENT {
		return fmt.Errorf("stat whited-out path: %w", err)
	}
	if err := unix.Mknodat(dirfd, hidden, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("create whiteout: %w", err)
	}
	if err := unix.Fchownat(dirfd, hidden, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown whiteout: %w", err)
	}
	if err := unix.UtimesNanoAt(dirfd, hidden, timespecs(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set whiteout times: %w", err)
	}
	return nil
}

// parentDir returns an fd for the cleaned directory name parent, resolved
// through the root and made (mode 0755) if missing. The fd stays valid until
// the next call. entry names the entry in errors.
func (a *applier) parentDir(entry, parent string) (int, error) {
	if parent == "." {
		return int(a.rootDir.Fd()), nil
	}
	p := &a.parent
	if p.f != nil && !p.stale && p.name == parent {
		return int(p.f.Fd()), nil
	}
	if p.f != nil {
		p.f.Close()
		p.f, p.name = nil, ""
	}
	f, err := a.openDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		if err = a.mkdirAll(parent); err == nil {
			f, err = a.openDir(parent)
		}
	}
	if err != nil {
		return -1, a.resolveError(entry, "path", err)
	}
	p.name, p.f, p.stale = parent, f, false
	return int(f.Fd()), nil
}

// openDir opens the directory name through the root.
func (a *applier) openDir(name string) (*os.File, error) {
	return a.root.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY, 0)
}

// mkdirAll makes the missing directories of the cleaned name with mode 0755,
// whatever the umask.
func (a *applier) mkdirAll(name string) error {
	up := "."
	for p := range strings.SplitSeq(name, "/") {
		sub := p
		if up != "." {
			sub = up + "/" + p
		}
		f, err := a.openDir(sub)
		if err == nil {
			f.Close()
			up = sub
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		pf, err := a.openDir(up)
		if err != nil {
			return err
		}
		err = unix.Mkdirat(int(pf.Fd()), p, 0o755)
		if err == nil {
			err = unix.Fchmodat(int(pf.Fd()), p, 0o755, 0)
		}
		pf.Close()
		if err == unix.EEXIST {
			// A dangling symlink: let os.Root follow it, inside the root.
			err = a.root.MkdirAll(sub, 0o755)
		}
		if err != nil {
			return fmt.Errorf("make directory %s: %w", sub, err)
		}
		up = sub
	}
	return nil
}

// resolveError turns an error resolving a path through the root into an
// EntryError when the layer is at fault. what is "path" or "hardlink target".
func (a *applier) resolveError(entry, what string, err error) error {
	reason := ""
	switch {
	case errors.Is(err, a.escape):
		reason = what + " escapes the layer through a symlink"
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EEXIST):
		reason = what + " has a parent that is not a directory"
	case errors.Is(err, unix.ELOOP):
		reason = what + " has too many levels of symlinks"
	case errors.Is(err, unix.ENAMETOOLONG):
		reason = what + " too long"
	default:
		return fmt.Errorf("resolve parent directory: %w", err)
	}
	return &EntryError{Entry: entry, Reason: reason}
}

// create runs mk, which makes base in dirfd and fails with EEXIST if base
// exists. An existing base is removed and mk run again, except that a
// directory is kept when dir is set (the new entry is a directory too).
func (a *applier) create(dirfd int, name, base string, dir bool, mk func() error) error {
	err := ignoringEINTR(mk)
	if err != unix.EEXIST {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat existing path: %w", err)
	}
	if dir && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil
	}
	if err := a.remove(dirfd, name, base, &st); err != nil {
		return err
	}
	return ignoringEINTR(mk)
}

// remove removes base, described by st, from dirfd; name is its cleaned name.
func (a *applier) remove(dirfd int, name, base string, st *unix.Stat_t) error {
	a.parent.stale = true
	for i := range a.dirs {
		d := &a.dirs[i]
		if !d.gone && (d.name == name || strings.HasPrefix(d.name, name+"/")) {
			d.gone = true
			delete(a.dirIdx, d.name)
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, base, 0); err != nil {
			return fmt.Errorf("remove existing path: %w", err)
		}
		return nil
	}
	err := unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR)
	if err == unix.ENOTEMPTY || err == unix.EEXIST {
		err = a.root.RemoveAll(name)
	}
	if err != nil {
		return fmt.Errorf("remove existing directory: %w", err)
	}
	return nil
}

// writeFile creates base in dirfd, copies the entry's content into it and
// sets its metadata.
func (a *applier) writeFile(hdr *tar.Header, dirfd int, name, base string, r io.Reader) error {
	fd := -1
	if err := a.create(dirfd, name, base, false, func() error {
		var err error
		fd, err = unix.Openat(dirfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	}); err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	err := a.copy(fd, r)
	if err == nil {
		err = a.setMetadata(hdr, node{dirfd: dirfd, base: base, fd: fd}, name, false, false)
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = fmt.Errorf("close file: %w", cerr)
	}
	return err
}

func (a *applier) copy(fd int, r io.Reader) error {
	for {
		n, rerr := r.Read(a.buf)
		if n > 0 {
			if err := writeAll(fd, a.buf[:n]); err != nil {
				return fmt.Errorf("write file: %w", err)
			}
			a.size += int64(n)
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read file content: %w", rerr)
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// linkTarget is the resolved target of a hardlink entry.
type linkTarget struct {
	dir  *os.File
	base string
	st   unix.Stat_t
}

// openLinkTarget resolves a hardlink's target, which must exist in the
// layer and not be a directory.
func (a *applier) openLinkTarget(hdr *tar.Header) (*linkTarget, error) {
	refuse := func(reason string) error { return &EntryError{Entry: hdr.Name, Reason: reason} }
	if hdr.Linkname == "" {
		return nil, refuse("empty hardlink target")
	}
	target, reason := cleanName(hdr.Linkname)
	switch reason {
	case "":
	case "absolute path", "path escapes the layer":
		return nil, refuse("hardlink target escapes the layer")
	default:
		return nil, refuse("invalid hardlink target")
	}
	parent, base := split(target)
	dir, err := a.openDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, refuse("hardlink target not found")
	}
	if err != nil {
		return nil, a.resolveError(hdr.Name, "hardlink target", err)
	}
	t := &linkTarget{dir: dir, base: base}
	err = unix.Fstatat(int(dir.Fd()), base, &t.st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == unix.ENOENT:
		err = refuse("hardlink target not found")
	case err != nil:
		err = fmt.Errorf("stat hardlink target: %w", err)
	case t.st.Mode&unix.S_IFMT == unix.S_IFDIR:
		err = refuse("hardlink to a directory")
	}
	if err != nil {
		dir.Close()
		return nil, err
	}
	return t, nil
}

// link makes base in dirfd a hardlink to t and returns the stat of the
// linked inode. A base that already is t is left alone.
func (a *applier) link(dirfd int, name, base string, t *linkTarget) (*unix.Stat_t, error) {
	tfd := int(t.dir.Fd())
	err := unix.Linkat(tfd, t.base, dirfd, base, 0)
	if err == unix.EEXIST {
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil, fmt.Errorf("stat existing path: %w", err)
		}
		if st.Dev == t.st.Dev && st.Ino == t.st.Ino {
			return &t.st, nil
		}
		if err := a.remove(dirfd, name, base, &st); err != nil {
			return nil, err
		}
		err = unix.Linkat(tfd, t.base, dirfd, base, 0)
	}
	if err != nil {
		return nil, err
	}
	return &t.st, nil
}

// node is an entry being written: base in dirfd, and its fd when it is
// open (regular files), which spares the kernel a path lookup.
type node struct {
	dirfd int
	base  string
	fd    int // -1 when not open
}

// setMetadata applies owner, xattrs, mode and times: chown first because it
// clears setuid, setgid and file capabilities. A directory's times are
// recorded for setDirTimes.
func (a *applier) setMetadata(hdr *tar.Header, n node, name string, isDir, isSymlink bool) error {
	var err error
	if n.fd >= 0 {
		err = unix.Fchown(n.fd, hdr.Uid, hdr.Gid)
	} else {
		err = unix.Fchownat(n.dirfd, n.base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := setXattrs(hdr, n); err != nil {
		return err
	}
	if !isSymlink {
		mode := uint32(hdr.Mode & 0o7777)
		if n.fd >= 0 {
			err = unix.Fchmod(n.fd, mode)
		} else {
			err = unix.Fchmodat(n.dirfd, n.base, mode, 0)
		}
		if err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	ts := timespecs(hdr)
	if isDir {
		if i, ok := a.dirIdx[name]; ok {
			a.dirs[i].times = ts
		} else {
			a.dirIdx[name] = len(a.dirs)
			a.dirs = append(a.dirs, dirTimes{name: name, times: ts})
		}
		return nil
	}
	if err := unix.UtimesNanoAt(n.dirfd, n.base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// setXattrs sets the xattrs of an entry, in key order.
func setXattrs(hdr *tar.Header, n node) error {
	xattrs := map[string]string{}
	for k, v := range hdr.Xattrs { // deprecated, but some writers fill only this
		xattrs[k] = v
	}
	for k, v := range hdr.PAXRecords {
		if key, ok := strings.CutPrefix(k, xattrPAXPrefix); ok {
			xattrs[key] = v
		}
	}
	if len(xattrs) == 0 {
		return nil
	}
	keys := make([]string, 0, len(xattrs))
	for k := range xattrs {
		if !strings.HasPrefix(k, overlayXattrNS) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	// The fd path of the parent reaches base without following base.
	p := "/proc/self/fd/" + strconv.Itoa(n.dirfd) + "/" + n.base
	for _, k := range keys {
		var err error
		if n.fd >= 0 {
			err = unix.Fsetxattr(n.fd, k, []byte(xattrs[k]), 0)
		} else {
			err = unix.Lsetxattr(p, k, []byte(xattrs[k]), 0)
		}
		switch err {
		case nil, unix.ENOTSUP, unix.EPERM:
		case unix.EINVAL, unix.ERANGE, unix.E2BIG:
			return &EntryError{Entry: hdr.Name, Reason: fmt.Sprintf("invalid xattr %q", k)}
		default:
			return fmt.Errorf("set xattr %s: %w", k, err)
		}
	}
	return nil
}

// setDirTimes sets the times recorded for directories that are still in
// the layer.
func (a *applier) setDirTimes() error {
	for _, d := range a.dirs {
		if d.gone {
			continue
		}
		parent, base := split(d.name)
		dirfd, err := a.existingDir(parent)
		if err != nil {
			return err
		}
		if dirfd < 0 {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue // replaced through an alias; nothing to date
		}
		if err := unix.UtimesNanoAt(dirfd, base, d.times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("set times of directory %s: %w", d.name, err)
		}
	}
	return nil
}

// existingDir is parentDir without making anything: it returns -1 when the
// directory is gone or can no longer be reached inside the root.
func (a *applier) existingDir(name string) (int, error) {
	if name == "." {
		return int(a.rootDir.Fd()), nil
	}
	p := &a.parent
	if p.f != nil && !p.stale && p.name == name {
		return int(p.f.Fd()), nil
	}
	if p.f != nil {
		p.f.Close()
		p.f, p.name = nil, ""
	}
	f, err := a.openDir(name)
	if err != nil && (errors.Is(err, a.escape) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP)) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("open directory %s: %w", name, err)
	}
	p.name, p.f, p.stale = name, f, false
	return int(f.Fd()), nil
}

// timespecs returns an entry's access and modification times; the access
// time defaults to the modification time.
func timespecs(hdr *tar.Header) []unix.Timespec {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return []unix.Timespec{
		{Sec: at.Unix(), Nsec: int64(at.Nanosecond())},
		{Sec: hdr.ModTime.Unix(), Nsec: int64(hdr.ModTime.Nanosecond())},
	}
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
