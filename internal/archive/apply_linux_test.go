//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

// requireRoot skips tests that chown, mknod and set trusted xattrs.
func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: Apply chowns, makes device nodes and sets trusted.* xattrs")
	}
}

// newLayerDir returns an empty directory "layer" inside a fresh temp dir.
func newLayerDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "layer")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// applyEntries builds a tar of entries and applies it to a new layer dir.
func applyEntries(t *testing.T, entries ...tarEntry) (string, error) {
	t.Helper()
	dir := newLayerDir(t)
	_, err := Apply(t.Context(), dir, bytes.NewReader(buildTar(t, entries...)))
	return dir, err
}

func lstat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return st
}

func assertType(t *testing.T, path string, typ uint32) unix.Stat_t {
	t.Helper()
	st := lstat(t, path)
	if st.Mode&unix.S_IFMT != typ {
		t.Fatalf("%s: type %#o, want %#o", path, st.Mode&unix.S_IFMT, typ)
	}
	return st
}

func assertContent(t *testing.T, path, want string) {
	t.Helper()
	assertType(t, path, unix.S_IFREG)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s: content %q, want %q", path, got, want)
	}
}

func assertMissing(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s: want it missing, lstat says %v", path, err)
	}
}

func assertMtime(t *testing.T, path string, want time.Time) {
	t.Helper()
	st := lstat(t, path)
	if got := time.Unix(st.Mtim.Unix()); !got.Equal(want) {
		t.Fatalf("%s: mtime %v, want %v", path, got, want)
	}
}

func assertWhiteout(t *testing.T, path string) {
	t.Helper()
	st := assertType(t, path, unix.S_IFCHR)
	if st.Rdev != 0 || st.Mode&0o7777 != 0 || st.Uid != 0 || st.Gid != 0 {
		t.Fatalf("%s: whiteout rdev %d mode %#o owner %d:%d, want 0 0 0:0", path, st.Rdev, st.Mode&0o7777, st.Uid, st.Gid)
	}
}

func opaque(t *testing.T, path string) string {
	t.Helper()
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(path, "trusted.overlay.opaque", buf)
	if errors.Is(err, unix.ENODATA) {
		return ""
	}
	if err != nil {
		t.Fatalf("%s: get opaque xattr: %v", path, err)
	}
	return string(buf[:n])
}

