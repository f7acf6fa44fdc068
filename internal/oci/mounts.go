package oci

import (
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"berth.dev/berth/internal/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// InitPath is where the --init binary is mounted in the container.
const InitPath = "/sbin/berth-init"

// DefaultShmSize is the size of /dev/shm when ShmSize is not given.
const DefaultShmSize = 64 << 20

// defaultMounts returns Docker's default mounts (moby oci.DefaultLinuxSpec),
// with /dev/shm sized shmSize bytes.
func defaultMounts(shmSize int64) []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc",
			Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
			Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs",
			Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
			Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
			Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
			Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(shmSize, 10)}},
	}
}

// mounts builds the spec's mounts as moby's WithMounts and
// WithCommonOptions do: the defaults not overridden by a caller mount (a
// caller mount at /dev overrides everything under /dev), then the --init
// binary, then the caller's mounts sorted by depth (stable, so that a
// parent comes before what is mounted inside it). With a read-only root the
// defaults other than /proc and those under /dev become read-only;
// privileged makes /sys and the cgroup mount writable, as does
// writableCgroups for the latter.
func mounts(opts RunOptions, sec securityOptions) ([]specs.Mount, error) {
	shmSize := opts.ShmSize
	switch {
	case shmSize < 0:
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "shm size can not be less than 0")
	case shmSize == 0:
		shmSize = DefaultShmSize
	}

	user := make([]specs.Mount, 0, len(opts.Mounts))
	dests := make(map[string]bool, len(opts.Mounts))
	for _, m := range opts.Mounts {
		if !path.IsAbs(m.Destination) {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "mount destination %s is not an absolute path", m.Destination)
		}
		m.Destination = path.Clean(m.Destination)
		m.Options = slices.Clone(m.Options)
		user = append(user, m)
		dests[m.Destination] = true
	}
	sort.SliceStable(user, func(i, j int) bool { return depth(user[i].Destination) < depth(user[j].Destination) })

	var out []specs.Mount
	for _, m := range defaultMounts(shmSize) {
		if dests[m.Destination] || (dests["/dev"] && strings.HasPrefix(m.Destination, "/dev/")) {
			continue
		}
		if opts.ReadOnly {
			switch m.Destination {
			case "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue":
			default:
				if !slices.Contains(m.Options, "ro") {
					m.Options = append(m.Options, "ro")
				}
			}
		}
		if (m.Destination == "/sys" && opts.Privileged) || (m.Type == "cgroup" && (opts.Privileged || sec.writableCgroups)) {
			m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "ro" })
		}
		out = append(out, m)
	}
	if opts.InitPath != "" {
		if !path.IsAbs(opts.InitPath) {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "init binary %s is not an absolute path", opts.InitPath)
		}
		out = append(out, specs.Mount{
			Destination: InitPath, Type: "bind", Source: opts.InitPath, Options: []string{"bind", "ro"},
		})
	}
	return append(out, user...), nil
}

// depth orders mount destinations as moby's mount sort does: by the number
// of "/"-separated elements of the clean path.
func depth(p string) int {
	return len(strings.Split(p, "/"))
}
