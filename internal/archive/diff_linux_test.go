//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

// tarItem is an entry read back from an archive.
type tarItem struct {
	hdr  *tar.Header
	body string
}

func readTar(t *testing.T, data []byte) []tarItem {
	t.Helper()
	var items []tarItem
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return items
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s: %v", hdr.Name, err)
		}
		items = append(items, tarItem{hdr: hdr, body: string(body)})
	}
}

func itemNames(items []tarItem) []string {
	var names []string
	for _, it := range items {
		names = append(names, it.hdr.Name)
	}
	return names
}

func findItem(t *testing.T, items []tarItem, name string) tarItem {
	t.Helper()
	for _, it := range items {
		if it.hdr.Name == name {
			return it
		}
	}
	t.Fatalf("no entry %q in %v", name, itemNames(items))
	return tarItem{}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// makeSocket leaves a unix socket at path.
func makeSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	must(t, err)
	defer unix.Close(fd)
	must(t, unix.Bind(fd, &unix.SockaddrUnix{Name: path}))
}

var toolTime = time.Date(2001, 2, 3, 4, 5, 6, 700_000_000, time.UTC)

// upperFixture builds an overlay upper dir by hand and a lower dir it sits
// on:
//
//	upper: bin/tool (04755, 1000:1001, user.x=1, trusted.overlay.origin)
//	       data/secret (excluded by the tests), etc/gone (whiteout),
//	       etc/hosts, etc/link -> /etc/shadow, fifo, hard1 = hard2, null (1:3),
//	       opq/ (opaque) with opq/new, sock
//	lower: etc/gone, etc/hosts, opq/old, opq/new, keep
func upperFixture(t *testing.T) (upper, lower string) {
	t.Helper()
	requireRoot(t)
	base := t.TempDir()
	upper, lower = filepath.Join(base, "upper"), filepath.Join(base, "lower")
	u := func(p string) string { return filepath.Join(upper, p) }
	mkdirs(t, u("bin"), u("data"), u("etc"), u("opq"))

	writeFile(t, u("bin/tool"), "tool", 0o755)
	must(t, os.Chown(u("bin/tool"), 1000, 1001))
	must(t, unix.Chmod(u("bin/tool"), 0o4755)) // os.Chmod drops the raw setuid bit
	if err := unix.Lsetxattr(u("bin/tool"), "user.x", []byte("1"), 0); errors.Is(err, unix.ENOTSUP) {
		t.Skip("the temp filesystem does not support user xattrs")
	} else {
		must(t, err)
	}
	must(t, unix.Lsetxattr(u("bin/tool"), "trusted.overlay.origin", []byte("junk"), 0))
	must(t, os.Chtimes(u("bin/tool"), toolTime, toolTime))

	writeFile(t, u("data/secret"), "secret", 0o600)
	must(t, unix.Mknod(u("etc/gone"), unix.S_IFCHR, 0))
	writeFile(t, u("etc/hosts"), "new hosts", 0o644)
	must(t, os.Symlink("/etc/shadow", u("etc/link")))
	must(t, unix.Mkfifo(u("fifo"), 0o640))
	must(t, os.Chmod(u("fifo"), 0o640))
	writeFile(t, u("hard1"), "hard", 0o644)
	must(t, os.Link(u("hard1"), u("hard2")))
	must(t, unix.Mknod(u("null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, os.Chmod(u("null"), 0o666))
	must(t, unix.Setxattr(u("opq"), "trusted.overlay.opaque", []byte("y"), 0))
	writeFile(t, u("opq/new"), "new", 0o644)
	makeSocket(t, u("sock"))

	l := func(p string) string { return filepath.Join(lower, p) }
	mkdirs(t, l("etc"), l("opq"))
	writeFile(t, l("etc/gone"), "old", 0o644)
	writeFile(t, l("etc/hosts"), "old hosts", 0o644)
	writeFile(t, l("opq/old"), "old", 0o644)
	writeFile(t, l("opq/new"), "old new", 0o644)
	writeFile(t, l("keep"), "keep", 0o644)
	return upper, lower
}

func diffBytes(t *testing.T, upper string, opts DiffOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := Diff(t.Context(), &buf, upper, opts)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("Diff returned %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// mountOverlay mounts an overlay at mnt, skipping the test where overlayfs
// cannot be mounted; the mount is undone when the test ends. The returned
// function unmounts early (Cleanup then does nothing).
func mountOverlay(t *testing.T, mnt string, flags uintptr, data string) func() {
	t.Helper()
	requireOverlay(t)
	err := unix.Mount("overlay", mnt, "overlay", flags, data)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) {
		t.Skipf("cannot mount overlayfs here: %v", err)
	}
	if err != nil {
		t.Fatalf("mount overlay %s: %v", data, err)
	}
	mounted := true
	unmount := func() {
		if !mounted {
			return
		}
		mounted = false
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount overlay: %v", err)
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
	}
	t.Cleanup(unmount)
	return unmount
}

func TestDiff(t *testing.T) {
	upper, lower := upperFixture(t)
	data := diffBytes(t, upper, DiffOptions{Exclude: []string{"/data"}})
	items := readTar(t, data)

	want := []string{
		"bin/", "bin/tool", "etc/", "etc/.wh.gone", "etc/hosts", "etc/link",
		"fifo", "hard1", "hard2", "null", "opq/", "opq/.wh..wh..opq", "opq/new",
	}
	if got := itemNames(items); !slices.Equal(got, want) {
		t.Fatalf("entries:\n got %q\nwant %q", got, want)
	}
	for _, it := range items {
		h := it.hdr
		if h.Uname != "" || h.Gname != "" || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: uname %q gname %q atime %v ctime %v, want none", h.Name, h.Uname, h.Gname, h.AccessTime, h.ChangeTime)
		}
		for k := range h.PAXRecords {
			if strings.Contains(k, "overlay") {
				t.Errorf("%s: PAX record %s leaks overlay metadata", h.Name, k)
			}
		}
		if h.Typeflag == tar.TypeDir && !strings.HasSuffix(h.Name, "/") {
			t.Errorf("%s: directory name without a trailing slash", h.Name)
		}
	}
	for _, name := range []string{"etc/.wh.gone", "opq/.wh..wh..opq"} {
		h := findItem(t, items, name).hdr
		if h.Typeflag != tar.TypeReg || h.Size != 0 || h.Mode != 0 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: type %q size %d mode %#o owner %d:%d, want an empty file, mode 0, root", name, h.Typeflag, h.Size, h.Mode, h.Uid, h.Gid)
		}
	}
	tool := findItem(t, items, "bin/tool")
	if h := tool.hdr; h.Typeflag != tar.TypeReg || tool.body != "tool" || h.Mode != 0o4755 || h.Uid != 1000 || h.Gid != 1001 ||
		!h.ModTime.Equal(toolTime.Truncate(time.Second)) || h.PAXRecords["SCHILY.xattr.user.x"] != "1" {
		t.Errorf("bin/tool: %+v body %q", h, tool.body)
	}
	if h := findItem(t, items, "etc/link").hdr; h.Typeflag != tar.TypeSymlink || h.Linkname != "/etc/shadow" || h.Size != 0 {
		t.Errorf("etc/link: type %q -> %q size %d", h.Typeflag, h.Linkname, h.Size)
	}
	if h := findItem(t, items, "hard2").hdr; h.Typeflag != tar.TypeLink || h.Linkname != "hard1" {
		t.Errorf("hard2: type %q -> %q, want a hardlink to hard1", h.Typeflag, h.Linkname)
	}
	if h := findItem(t, items, "null").hdr; h.Typeflag != tar.TypeChar || h.Devmajor != 1 || h.Devminor != 3 || h.Mode != 0o666 {
		t.Errorf("null: type %q dev %d:%d mode %#o", h.Typeflag, h.Devmajor, h.Devminor, h.Mode)
	}
	if h := findItem(t, items, "fifo").hdr; h.Typeflag != tar.TypeFifo || h.Mode != 0o640 {
		t.Errorf("fifo: type %q mode %#o", h.Typeflag, h.Mode)
	}

	// Apply is the inverse: the layer it unpacks is upper again.
	layer := newLayerDir(t)
	if _, err := Apply(t.Context(), layer, bytes.NewReader(data)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	L := func(p string) string { return filepath.Join(layer, p) }
	assertWhiteout(t, L("etc/gone"))
	assertMissing(t, L("etc/.wh.gone"))
	if got := opaque(t, L("opq")); got != "y" {
		t.Errorf("opq: opaque = %q, want y", got)
	}
	assertMissing(t, L("opq/.wh..wh..opq"))
	assertMissing(t, L("data"))
	assertMissing(t, L("sock"))
	assertContent(t, L("bin/tool"), "tool")
	if st := lstat(t, L("bin/tool")); st.Mode&0o7777 != 0o4755 || st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("bin/tool: mode %#o owner %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
	}
	buf := make([]byte, 16)
	if n, err := unix.Lgetxattr(L("bin/tool"), "user.x", buf); err != nil || string(buf[:n]) != "1" {
		t.Errorf("bin/tool: user.x = %q, %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(L("bin/tool"), "trusted.overlay.origin", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("bin/tool: trusted.overlay.origin came through (%v)", err)
	}
	if target, err := os.Readlink(L("etc/link")); err != nil || target != "/etc/shadow" {
		t.Errorf("etc/link -> %q, %v", target, err)
	}
	if a, b := lstat(t, L("hard1")), lstat(t, L("hard2")); a.Ino != b.Ino {
		t.Errorf("hard1 and hard2 are different inodes")
	}
	if st := assertType(t, L("null"), unix.S_IFCHR); st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("null: rdev %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	assertType(t, L("fifo"), unix.S_IFIFO)

	// Stacked on the lower, the layer shows what overlay would.
	mnt := filepath.Join(t.TempDir(), "mnt")
	mkdirs(t, mnt)
	mountOverlay(t, mnt, unix.MS_RDONLY, "lowerdir="+layer+":"+lower)
	assertMissing(t, filepath.Join(mnt, "etc/gone"))
	assertContent(t, filepath.Join(mnt, "etc/hosts"), "new hosts")
	assertContent(t, filepath.Join(mnt, "keep"), "keep")
	assertContent(t, filepath.Join(mnt, "opq/new"), "new")
	if got := dirNames(t, filepath.Join(mnt, "opq")); !slices.Equal(got, []string{"new"}) {
		t.Errorf("opq holds %v, want only new", got)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDiffDeterministic(t *testing.T) {
	upper, _ := upperFixture(t)
	a := diffBytes(t, upper, DiffOptions{})
	b := diffBytes(t, upper, DiffOptions{})
	if !bytes.Equal(a, b) {
		t.Fatal("two Diffs of the same upper differ")
	}
	if !slices.Contains(itemNames(readTar(t, a)), "data/secret") {
		t.Error("data/secret missing without Exclude")
	}
}

func TestDiffExclude(t *testing.T) {
	upper, _ := upperFixture(t)
	tests := []struct {
		name    string
		exclude []string
		absent  []string
		present []string
	}{
		{"nested path", []string{"/etc/hosts", "opq/new"}, []string{"etc/hosts", "opq/new"}, []string{"etc/", "opq/", "opq/.wh..wh..opq"}},
		{"unclean path", []string{"//data/../data/"}, []string{"data/", "data/secret"}, []string{"bin/tool"}},
		{"prefix is not a parent", []string{"/dat", "/bin/to"}, nil, []string{"data/secret", "bin/tool"}},
		{"root", []string{"/"}, []string{"bin/", "etc/"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names := itemNames(readTar(t, diffBytes(t, upper, DiffOptions{Exclude: tc.exclude})))
			for _, n := range tc.absent {
				if slices.Contains(names, n) {
					t.Errorf("%s written", n)
				}
			}
			for _, n := range tc.present {
				if !slices.Contains(names, n) {
					t.Errorf("%s missing from %v", n, names)
				}
			}
		})
	}
}

func TestDiffRefusesLowerData(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct{ name, xattr string }{
		{"metacopy file", "trusted.overlay.metacopy"},
		{"redirected dir", "trusted.overlay.redirect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upper := t.TempDir()
			p := filepath.Join(upper, "f")
			if strings.HasSuffix(tc.xattr, "redirect") {
				mkdirs(t, p)
			} else {
				writeFile(t, p, "", 0o644)
			}
			must(t, unix.Setxattr(p, tc.xattr, []byte("/x"), 0))
			_, err := Diff(t.Context(), io.Discard, upper, DiffOptions{})
			if !errors.Is(err, errdefs.ErrNotImplemented) {
				t.Fatalf("Diff: %v, want ErrNotImplemented", err)
			}
		})
	}
}

func TestDiffContextCancelled(t *testing.T) {
	upper := t.TempDir()
	writeFile(t, filepath.Join(upper, "f"), "x", 0o644)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Diff(ctx, io.Discard, upper, DiffOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Diff: %v, want context.Canceled", err)
	}
}

// treeState describes every path under root (root itself left out) in a
// form two trees can be compared in: type, mode, owner, mtime to the
// second, content or target.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t) // lstat: Walk does not follow symlinks
		desc := []string{fi.Mode().String(), strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid)), strconv.FormatInt(int64(st.Mtim.Sec), 10)}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc = append(desc, string(b))
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc = append(desc, target)
		}
		state[rel] = strings.Join(desc, " ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// TestDiffRealOverlay makes changes through a real overlay mount, then
// checks that Diff of its upper, applied and stacked on the same lower,
// shows what the mount showed.
func TestDiffRealOverlay(t *testing.T) {
	requireOverlay(t)
	base := t.TempDir()
	lower, upper, work, merged, layer, check :=
		filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"),
		filepath.Join(base, "merged"), filepath.Join(base, "layer"), filepath.Join(base, "check")
	mkdirs(t, lower, upper, work, merged, layer, check)
	l := func(p string) string { return filepath.Join(lower, p) }
	mkdirs(t, l("d"), l("keep"), l("sub/deep"))
	for _, f := range []string{"a", "b", "d/x", "d/y", "keep/f", "sub/deep/file"} {
		writeFile(t, l(f), "lower "+f, 0o644)
	}

	unmount := mountOverlay(t, merged, 0, "lowerdir="+lower+",upperdir="+upper+",workdir="+work)
	m := func(p string) string { return filepath.Join(merged, p) }
	writeFile(t, m("n"), "new", 0o644)
	must(t, os.Link(m("n"), m("n2")))
	writeFile(t, m("a"), "changed a", 0o644)
	must(t, os.Remove(m("b")))
	must(t, os.RemoveAll(m("d")))
	mkdirs(t, m("d"))
	writeFile(t, m("d/z"), "z", 0o600)
	must(t, os.Chmod(m("keep/f"), 0o600))
	must(t, os.Lchown(m("keep/f"), 7, 8))
	must(t, os.Symlink("/etc/shadow", m("s")))
	mkdirs(t, m("newdir"))
	writeFile(t, m("newdir/f"), "f", 0o644)
	must(t, os.Remove(m("sub/deep/file")))
	want := treeState(t, merged)
	unmount()

	if got := opaque(t, filepath.Join(upper, "d")); got != "y" {
		t.Fatalf("upper d: opaque = %q; the kernel did not make the recreated dir opaque", got)
	}
	data := diffBytes(t, upper, DiffOptions{})
	names := itemNames(readTar(t, data))
	for _, n := range []string{".wh.b", "d/", "d/.wh..wh..opq", "d/z", "sub/deep/.wh.file"} {
		if !slices.Contains(names, n) {
			t.Errorf("entry %s missing from %v", n, names)
		}
	}
	if _, err := Apply(t.Context(), layer, bytes.NewReader(data)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if a, b := lstat(t, filepath.Join(layer, "n")), lstat(t, filepath.Join(layer, "n2")); a.Ino != b.Ino {
		t.Error("n and n2 are no longer one inode")
	}
	mountOverlay(t, check, unix.MS_RDONLY, "lowerdir="+layer+":"+lower)
	got := treeState(t, check)
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: applied layer shows %q, the container showed %q", p, got[p], w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: in the applied layer, not in the container", p)
		}
	}

	changes, err := Changes(upper, []string{lower})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	wantChanges := []string{
		"C /a", "D /b", "C /d", "A /d/z", "C /keep", "C /keep/f", "A /n", "A /n2",
		"A /newdir", "A /newdir/f", "A /s", "C /sub", "C /sub/deep", "D /sub/deep/file",
	}
	if got := changeLines(changes); !slices.Equal(got, wantChanges) {
		t.Errorf("Changes:\n got %q\nwant %q", got, wantChanges)
	}
}

func changeLines(changes []Change) []string {
	var lines []string
	for _, c := range changes {
		lines = append(lines, c.Kind.String()+" "+c.Path)
	}
	return lines
}
