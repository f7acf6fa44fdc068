package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/mountspec"
)

// containerFlags are the flags `run` and `create` share, Docker's.
type containerFlags struct {
	name, workdir, user, hostname, entrypoint, restart, network, runtime, pull, platform string
	stopSignal, memory, memorySwap, cpus, cpusetCpus, shmSize                            string
	env, envFiles, labels, capAdd, capDrop, securityOpt, devices                         []string
	volumes, mounts, tmpfs, volumesFrom                                                  []string
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
	fs.StringVar(&f.network, "network", "none", `Connect a container to a network ("none" or "host" for now)`)
	fs.StringVar(&f.network, "net", "none", "Connect a container to a network")
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
	fs.StringVar(&f.shmSize, "shm-size", "", "Size of /dev/shm")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&f.envFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "Set meta data on a container")
	fs.StringArrayVar(&f.capAdd, "cap-add", nil, "Add Linux capabilities")
	fs.StringArrayVar(&f.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	fs.StringArrayVar(&f.securityOpt, "security-opt", nil, "Security Options")
	fs.StringArrayVar(&f.devices, "device", nil, "Add a host device to the container")
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
	if err := f.mountOptions(h); err != nil {
		return o, err
	}
	return o, nil
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
