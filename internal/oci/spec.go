package oci

import (
	"maps"
	"path"
	"slices"
	"strings"

	"berth.dev/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// MaskedPaths returns the paths Docker hides from an unprivileged container.
func MaskedPaths() []string {
	return []string{
		"/proc/asound",
		"/proc/acpi",
		"/proc/interrupts",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/proc/sched_debug",
		"/proc/scsi",
		"/sys/firmware",
		"/sys/devices/virtual/powercap",
	}
}

// ReadonlyPaths returns the paths Docker makes read-only in an unprivileged
// container.
func ReadonlyPaths() []string {
	return []string{
		"/proc/bus",
		"/proc/fs",
		"/proc/irq",
		"/proc/sys",
		"/proc/sysrq-trigger",
	}
}

// Generate returns the runtime spec `docker run` would give a container of
// img with opts. users are the image's passwd and group entries, for
// resolving opts.User (or the image's User). Every error that is the
// user's doing is of kind errdefs.ErrInvalidArgument; an unsupported
// network mode is errdefs.ErrNotImplemented.
//
// Process: args from [Command] (behind the --init binary if asked), env
// from [Env], cwd from -w or the image (absolute), the identity from
// [ResolveUser] with the primary gid first among the additional gids, as
// Docker does; no rlimits, so the runtime's own are inherited.
//
// Capabilities: [Capabilities] in the bounding, effective and permitted
// sets for root; a non-root user gets only the bounding set, as with
// execve (moby's oci.SetCapabilities). Inheritable and ambient are empty.
func Generate(img ocispec.ImageConfig, opts RunOptions, users Users) (*specs.Spec, error) {
	if opts.ID == "" {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "generate spec: container id is empty")
	}
	if !path.IsAbs(opts.Rootfs) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "generate spec: rootfs %q is not an absolute path", opts.Rootfs)
	}
	mode := opts.Network
	if opts.NetNSPath != "" {
		mode = "none"
	}
	namespaces, err := linuxNamespaces(mode)
	if err != nil {
		return nil, err
	}
	for i := range namespaces {
		if namespaces[i].Type == specs.NetworkNamespace {
			namespaces[i].Path = opts.NetNSPath
		}
	}
	if err != nil {
		return nil, err
	}
	sec, err := parseSecurityOptions(opts.SecurityOpt)
	if err != nil {
		return nil, err
	}
	userSpec := opts.User
	if userSpec == "" {
		userSpec = img.User
	}
	id, err := ResolveUser(userSpec, users)
	if err != nil {
		return nil, err
	}
	args, err := Command(img, opts)
	if err != nil {
		return nil, err
	}
	if opts.InitPath != "" {
		args = append([]string{InitPath, "--"}, args...)
	}
	cwd, err := workingDir(img, opts)
	if err != nil {
		return nil, err
	}
	caps, err := Capabilities(opts.CapAdd, opts.CapDrop, opts.Privileged)
	if err != nil {
		return nil, err
	}
	ms, err := mounts(opts, sec)
	if err != nil {
		return nil, err
	}
	devs, deviceRules, err := devices(opts)
	if err != nil {
		return nil, err
	}
	res, err := resources(opts)
	if err != nil {
		return nil, err
	}
	res.Devices = deviceRules
	sysctls, err := sysctl(opts.Sysctls, opts.Network == "host")
	if err != nil {
		return nil, err
	}

	hostname := opts.Hostname
	if hostname == "" {
		hostname = opts.ID[:min(12, len(opts.ID))]
	}
	cgroupsPath := opts.CgroupsPath
	if cgroupsPath == "" {
		cgroupsPath = "/berth/" + opts.ID
	}

	gids := []uint32{id.GID}
	for _, g := range id.AdditionalGids {
		if !slices.Contains(gids, g) {
			gids = append(gids, g)
		}
	}
	capSet := &specs.LinuxCapabilities{Bounding: caps}
	if id.UID == 0 {
		capSet.Effective, capSet.Permitted = slices.Clone(caps), slices.Clone(caps)
	}

	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: opts.Rootfs, Readonly: opts.ReadOnly},
		Process: &specs.Process{
			Terminal:        opts.Tty,
			User:            specs.User{UID: id.UID, GID: id.GID, AdditionalGids: gids},
			Args:            args,
			Env:             Env(img, opts, id, hostname),
			Cwd:             cwd,
			Capabilities:    capSet,
			NoNewPrivileges: sec.noNewPrivileges,
		},
		Hostname:   hostname,
		Domainname: opts.Domainname,
		Mounts:     ms,
		Linux: &specs.Linux{
			Sysctl:      sysctls,
			Resources:   res,
			CgroupsPath: cgroupsPath,
			Namespaces:  namespaces,
			Devices:     devs,
		},
	}
	if len(opts.Labels) > 0 {
		s.Annotations = maps.Clone(opts.Labels)
	}
	if !opts.Privileged && sec.systemPaths {
		s.Linux.MaskedPaths = MaskedPaths()
		s.Linux.ReadonlyPaths = ReadonlyPaths()
	}
	// Last: the default seccomp profile depends on the capabilities.
	s.Linux.Seccomp, err = seccompProfile(s, sec, opts.Privileged, opts.SeccompProfile)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// linuxNamespaces returns the namespaces of a container on network mode
// mode, in Docker's order: all new, except the host's network for "host".
func linuxNamespaces(mode string) ([]specs.LinuxNamespace, error) {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	switch mode {
	case "", "none":
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	case "host":
	default:
		return nil, errdefs.New(errdefs.ErrNotImplemented, "network mode %s is not supported yet", mode)
	}
	return append(ns,
		specs.LinuxNamespace{Type: specs.UTSNamespace},
		specs.LinuxNamespace{Type: specs.PIDNamespace},
		specs.LinuxNamespace{Type: specs.IPCNamespace},
		specs.LinuxNamespace{Type: specs.CgroupNamespace},
	), nil
}

// sysctl checks --sysctl as the docker CLI does (opts.ValidateSysctl): only
// namespaced ones are allowed, the IPC ones and those under net. and
// fs.mqueue.; net. is refused with the host's network.
func sysctl(in map[string]string, hostNetwork bool) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	for k := range in {
		switch {
		case strings.HasPrefix(k, "net."):
			if hostNetwork {
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "sysctl %q is not allowed in the host network namespace", k)
			}
		case strings.HasPrefix(k, "fs.mqueue."):
		default:
			switch k {
			case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
				"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
			default:
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "sysctl %q is not allowed", k)
			}
		}
	}
	return maps.Clone(in), nil
}
