package oci

import (
	"github.com/opencontainers/runtime-spec/specs-go"
)

// RunOptions are the `docker run` options that shape a container's spec.
// The zero value of a field means the flag was not given.
type RunOptions struct {
	// ID is the container's ID (64 hex digits); the default hostname is
	// its first 12 characters. Required.
	ID string
	// Rootfs is the absolute path of the container's root filesystem,
	// already mounted by the caller. Required.
	Rootfs string

	// Entrypoint is --entrypoint, used when EntrypointSet. Docker takes the
	// flag as one string; it is given here as []string{value}. Empty
	// strings are dropped, so --entrypoint "" clears the image's entrypoint.
	Entrypoint    []string
	EntrypointSet bool
	// Cmd is the arguments after the image name; empty means the image's
	// Cmd (unless EntrypointSet, which clears it as in Docker).
	Cmd []string
	// Env is -e and --env-file in order, KEY=VAL. A bare KEY (the caller
	// found no value on the host) unsets KEY, as in Docker.
	Env        []string
	WorkingDir string // -w; must be absolute
	// User is -u: user, uid, user:group, uid:gid, user:gid or uid:group.
	// Empty means the image's User.
	User       string
	Hostname   string // -h; default ID[:12]
	Domainname string
	Tty        bool // -t
	OpenStdin  bool // -i; the spec does not depend on it
	ReadOnly   bool // --read-only

	// InitPath, if not empty (--init), is the host path of a static init
	// binary. It is bind-mounted read-only at /sbin/berth-init and the
	// process becomes ["/sbin/berth-init", "--", args...].
	InitPath string

	Privileged bool
	CapAdd     []string // "NET_ADMIN", "CAP_NET_ADMIN", "net_admin", "ALL"
	CapDrop    []string
	// SecurityOpt is --security-opt: "no-new-privileges[=bool]" (also with
	// ":"), "seccomp=unconfined", "seccomp=builtin", "seccomp=<path>" (the
	// content is in SeccompProfile), "systempaths=unconfined",
	// "writable-cgroups=<bool>"; "apparmor=…", "label=…" and "disable" are
	// accepted and ignored. Anything else is an error.
	SecurityOpt    []string
	SeccompProfile []byte

	// Devices is --device: /dev/host[:/dev/ctr][:rwm].
	Devices []string
	// DeviceInfo is the caller's stat of a host device node: type ("c" or
	// "b"), major, minor, mode, uid and gid. It is called only for Devices.
	DeviceInfo func(hostPath string) (specs.LinuxDevice, error)

	// Memory, MemorySwap and MemoryReservation are bytes. MemorySwap is
	// memory plus swap, -1 for unlimited swap; unset with Memory set means
	// twice Memory.
	Memory, MemorySwap, MemoryReservation int64
	NanoCPUs                              int64 // --cpus × 1e9
	CPUShares                             int64
	CpusetCpus, CpusetMems                string
	PidsLimit                             int64 // 0 unset; negative unlimited
	OomKillDisable                        bool

	// Network is "none" or "host"; any other mode is the caller's
	// bridge plumbing, given as NetNSPath.
	Network string
	// NetNSPath is a network namespace the container joins (one the
	// caller made and wired to its networks).
	NetNSPath string
	// Mounts are the caller's mounts (volumes, /etc/hosts, /etc/hostname,
	// /etc/resolv.conf), put after the defaults. A mount at a default
	// mount's destination replaces it; one at /dev replaces everything
	// under /dev too.
	Mounts []specs.Mount
	// Labels become the spec's annotations.
	Labels map[string]string
	// CgroupsPath defaults to "/berth/"+ID.
	CgroupsPath string
	Sysctls     map[string]string
	// ShmSize is the size of /dev/shm in bytes; default 64 MiB.
	ShmSize int64
}
