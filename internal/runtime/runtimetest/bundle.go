package runtimetest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BusyboxPath is the host's statically linked busybox (Debian busybox-static).
const BusyboxPath = "/bin/busybox"

// CgroupParent is the cgroup under which every test container's cgroup goes.
const CgroupParent = "/berth-test"

// applets are the busybox commands linked in a bundle's /bin.
var applets = []string{"sh", "echo", "cat", "sleep", "true", "false", "id", "ls", "grep", "head", "tail", "tty", "stty", "kill"}

// Bundle is an OCI bundle in a test's temporary directory.
type Bundle struct {
	Dir  string      // the bundle directory: config.json and rootfs/
	ID   string      // a unique container ID for it
	Spec *specs.Spec // written to config.json by Save
}

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("starting containers needs root")
	}
}

// NewID returns a unique container ID ("bt-" and 12 hex digits).
func NewID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "bt-" + hex.EncodeToString(b[:])
}

// NewBundle builds a bundle running args: a busybox root filesystem and a
// spec like `runc spec` makes, with Docker's defaults (capabilities,
// namespaces, masked and read-only paths, no rlimits) and cgroups path
// CgroupParent/<ID>. Change b.Spec, then Save it (the suite saves for
// you).
func NewBundle(t testing.TB, args ...string) *Bundle {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Skipf("no static busybox at %s (apt-get install busybox-static): %v", BusyboxPath, err)
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":    "root:x:0:\nnogroup:x:65534:\n",
		"etc/hostname": "berth-test\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	id := NewID()
	return &Bundle{Dir: dir, ID: id, Spec: Spec(rootfs, CgroupParent+"/"+id, args...)}
}

// Save writes b.Spec to b.Dir/config.json.
func (b *Bundle) Save(t testing.TB) {
	t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// CgroupsPath is the bundle's linux.cgroupsPath.
func (b *Bundle) CgroupsPath() string { return b.Spec.Linux.CgroupsPath }

// SpecVersion is the ociVersion of test bundles: one that every runtime
// tested accepts (runc 1.1.5 writes 1.0.2-dev; crun 1.8.1 takes up to 1.1.x).
const SpecVersion = "1.0.2"

// DefaultCaps are Docker's default capabilities.
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Spec returns a minimal but realistic spec: what `runc spec` writes, with
// Docker's capabilities, a cgroup namespace and no rlimits.
func Spec(rootfs, cgroupsPath string, args ...string) *specs.Spec {
	caps := func() []string { return append([]string(nil), DefaultCaps...) }
	return &specs.Spec{
		// Not specs.Version (1.3.0): crun 1.8.1 (Debian 12) rejects any
		// ociVersion above 1.1 with "unknown version specified".
		Version: SpecVersion,
		Process: &specs.Process{
			Args: args,
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps(), Effective: caps(), Permitted: caps(),
			},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfs},
		Hostname: "berth-test",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: cgroupsPath,
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.CgroupNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
				"/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}

// CgroupDirs returns the directories of the cgroup at path (for example
// CgroupParent+"/"+id) that exist, in every hierarchy.
func CgroupDirs(path string) []string {
	var dirs []string
	for _, pattern := range []string{"/sys/fs/cgroup/*" + path, "/sys/fs/cgroup" + path} {
		m, _ := filepath.Glob(pattern)
		for _, d := range m {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// RemoveCgroup kills any process left in the cgroup at path and removes
// its directory in every hierarchy (children first).
func RemoveCgroup(t testing.TB, path string) {
	t.Helper()
	for _, dir := range CgroupDirs(path) {
		var subdirs []string
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				subdirs = append(subdirs, p)
			}
			return nil
		})
		for i := len(subdirs) - 1; i >= 0; i-- {
			removeCgroupDir(t, subdirs[i])
		}
	}
}

func removeCgroupDir(t testing.TB, dir string) {
	t.Helper()
	// A frozen v1 cgroup holds killed processes until thawed.
	writeExisting(filepath.Join(dir, "freezer.state"), "THAWED")
	writeExisting(filepath.Join(dir, "cgroup.freeze"), "0")
	for try := 0; ; try++ {
		if data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return
		}
		if try == 50 {
			t.Errorf("remove cgroup %s: %v", dir, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RemoveCgroupParent removes CgroupParent from every hierarchy if it is
// empty (another test binary running at the same time may still use it).
func RemoveCgroupParent() {
	for _, dir := range CgroupDirs(CgroupParent) {
		_ = syscall.Rmdir(dir)
	}
}

// writeExisting writes s to an existing file (cgroupfs files cannot be
// created).
func writeExisting(path, s string) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	_, _ = f.WriteString(s)
	_ = f.Close()
}