func TestApply(t *testing.T) {
	requireRoot(t)
	t1 := time.Date(2001, 2, 3, 4, 5, 6, 700, time.UTC)
	t2 := time.Date(2002, 3, 4, 5, 6, 7, 800, time.UTC)
	tests := []struct {
		name    string
		entries []tarEntry
		check   func(t *testing.T, dir string)
	}{
		{
			name: "whiteout becomes a 0/0 char device",
			entries: []tarEntry{
				dirEntry("d/"),
				fileEntry("d/.wh.gone", "").with(func(h *tar.Header) { h.Uid, h.Mode = 7, 0o644 }),
				fileEntry(".wh.top", ""),
			},
			check: func(t *testing.T, dir string) {
				assertWhiteout(t, filepath.Join(dir, "d/gone"))
				assertWhiteout(t, filepath.Join(dir, "top"))
				assertMissing(t, filepath.Join(dir, "d/.wh.gone"))
				assertMissing(t, filepath.Join(dir, ".wh.top"))
			},
		},
		{
			name:    "whiteout makes its missing parents",
			entries: []tarEntry{fileEntry("x/y/.wh.z", "")},
			check: func(t *testing.T, dir string) {
				assertWhiteout(t, filepath.Join(dir, "x/y/z"))
				if st := assertType(t, filepath.Join(dir, "x"), unix.S_IFDIR); st.Mode&0o7777 != 0o755 {
					t.Errorf("implicit dir mode %#o, want 0755", st.Mode&0o7777)
				}
			},
		},
		{
			name:    "opaque marker sets trusted.overlay.opaque",
			entries: []tarEntry{dirEntry("d/"), fileEntry("d/.wh..wh..opq", ""), fileEntry("e/.wh..wh..opq", "")},
			check: func(t *testing.T, dir string) {
				for _, d := range []string{"d", "e"} {
					if got := opaque(t, filepath.Join(dir, d)); got != "y" {
						t.Errorf("%s: opaque = %q, want y", d, got)
					}
					assertMissing(t, filepath.Join(dir, d, ".wh..wh..opq"))
				}
			},
		},
		{
			name:    "whiteout of a name this layer wrote is ignored",
			entries: []tarEntry{fileEntry("foo", "kept"), fileEntry(".wh.foo", "")},
			check: func(t *testing.T, dir string) {
				assertContent(t, filepath.Join(dir, "foo"), "kept")
			},
		},
		{
			name:    "file after its whiteout replaces it",
			entries: []tarEntry{fileEntry(".wh.foo", ""), fileEntry("foo", "new")},
			check: func(t *testing.T, dir string) {
				assertContent(t, filepath.Join(dir, "foo"), "new")
			},
		},
		{
			name: "opaque marker keeps this layer's entries",
			entries: []tarEntry{
				dirEntry("d/"), fileEntry("d/.wh..wh..opq", ""), fileEntry("d/keep", "k"),
				dirEntry("e/"), fileEntry("e/keep", "k"), fileEntry("e/.wh..wh..opq", ""),
			},
			check: func(t *testing.T, dir string) {
				for _, d := range []string{"d", "e"} {
					assertContent(t, filepath.Join(dir, d, "keep"), "k")
					if got := opaque(t, filepath.Join(dir, d)); got != "y" {
						t.Errorf("%s: opaque = %q, want y", d, got)
					}
				}
			},
		},
		{
			name: "owner and special mode bits",
			entries: []tarEntry{
				fileEntry("suid", "x").with(func(h *tar.Header) { h.Uid, h.Gid, h.Mode = 1234, 5678, 0o4755 }),
				dirEntry("sgid/").with(func(h *tar.Header) { h.Uid, h.Gid, h.Mode = 1, 2, 0o3775 }),
				symlinkEntry("link", "suid").with(func(h *tar.Header) { h.Uid, h.Gid = 42, 43 }),
			},
			check: func(t *testing.T, dir string) {
				for _, c := range []struct {
					name          string
					uid, gid, mod uint32
				}{{"suid", 1234, 5678, 0o4755}, {"sgid", 1, 2, 0o3775}} {
					st := lstat(t, filepath.Join(dir, c.name))
					if st.Uid != c.uid || st.Gid != c.gid || st.Mode&0o7777 != c.mod {
						t.Errorf("%s: %d:%d %#o, want %d:%d %#o", c.name, st.Uid, st.Gid, st.Mode&0o7777, c.uid, c.gid, c.mod)
					}
				}
				if st := lstat(t, filepath.Join(dir, "link")); st.Uid != 42 || st.Gid != 43 {
					t.Errorf("symlink owner %d:%d, want 42:43", st.Uid, st.Gid)
				}
			},
		},
		{
			name: "file times",
			entries: []tarEntry{fileEntry("f", "x").with(func(h *tar.Header) {
				h.ModTime, h.AccessTime, h.Format = t1, t2, tar.FormatPAX
			})},
			check: func(t *testing.T, dir string) {
				assertMtime(t, filepath.Join(dir, "f"), t1)
				st := lstat(t, filepath.Join(dir, "f"))
				if got := time.Unix(st.Atim.Unix()); !got.Equal(t2) {
					t.Errorf("atime %v, want %v", got, t2)
				}
			},
		},
		{
			name: "directory times survive its children",
			entries: []tarEntry{
				dirEntry("./").with(func(h *tar.Header) { h.ModTime, h.Format = t2, tar.FormatPAX }),
				dirEntry("d/").with(func(h *tar.Header) { h.ModTime, h.Format = t1, tar.FormatPAX }),
				fileEntry("d/a", "a"),
				dirEntry("d/sub/").with(func(h *tar.Header) { h.ModTime, h.Format = t2, tar.FormatPAX }),
				fileEntry("d/sub/b", "b"),
				fileEntry("d/.wh.gone", ""),
				symlinkEntry("d/l", "a"),
			},
			check: func(t *testing.T, dir string) {
				assertMtime(t, dir, t2)
				assertMtime(t, filepath.Join(dir, "d"), t1)
				assertMtime(t, filepath.Join(dir, "d/sub"), t2)
				assertMtime(t, filepath.Join(dir, "d/l"), testTime)
			},
		},
		{
			name:    "hardlink shares the inode",
			entries: []tarEntry{fileEntry("a", "data"), hardlinkEntry("b", "a"), hardlinkEntry("./c", "./a")},
			check: func(t *testing.T, dir string) {
				a, b, c := lstat(t, filepath.Join(dir, "a")), lstat(t, filepath.Join(dir, "b")), lstat(t, filepath.Join(dir, "c"))
				if a.Ino != b.Ino || a.Ino != c.Ino || a.Nlink != 3 {
					t.Errorf("inodes %d %d %d, nlink %d: want one inode, 3 links", a.Ino, b.Ino, c.Ino, a.Nlink)
				}
			},
		},
		{
			name:    "hardlink to a symlink links the symlink",
			entries: []tarEntry{symlinkEntry("s", "/etc/passwd"), hardlinkEntry("h", "s")},
			check: func(t *testing.T, dir string) {
				s, h := lstat(t, filepath.Join(dir, "s")), assertType(t, filepath.Join(dir, "h"), unix.S_IFLNK)
				if s.Ino != h.Ino {
					t.Error("h is not a hardlink of s")
				}
			},
		},
		{
			name:    "symlink with an absolute target is created as is",
			entries: []tarEntry{symlinkEntry("bin/sh", "/bin/busybox"), symlinkEntry("rel", "../x/../y")},
			check: func(t *testing.T, dir string) {
				for name, want := range map[string]string{"bin/sh": "/bin/busybox", "rel": "../x/../y"} {
					got, err := os.Readlink(filepath.Join(dir, name))
					if err != nil || got != want {
						t.Errorf("%s -> %q (%v), want %q", name, got, err, want)
					}
				}
			},
		},
		{
			name: "device nodes and fifo",
			entries: []tarEntry{
				{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: testTime}},
				{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/loop0", Mode: 0o660, Devmajor: 7, Devminor: 0, Gid: 6, ModTime: testTime}},
				{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o620, ModTime: testTime}},
			},
			check: func(t *testing.T, dir string) {
				if st := assertType(t, filepath.Join(dir, "dev/null"), unix.S_IFCHR); st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o7777 != 0o666 {
					t.Errorf("dev/null rdev %#x mode %#o", st.Rdev, st.Mode&0o7777)
				}
				if st := assertType(t, filepath.Join(dir, "dev/loop0"), unix.S_IFBLK); st.Rdev != unix.Mkdev(7, 0) || st.Gid != 6 {
					t.Errorf("dev/loop0 rdev %#x gid %d", st.Rdev, st.Gid)
				}
				if st := assertType(t, filepath.Join(dir, "fifo"), unix.S_IFIFO); st.Mode&0o7777 != 0o620 {
					t.Errorf("fifo mode %#o", st.Mode&0o7777)
				}
			},
		},
		{
			name:    "file then directory",
			entries: []tarEntry{fileEntry("x", "f"), dirEntry("x/"), fileEntry("x/y", "y")},
			check: func(t *testing.T, dir string) {
				assertType(t, filepath.Join(dir, "x"), unix.S_IFDIR)
				assertContent(t, filepath.Join(dir, "x/y"), "y")
			},
		},
		{
			name: "directory with children then file",
			entries: []tarEntry{
				dirEntry("x/").with(func(h *tar.Header) { h.ModTime = t1 }), fileEntry("x/y", "y"), dirEntry("x/z/"),
				fileEntry("x", "now a file"),
			},
			check: func(t *testing.T, dir string) {
				assertContent(t, filepath.Join(dir, "x"), "now a file")
				assertMtime(t, filepath.Join(dir, "x"), testTime)
			},
		},
		{
			name:    "file written twice",
			entries: []tarEntry{fileEntry("f", "one"), fileEntry("f", "two")},
			check: func(t *testing.T, dir string) {
				assertContent(t, filepath.Join(dir, "f"), "two")
			},
		},
		{
			name:    "file replaces a symlink instead of writing through it",
			entries: []tarEntry{fileEntry("t", "orig"), symlinkEntry("s", "t"), fileEntry("s", "new")},
			check: func(t *testing.T, dir string) {
				assertContent(t, filepath.Join(dir, "s"), "new")
				assertContent(t, filepath.Join(dir, "t"), "orig")
			},
		},
		{
			name: "directory over directory updates metadata and keeps children",
			entries: []tarEntry{
				dirEntry("d/"), fileEntry("d/a", "a"),
				dirEntry("d/").with(func(h *tar.Header) { h.Mode, h.Uid = 0o700, 5 }),
			},
			check: func(t *testing.T, dir string) {
				assertContent(t, filepath.Join(dir, "d/a"), "a")
				if st := lstat(t, filepath.Join(dir, "d")); st.Mode&0o7777 != 0o700 || st.Uid != 5 {
					t.Errorf("d: mode %#o uid %d, want 0700 uid 5", st.Mode&0o7777, st.Uid)
				}
			},
		},
		{
			name:    "dot entry sets the layer root's metadata",
			entries: []tarEntry{dirEntry("./").with(func(h *tar.Header) { h.Mode, h.Uid = 0o711, 3 }), fileEntry("f", "")},
			check: func(t *testing.T, dir string) {
				if st := lstat(t, dir); st.Mode&0o7777 != 0o711 || st.Uid != 3 {
					t.Errorf("root: mode %#o uid %d, want 0711 uid 3", st.Mode&0o7777, st.Uid)
				}
			},
		},
		{
			name:    "implicit parents are 0755",
			entries: []tarEntry{fileEntry("a/b/c", "c")},
			check: func(t *testing.T, dir string) {
				for _, d := range []string{"a", "a/b"} {
					if st := assertType(t, filepath.Join(dir, d), unix.S_IFDIR); st.Mode&0o7777 != 0o755 {
						t.Errorf("%s: mode %#o, want 0755", d, st.Mode&0o7777)
					}
				}
			},
		},
		{
			name: "global header and AUFS metadata are skipped",
			entries: []tarEntry{
				{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "x"}}},
				dirEntry(".wh..wh.plnk/"), fileEntry(".wh..wh.plnk/1.2", "p"), fileEntry(".wh..wh.aufs", ""),
				fileEntry("f", "f"),
			},
			check: func(t *testing.T, dir string) {
				names, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				if len(names) != 1 || names[0].Name() != "f" {
					t.Errorf("layer holds %v, want only f", names)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := applyEntries(t, tc.entries...)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			tc.check(t, dir)
		})
	}
}

