package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	fileTime = time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	dirTime  = time.Date(2019, 6, 7, 8, 9, 10, 0, time.UTC)
)

// sourceTree builds the tree a container image's directory could hold.
func sourceTree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "rootfs", "srv")
	must(t, os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	must(t, os.MkdirAll(filepath.Join(src, "sub", "deep"), 0o755))
	must(t, os.Mkdir(filepath.Join(src, "tmp"), 0o700))
	must(t, unix.Chmod(filepath.Join(src, "tmp"), 0o1777))

	su := filepath.Join(src, "bin", "su")
	must(t, os.WriteFile(su, []byte("#!/bin/sh\n"), 0o600))
	must(t, os.Chown(su, 1000, 1000))
	must(t, unix.Chmod(su, 0o4755)) // after chown, which clears set-ID bits
	must(t, os.Chtimes(su, fileTime, fileTime))

	must(t, os.Symlink("/etc/passwd", filepath.Join(src, "abs")))
	must(t, os.Symlink("../../x", filepath.Join(src, "sub", "rel")))
	must(t, os.Lchown(filepath.Join(src, "abs"), 1000, 1001))
	ts := unix.NsecToTimespec(fileTime.UnixNano())
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(src, "abs"), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	must(t, os.Symlink("/", filepath.Join(src, "rootlink"))) // a directory symlink, not descended

	must(t, os.WriteFile(filepath.Join(src, "a"), []byte("linked"), 0o640))
	must(t, os.Link(filepath.Join(src, "a"), filepath.Join(src, "sub", "deep", "b")))

	must(t, unix.Mkfifo(filepath.Join(src, "fifo"), 0o620))
	must(t, unix.Chmod(filepath.Join(src, "fifo"), 0o620))
	must(t, unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, unix.Chmod(filepath.Join(src, "null"), 0o666))
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	must(t, err)
	must(t, unix.Bind(sock, &unix.SockaddrUnix{Name: filepath.Join(src, "sock")}))
	unix.Close(sock)

	must(t, unix.Setxattr(filepath.Join(src, "a"), "user.x", []byte("value"), 0))
	must(t, unix.Setxattr(filepath.Join(src, "sub"), "trusted.overlay.opaque", []byte("y"), 0))
	must(t, unix.Setxattr(filepath.Join(src, "sub"), "trusted.kept", []byte("k"), 0))

	must(t, os.Chtimes(filepath.Join(src, "sub"), dirTime, dirTime))
	must(t, os.Chown(src, 1000, 1000))
	must(t, os.Chmod(src, 0o750))
	must(t, os.Chtimes(src, dirTime, dirTime))
	return src
}

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	return &st
}

func TestPopulate(t *testing.T) {
	requireRoot(t)
	s := newStore(t)
	ctx := t.Context()
	src := sourceTree(t)
	v, err := s.Create(ctx, "pop", CreateOptions{})
	must(t, err)
	must(t, s.Populate(ctx, v, src))
	d := v.Mountpoint

	st := lstat(t, d)
	if st.Mode&0o7777 != 0o750 || st.Uid != 1000 || st.Gid != 1000 || st.Mtim != unix.NsecToTimespec(dirTime.UnixNano()) {
		t.Errorf("data dir: mode %o owner %d:%d mtime %v", st.Mode&0o7777, st.Uid, st.Gid, st.Mtim)
	}

	st = lstat(t, filepath.Join(d, "bin", "su"))
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o7777 != 0o4755 || st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("su: mode %o owner %d:%d", st.Mode, st.Uid, st.Gid)
	}
	if st.Mtim != unix.NsecToTimespec(fileTime.UnixNano()) || st.Atim != unix.NsecToTimespec(fileTime.UnixNano()) {
		t.Errorf("su: times %v %v", st.Atim, st.Mtim)
	}
	if data, err := os.ReadFile(filepath.Join(d, "bin", "su")); err != nil || string(data) != "#!/bin/sh\n" {
		t.Errorf("su content %q, %v", data, err)
	}

	if st := lstat(t, filepath.Join(d, "tmp")); st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o7777 != 0o1777 {
		t.Errorf("tmp: mode %o", st.Mode)
	}
	if st := lstat(t, filepath.Join(d, "sub")); st.Mtim != unix.NsecToTimespec(dirTime.UnixNano()) {
		t.Errorf("sub: mtime %v (children must not change it)", st.Mtim)
	}

	for p, want := range map[string]string{"abs": "/etc/passwd", "sub/rel": "../../x", "rootlink": "/"} {
		got, err := os.Readlink(filepath.Join(d, p))
		if err != nil || got != want {
			t.Errorf("symlink %s -> %q, %v; want %q", p, got, err, want)
		}
	}
	if st := lstat(t, filepath.Join(d, "abs")); st.Uid != 1000 || st.Gid != 1001 || st.Mtim != unix.NsecToTimespec(fileTime.UnixNano()) {
		t.Errorf("abs: owner %d:%d mtime %v", st.Uid, st.Gid, st.Mtim)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(filepath.Dir(d)), "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was written through ../../x: %v", err)
	}

	a, b := lstat(t, filepath.Join(d, "a")), lstat(t, filepath.Join(d, "sub", "deep", "b"))
	if a.Ino != b.Ino || a.Nlink != 2 || a.Mode&0o7777 != 0o640 {
		t.Errorf("hard links: a ino %d nlink %d mode %o, b ino %d", a.Ino, a.Nlink, a.Mode, b.Ino)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(d, "a"), "user.x", buf); err != nil || string(buf[:n]) != "value" {
		t.Errorf("xattr user.x = %q, %v", buf[:max(n, 0)], err)
	}
	if n, err := unix.Lgetxattr(filepath.Join(d, "sub"), "trusted.kept", buf); err != nil || string(buf[:n]) != "k" {
		t.Errorf("xattr trusted.kept = %q, %v", buf[:max(n, 0)], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(d, "sub"), "trusted.overlay.opaque", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("trusted.overlay.opaque copied: %v", err)
	}

	if st := lstat(t, filepath.Join(d, "fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o7777 != 0o620 {
		t.Errorf("fifo: mode %o", st.Mode)
	}
	if st := lstat(t, filepath.Join(d, "null")); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o7777 != 0o666 {
		t.Errorf("null: mode %o rdev %d", st.Mode, st.Rdev)
	}
	if _, err := os.Lstat(filepath.Join(d, "sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket copied: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(s.dir("pop"), populatingMarker)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("populating marker left: %v", err)
	}

	// The source is untouched: its symlinks were not followed.
	if got, _ := os.Readlink(filepath.Join(src, "abs")); got != "/etc/passwd" {
		t.Errorf("source symlink changed: %q", got)
	}

	// Populating again (the volume is not empty now) changes nothing.
	must(t, os.WriteFile(filepath.Join(src, "new"), nil, 0o644))
	must(t, s.Populate(ctx, v, src))
	if _, err := os.Lstat(filepath.Join(d, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Populate copied into a volume that was not empty: %v", err)
	}
}

func TestPopulateNonEmpty(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "from-image"), nil, 0o644))
	v, err := s.Create(ctx, "full", CreateOptions{})
	must(t, err)
	must(t, os.WriteFile(filepath.Join(v.Mountpoint, "mine"), nil, 0o644))
	must(t, s.Populate(ctx, v, src))
	ents, _ := os.ReadDir(v.Mountpoint)
	if len(ents) != 1 || ents[0].Name() != "mine" {
		t.Fatalf("data %v", ents)
	}
}

