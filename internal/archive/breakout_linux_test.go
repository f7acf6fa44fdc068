//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// rootProbe is a name a symlink to "/" would let a broken Apply create at
// the host's root.
const rootProbe = "berth-archive-breakout-probe"

// watchedTree makes base/outer/layer, an empty layer dir, with sentinels
// beside it and above it, and returns the layer dir and outer.
func watchedTree(t testing.TB, base string) (layer, outer string) {
	t.Helper()
	outer = filepath.Join(base, "outer")
	layer = filepath.Join(outer, "layer")
	for _, d := range []string{layer, filepath.Join(outer, "sentdir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(base, "sentinel"), filepath.Join(outer, "sentinel"), filepath.Join(outer, "sentdir/file")} {
		if err := os.WriteFile(f, []byte("sentinel"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return layer, outer
}

// snapshot describes everything under base except the layer dir: type, mode, owner, size, mtime, link target, content and xattrs.
func snapshot(t testing.TB, base, layer string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == layer {
			return fs.SkipDir // the layer dir and everything in it is Apply's to change
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%#o owner=%d:%d size=%d mtime=%d.%d rdev=%d",
			st.Mode, st.Uid, st.Gid, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Rdev)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			desc += " link=" + target
		case unix.S_IFREG:
			data, _ := os.ReadFile(p)
			desc += " content=" + string(data)
		}
		buf := make([]byte, 4096)
		if n, err := unix.Llistxattr(p, buf); err == nil {
			desc += fmt.Sprintf(" xattrs=%q", buf[:n])
		}
		snap[p] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", base, err)
	}
	return snap
}

func assertSameSnapshot(t testing.TB, before, after map[string]string) {
	t.Helper()
	for _, p := range slices.Sorted(maps.Keys(after)) {
		if b, ok := before[p]; !ok {
			t.Errorf("appeared outside the layer: %s (%s)", p, after[p])
		} else if b != after[p] {
			t.Errorf("changed outside the layer: %s\n was: %s\n now: %s", p, b, after[p])
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("removed outside the layer: %s", p)
		}
	}
}

// TestBreakouts applies layers that try to write outside their directory,
// in the manner of containerd's TestBreakouts. Each must fail with an
// *EntryError naming the offending entry and change nothing outside the
// layer dir: not the sentinels beside it and above it, not the host's root.
// outside is the absolute path of the directory holding the layer dir.
func TestBreakouts(t *testing.T) {
	requireRoot(t)
	escape := func(outside string) tarEntry { return symlinkEntry("s", outside) }
	tests := []struct {
		name    string
		entries func(outside string) []tarEntry
		entry   string // the entry the error names; "" when Apply must succeed
		check   func(t *testing.T, layer string)
	}{
		{
			name:    "dotdot",
			entries: func(string) []tarEntry { return []tarEntry{fileEntry("../escape", "x")} },
			entry:   "../escape",
		},
		{
			name:    "dotdot after a directory",
			entries: func(string) []tarEntry { return []tarEntry{fileEntry("a/../../escape", "x")} },
			entry:   "a/../../escape",
		},
		{
			name:    "dotdot directory",
			entries: func(string) []tarEntry { return []tarEntry{dirEntry("../")} },
			entry:   "../",
		},
		{
			name:    "absolute path",
			entries: func(string) []tarEntry { return []tarEntry{fileEntry("/abs/file", "x")} },
			entry:   "/abs/file",
		},
		{
			name: "file through a symlink to /",
			entries: func(string) []tarEntry {
				return []tarEntry{symlinkEntry("s", "/"), fileEntry("s/"+rootProbe, "x")}
			},
			entry: "s/" + rootProbe,
		},
		{
			name: "file through an absolute symlink to outside",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), fileEntry("s/evil", "x")}
			},
			entry: "s/evil",
		},
		{
			name: "file over a sentinel through an absolute symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), fileEntry("s/sentinel", "x")}
			},
			entry: "s/sentinel",
		},
		{
			name: "file through a dotdot symlink",
			entries: func(string) []tarEntry {
				return []tarEntry{symlinkEntry("s", "../.."), fileEntry("s/evil", "x")}
			},
			entry: "s/evil",
		},
		{
			name: "file through a symlink chain",
			entries: func(string) []tarEntry {
				return []tarEntry{symlinkEntry("a", "b"), symlinkEntry("b", "../../x"), fileEntry("a/evil", "x")}
			},
			entry: "a/evil",
		},
		{
			name: "file through a nested symlink climbing out",
			entries: func(string) []tarEntry {
				return []tarEntry{dirEntry("d/"), symlinkEntry("d/up", "../../.."), fileEntry("d/up/evil", "x")}
			},
			entry: "d/up/evil",
		},
		{
			name: "mkdir through a symlink to the parent",
			entries: func(string) []tarEntry {
				return []tarEntry{symlinkEntry("s", ".."), dirEntry("s/newdir/")}
			},
			entry: "s/newdir/",
		},
		{
			name: "missing directories through a symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{symlinkEntry("s", outside+"/newdir"), fileEntry("s/x/y", "x")}
			},
			entry: "s/x/y",
		},
		{
			name: "directory metadata through a symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), dirEntry("s/sentdir/").with(func(h *tar.Header) { h.Mode, h.Uid = 0o777, 99 })}
			},
			entry: "s/sentdir/",
		},
		{
			name: "symlink through a symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), symlinkEntry("s/l", "/etc")}
			},
			entry: "s/l",
		},
		{
			name: "device through a symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), {hdr: tar.Header{Typeflag: tar.TypeChar, Name: "s/null", Devmajor: 1, Devminor: 3, Mode: 0o666}}}
			},
			entry: "s/null",
		},
		{
			name: "hardlink to dotdot",
			entries: func(string) []tarEntry {
				return []tarEntry{hardlinkEntry("l", "../sentinel")}
			},
			entry: "l",
		},
		{
			name: "hardlink to an absolute path",
			entries: func(string) []tarEntry {
				return []tarEntry{hardlinkEntry("l", "/etc/passwd")}
			},
			entry: "l",
		},
		{
			name: "hardlink to a path through an escaping symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), hardlinkEntry("l", "s/sentinel")}
			},
			entry: "l",
		},
		{
			name: "hardlink named through an escaping symlink",
			entries: func(string) []tarEntry {
				return []tarEntry{fileEntry("ok", "x"), symlinkEntry("s", "../"), hardlinkEntry("s/evil", "ok")}
			},
			entry: "s/evil",
		},
		{
			name: "file through a hardlink of an escaping symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), hardlinkEntry("h", "s"), fileEntry("h/evil", "x")}
			},
			entry: "h/evil",
		},
		{
			name:    "whiteout of dotdot",
			entries: func(string) []tarEntry { return []tarEntry{fileEntry(".wh..", "")} },
			entry:   ".wh..",
		},
		{
			name:    "whiteout of dotdot in a directory",
			entries: func(string) []tarEntry { return []tarEntry{dirEntry("dir/"), fileEntry("dir/.wh..", "")} },
			entry:   "dir/.wh..",
		},
		{
			name: "whiteout through a symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), fileEntry("s/.wh.evil", "")}
			},
			entry: "s/.wh.evil",
		},
		{
			name: "opaque marker through a symlink",
			entries: func(outside string) []tarEntry {
				return []tarEntry{escape(outside), fileEntry("s/sentdir/.wh..wh..opq", "")}
			},
			entry: "s/sentdir/.wh..wh..opq",
		},
		{
			name: "unsupported type flag",
			entries: func(string) []tarEntry {
				return []tarEntry{fileEntry("x", "").with(func(h *tar.Header) { h.Typeflag = 'Z' })}
			},
			entry: "x",
		},
		{
			name: "symlink inside the layer is followed",
			entries: func(string) []tarEntry {
				return []tarEntry{dirEntry("usr/"), dirEntry("usr/lib/"), symlinkEntry("lib", "usr/lib"), fileEntry("lib/x", "x"), symlinkEntry("usr/lib64", "../lib"), fileEntry("usr/lib64/y", "y")}
			},
			check: func(t *testing.T, layer string) {
				assertContent(t, filepath.Join(layer, "usr/lib/x"), "x")
				assertContent(t, filepath.Join(layer, "usr/lib/y"), "y")
				assertType(t, filepath.Join(layer, "lib"), unix.S_IFLNK)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			layer, outer := watchedTree(t, base)
			before := snapshot(t, base, layer)
			t.Cleanup(func() { os.RemoveAll("/" + rootProbe) })

			_, err := Apply(t.Context(), layer, bytes.NewReader(buildTar(t, tc.entries(outer)...)))

			assertSameSnapshot(t, before, snapshot(t, base, layer))
			if _, err := os.Lstat("/" + rootProbe); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("/%s exists after Apply", rootProbe)
			}
			if tc.entry == "" {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				tc.check(t, layer)
				return
			}
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("Apply: %v, want an *EntryError", err)
			}
			if ee.Entry != tc.entry {
				t.Errorf("error names %q, want %q (%v)", ee.Entry, tc.entry, err)
			}
		})
	}
}
