package container

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMonitorExe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts a tmpfs: needs root")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "berth")
	if err := os.WriteFile(exe, []byte("binary v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	runRoot := filepath.Join(dir, "run")
	bin := filepath.Join(runRoot, "bin")
	t.Cleanup(func() {
		for syscall.Unmount(bin, syscall.MNT_DETACH) == nil {
		}
	})

	first := monitorExe(runRoot, exe)
	if filepath.Dir(filepath.Dir(first)) != bin || filepath.Base(first) != "berth" {
		t.Fatalf("monitorExe = %s, want a copy in %s", first, bin)
	}
	if !isTmpfs(bin) {
		t.Fatalf("%s is not a tmpfs", bin)
	}
	if data, err := os.ReadFile(first); err != nil || string(data) != "binary v1" {
		t.Fatalf("copy holds %q, %v", data, err)
	}
	if fi, err := os.Stat(first); err != nil || fi.Mode().Perm() != 0o555 {
		t.Fatalf("copy mode: %v, %v", fi.Mode(), err)
	}
	if again := monitorExe(runRoot, exe); again != first {
		t.Fatalf("second call = %s, want the same copy %s", again, first)
	}
	if n := countMounts(t, bin); n != 1 {
		t.Fatalf("%s mounted %d times", bin, n)
	}

	// A new version of the binary gets a new copy; the old one goes.
	if err := os.WriteFile(exe, []byte("binary v2"), 0o755); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second)
	os.Chtimes(exe, later, later)
	second := monitorExe(runRoot, exe)
	if second == first {
		t.Fatal("a changed binary kept the old copy")
	}
	if data, _ := os.ReadFile(second); string(data) != "binary v2" {
		t.Fatalf("new copy holds %q", data)
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("old copy still there: %v", err)
	}

	// A missing binary is used as it is (and fails where it is run).
	if got := monitorExe(runRoot, filepath.Join(dir, "missing")); got != filepath.Join(dir, "missing") {
		t.Fatalf("missing binary: %s", got)
	}
}

func countMounts(t *testing.T, dir string) int {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			n++
		}
	}
	return n
}
