package oci

import (
	"slices"
	"strings"

	"berth.dev/berth/internal/errdefs"
)

// capabilityNames are the Linux capabilities by number, 0 to 40
// (CAP_CHECKPOINT_RESTORE, Linux 5.9). Docker asks the host for the last
// one; berth keeps a static table so that generation does no I/O. Read
// only.
var capabilityNames = [...]string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// AllCapabilities returns every capability berth knows, in number order:
// what a privileged container gets.
func AllCapabilities() []string {
	return slices.Clone(capabilityNames[:])
}

// DefaultCapabilities returns Docker's default capability set, in Docker's
// order (moby oci/caps.DefaultCapabilities).
func DefaultCapabilities() []string {
	return []string{
		"CAP_CHOWN",
		"CAP_DAC_OVERRIDE",
		"CAP_FSETID",
		"CAP_FOWNER",
		"CAP_MKNOD",
		"CAP_NET_RAW",
		"CAP_SETGID",
		"CAP_SETUID",
		"CAP_SETFCAP",
		"CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT",
		"CAP_KILL",
		"CAP_AUDIT_WRITE",
	}
}

const allCapabilities = "ALL"

// normalizeCapabilities upper-cases names and adds the "CAP_" prefix;
// "ALL" stays as it is. An unknown name is an invalid-argument error worded
// as Docker's: `unknown capability: "CAP_FOO"`.
func normalizeCapabilities(caps []string) ([]string, error) {
	out := make([]string, 0, len(caps))
	for _, c := range caps {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c != allCapabilities {
			if !strings.HasPrefix(c, "CAP_") {
				c = "CAP_" + c
			}
			if !slices.Contains(capabilityNames[:], c) {
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "unknown capability: %q", c)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// Capabilities applies --cap-add and --cap-drop to Docker's default set
// with moby's rules (oci/caps.TweakCapabilities):
//
//   - privileged: every capability;
//   - --cap-add ALL: every capability except those dropped;
//   - --cap-drop ALL: only those added;
//   - otherwise the defaults minus those dropped, then those added. So a
//     capability both added and dropped is kept, as in Docker.
//
// The result has no duplicates.
func Capabilities(add, drop []string, privileged bool) ([]string, error) {
	if privileged {
		return AllCapabilities(), nil
	}
	capDrop, err := normalizeCapabilities(drop)
	if err != nil {
		return nil, err
	}
	capAdd, err := normalizeCapabilities(add)
	if err != nil {
		return nil, err
	}
	var caps []string
	switch {
	case slices.Contains(capAdd, allCapabilities):
		for _, c := range capabilityNames {
			if !slices.Contains(capDrop, c) {
				caps = append(caps, c)
			}
		}
	case slices.Contains(capDrop, allCapabilities):
		caps = capAdd
	default:
		for _, c := range DefaultCapabilities() {
			if !slices.Contains(capDrop, c) {
				caps = append(caps, c)
			}
		}
		caps = append(caps, capAdd...)
	}
	out := make([]string, 0, len(caps))
	for _, c := range caps {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}
