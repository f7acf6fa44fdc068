package oci

import (
	"fmt"
	"path"
	"strings"

	"berth.dev/berth/internal/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Device is a parsed --device value.
type Device struct {
	HostPath      string
	ContainerPath string
	Permissions   string // cgroup access: a combination of r, w and m
}

// ParseDevice parses a --device value, /dev/host[:/dev/ctr][:rwm], as the
// docker CLI does (parseDevice and validateLinuxPath): the container path
// defaults to the host path and the permissions to "rwm"; with two parts
// the second is permissions if it is a valid set of them, else the
// container path. Both paths must be absolute; errors are of kind invalid
// argument.
func ParseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	if len(parts) > 3 || parts[0] == "" {
		return Device{}, errdefs.New(errdefs.ErrInvalidArgument, "invalid device specification: %s", s)
	}
	d := Device{HostPath: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 2:
		if validDeviceMode(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.ContainerPath = parts[1]
		}
	case 3:
		if !validDeviceMode(parts[2]) {
			return Device{}, errdefs.New(errdefs.ErrInvalidArgument, "bad mode specified: %s", parts[2])
		}
		d.ContainerPath, d.Permissions = parts[1], parts[2]
	}
	if d.ContainerPath == "" {
		d.ContainerPath = d.HostPath
	}
	for _, p := range []string{d.HostPath, d.ContainerPath} {
		if !path.IsAbs(p) {
			return Device{}, errdefs.New(errdefs.ErrInvalidArgument, "%s is not an absolute path", p)
		}
	}
	d.HostPath, d.ContainerPath = path.Clean(d.HostPath), path.Clean(d.ContainerPath)
	return d, nil
}

// validDeviceMode reports whether mode is one to three of r, w and m, each
// at most once.
func validDeviceMode(mode string) bool {
	if mode == "" || len(mode) > 3 {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range mode {
		if (c != 'r' && c != 'w' && c != 'm') || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// DefaultDeviceRules returns the devices cgroup rules of an unprivileged
// container: deny everything, then allow mknod of any device and use of
// null, random, full, tty, zero, urandom, the pty slaves, ptmx and tun
// (the list runc's specconv applies and Docker relies on).
func DefaultDeviceRules() []specs.LinuxDeviceCgroup {
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Type: "a", Access: "rwm"}}
	add := func(typ string, major, minor int64, access string) {
		rules = append(rules, specs.LinuxDeviceCgroup{
			Allow: true, Type: typ, Major: &major, Minor: &minor, Access: access,
		})
	}
	add("c", -1, -1, "m")
	add("b", -1, -1, "m")
	add("c", 1, 3, "rwm")    // /dev/null
	add("c", 1, 8, "rwm")    // /dev/random
	add("c", 1, 7, "rwm")    // /dev/full
	add("c", 5, 0, "rwm")    // /dev/tty
	add("c", 1, 5, "rwm")    // /dev/zero
	add("c", 1, 9, "rwm")    // /dev/urandom
	add("c", 136, -1, "rwm") // /dev/pts/*
	add("c", 5, 2, "rwm")    // /dev/ptmx
	add("c", 10, 200, "rwm") // /dev/net/tun
	return rules
}

// devices returns the spec's device nodes and cgroup rules for --device.
// A privileged container may use every device (the caller creates the
// host's nodes) and gets no entries here; its --device values are still
// checked.
func devices(opts RunOptions) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	if opts.Privileged {
		for _, s := range opts.Devices {
			if _, err := ParseDevice(s); err != nil {
				return nil, nil, err
			}
		}
		return nil, []specs.LinuxDeviceCgroup{{Allow: true, Type: "a", Access: "rwm"}}, nil
	}
	rules := DefaultDeviceRules()
	var devs []specs.LinuxDevice
	for _, s := range opts.Devices {
		d, err := ParseDevice(s)
		if err != nil {
			return nil, nil, err
		}
		if opts.DeviceInfo == nil {
			return nil, nil, fmt.Errorf("add device %s: no device information", d.HostPath)
		}
		dev, err := opts.DeviceInfo(d.HostPath)
		if err != nil {
			return nil, nil, fmt.Errorf("gather device information of %s: %w", d.HostPath, err)
		}
		cgroupType := dev.Type
		switch dev.Type {
		case "c", "b":
		case "u":
			cgroupType = "c"
		default:
			return nil, nil, errdefs.New(errdefs.ErrInvalidArgument, "add device %s: not a device node", d.HostPath)
		}
		dev.Path = d.ContainerPath
		devs = append(devs, dev)
		major, minor := dev.Major, dev.Minor
		rules = append(rules, specs.LinuxDeviceCgroup{
			Allow: true, Type: cgroupType, Major: &major, Minor: &minor, Access: d.Permissions,
		})
	}
	return devs, rules, nil
}
