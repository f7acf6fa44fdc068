package oci

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"berth.dev/berth/internal/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseDevice(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Device
		wantErr string
	}{
		{name: "host only", in: "/dev/fuse", want: Device{"/dev/fuse", "/dev/fuse", "rwm"}},
		{name: "host and container", in: "/dev/sda:/dev/xvda", want: Device{"/dev/sda", "/dev/xvda", "rwm"}},
		{name: "host and perms", in: "/dev/sda:r", want: Device{"/dev/sda", "/dev/sda", "r"}},
		{name: "all three", in: "/dev/sda:/dev/xvda:rw", want: Device{"/dev/sda", "/dev/xvda", "rw"}},
		{name: "perms in any order", in: "/dev/sda:mwr", want: Device{"/dev/sda", "/dev/sda", "mwr"}},
		{name: "paths cleaned", in: "/dev//sda:/dev/./xvda", want: Device{"/dev/sda", "/dev/xvda", "rwm"}},
		{name: "bad perms", in: "/dev/sda:/dev/xvda:rwx", wantErr: "bad mode specified: rwx"},
		{name: "repeated perm", in: "/dev/sda:/dev/xvda:rr", wantErr: "bad mode specified: rr"},
		{name: "empty perms", in: "/dev/sda:/dev/xvda:", wantErr: "bad mode specified: "},
		{name: "two parts, neither perms nor path", in: "/dev/sda:rwx", wantErr: "rwx is not an absolute path"},
		{name: "relative host", in: "dev/sda", wantErr: "dev/sda is not an absolute path"},
		{name: "empty", in: "", wantErr: "invalid device specification: "},
		{name: "too many parts", in: "/a:/b:r:w", wantErr: "invalid device specification: /a:/b:r:w"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDevice(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("got %v, want invalid argument %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// rule is a short form of a devices cgroup rule for comparisons.
type rule struct {
	allow        bool
	typ          string
	major, minor int64
	access       string
}

func rules(in []specs.LinuxDeviceCgroup) []rule {
	out := make([]rule, 0, len(in))
	for _, r := range in {
		x := rule{allow: r.Allow, typ: r.Type, access: r.Access, major: -2, minor: -2}
		if r.Major != nil {
			x.major = *r.Major
		}
		if r.Minor != nil {
			x.minor = *r.Minor
		}
		out = append(out, x)
	}
	return out
}

var defaultRules = []rule{
	{false, "a", -2, -2, "rwm"},
	{true, "c", -1, -1, "m"},
	{true, "b", -1, -1, "m"},
	{true, "c", 1, 3, "rwm"},
	{true, "c", 1, 8, "rwm"},
	{true, "c", 1, 7, "rwm"},
	{true, "c", 5, 0, "rwm"},
	{true, "c", 1, 5, "rwm"},
	{true, "c", 1, 9, "rwm"},
	{true, "c", 136, -1, "rwm"},
	{true, "c", 5, 2, "rwm"},
	{true, "c", 10, 200, "rwm"},
}

func fakeDeviceInfo(hostPath string) (specs.LinuxDevice, error) {
	mode := os.FileMode(0o660)
	uid, gid := uint32(0), uint32(6)
	switch hostPath {
	case "/dev/sda":
		return specs.LinuxDevice{Path: hostPath, Type: "b", Major: 8, Minor: 0, FileMode: &mode, UID: &uid, GID: &gid}, nil
	case "/dev/fuse":
		return specs.LinuxDevice{Path: hostPath, Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}, nil
	case "/dev/fifo":
		return specs.LinuxDevice{Path: hostPath, Type: "p"}, nil
	}
	return specs.LinuxDevice{}, os.ErrNotExist
}

func TestDevices(t *testing.T) {
	mode := os.FileMode(0o660)
	uid, gid := uint32(0), uint32(6)
	tests := []struct {
		name      string
		opts      RunOptions
		wantDevs  []specs.LinuxDevice
		wantRules []rule
		wantErr   string
	}{
		{name: "default allowlist", wantRules: defaultRules},
		{
			name: "device with container path and perms",
			opts: RunOptions{Devices: []string{"/dev/sda:/dev/xvda:r", "/dev/fuse"}, DeviceInfo: fakeDeviceInfo},
			wantDevs: []specs.LinuxDevice{
				{Path: "/dev/xvda", Type: "b", Major: 8, Minor: 0, FileMode: &mode, UID: &uid, GID: &gid},
				{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid},
			},
			wantRules: append(append([]rule(nil), defaultRules...),
				rule{true, "b", 8, 0, "r"}, rule{true, "c", 10, 229, "rwm"}),
		},
		{
			name:      "privileged allows all and adds no nodes",
			opts:      RunOptions{Privileged: true, Devices: []string{"/dev/sda"}, DeviceInfo: fakeDeviceInfo},
			wantRules: []rule{{true, "a", -2, -2, "rwm"}},
		},
		{name: "bad perms", opts: RunOptions{Devices: []string{"/dev/sda:/dev/sda:x"}, DeviceInfo: fakeDeviceInfo},
			wantErr: "bad mode specified: x"},
		{name: "bad perms privileged", opts: RunOptions{Privileged: true, Devices: []string{"/dev/sda:/dev/sda:x"}},
			wantErr: "bad mode specified: x"},
		{name: "missing device", opts: RunOptions{Devices: []string{"/dev/nope"}, DeviceInfo: fakeDeviceInfo},
			wantErr: "gather device information of /dev/nope: file does not exist"},
		{name: "not a device", opts: RunOptions{Devices: []string{"/dev/fifo"}, DeviceInfo: fakeDeviceInfo},
			wantErr: "add device /dev/fifo: not a device node"},
		{name: "no device info", opts: RunOptions{Devices: []string{"/dev/sda"}},
			wantErr: "add device /dev/sda: no device information"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			devs, rs, err := devices(tc.opts)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(devs, tc.wantDevs) {
				t.Errorf("devices: got %+v\nwant %+v", devs, tc.wantDevs)
			}
			if got := rules(rs); !reflect.DeepEqual(got, tc.wantRules) {
				t.Errorf("rules: got %+v\nwant %+v", got, tc.wantRules)
			}
		})
	}
	_, _, err := devices(RunOptions{Devices: []string{"/dev/nope"}, DeviceInfo: fakeDeviceInfo})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cause lost: %v", err)
	}
}
