package volume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		o     string
		flags uintptr
		data  string
	}{
		{"", 0, ""},
		{"size=10m,uid=1000", 0, "size=10m,uid=1000"},
		{"ro,nosuid,nodev,noexec", unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"bind", unix.MS_BIND, ""},
		{"rbind,ro", unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, ""},
		{"ro,rw", 0, ""},
		{"addr=10.0.0.1,rw,nfsvers=4,noatime", unix.MS_NOATIME, "addr=10.0.0.1,nfsvers=4"},
		{"defaults,,rshared", unix.MS_SHARED | unix.MS_REC, ""},
	}
	for _, tc := range tests {
		t.Run(tc.o, func(t *testing.T) {
			flags, data := parseMountOptions(tc.o)
			if flags != tc.flags || data != tc.data {
				t.Fatalf("parseMountOptions(%q) = %#x, %q; want %#x, %q", tc.o, flags, data, tc.flags, tc.data)
			}
		})
	}
	if got := mountOption("nfsvers=4,addr=example.com", "addr"); got != "example.com" {
		t.Fatalf("mountOption = %q", got)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/a/b`:            "/a/b",
		`/with\040space`:  "/with space",
		`/tab\011x\134y`:  "/tab\tx\\y",
		`/trailing\04`:    `/trailing\04`,
		`/not\999escaped`: `/not\999escaped`,
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// mountedStore is a store whose mounts are all undone when the test ends,
// even if it fails.
func mountedStore(t *testing.T) *Store {
	t.Helper()
	requireRoot(t)
	s := newStore(t) // its TempDir is removed after the cleanup below runs
	t.Cleanup(func() {
		if err := unmountBelow(s.realRoot); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return s
}

// mountsAt counts the mounts on dir.
func mountsAt(t *testing.T, dir string) int {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	mps, err := mountPoints()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mp := range mps {
		if mp == real {
			n++
		}
	}
	return n
}

func isTmpfs(t *testing.T, dir string) bool {
	t.Helper()
	var fs unix.Statfs_t
	must(t, unix.Statfs(dir, &fs))
	return fs.Type == unix.TMPFS_MAGIC
}

func TestMountTmpfs(t *testing.T) {
	s := mountedStore(t)
	ctx := t.Context()
	if isTmpfs(t, s.root) {
		t.Skip("the test directory is on tmpfs already")
	}
	v, err := s.Create(ctx, "tmp", CreateOptions{Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000,nosuid"}})
	must(t, err)
	if isTmpfs(t, v.Mountpoint) || mountsAt(t, v.Mountpoint) != 0 {
		t.Fatal("mounted at creation")
	}
	mp, err := s.Mount(ctx, v)
	must(t, err)
	if mp != v.Mountpoint || !isTmpfs(t, mp) || mountsAt(t, mp) != 1 {
		t.Fatalf("Mount = %s: tmpfs %v, %d mounts", mp, isTmpfs(t, mp), mountsAt(t, mp))
	}
	if st := lstat(t, mp); st.Uid != 1000 {
		t.Errorf("tmpfs root owner %d: the o data was not passed", st.Uid)
	}
	var fs unix.Statfs_t
	must(t, unix.Statfs(mp, &fs))
	if fs.Flags&unix.ST_NOSUID == 0 {
		t.Errorf("nosuid not applied: flags %#x", fs.Flags)
	}
	if _, err := s.Mount(ctx, v); err != nil {
		t.Fatal(err)
	}
	if n := mountsAt(t, mp); n != 1 {
		t.Fatalf("second Mount stacked: %d mounts", n)
	}
	must(t, os.WriteFile(filepath.Join(mp, "f"), []byte("x"), 0o644))

	must(t, s.Remove(ctx, "tmp"))
	if n := mountsAt(t, mp); n != 0 {
		t.Fatalf("%d mounts after Remove", n)
	}
	if _, err := os.Lstat(s.dir("tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("volume dir after Remove: %v", err)
	}
	if mps, _ := mountPoints(); strings.Contains(strings.Join(mps, "\n"), s.realRoot) {
		t.Fatalf("mounts left under the store: %v", mps)
	}
}

func TestMountPlainVolume(t *testing.T) {
	s := mountedStore(t)
	v, err := s.Create(t.Context(), "plain", CreateOptions{})
	must(t, err)
	mp, err := s.Mount(t.Context(), v)
	if err != nil || mp != v.Mountpoint || mountsAt(t, mp) != 0 {
		t.Fatalf("Mount = %s, %v", mp, err)
	}
}

func TestMountBind(t *testing.T) {
	s := mountedStore(t)
	ctx := t.Context()
	host := t.TempDir()
	must(t, os.WriteFile(filepath.Join(host, "hello"), []byte("from host"), 0o644))
	v, err := s.Create(ctx, "bound", CreateOptions{Options: map[string]string{"type": "none", "device": host, "o": "bind"}})
	must(t, err)
	mp, err := s.Mount(ctx, v)
	must(t, err)
	if data, err := os.ReadFile(filepath.Join(mp, "hello")); err != nil || string(data) != "from host" {
		t.Fatalf("hello = %q, %v", data, err)
	}
	must(t, os.WriteFile(filepath.Join(mp, "written"), []byte("via volume"), 0o644))
	if _, err := s.Mount(ctx, v); err != nil {
		t.Fatal(err)
	}
	if n := mountsAt(t, mp); n != 1 {
		t.Fatalf("%d mounts", n)
	}

	// Removing the volume unmounts the host directory; it never empties it.
	must(t, s.Remove(ctx, "bound"))
	for name, want := range map[string]string{"hello": "from host", "written": "via volume"} {
		if data, err := os.ReadFile(filepath.Join(host, name)); err != nil || string(data) != want {
			t.Fatalf("host %s after Remove = %q, %v", name, data, err)
		}
	}
	if _, err := os.Lstat(s.dir("bound")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("volume dir after Remove: %v", err)
	}
}

func TestMountBindReadOnly(t *testing.T) {
	s := mountedStore(t)
	ctx := t.Context()
	host := t.TempDir()
	v, err := s.Create(ctx, "robind", CreateOptions{Options: map[string]string{"type": "none", "device": host, "o": "bind,ro"}})
	must(t, err)
	mp, err := s.Mount(ctx, v)
	must(t, err)
	if err := os.WriteFile(filepath.Join(mp, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Fatalf("write into a read-only bind = %v", err)
	}
}

func TestMountFailure(t *testing.T) {
	s := mountedStore(t)
	ctx := t.Context()
	v, err := s.Create(ctx, "bad", CreateOptions{Options: map[string]string{"type": "ext4", "device": "/dev/berth-no-such-device", "o": "ro,password=secret"}})
	must(t, err)
	_, err = s.Mount(ctx, v)
	if err == nil {
		t.Fatal("Mount of a missing device succeeded")
	}
	if !strings.HasPrefix(err.Error(), "mount volume bad: ") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %q", err)
	}
	if n := mountsAt(t, v.Mountpoint); n != 0 {
		t.Fatalf("%d mounts", n)
	}
	must(t, s.Remove(ctx, "bad"))
}

func TestPopulateTmpfs(t *testing.T) {
	s := mountedStore(t)
	ctx := t.Context()
	if isTmpfs(t, s.root) {
		t.Skip("the test directory is on tmpfs already")
	}
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "seed"), []byte("seed"), 0o644))
	v, err := s.Create(ctx, "tmpop", CreateOptions{Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}})
	must(t, err)
	must(t, s.Populate(ctx, v, src)) // mounts first
	if !isTmpfs(t, v.Mountpoint) {
		t.Fatal("Populate did not mount the volume")
	}
	if data, err := os.ReadFile(filepath.Join(v.Mountpoint, "seed")); err != nil || string(data) != "seed" {
		t.Fatalf("seed = %q, %v", data, err)
	}
	must(t, unix.Unmount(v.Mountpoint, unix.MNT_DETACH))
	if ents, _ := os.ReadDir(v.Mountpoint); len(ents) != 0 {
		t.Fatalf("copied below the mount: %v", ents)
	}
}

func TestSweepUnmounts(t *testing.T) {
	s := mountedStore(t)
	host := t.TempDir()
	must(t, os.WriteFile(filepath.Join(host, "keep"), []byte("k"), 0o644))
	// A removal killed between its rename and its RemoveAll, with the
	// volume's bind mount still in place.
	leave(t, s, s.trashDir("gone"), "gone")
	must(t, os.Remove(filepath.Join(s.trashDir("gone"), "_data", "file")))
	must(t, unix.Mount(host, filepath.Join(s.trashDir("gone"), "_data"), "none", unix.MS_BIND, ""))
	must(t, s.Sweep(t.Context()))
	if _, err := os.Lstat(s.trashDir("gone")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("trash after Sweep: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(host, "keep")); err != nil || string(data) != "k" {
		t.Fatalf("Sweep emptied a mounted host directory: %q, %v", data, err)
	}
}
