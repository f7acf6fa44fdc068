package oci

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runtime-spec/specs-go"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testImage() ocispec.ImageConfig {
	return ocispec.ImageConfig{
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Cmd: []string{"sh"},
	}
}

func testOpts() RunOptions {
	return RunOptions{ID: testID, Rootfs: "/var/lib/berth/containers/" + testID + "/rootfs"}
}

func generate(t *testing.T, img ocispec.ImageConfig, opts RunOptions) *specs.Spec {
	t.Helper()
	s, err := Generate(img, opts, testUsers(t))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("marshal spec: %v", err)
	}
	return s
}

// mountLine is a mount as "dest type source opt,opt" for comparisons.
func mountLines(ms []specs.Mount) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Destination+" "+m.Type+" "+m.Source+" "+strings.Join(m.Options, ","))
	}
	return out
}

var defaultMountLines = []string{
	"/proc proc proc nosuid,noexec,nodev",
	"/dev tmpfs tmpfs nosuid,strictatime,mode=755,size=65536k",
	"/dev/pts devpts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5",
	"/sys sysfs sysfs nosuid,noexec,nodev,ro",
	"/sys/fs/cgroup cgroup cgroup ro,nosuid,noexec,nodev",
	"/dev/mqueue mqueue mqueue nosuid,noexec,nodev",
	"/dev/shm tmpfs shm nosuid,noexec,nodev,mode=1777,size=67108864",
}

func TestGenerateDefaults(t *testing.T) {
	opts := testOpts()
	s := generate(t, testImage(), opts)

	if s.Version != specs.Version {
		t.Errorf("version %q", s.Version)
	}
	if *s.Root != (specs.Root{Path: opts.Rootfs}) {
		t.Errorf("root %+v", s.Root)
	}
	p := s.Process
	if p.Terminal || p.NoNewPrivileges || p.Rlimits != nil || p.Cwd != "/" {
		t.Errorf("process terminal=%v nnp=%v rlimits=%v cwd=%q", p.Terminal, p.NoNewPrivileges, p.Rlimits, p.Cwd)
	}
	if !reflect.DeepEqual(p.Args, []string{"sh"}) {
		t.Errorf("args %q", p.Args)
	}
	wantEnv := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=0123456789ab", "HOME=/root"}
	if !reflect.DeepEqual(p.Env, wantEnv) {
		t.Errorf("env %q", p.Env)
	}
	if !reflect.DeepEqual(p.User, specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}) {
		t.Errorf("user %+v", p.User)
	}
	c := p.Capabilities
	for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		if !reflect.DeepEqual(set, DefaultCapabilities()) {
			t.Errorf("%s capabilities %q", name, set)
		}
	}
	if len(DefaultCapabilities()) != 14 || c.Inheritable != nil || c.Ambient != nil {
		t.Errorf("inheritable %q ambient %q", c.Inheritable, c.Ambient)
	}
	if s.Hostname != "0123456789ab" || s.Domainname != "" {
		t.Errorf("hostname %q domainname %q", s.Hostname, s.Domainname)
	}
	if got := mountLines(s.Mounts); !reflect.DeepEqual(got, defaultMountLines) {
		t.Errorf("mounts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(defaultMountLines, "\n"))
	}

	l := s.Linux
	var ns []specs.LinuxNamespaceType
	for _, n := range l.Namespaces {
		if n.Path != "" {
			t.Errorf("namespace %s joins %s", n.Type, n.Path)
		}
		ns = append(ns, n.Type)
	}
	wantNS := []specs.LinuxNamespaceType{"mount", "network", "uts", "pid", "ipc", "cgroup"}
	if !reflect.DeepEqual(ns, wantNS) {
		t.Errorf("namespaces %v", ns)
	}
	if !reflect.DeepEqual(l.MaskedPaths, MaskedPaths()) || len(l.MaskedPaths) != 12 {
		t.Errorf("masked paths %q", l.MaskedPaths)
	}
	if !reflect.DeepEqual(l.ReadonlyPaths, []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
		t.Errorf("readonly paths %q", l.ReadonlyPaths)
	}
	if got := rules(l.Resources.Devices); !reflect.DeepEqual(got, defaultRules) {
		t.Errorf("device rules %+v", got)
	}
	r := l.Resources
	if r.Memory != nil || r.CPU != nil || r.Pids != nil || l.Devices != nil {
		t.Errorf("resources %+v, devices %+v", r, l.Devices)
	}
	if l.CgroupsPath != "/berth/"+testID || l.Sysctl != nil || s.Annotations != nil {
		t.Errorf("cgroups path %q sysctl %v annotations %v", l.CgroupsPath, l.Sysctl, s.Annotations)
	}
}

