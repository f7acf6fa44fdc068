// Package cgroupfs reads a container's figures straight from the cgroup
// filesystem: memory, CPU and pids usage, and whether the OOM killer ran.
// It knows cgroup v1 (including the hybrid layout with a v2 mount at
// /sys/fs/cgroup/unified) and v2.
//
// Layer 6, internal to package runtime's implementations: ocicli uses it for
// runtimes without `events --stats` and both implementations use it for OOM
// kills, which no runtime reports.
package cgroupfs