// TestApplyRefuses covers malformed entries that do not try to escape; the
// escapes are in TestBreakouts.
func TestApplyRefuses(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		entries []tarEntry
		entry   string // the entry named in the error
		reason  string // a part of the reason
	}{
		{"empty whiteout", []tarEntry{fileEntry(".wh.", "")}, ".wh.", "invalid whiteout"},
		{"dot whiteout", []tarEntry{fileEntry("d/.wh..", "")}, "d/.wh..", "invalid whiteout"},
		{"entry inside a whiteout", []tarEntry{fileEntry(".wh.d/x", "")}, ".wh.d/x", "whiteout"},
		{"hardlink to a directory", []tarEntry{dirEntry("d/"), hardlinkEntry("h", "d")}, "h", "directory"},
		{"hardlink to the root", []tarEntry{hardlinkEntry("h", ".")}, "h", "directory"},
		{"hardlink target missing", []tarEntry{hardlinkEntry("h", "nothing")}, "h", "not found"},
		{"hardlink target in a missing directory", []tarEntry{hardlinkEntry("h", "no/thing")}, "h", "not found"},
		{"empty hardlink target", []tarEntry{hardlinkEntry("h", "")}, "h", "empty hardlink target"},
		{"file replacing the root", []tarEntry{fileEntry(".", "x")}, ".", "layer root"},
		{"symlink replacing the root", []tarEntry{symlinkEntry(".", "/")}, ".", "layer root"},
		{"empty name", []tarEntry{fileEntry("", "x")}, "", "empty name"},
		{"empty symlink target", []tarEntry{symlinkEntry("s", "")}, "s", "empty symlink target"},
		{"parent is a file", []tarEntry{fileEntry("f", "x"), fileEntry("f/x", "")}, "f/x", "not a directory"},
		{"symlink loop in the parent", []tarEntry{symlinkEntry("a", "b"), symlinkEntry("b", "a"), fileEntry("a/x", "")}, "a/x", "symlinks"},
		{"contiguous file type", []tarEntry{fileEntry("c", "").with(func(h *tar.Header) { h.Typeflag = tar.TypeCont })}, "c", "unsupported entry type '7'"},
		{"unknown type", []tarEntry{fileEntry("u", "").with(func(h *tar.Header) { h.Typeflag = 'Z' })}, "u", "unsupported entry type 'Z'"},
		{"invalid xattr", []tarEntry{fileEntry("x", "").with(func(h *tar.Header) {
			h.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "garbage"}
		})}, "x", "invalid xattr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applyEntries(t, tc.entries...)
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("Apply: %v, want an *EntryError", err)
			}
			if ee.Entry != tc.entry || !strings.Contains(ee.Reason, tc.reason) {
				t.Errorf("got %v, want entry %q and a reason with %q", err, tc.entry, tc.reason)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("%v is not ErrInvalidArgument", err)
			}
		})
	}
}