func TestGenerateOptions(t *testing.T) {
	tests := []struct {
		name  string
		img   func(*ocispec.ImageConfig)
		opts  func(*RunOptions)
		check func(*testing.T, *specs.Spec)
	}{
		{
			name: "hostname, domainname, cgroups path, labels, sysctls",
			opts: func(o *RunOptions) {
				o.Hostname, o.Domainname, o.CgroupsPath = "web", "example.com", "/custom/x"
				o.Labels = map[string]string{"a": "b"}
				o.Sysctls = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "5"}
			},
			check: func(t *testing.T, s *specs.Spec) {
				if s.Hostname != "web" || s.Domainname != "example.com" || s.Linux.CgroupsPath != "/custom/x" {
					t.Errorf("hostname %q domainname %q cgroups %q", s.Hostname, s.Domainname, s.Linux.CgroupsPath)
				}
				if !reflect.DeepEqual(s.Annotations, map[string]string{"a": "b"}) || len(s.Linux.Sysctl) != 3 {
					t.Errorf("annotations %v sysctl %v", s.Annotations, s.Linux.Sysctl)
				}
				if !slices.Contains(s.Process.Env, "HOSTNAME=web") {
					t.Errorf("env %q", s.Process.Env)
				}
			},
		},
		{
			name: "tty",
			opts: func(o *RunOptions) { o.Tty, o.OpenStdin = true, true },
			check: func(t *testing.T, s *specs.Spec) {
				if !s.Process.Terminal || !slices.Contains(s.Process.Env, "TERM=xterm") {
					t.Errorf("terminal %v env %q", s.Process.Terminal, s.Process.Env)
				}
			},
		},
		{
			name: "read-only rootfs",
			opts: func(o *RunOptions) { o.ReadOnly = true },
			check: func(t *testing.T, s *specs.Spec) {
				if !s.Root.Readonly {
					t.Error("root not read-only")
				}
				if got := mountLines(s.Mounts); !reflect.DeepEqual(got, defaultMountLines) {
					t.Errorf("mounts %q", got)
				}
			},
		},
		{
			name: "working dir from image",
			img:  func(i *ocispec.ImageConfig) { i.WorkingDir = "/app/" },
			check: func(t *testing.T, s *specs.Spec) {
				if s.Process.Cwd != "/app" {
					t.Errorf("cwd %q", s.Process.Cwd)
				}
			},
		},
		{
			name: "working dir from -w wins",
			img:  func(i *ocispec.ImageConfig) { i.WorkingDir = "/app" },
			opts: func(o *RunOptions) { o.WorkingDir = "/srv" },
			check: func(t *testing.T, s *specs.Spec) {
				if s.Process.Cwd != "/srv" {
					t.Errorf("cwd %q", s.Process.Cwd)
				}
			},
		},
		{
			name: "image user, non-root capabilities",
			img:  func(i *ocispec.ImageConfig) { i.User = "app" },
			check: func(t *testing.T, s *specs.Spec) {
				if !reflect.DeepEqual(s.Process.User, specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 50}}) {
					t.Errorf("user %+v", s.Process.User)
				}
				c := s.Process.Capabilities
				if !reflect.DeepEqual(c.Bounding, DefaultCapabilities()) || c.Effective != nil || c.Permitted != nil {
					t.Errorf("capabilities %+v", c)
				}
				if !slices.Contains(s.Process.Env, "HOME=/home/app") {
					t.Errorf("env %q", s.Process.Env)
				}
			},
		},
		{
			name: "-u wins over image user",
			img:  func(i *ocispec.ImageConfig) { i.User = "app" },
			opts: func(o *RunOptions) { o.User = "0:10" },
			check: func(t *testing.T, s *specs.Spec) {
				if !reflect.DeepEqual(s.Process.User, specs.User{UID: 0, GID: 10, AdditionalGids: []uint32{10}}) {
					t.Errorf("user %+v", s.Process.User)
				}
				if len(s.Process.Capabilities.Effective) != 14 {
					t.Errorf("capabilities %+v", s.Process.Capabilities)
				}
			},
		},
		{
			name: "cap add and drop",
			opts: func(o *RunOptions) { o.CapAdd, o.CapDrop = []string{"sys_admin"}, []string{"ALL"} },
			check: func(t *testing.T, s *specs.Spec) {
				c := s.Process.Capabilities
				want := []string{"CAP_SYS_ADMIN"}
				if !reflect.DeepEqual(c.Bounding, want) || !reflect.DeepEqual(c.Effective, want) || !reflect.DeepEqual(c.Permitted, want) {
					t.Errorf("capabilities %+v", c)
				}
			},
		},
		{
			name: "privileged",
			opts: func(o *RunOptions) { o.Privileged = true },
			check: func(t *testing.T, s *specs.Spec) {
				if !reflect.DeepEqual(s.Process.Capabilities.Bounding, AllCapabilities()) ||
					!reflect.DeepEqual(s.Process.Capabilities.Effective, AllCapabilities()) {
					t.Errorf("capabilities %+v", s.Process.Capabilities)
				}
				if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
					t.Errorf("masked %q readonly %q", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
				lines := mountLines(s.Mounts)
				if lines[3] != "/sys sysfs sysfs nosuid,noexec,nodev" || lines[4] != "/sys/fs/cgroup cgroup cgroup nosuid,noexec,nodev" {
					t.Errorf("mounts %q", lines)
				}
				if got := rules(s.Linux.Resources.Devices); !reflect.DeepEqual(got, []rule{{true, "a", -2, -2, "rwm"}}) {
					t.Errorf("device rules %+v", got)
				}
				if s.Linux.Seccomp != nil {
					t.Error("seccomp set for privileged")
				}
			},
		},
		{
			name: "systempaths unconfined",
			opts: func(o *RunOptions) { o.SecurityOpt = []string{"systempaths=unconfined"} },
			check: func(t *testing.T, s *specs.Spec) {
				if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
					t.Errorf("masked %q readonly %q", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
			},
		},
		{
			name: "writable cgroups",
			opts: func(o *RunOptions) { o.SecurityOpt = []string{"writable-cgroups=true"} },
			check: func(t *testing.T, s *specs.Spec) {
				if got := mountLines(s.Mounts)[4]; got != "/sys/fs/cgroup cgroup cgroup nosuid,noexec,nodev" {
					t.Errorf("cgroup mount %q", got)
				}
			},
		},
		{
			name: "resources and devices",
			opts: func(o *RunOptions) {
				o.Memory, o.NanoCPUs, o.PidsLimit = 64<<20, 5e8, 10
				o.Devices, o.DeviceInfo = []string{"/dev/fuse"}, fakeDeviceInfo
			},
			check: func(t *testing.T, s *specs.Spec) {
				r := s.Linux.Resources
				if *r.Memory.Limit != 64<<20 || *r.Memory.Swap != 128<<20 || *r.CPU.Quota != 50000 || *r.Pids.Limit != 10 {
					t.Errorf("resources %+v", r)
				}
				if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/fuse" || len(r.Devices) != len(defaultRules)+1 {
					t.Errorf("devices %+v rules %+v", s.Linux.Devices, rules(r.Devices))
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, opts := testImage(), testOpts()
			if tc.img != nil {
				tc.img(&img)
			}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			tc.check(t, generate(t, img, opts))
		})
	}
}

