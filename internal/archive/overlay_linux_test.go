//go:build linux

package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// requireOverlay skips a test when overlayfs cannot be mounted here.
func requireOverlay(t *testing.T) {
	t.Helper()
	requireRoot(t)
	fss, err := os.ReadFile("/proc/filesystems")
	if err != nil || !strings.Contains(string(fss), "\toverlay\n") {
		t.Skip("needs overlayfs: not in /proc/filesystems")
	}
}

// TestOverlayMount mounts two layers made by Apply as a read-only overlay
// and checks that the kernel reads the whiteout and the opaque marker as
// Apply wrote them.
func TestOverlayMount(t *testing.T) {
	requireOverlay(t)
	base := t.TempDir()
	lower, upper, mnt := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "mnt")
	for _, d := range []string{lower, upper, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	layers := []struct {
		dir     string
		entries []tarEntry
	}{
		{lower, []tarEntry{fileEntry("a", "a"), dirEntry("d/"), fileEntry("d/x", "x"), fileEntry("d/y", "y"), fileEntry("b", "b")}},
		{upper, []tarEntry{fileEntry(".wh.a", ""), dirEntry("d/"), fileEntry("d/.wh..wh..opq", ""), fileEntry("d/z", "z")}},
	}
	for _, l := range layers {
		if _, err := Apply(t.Context(), l.dir, bytes.NewReader(buildTar(t, l.entries...))); err != nil {
			t.Fatalf("Apply to %s: %v", filepath.Base(l.dir), err)
		}
	}

	err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+upper+":"+lower)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) {
		t.Skipf("cannot mount overlayfs here: %v", err)
	}
	if err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount overlay: %v", err)
		}
	})

	if _, err := os.Lstat(filepath.Join(mnt, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a: want it hidden by the whiteout, lstat says %v", err)
	}
	assertContent(t, filepath.Join(mnt, "b"), "b")
	entries, err := os.ReadDir(filepath.Join(mnt, "d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"z"}) {
		t.Errorf("d holds %v, want only z (the opaque marker hides x and y)", names)
	}
	assertContent(t, filepath.Join(mnt, "d/z"), "z")
	top, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, e := range top {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"b", "d"}) {
		t.Errorf("merged root holds %v, want [b d]", names)
	}
}