// TestApplySparse patches tars archive/tar wrote, because it writes neither
// the old GNU sparse type nor GNU.sparse PAX records.
func TestApplySparse(t *testing.T) {
	requireRoot(t)
	gnu := buildTar(t, fileEntry("s", "").with(func(h *tar.Header) { h.Format = tar.FormatGNU }))
	gnu[156] = tar.TypeGNUSparse
	fixChecksum(gnu[:512])
	pax := buildTar(t, fileEntry("s", "").with(func(h *tar.Header) {
		h.PAXRecords = map[string]string{
			"XXX.sparse.major": "0", "XXX.sparse.minor": "1", "XXX.sparse.numblocks": "1",
			"XXX.sparse.map": "0,0", "XXX.sparse.size": "1099511627776",
		}
	}))
	pax = bytes.ReplaceAll(pax, []byte("XXX.sparse."), []byte("GNU.sparse."))
	tests := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"old GNU sparse type", gnu, "unsupported entry type 'S'"},
		{"PAX sparse records", pax, "unsupported sparse file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Apply(t.Context(), newLayerDir(t), bytes.NewReader(tc.data))
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Entry != "s" || ee.Reason != tc.reason {
				t.Fatalf("Apply: %v, want an EntryError for s: %s", err, tc.reason)
			}
		})
	}
}

