package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/mountspec"
	"berth.dev/berth/internal/network"
)

// containerFlags are the flags `run` and `create` share, Docker's.
type containerFlags struct {
	name, workdir, user, hostname, entrypoint, restart, network, runtime, pull, platform string
	stopSignal, memory, memorySwap, cpus, cpusetCpus, shmSize                            string
	env, envFiles, labels, capAdd, capDrop, securityOpt, devices                         []string
	volumes, mounts, tmpfs, volumesFrom                                                  []string
	publish, expose, aliases, addHosts, dns, dnsSearch, dnsOptions                       []string
	sysctls, ulimits                                                                     []string
	ip, macAddress, cgroupParent                                                         string
	publishAll                                                                           bool
	healthCmd                                                                            string
	healthInterval, healthTimeout, healthStartPeriod                                     time.Duration
	healthRetries                                                                        int
	noHealthcheck                                                                        bool
	tty, interactive, readOnly, init, privileged, rm                                     bool
	stopTimeout                                                                          int
	cpuShares, pidsLimit                                                                 int64
	rf                                                                                   registryFlags
}

func (f *containerFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "Assign a name to the container")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&f.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVarP(&f.hostname, "hostname", "h", "", "Container host name")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVar(&f.restart, "restart", "no", "Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)")
	fs.StringVar(&f.network, "network", "bridge", `Connect a container to a network ("bridge", a network's name, "none" or "host")`)
	fs.StringVar(&f.network, "net", "bridge", "Connect a container to a network")
	fs.MarkHidden("net")
	fs.StringVar(&f.runtime, "runtime", "", `Runtime to use for this container (embedded by default; "runc", "crun" or a path)`)
	fs.StringVar(&f.pull, "pull", "missing", `Pull image before running ("always", "missing", "never")`)
	fs.StringVar(&f.platform, "platform", "", "Set platform if server is multi-platform capable")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.IntVar(&f.stopTimeout, "stop-timeout", -1, "Timeout (in seconds) to stop a container")
	fs.StringVarP(&f.memory, "memory", "m", "", "Memory limit")
	fs.StringVar(&f.memorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fs.StringVar(&f.cpus, "cpus", "", "Number of CPUs")
	fs.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.StringVar(&f.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fs.StringVar(&f.cgroupParent, "cgroup-parent", "", "Optional parent cgroup for the container (an absolute path)")
	fs.StringVar(&f.shmSize, "shm-size", "", "Size of /dev/shm")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&f.envFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "Set meta data on a container")
	fs.StringArrayVar(&f.capAdd, "cap-add", nil, "Add Linux capabilities")
	fs.StringArrayVar(&f.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	fs.StringArrayVar(&f.securityOpt, "security-opt", nil, "Security Options")
	fs.StringArrayVar(&f.devices, "device", nil, "Add a host device to the container")
	fs.StringArrayVarP(&f.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	fs.StringArrayVar(&f.expose, "expose", nil, "Expose a port or a range of ports")
	fs.StringVar(&f.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	fs.StringVar(&f.macAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	fs.StringArrayVar(&f.aliases, "network-alias", nil, "Add network-scoped alias for the container")
	fs.StringArrayVar(&f.addHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	fs.StringArrayVar(&f.dns, "dns", nil, "Set custom DNS servers")
	fs.StringArrayVar(&f.dnsSearch, "dns-search", nil, "Set custom DNS search domains")
	fs.StringArrayVar(&f.dnsOptions, "dns-option", nil, "Set DNS options")
	fs.StringVar(&f.healthCmd, "health-cmd", "", "Command to run to check health")
	fs.DurationVar(&f.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.healthStartPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fs.IntVar(&f.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.BoolVar(&f.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fs.StringArrayVar(&f.sysctls, "sysctl", nil, "Sysctl options (name=value)")
	fs.StringArrayVar(&f.ulimits, "ulimit", nil, "Ulimit options (name=soft[:hard])")
	fs.StringArrayVarP(&f.volumes, "volume", "v", nil, "Bind mount a volume")
	fs.StringArrayVar(&f.mounts, "mount", nil, "Attach a filesystem mount to the container")
	fs.StringArrayVar(&f.tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	fs.StringArrayVar(&f.volumesFrom, "volumes-from", nil, "Mount volumes from the specified container(s)")
	fs.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVar(&f.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fs.BoolVar(&f.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fs.BoolVar(&f.privileged, "privileged", false, "Give extended privileges to this container")
	fs.BoolVar(&f.rm, "rm", false, "Automatically remove the container when it exits")
	f.rf.add(fs)
}

// options turns the flags and the positional IMAGE [COMMAND] [ARG...] into
// container options.
func (f *containerFlags) options(fs *pflag.FlagSet, args []string) (container.CreateOptions, error) {
	o := container.CreateOptions{Name: f.name, Image: args[0]}
	c := &o.Config
	h := &o.HostConfig
	if len(args) > 1 {
		c.Cmd = args[1:]
	}
	if fs.Changed("entrypoint") {
		c.EntrypointSet = true
		if f.entrypoint != "" {
			c.Entrypoint = []string{f.entrypoint}
		}
	}
	env, err := readEnv(f.envFiles, f.env)
	if err != nil {
		return o, err
	}
	c.Env, c.WorkingDir, c.User, c.Hostname = env, f.workdir, f.user, f.hostname
	c.Tty, c.OpenStdin = f.tty, f.interactive
	c.Labels = map[string]string{}
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		c.Labels[k] = v
	}
	if f.stopSignal != "" {
		c.StopSignal = f.stopSignal
	}
	if fs.Changed("stop-timeout") {
		t := f.stopTimeout
		c.StopTimeout = &t
	}
	h.AutoRemove, h.Privileged, h.ReadonlyRootfs, h.Init = f.rm, f.privileged, f.readOnly, f.init
	h.CapAdd, h.CapDrop, h.SecurityOpt, h.Devices = f.capAdd, f.capDrop, f.securityOpt, f.devices
	h.NetworkMode, h.Runtime = f.network, f.runtime
	if h.RestartPolicy, err = parseRestart(f.restart); err != nil {
		return o, err
	}
	if h.Memory, err = parseBytes("--memory", f.memory); err != nil {
		return o, err
	}
	if f.memorySwap == "-1" {
		h.MemorySwap = -1
	} else if h.MemorySwap, err = parseBytes("--memory-swap", f.memorySwap); err != nil {
		return o, err
	}
	if h.ShmSize, err = parseBytes("--shm-size", f.shmSize); err != nil {
		return o, err
	}
	if f.cpus != "" {
		v, err := strconv.ParseFloat(f.cpus, 64)
		if err != nil || v < 0 {
			return o, usageError{fmt.Errorf("invalid argument %q for \"--cpus\" flag", f.cpus)}
		}
		h.NanoCpus = int64(v * 1e9)
	}
	h.CPUShares, h.CpusetCpus, h.PidsLimit = f.cpuShares, f.cpusetCpus, f.pidsLimit
	if f.cgroupParent != "" && !config.ValidCgroupParent(f.cgroupParent) {
		return o, usageError{fmt.Errorf("invalid --cgroup-parent %q: want an absolute, clean cgroup path such as /berth", f.cgroupParent)}
	}
	h.CgroupParent = f.cgroupParent
	if err := f.mountOptions(h); err != nil {
		return o, err
	}
	if err := f.networkOptions(&o); err != nil {
		return o, err
	}
	if err := f.healthOptions(c); err != nil {
		return o, err
	}
	for _, kv := range f.sysctls {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return o, fmt.Errorf("invalid sysctl %q: want name=value", kv)
		}
		if h.Sysctls == nil {
			h.Sysctls = map[string]string{}
		}
		h.Sysctls[k] = v
	}
	for _, u := range f.ulimits {
		ul, err := ParseUlimit(u)
		if err != nil {
			return o, err
		}
		h.Ulimits = append(h.Ulimits, ul)
	}
	return o, nil
}

// ulimitNames are the resource limits --ulimit takes (Docker's list).
var ulimitNames = map[string]bool{"core": true, "cpu": true, "data": true, "fsize": true, "locks": true, "memlock": true,
	"msgqueue": true, "nice": true, "nofile": true, "nproc": true, "rss": true, "rtprio": true, "rttime": true, "sigpending": true, "stack": true, "as": true}

// ParseUlimit reads --ulimit name=soft[:hard] as Docker does.
func ParseUlimit(s string) (container.Ulimit, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok || !ulimitNames[name] {
		return container.Ulimit{}, fmt.Errorf("invalid ulimit %q: want name=soft[:hard] with a known name", s)
	}
	soft, hard, hasHard := strings.Cut(val, ":")
	sv, err := strconv.ParseInt(soft, 10, 64)
	if err != nil {
		return container.Ulimit{}, fmt.Errorf("invalid ulimit %q: %v", s, err)
	}
	hv := sv
	if hasHard {
		if hv, err = strconv.ParseInt(hard, 10, 64); err != nil {
			return container.Ulimit{}, fmt.Errorf("invalid ulimit %q: %v", s, err)
		}
	}
	if sv > hv {
		return container.Ulimit{}, fmt.Errorf("ulimit soft limit must be less than or equal to hard limit: %d > %d", sv, hv)
	}
	return container.Ulimit{Name: name, Soft: sv, Hard: hv}, nil
}

// healthOptions checks the --health-* flags as the docker CLI does.
func (f *containerFlags) healthOptions(c *container.Config) error {
	set := f.healthCmd != "" || f.healthInterval != 0 || f.healthTimeout != 0 || f.healthStartPeriod != 0 || f.healthRetries != 0
	if f.noHealthcheck {
		if set {
			return errors.New("--no-healthcheck conflicts with --health-* options")
		}
		c.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
		return nil
	}
	if !set {
		return nil
	}
	for name, d := range map[string]time.Duration{"--health-interval": f.healthInterval, "--health-timeout": f.healthTimeout, "--health-start-period": f.healthStartPeriod} {
		if d < 0 {
			return fmt.Errorf("%s cannot be negative", name)
		}
		if d != 0 && d < time.Millisecond {
			return fmt.Errorf("%s is too short: must be at least 1ms", name)
		}
	}
	if f.healthRetries < 0 {
		return errors.New("--health-retries cannot be negative")
	}
	hc := &container.HealthConfig{Interval: f.healthInterval, Timeout: f.healthTimeout, StartPeriod: f.healthStartPeriod, Retries: f.healthRetries}
	if f.healthCmd != "" {
		hc.Test = []string{"CMD-SHELL", f.healthCmd}
	}
	c.Healthcheck = hc
	return nil
}

// networkOptions checks -p, -P, --expose, --ip, --network-alias,
// --add-host and the --dns flags.
func (f *containerFlags) networkOptions(o *container.CreateOptions) error {
	h, c := &o.HostConfig, &o.Config
	for _, p := range f.publish {
		reqs, err := parsePublish(p)
		if err != nil {
			return err
		}
		h.PortBindings = append(h.PortBindings, reqs...)
	}
	h.PublishAllPorts = f.publishAll
	for _, e := range f.expose {
		port, proto, _ := strings.Cut(e, "/")
		if proto == "" {
			proto = "tcp"
		}
		lo, hi, err := portRange(port)
		if err != nil {
			return fmt.Errorf("invalid range format for --expose: %s", e)
		}
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for p := lo; p <= hi && p >= lo; p++ {
			c.ExposedPorts[fmt.Sprintf("%d/%s", p, proto)] = struct{}{}
		}
	}
	if f.ip != "" {
		ip, err := netip.ParseAddr(f.ip)
		if err != nil || !ip.Is4() {
			return fmt.Errorf("invalid IPv4 address: %s", f.ip)
		}
		o.IP = ip
	}
	if f.macAddress != "" {
		mac, err := net.ParseMAC(f.macAddress)
		if err != nil || len(mac) != 6 {
			return fmt.Errorf("%s is not a valid mac address", f.macAddress)
		}
		o.MAC = mac
	}
	o.Aliases = f.aliases
	for _, a := range f.addHosts {
		name, ip, ok := strings.Cut(a, ":")
		if !ok || name == "" {
			return fmt.Errorf("bad format for add-host: %q", a)
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			if ip == "host-gateway" {
				return errdefs.New(errdefs.ErrNotImplemented, "--add-host %s: host-gateway is not supported by berth yet", a)
			}
			return fmt.Errorf("invalid IP address in add-host: %q", ip)
		}
		h.ExtraHosts = append(h.ExtraHosts, a)
	}
	for _, d := range f.dns {
		if _, err := netip.ParseAddr(d); err != nil {
			return fmt.Errorf("%s is not an ip address", d)
		}
	}
	h.DNS, h.DNSSearch, h.DNSOptions = f.dns, f.dnsSearch, f.dnsOptions
	return nil
}

// parsePublish reads -p [ip:][hostPort:]containerPort[/proto], with port
// ranges, as Docker does.
func parsePublish(spec string) ([]network.PortRequest, error) {
	rest, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	var hostIP, hostPort, ctrPort string
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
		ctrPort = parts[0]
	case 2:
		hostPort, ctrPort = parts[0], parts[1]
	case 3:
		hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
	default:
		// [::1]:80:80 and other IPv6 forms
		return nil, fmt.Errorf("invalid publish spec %q: berth publishes IPv4 ports only", spec)
	}
	var ip netip.Addr
	if hostIP != "" {
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("invalid IP address %q in publish spec %q", hostIP, spec)
		}
		ip = a
		if ip.IsUnspecified() {
			ip = netip.Addr{}
		}
	}
	clo, chi, err := portRange(ctrPort)
	if err != nil {
		return nil, fmt.Errorf("invalid containerPort: %s", ctrPort)
	}
	var hlo, hhi uint16
	if hostPort != "" {
		if hlo, hhi, err = portRange(hostPort); err != nil {
			return nil, fmt.Errorf("invalid hostPort: %s", hostPort)
		}
		if hhi-hlo != chi-clo {
			return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", ctrPort, hostPort)
		}
	}
	var out []network.PortRequest
	for i := uint16(0); i <= chi-clo; i++ {
		r := network.PortRequest{HostIP: ip, ContainerPort: clo + i, Proto: proto}
		if hostPort != "" {
			r.HostPort = hlo + i
		}
		out = append(out, r)
	}
	return out, nil
}

func portRange(s string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || a == 0 {
		return 0, 0, errors.New("bad port")
	}
	if !isRange {
		return uint16(a), uint16(a), nil
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	if err != nil || b < a {
		return 0, 0, errors.New("bad port range")
	}
	return uint16(a), uint16(b), nil
}

// mountOptions checks -v, --mount, --tmpfs and --volumes-from as the docker
// CLI does, making a bind source that starts with "." absolute.
func (f *containerFlags) mountOptions(h *container.HostConfig) error {
	for _, v := range f.volumes {
		if strings.HasPrefix(v, ".") {
			if src, rest, ok := strings.Cut(v, ":"); ok {
				abs, err := filepath.Abs(src)
				if err != nil {
					return err
				}
				v = abs + ":" + rest
			}
		}
		if _, err := mountspec.ParseVolume(v); err != nil {
			return err
		}
		h.Binds = append(h.Binds, v)
	}
	for _, csv := range f.mounts {
		m, err := mountspec.ParseMount(csv)
		if err != nil {
			// A relative bind source is made absolute, as the docker CLI does.
			if !strings.Contains(csv, "=.") {
				return err
			}
			fields := strings.Split(csv, ",")
			for i, fld := range fields {
				if k, v, ok := strings.Cut(fld, "="); ok && (k == "source" || k == "src") && strings.HasPrefix(v, ".") {
					abs, aerr := filepath.Abs(v)
					if aerr != nil {
						return aerr
					}
					fields[i] = k + "=" + abs
				}
			}
			if m, err = mountspec.ParseMount(strings.Join(fields, ",")); err != nil {
				return err
			}
		}
		h.Mounts = append(h.Mounts, m)
	}
	for _, t := range f.tmpfs {
		m, err := mountspec.ParseTmpfs(t)
		if err != nil {
			return err
		}
		if h.Tmpfs == nil {
			h.Tmpfs = map[string]string{}
		}
		_, opts, _ := strings.Cut(t, ":")
		h.Tmpfs[m.Target] = opts
	}
	for _, vf := range f.volumesFrom {
		if _, _, err := mountspec.ParseVolumesFrom(vf); err != nil {
			return err
		}
		h.VolumesFrom = append(h.VolumesFrom, vf)
	}
	return nil
}

// parseRestart parses Docker's --restart values.
func parseRestart(s string) (container.RestartPolicy, error) {
	name, max, hasMax := strings.Cut(s, ":")
	p := container.RestartPolicy{Name: name}
	switch name {
	case "", "no":
		p.Name = "no"
		if hasMax {
			return p, usageError{errors.New("invalid restart policy: maximum retry count cannot be used with restart policy 'no'")}
		}
	case "always", "unless-stopped":
		if hasMax {
			return p, usageError{fmt.Errorf("invalid restart policy: maximum retry count cannot be used with restart policy '%s'", name)}
		}
	case "on-failure":
		if hasMax {
			n, err := strconv.Atoi(max)
			if err != nil || n < 0 {
				return p, usageError{fmt.Errorf("invalid restart policy: maximum retry count must be a positive integer")}
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, usageError{fmt.Errorf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", name)}
	}
	return p, nil
}

// parseBytes parses Docker's sizes: 32m, 1g, 512k, 1024b, plain bytes.
func parseBytes(flag, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	num := strings.ToLower(s)
	switch {
	case strings.HasSuffix(num, "kb"), strings.HasSuffix(num, "k"):
		mult, num = 1<<10, strings.TrimRight(num, "kb")
	case strings.HasSuffix(num, "mb"), strings.HasSuffix(num, "m"):
		mult, num = 1<<20, strings.TrimRight(num, "mb")
	case strings.HasSuffix(num, "gb"), strings.HasSuffix(num, "g"):
		mult, num = 1<<30, strings.TrimRight(num, "gb")
	case strings.HasSuffix(num, "b"):
		num = strings.TrimSuffix(num, "b")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, usageError{fmt.Errorf("invalid argument %q for %q flag: invalid size", s, flag)}
	}
	return int64(v * float64(mult)), nil
}

// readEnv reads --env-file files then -e values; a bare NAME takes the
// value of NAME in berth's environment, and is dropped when unset (Docker).
func readEnv(files, vals []string) ([]string, error) {
	var out []string
	add := func(kv string) {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
		} else if v, ok := os.LookupEnv(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "open env file: %v", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			add(line)
		}
		f.Close()
	}
	for _, v := range vals {
		add(v)
	}
	return out, nil
}

// parseSignal parses "KILL", "SIGKILL", "9".
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for sig, n := range signalNames {
		if n == name {
			return sig, nil
		}
	}
	return 0, usageError{fmt.Errorf("invalid signal: %s", s)}
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGILL: "ILL", syscall.SIGTRAP: "TRAP",
	syscall.SIGABRT: "ABRT", syscall.SIGBUS: "BUS", syscall.SIGFPE: "FPE", syscall.SIGKILL: "KILL", syscall.SIGUSR1: "USR1",
	syscall.SIGSEGV: "SEGV", syscall.SIGUSR2: "USR2", syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM", syscall.SIGTERM: "TERM",
	syscall.SIGCHLD: "CHLD", syscall.SIGCONT: "CONT", syscall.SIGSTOP: "STOP", syscall.SIGTSTP: "TSTP", syscall.SIGTTIN: "TTIN",
	syscall.SIGTTOU: "TTOU", syscall.SIGURG: "URG", syscall.SIGXCPU: "XCPU", syscall.SIGXFSZ: "XFSZ", syscall.SIGVTALRM: "VTALRM",
	syscall.SIGPROF: "PROF", syscall.SIGWINCH: "WINCH", syscall.SIGIO: "IO", syscall.SIGPWR: "PWR", syscall.SIGSYS: "SYS",
}
