package sysinfo

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Host is what Info reports.
type Host struct {
	Kernel          string    `json:"KernelVersion"`
	OperatingSystem string    `json:"OperatingSystem"`
	OSType          string    `json:"OSType"`
	Architecture    string    `json:"Architecture"`
	CPUs            int       `json:"NCPU"`
	MemTotal        int64     `json:"MemTotal"`
	CgroupVersion   string    `json:"CgroupVersion"`
	Overlay         bool      `json:"OverlaySupported"`
	Runtimes        []Runtime `json:"Runtimes"`
}

// Runtime is an OCI runtime binary found on PATH.
type Runtime struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Version string `json:"version"`
}

// Read gathers Host. Missing facts are left empty rather than failing.
func Read(ctx context.Context) Host {
	h := Host{OSType: runtime.GOOS, Architecture: machine(), CPUs: runtime.NumCPU()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	h.OperatingSystem = prettyName()
	h.MemTotal = memTotal()
	h.CgroupVersion = cgroupVersion()
	h.Overlay = hasFilesystem("overlay")
	for _, name := range []string{"runc", "crun"} {
		if rt, ok := findRuntime(ctx, name); ok {
			h.Runtimes = append(h.Runtimes, rt)
		}
	}
	return h
}

func machine() string {
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		return unix.ByteSliceToString(u.Machine[:])
	}
	return runtime.GOARCH
}

func prettyName() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// cgroupVersion is "2" on a unified hierarchy, "1" otherwise (including the
// hybrid layout, where v1 controllers sit beside a v2 mount).
func cgroupVersion() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return ""
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "2"
	}
	return "1"
}

func hasFilesystem(name string) bool {
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == name {
			return true
		}
	}
	// overlay may be a module not yet loaded; the first mount loads it.
	_, err = os.Stat("/sys/module/" + name)
	return err == nil
}

func findRuntime(ctx context.Context, name string) (Runtime, bool) {
	p, err := exec.LookPath(name)
	if err != nil {
		return Runtime{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, p, "--version").Output()
	first, _, _ := bytes.Cut(out, []byte("\n"))
	return Runtime{Name: name, Path: p, Version: strings.TrimSpace(string(first))}, true
}