func TestGenerateNetwork(t *testing.T) {
	tests := []struct {
		name    string
		network string
		wantNet bool
		wantErr string
	}{
		{name: "default is none", network: "", wantNet: true},
		{name: "none", network: "none", wantNet: true},
		{name: "host", network: "host", wantNet: false},
		{name: "bridge", network: "bridge", wantErr: "network mode bridge is not supported yet"},
		{name: "container", network: "container:x", wantErr: "network mode container:x is not supported yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts()
			opts.Network = tc.network
			s, err := Generate(testImage(), opts, Users{})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errdefs.IsNotImplemented(err) {
					t.Fatalf("got %v, want not implemented %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hasNet := slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
			if hasNet != tc.wantNet || len(s.Linux.Namespaces) != 5+btoi(tc.wantNet) {
				t.Errorf("namespaces %+v", s.Linux.Namespaces)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestGenerateMounts(t *testing.T) {
	bind := func(dest, src string, opts ...string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "bind", Source: src, Options: append([]string{"rbind"}, opts...)}
	}
	defaultsWithout := func(dests ...string) []string {
		return slices.DeleteFunc(slices.Clone(defaultMountLines), func(l string) bool {
			return slices.Contains(dests, strings.Fields(l)[0])
		})
	}
	tests := []struct {
		name string
		opts func(*RunOptions)
		want []string
	}{
		{
			name: "network files appended",
			opts: func(o *RunOptions) {
				o.Mounts = []specs.Mount{
					bind("/etc/resolv.conf", "/run/b/resolv.conf", "ro"),
					bind("/etc/hostname", "/run/b/hostname", "ro"),
					bind("/etc/hosts", "/run/b/hosts", "ro"),
				}
			},
			want: append(slices.Clone(defaultMountLines),
				"/etc/resolv.conf bind /run/b/resolv.conf rbind,ro",
				"/etc/hostname bind /run/b/hostname rbind,ro",
				"/etc/hosts bind /run/b/hosts rbind,ro"),
		},
		{
			name: "caller /dev/shm replaces default",
			opts: func(o *RunOptions) { o.Mounts = []specs.Mount{bind("/dev/shm", "/run/b/shm")} },
			want: append(defaultsWithout("/dev/shm"), "/dev/shm bind /run/b/shm rbind"),
		},
		{
			name: "caller /dev replaces everything under it",
			opts: func(o *RunOptions) { o.Mounts = []specs.Mount{bind("/dev", "/dev")} },
			want: append(defaultsWithout("/dev", "/dev/pts", "/dev/mqueue", "/dev/shm"), "/dev bind /dev rbind"),
		},
		{
			name: "caller mounts sorted by depth, stable",
			opts: func(o *RunOptions) {
				o.Mounts = []specs.Mount{bind("/data/sub/x", "/s3"), bind("/data", "/s1"), bind("/logs/", "/s2")}
			},
			want: append(slices.Clone(defaultMountLines),
				"/data bind /s1 rbind", "/logs bind /s2 rbind", "/data/sub/x bind /s3 rbind"),
		},
		{
			name: "shm size",
			opts: func(o *RunOptions) { o.ShmSize = 1 << 30 },
			want: append(defaultsWithout("/dev/shm"), "/dev/shm tmpfs shm nosuid,noexec,nodev,mode=1777,size=1073741824"), // shm is the last default
		},
		{
			name: "init binary after the defaults",
			opts: func(o *RunOptions) {
				o.InitPath = "/usr/libexec/berth/init"
				o.Mounts = []specs.Mount{bind("/data", "/s1")}
			},
			want: append(slices.Clone(defaultMountLines),
				"/sbin/berth-init bind /usr/libexec/berth/init bind,ro", "/data bind /s1 rbind"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts()
			tc.opts(&opts)
			s := generate(t, testImage(), opts)
			got := mountLines(s.Mounts)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("mounts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestGenerateInit(t *testing.T) {
	opts := testOpts()
	opts.InitPath = "/usr/libexec/berth/init"
	opts.Cmd = []string{"sleep", "1"}
	s := generate(t, testImage(), opts)
	if want := []string{"/sbin/berth-init", "--", "sleep", "1"}; !reflect.DeepEqual(s.Process.Args, want) {
		t.Errorf("args %q, want %q", s.Process.Args, want)
	}
}

func TestGenerateSecurityOpt(t *testing.T) {
	tests := []struct {
		name    string
		opts    []string
		wantNNP bool
		wantErr string
	}{
		{name: "bare no-new-privileges", opts: []string{"no-new-privileges"}, wantNNP: true},
		{name: "no-new-privileges=true", opts: []string{"no-new-privileges=true"}, wantNNP: true},
		{name: "no-new-privileges:true", opts: []string{"no-new-privileges:true"}, wantNNP: true},
		{name: "no-new-privileges=false", opts: []string{"no-new-privileges", "no-new-privileges=false"}, wantNNP: false},
		{name: "apparmor and label ignored", opts: []string{"apparmor=unconfined", "label=disable", "label:type:x", "disable"}},
		{name: "unknown", opts: []string{"foo=bar"}, wantErr: `invalid --security-opt: "foo=bar"`},
		{name: "no separator", opts: []string{"seccomp"}, wantErr: `invalid --security-opt: "seccomp"`},
		{name: "bad bool", opts: []string{"no-new-privileges=maybe"}, wantErr: `invalid --security-opt: "no-new-privileges=maybe"`},
		{name: "bad systempaths", opts: []string{"systempaths=confined"}, wantErr: `invalid --security-opt: "systempaths=confined"`},
		{name: "empty seccomp", opts: []string{"seccomp="}, wantErr: `invalid --security-opt: "seccomp="`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOpts()
			opts.SecurityOpt = tc.opts
			s, err := Generate(testImage(), opts, Users{})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("got %v, want invalid argument %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Process.NoNewPrivileges != tc.wantNNP {
				t.Errorf("no new privileges %v", s.Process.NoNewPrivileges)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name    string
		img     func(*ocispec.ImageConfig)
		opts    func(*RunOptions)
		wantErr string
	}{
		{name: "relative working dir", opts: func(o *RunOptions) { o.WorkingDir = "app" },
			wantErr: "the working directory 'app' is invalid, it needs to be an absolute path"},
		{name: "relative image working dir", img: func(i *ocispec.ImageConfig) { i.WorkingDir = "app" },
			wantErr: "the working directory 'app' is invalid, it needs to be an absolute path"},
		{name: "no command", img: func(i *ocispec.ImageConfig) { i.Cmd = nil }, wantErr: "no command specified"},
		{name: "unknown user", opts: func(o *RunOptions) { o.User = "ghost" },
			wantErr: "unable to find user ghost: no matching entries in passwd file"},
		{name: "unknown capability", opts: func(o *RunOptions) { o.CapAdd = []string{"CAP_FOO"} },
			wantErr: `unknown capability: "CAP_FOO"`},
		{name: "empty id", opts: func(o *RunOptions) { o.ID = "" }, wantErr: "generate spec: container id is empty"},
		{name: "relative rootfs", opts: func(o *RunOptions) { o.Rootfs = "rootfs" },
			wantErr: `generate spec: rootfs "rootfs" is not an absolute path`},
		{name: "relative mount destination", opts: func(o *RunOptions) { o.Mounts = []specs.Mount{{Destination: "data"}} },
			wantErr: "mount destination data is not an absolute path"},
		{name: "relative init path", opts: func(o *RunOptions) { o.InitPath = "init" },
			wantErr: "init binary init is not an absolute path"},
		{name: "negative shm size", opts: func(o *RunOptions) { o.ShmSize = -1 },
			wantErr: "shm size can not be less than 0"},
		{name: "bad device", opts: func(o *RunOptions) { o.Devices = []string{"/dev/sda:/dev/sda:rwx"} },
			wantErr: "bad mode specified: rwx"},
		{name: "memory", opts: func(o *RunOptions) { o.Memory = 1 }, wantErr: "minimum memory limit allowed is 6MB"},
		{name: "sysctl not namespaced", opts: func(o *RunOptions) { o.Sysctls = map[string]string{"kernel.panic": "1"} },
			wantErr: `sysctl "kernel.panic" is not allowed`},
		{name: "net sysctl with host network", opts: func(o *RunOptions) {
			o.Network, o.Sysctls = "host", map[string]string{"net.ipv4.ip_forward": "1"}
		}, wantErr: `sysctl "net.ipv4.ip_forward" is not allowed in the host network namespace`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, opts := testImage(), testOpts()
			if tc.img != nil {
				tc.img(&img)
			}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Generate(img, opts, testUsers(t))
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("error %v is not invalid argument", err)
			}
		})
	}
}

func TestGenerateDoesNotAlias(t *testing.T) {
	img, opts := testImage(), testOpts()
	opts.Labels = map[string]string{"a": "b"}
	opts.Mounts = []specs.Mount{{Destination: "/data", Type: "bind", Source: "/s", Options: []string{"rbind"}}}
	s := generate(t, img, opts)
	s.Annotations["a"] = "changed"
	s.Mounts[len(s.Mounts)-1].Options[0] = "changed"
	s.Process.Env[0] = "changed"
	if opts.Labels["a"] != "b" || opts.Mounts[0].Options[0] != "rbind" || img.Env[0] == "changed" {
		t.Error("the spec shares memory with its inputs")
	}
}