func TestPopulateNoSource(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	v, err := s.Create(ctx, "empty", CreateOptions{})
	must(t, err)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "real"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "real", "f"), nil, 0o644))
	must(t, os.Symlink("real", filepath.Join(dir, "link")))
	for _, src := range []string{
		filepath.Join(dir, "missing"),
		filepath.Join(dir, "file"),
		filepath.Join(dir, "link"), // never followed, even at the top
		filepath.Join(dir, "file", "below"),
	} {
		if err := s.Populate(ctx, v, src); err != nil {
			t.Errorf("Populate(%s) = %v", src, err)
		}
	}
	if ents, _ := os.ReadDir(v.Mountpoint); len(ents) != 0 {
		t.Fatalf("data %v", ents)
	}
	if err := s.Populate(ctx, &Volume{Name: "nosuch"}, dir); err == nil {
		t.Fatal("Populate of a missing volume succeeded")
	}
}

func TestPopulateAfterKilledCopy(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "one"), []byte("1"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "two"), []byte("2"), 0o644))
	v, err := s.Create(ctx, "cut", CreateOptions{})
	must(t, err)

	// A copy-up killed after one file: marker and partial data.
	must(t, os.WriteFile(filepath.Join(s.dir("cut"), populatingMarker), nil, 0o600))
	must(t, os.WriteFile(filepath.Join(v.Mountpoint, "one"), []byte("partial"), 0o644))
	must(t, os.Symlink("/etc", filepath.Join(v.Mountpoint, "escape")))
	must(t, s.Populate(ctx, v, src))
	for name, want := range map[string]string{"one": "1", "two": "2"} {
		if data, err := os.ReadFile(filepath.Join(v.Mountpoint, name)); err != nil || string(data) != want {
			t.Errorf("%s = %q, %v", name, data, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(v.Mountpoint, "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial data kept: %v", err)
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatalf("clearing followed a symlink: %v", err)
	}

	// Sweep clears a partial copy too, so the next Populate starts empty.
	must(t, os.WriteFile(filepath.Join(s.dir("cut"), populatingMarker), nil, 0o600))
	must(t, s.Sweep(ctx))
	if ents, _ := os.ReadDir(v.Mountpoint); len(ents) != 0 {
		t.Fatalf("Sweep left partial data: %v", ents)
	}
	if _, err := os.Lstat(filepath.Join(s.dir("cut"), populatingMarker)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker left: %v", err)
	}
}

func TestPopulateCancelled(t *testing.T) {
	s := newStore(t)
	v, err := s.Create(t.Context(), "cancel", CreateOptions{})
	must(t, err)
	src := t.TempDir()
	for i := range 10 {
		must(t, os.WriteFile(filepath.Join(src, strings.Repeat("f", i+1)), nil, 0o644))
	}
	ctx, cancel := context.WithCancel(t.Context())
	l, err := s.lock(t.Context()) // Populate waits at Mount's store lock
	must(t, err)
	cancel()
	err = s.Populate(ctx, v, src)
	l.Unlock()
	if err == nil {
		t.Fatal("Populate with a cancelled context succeeded")
	}
	if ents, _ := os.ReadDir(v.Mountpoint); len(ents) != 0 {
		t.Fatalf("data %v", ents)
	}
}
