// Package sysinfo reads facts about the host that `berth info` reports:
// kernel, OS, CPUs, memory, cgroup layout, overlayfs support, OCI runtimes
// on PATH.
//
// Layer 0. Every function reads; none changes anything.
package sysinfo