// fixChecksum recomputes the checksum of a 512-byte tar header block.
func fixChecksum(blk []byte) {
	copy(blk[148:156], "        ")
	sum := 0
	for _, b := range blk {
		sum += int(b)
	}
	copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

func TestApplyXattr(t *testing.T) {
	requireRoot(t)
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(probe, "user.probe", []byte("1"), 0); errors.Is(err, unix.ENOTSUP) {
		t.Skip("the temp filesystem does not support user xattrs")
	}
	xattr := func(h *tar.Header) {
		h.PAXRecords = map[string]string{
			"SCHILY.xattr.user.test":              "hello",
			"SCHILY.xattr.trusted.overlay.opaque": "y",
		}
	}
	dir, err := applyEntries(t, fileEntry("f", "x").with(xattr), dirEntry("d/").with(xattr))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for _, name := range []string{"f", "d"} {
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(filepath.Join(dir, name), "user.test", buf)
		if err != nil || string(buf[:n]) != "hello" {
			t.Errorf("%s: user.test = %q (%v), want hello", name, buf[:n], err)
		}
		if got := opaque(t, filepath.Join(dir, name)); got != "" {
			t.Errorf("%s: trusted.overlay.opaque from a header was set (%q)", name, got)
		}
	}
}

func TestApplySize(t *testing.T) {
	requireRoot(t)
	data := buildTar(t, fileEntry("a", "abc"), dirEntry("d/"), fileEntry("d/b", "hello"), hardlinkEntry("h", "a"), symlinkEntry("s", "a"))
	size, err := Apply(t.Context(), newLayerDir(t), bytes.NewReader(data))
	if err != nil || size != 8 {
		t.Fatalf("Apply = %d, %v; want 8, nil", size, err)
	}
}

func TestApplyStopsAtEndMarker(t *testing.T) {
	requireRoot(t)
	trailer := []byte("bytes after the end-of-archive marker")
	r := bytes.NewReader(append(buildTar(t, fileEntry("f", "x")), trailer...))
	if _, err := Apply(t.Context(), newLayerDir(t), r); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if r.Len() != len(trailer) {
		t.Errorf("%d bytes left unread, want %d", r.Len(), len(trailer))
	}
}

func TestApplyTruncated(t *testing.T) {
	requireRoot(t)
	data := buildTar(t, fileEntry("a", "first"), fileEntry("big", strings.Repeat("x", 4000)))
	tests := []struct {
		name string
		size int
	}{
		{"inside a header", 512 + 512 + 100},
		{"inside content", 512 + 512 + 512 + 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Apply(t.Context(), newLayerDir(t), bytes.NewReader(data[:tc.size]))
			var ee *EntryError
			if err == nil || errors.As(err, &ee) {
				t.Fatalf("Apply: %v, want an I/O error", err)
			}
		})
	}
}

func TestApplyContextCancelled(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Apply(ctx, newLayerDir(t), bytes.NewReader(buildTar(t, fileEntry("f", "x"))))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply: %v, want context.Canceled", err)
	}
}

func TestApplyNeedsEmptyDir(t *testing.T) {
	dir := newLayerDir(t)
	if err := os.WriteFile(filepath.Join(dir, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(t.Context(), dir, bytes.NewReader(buildTar(t, fileEntry("f", "x"))))
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("Apply: %v, want ErrInvalidArgument", err)
	}
	if _, err := Apply(t.Context(), filepath.Join(dir, "missing"), bytes.NewReader(nil)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Apply to a missing dir: %v, want ErrNotExist", err)
	}
}

func TestApplyEmptyStream(t *testing.T) {
	dir := newLayerDir(t)
	for _, data := range [][]byte{nil, make([]byte, 1024)} {
		if n, err := Apply(t.Context(), dir, bytes.NewReader(data)); n != 0 || err != nil {
			t.Fatalf("Apply(%d bytes) = %d, %v; want 0, nil", len(data), n, err)
		}
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("layer holds %v", names)
	}
}
