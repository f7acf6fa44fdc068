package cgroupfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"berth.dev/berth/internal/runtime"
)

// unlimited is the smallest value taken to mean "no limit": v1 reports an
// unlimited memory.limit_in_bytes as a page-rounded 2^63-1.
const unlimited = 1 << 62

// Dirs are one cgroup's directories, by controller. Missing controllers are
// empty strings. Unified is the v2 directory (all of v2, or the hybrid
// layout's /sys/fs/cgroup/unified part).
type Dirs struct {
	Memory, CPUAcct, Pids string
	Unified               string
	V2                    bool // controllers are on the unified hierarchy
}

// mount is one cgroup hierarchy mount.
type mount struct {
	dir, root string
}

// mounts maps controller names (and "" for cgroup2) to their mount, from
// /proc/self/mountinfo.
func mounts() (map[string]mount, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return parseMounts(data), nil
}

// parseMounts parses mountinfo: the first mount of each controller wins.
func parseMounts(data []byte) map[string]mount {
	out := map[string]mount{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 {
			continue
		}
		m := mount{dir: pf[4], root: pf[3]}
		switch qf[0] {
		case "cgroup2":
			if _, seen := out[""]; !seen {
				out[""] = m
			}
		case "cgroup":
			for _, opt := range strings.Split(qf[2], ",") {
				if _, seen := out[opt]; !seen {
					out[opt] = m
				}
			}
		}
	}
	return out
}

// join places a cgroup path (as /proc/<pid>/cgroup or a spec's absolute
// cgroupsPath gives it) under a mount.
func (m mount) join(path string) string {
	if m.root != "/" {
		if rel, ok := strings.CutPrefix(path, m.root); ok {
			path = rel
		}
	}
	return filepath.Join(m.dir, path)
}

// ForPath returns the directories of the cgroup at an absolute cgroup path
// (a spec's cgroupsPath) on every hierarchy.
func ForPath(path string) (Dirs, error) {
	ms, err := mounts()
	if err != nil {
		return Dirs{}, err
	}
	return dirs(ms, func(string) string { return path }), nil
}

// ForPID returns the directories of the cgroups process pid is in.
func ForPID(pid int) (Dirs, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return Dirs{}, fmt.Errorf("read cgroups of %d: %w", pid, err)
	}
	paths := map[string]string{}
	for line := range strings.Lines(string(data)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			paths[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			paths[c] = parts[2]
		}
	}
	ms, err := mounts()
	if err != nil {
		return Dirs{}, err
	}
	return dirs(ms, func(c string) string { return paths[c] }), nil
}

func dirs(ms map[string]mount, path func(controller string) string) Dirs {
	var d Dirs
	at := func(c string) string {
		m, ok := ms[c]
		if !ok || path(c) == "" {
			return ""
		}
		return m.join(path(c))
	}
	d.Unified = at("")
	if _, v1 := ms["memory"]; !v1 && d.Unified != "" {
		d.V2 = true
		d.Memory, d.CPUAcct, d.Pids = d.Unified, d.Unified, d.Unified
		return d
	}
	d.Memory, d.CPUAcct, d.Pids = at("memory"), at("cpuacct"), at("pids")
	return d
}

// Exists reports whether the cgroup's memory directory exists.
func (d Dirs) Exists() bool {
	if d.Memory == "" {
		return false
	}
	_, err := os.Stat(d.Memory)
	return err == nil
}

// Read returns the figures of the cgroup. Files a kernel lacks (v2
// memory.peak before 5.19) leave their figure at 0.
func (d Dirs) Read() (*runtime.Stats, error) {
	if !d.Exists() {
		return nil, fmt.Errorf("read cgroup stats: memory cgroup %q: %w", d.Memory, fs.ErrNotExist)
	}
	var (
		s    runtime.Stats
		errs []error
	)
	read := func(dst *uint64, dir, file string, optional bool) {
		if dir == "" {
			return
		}
		v, err := readUint(filepath.Join(dir, file))
		if err != nil && !(optional && errors.Is(err, fs.ErrNotExist)) {
			errs = append(errs, err)
		}
		*dst = v
	}
	if d.V2 {
		read(&s.MemoryUsage, d.Memory, "memory.current", false)
		read(&s.MemoryLimit, d.Memory, "memory.max", false)
		read(&s.MemoryMaxUsage, d.Memory, "memory.peak", true)
		read(&s.PidsCurrent, d.Pids, "pids.current", true)
		read(&s.PidsLimit, d.Pids, "pids.max", true)
		usec, err := readKey(filepath.Join(d.CPUAcct, "cpu.stat"), "usage_usec")
		if err != nil {
			errs = append(errs, err)
		}
		s.CPUUsageNanos = usec * 1000
	} else {
		read(&s.MemoryUsage, d.Memory, "memory.usage_in_bytes", false)
		read(&s.MemoryLimit, d.Memory, "memory.limit_in_bytes", false)
		read(&s.MemoryMaxUsage, d.Memory, "memory.max_usage_in_bytes", false)
		read(&s.CPUUsageNanos, d.CPUAcct, "cpuacct.usage", false)
		read(&s.PidsCurrent, d.Pids, "pids.current", true)
		read(&s.PidsLimit, d.Pids, "pids.max", true)
	}
	if s.MemoryLimit >= unlimited {
		s.MemoryLimit = 0
	}
	oom, err := OOMKilled(d.Memory)
	if err != nil {
		errs = append(errs, err)
	}
	s.OOMKilled = oom
	if err := errors.Join(errs...); err != nil {
		return &s, fmt.Errorf("read cgroup stats: %w", err)
	}
	return &s, nil
}

// OOMKilled reports whether the OOM killer killed a process in the memory
// cgroup at dir: the oom_kill count of memory.events (v2) or
// memory.oom_control (v1, kernel 4.13 and later).
func OOMKilled(dir string) (bool, error) {
	for _, file := range []string{"memory.events", "memory.oom_control"} {
		n, err := readKey(filepath.Join(dir, file), "oom_kill")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		return n > 0, nil
	}
	return false, fmt.Errorf("read oom kills in %s: no memory.events or memory.oom_control: %w", dir, fs.ErrNotExist)
}

// readUint reads a file holding one number; "max" reads as 0 (no limit).
func readUint(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// readKey reads the value of key in a flat-keyed file ("key value" lines).
// A missing key reads as 0.
func readKey(path, key string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s in %s: %w", key, path, err)
		}
		return n, nil
	}
	return 0, nil
}
