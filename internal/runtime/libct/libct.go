package libct

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/runtime"
	"berth.dev/berth/internal/runtime/internal/cgroupfs"
	"berth.dev/berth/internal/runtime/internal/console"
)

// Runtime is libcontainer behind runtime.Runtime. It holds no state in
// memory but the containers this value started: every other call loads
// the container from the state root, so values built on the same root in
// different processes see the same containers. The monitor that started a
// container reuses its value for the stats, OOM check and delete after the
// exit, as `runc run` does, without reloading the state (about 1 ms each).
type Runtime struct {
	root string

	mu      sync.Mutex
	started map[string]*libcontainer.Container
}

// Runtime implements runtime.Runtime.
var _ runtime.Runtime = (*Runtime)(nil)

// killTimeout bounds how long Delete waits for a killed init to die (runc
// delete waits 10s).
const killTimeout = 10 * time.Second

// New returns a runtime keeping container state under stateRoot (for
// example /run/berth/runtime/libct), which it creates.
func New(stateRoot string) (*Runtime, error) {
	if !filepath.IsAbs(stateRoot) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "libct state root %q is not absolute", stateRoot)
	}
	if err := os.MkdirAll(stateRoot, 0o700); err != nil {
		return nil, fmt.Errorf("create libct state root: %w", err)
	}
	return &Runtime{root: stateRoot}, nil
}

// Name returns "libct".
func (r *Runtime) Name() string { return "libct" }

// Start creates container id from the bundle and runs its init process, as
// `runc run --detach` does.
func (r *Runtime) Start(ctx context.Context, id, bundle string, stdio runtime.Stdio) (_ runtime.Process, retErr error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start container %s: %w", id, err)
	}
	if err := runtime.ValidateID(id); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(bundle)
	if err != nil {
		return nil, fmt.Errorf("start container %s: %w", id, err)
	}
	spec, err := runtime.LoadSpec(bundle)
	if err != nil {
		return nil, fmt.Errorf("start container %s: %w", id, err)
	}
	if err := runtime.CheckStdio(spec.Process, stdio); err != nil {
		return nil, fmt.Errorf("start container %s: %w", id, err)
	}
	anchor(spec, bundle)
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:       id,
		UseSystemdCgroup: false,
		Spec:             spec,
		RootlessEUID:     os.Geteuid() != 0,
	})
	if err != nil {
		return nil, fmt.Errorf("convert spec of container %s: %w: %w", id, errdefs.ErrInvalidArgument, err)
	}
	// specconv labels the container with the process's working directory
	// as its bundle (runc runs in the bundle); berth never changes
	// directory, so name the real one (it is the OCI state's "bundle").
	for i, l := range config.Labels {
		if strings.HasPrefix(l, "bundle=") {
			config.Labels[i] = "bundle=" + bundle
		}
	}
	c, err := libcontainer.Create(r.root, id, config)
	if errors.Is(err, libcontainer.ErrExist) {
		return nil, fmt.Errorf("create container %s: %w: %w", id, errdefs.ErrConflict, err)
	}
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", id, err)
	}
	defer func() {
		if retErr != nil {
			_ = c.Destroy()
		}
	}()
	p, err := run(c, spec.Process, stdio, true)
	if err != nil {
		return nil, fmt.Errorf("start container %s: %w", id, err)
	}
	r.mu.Lock()
	if r.started == nil {
		r.started = map[string]*libcontainer.Container{}
	}
	r.started[id] = c
	r.mu.Unlock()
	return p, nil
}

// anchor makes the spec's relative paths (root, bind-mount sources)
// absolute against the bundle, which specconv would otherwise resolve
// against the working directory.
func anchor(spec *specs.Spec, bundle string) {
	if !filepath.IsAbs(spec.Root.Path) {
		spec.Root.Path = filepath.Join(bundle, spec.Root.Path)
	}
	for i, m := range spec.Mounts {
		if m.Source == "" || filepath.IsAbs(m.Source) {
			continue
		}
		bind := m.Type == "bind"
		for _, o := range m.Options {
			bind = bind || o == "bind" || o == "rbind"
		}
		if bind {
			spec.Mounts[i].Source = filepath.Join(bundle, m.Source)
		}
	}
}

// Exec runs p in running container id, as `runc exec --detach` does.
func (r *Runtime) Exec(ctx context.Context, id string, p *specs.Process, stdio runtime.Stdio) (runtime.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if err := runtime.CheckProcess(p); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if err := runtime.CheckStdio(p, stdio); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	status, err := c.Status()
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if status != libcontainer.Running && status != libcontainer.Created {
		return nil, errdefs.New(errdefs.ErrConflict, "exec in container %s: container is %s", id, status)
	}
	proc, err := run(c, p, stdio, false)
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	return proc, nil
}

// run starts p in c: the init process (Create's container then execs the
// user's program) or an additional one.
func run(c *libcontainer.Container, p *specs.Process, stdio runtime.Stdio, init bool) (_ *process, retErr error) {
	lp, err := newProcess(p)
	if err != nil {
		return nil, err
	}
	lp.Init = init
	var sock *net.UnixConn
	if stdio.Terminal {
		parent, child, err := console.Socketpair()
		if err != nil {
			return nil, err
		}
		defer parent.Close()
		defer child.Close()
		sock = parent
		lp.ConsoleSocket = child
	} else {
		// Assign only non-nil files: a nil *os.File in an io.Reader is
		// not a nil interface, and exec would use it.
		if stdio.Stdin != nil {
			lp.Stdin = stdio.Stdin
		}
		if stdio.Stdout != nil {
			lp.Stdout = stdio.Stdout
		}
		if stdio.Stderr != nil {
			lp.Stderr = stdio.Stderr
		}
	}
	if err := c.Run(lp); err != nil {
		return nil, err
	}
	pid, err := lp.Pid()
	if err != nil {
		return nil, err
	}
	proc := &process{lp: lp, pid: pid}
	defer func() {
		if retErr != nil {
			_ = lp.Signal(unix.SIGKILL)
			_, _ = proc.Wait()
		}
	}()
	if sock != nil {
		// The init sent the master before exec; closing our copy of the
		// child end turns a missing message into EOF instead of a hang.
		_ = lp.ConsoleSocket.Close()
		master, err := console.Recv(sock)
		if err != nil {
			return nil, err
		}
		proc.console = master
	}
	return proc, nil
}

// newProcess converts a spec process to a libcontainer one, as runc's
// utils_linux.go newProcess does (SELinux and AppArmor labels included;
// berth leaves them empty).
func newProcess(p *specs.Process) (*libcontainer.Process, error) {
	lp := &libcontainer.Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		Label:           p.SelinuxLabel,
		NoNewPrivileges: &p.NoNewPrivileges,
		AppArmorProfile: p.ApparmorProfile,
		Scheduler:       p.Scheduler,
		IOPriority:      p.IOPriority,
	}
	if p.ConsoleSize != nil {
		lp.ConsoleWidth = uint16(p.ConsoleSize.Width)
		lp.ConsoleHeight = uint16(p.ConsoleSize.Height)
	}
	if caps := p.Capabilities; caps != nil {
		lp.Capabilities = &configs.Capabilities{
			Bounding:    caps.Bounding,
			Effective:   caps.Effective,
			Inheritable: caps.Inheritable,
			Permitted:   caps.Permitted,
			Ambient:     caps.Ambient,
		}
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	for _, rl := range p.Rlimits {
		res, ok := rlimits[rl.Type]
		if !ok {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "unknown rlimit %q", rl.Type)
		}
		lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: res, Hard: rl.Hard, Soft: rl.Soft})
	}
	aff, err := configs.ConvertCPUAffinity(p.ExecCPUAffinity)
	if err != nil {
		return nil, fmt.Errorf("convert cpu affinity: %w: %w", errdefs.ErrInvalidArgument, err)
	}
	lp.CPUAffinity = aff
	return lp, nil
}

// rlimits maps spec rlimit names to resources (runc's rlimit_linux.go).
var rlimits = map[string]int{
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
}

// Signal sends sig to the container's init, or with all to each of its
// processes.
func (r *Runtime) Signal(ctx context.Context, id string, sig syscall.Signal, all bool) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if all && sig != unix.SIGKILL {
		// libcontainer signals all processes only for SIGKILL (killing
		// init of a PID namespace kills the rest); signal each one.
		pids, err := c.Processes()
		if err != nil {
			return fmt.Errorf("signal container %s: %w", id, err)
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("signal container %s process %d: %w", id, pid, err)
			}
		}
		return nil
	}
	err = c.Signal(sig)
	if errors.Is(err, libcontainer.ErrNotRunning) {
		if all {
			return nil
		}
		return fmt.Errorf("signal container %s: %w: %w", id, errdefs.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("signal container %s: %w", id, err)
	}
	return nil
}

// Pause freezes the container's cgroup.
func (r *Runtime) Pause(ctx context.Context, id string) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	err = c.Pause()
	if errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("pause container %s: %w: %w", id, errdefs.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("pause container %s: %w", id, err)
	}
	return nil
}

// Resume thaws the container's cgroup.
func (r *Runtime) Resume(ctx context.Context, id string) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	err = c.Resume()
	if errors.Is(err, libcontainer.ErrNotPaused) {
		return fmt.Errorf("resume container %s: %w: %w", id, errdefs.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("resume container %s: %w", id, err)
	}
	return nil
}

// State returns the container's status and init PID.
func (r *Runtime) State(ctx context.Context, id string) (runtime.State, error) {
	c, err := r.load(id)
	if err != nil {
		return runtime.State{}, err
	}
	status, err := c.Status()
	if err != nil {
		return runtime.State{}, fmt.Errorf("read state of container %s: %w", id, err)
	}
	var st runtime.State
	switch status {
	case libcontainer.Created:
		st.Status = runtime.StatusCreated
	case libcontainer.Running:
		st.Status = runtime.StatusRunning
	case libcontainer.Paused:
		st.Status = runtime.StatusPaused
	default:
		return runtime.State{Status: runtime.StatusStopped}, nil
	}
	s, err := c.State()
	if err != nil {
		return runtime.State{}, fmt.Errorf("read state of container %s: %w", id, err)
	}
	st.Pid = s.InitProcessPid
	return st, nil
}

// Stats reads the container's cgroup figures through libcontainer, and the
// OOM kill count from its memory cgroup.
func (r *Runtime) Stats(ctx context.Context, id string) (*runtime.Stats, error) {
	c, err := r.load(id)
	if err != nil {
		return nil, err
	}
	ls, err := c.Stats()
	if err != nil {
		return nil, fmt.Errorf("read stats of container %s: %w", id, err)
	}
	var s runtime.Stats
	if cs := ls.CgroupStats; cs != nil {
		s.CPUUsageNanos = cs.CpuStats.CpuUsage.TotalUsage
		s.MemoryUsage = cs.MemoryStats.Usage.Usage
		s.MemoryLimit = cs.MemoryStats.Usage.Limit
		s.MemoryMaxUsage = cs.MemoryStats.Usage.MaxUsage
		s.PidsCurrent = cs.PidsStats.Current
		s.PidsLimit = cs.PidsStats.Limit
	}
	// v1 reports no limit as 2^63-1 rounded to a page, v2 as MaxUint64.
	if s.MemoryLimit >= 1<<62 {
		s.MemoryLimit = 0
	}
	if s.PidsLimit >= 1<<62 {
		s.PidsLimit = 0
	}
	if s.OOMKilled, err = oomKilled(c); err != nil {
		return nil, fmt.Errorf("read stats of container %s: %w", id, err)
	}
	return &s, nil
}

// OOMKilled reads the OOM kill count of the container's memory cgroup.
func (r *Runtime) OOMKilled(ctx context.Context, id string) (bool, error) {
	c, err := r.load(id)
	if err != nil {
		return false, err
	}
	oom, err := oomKilled(c)
	if err != nil {
		return false, fmt.Errorf("read OOM kills of container %s: %w", id, err)
	}
	return oom, nil
}

func oomKilled(c *libcontainer.Container) (bool, error) {
	state, err := c.State()
	if err != nil {
		return false, err
	}
	dir := state.CgroupPaths["memory"]
	if dir == "" {
		dir = state.CgroupPaths[""]
	}
	return cgroupfs.OOMKilled(dir)
}

// Delete destroys the container's state and cgroups, as `runc delete`
// does: with force, or for a container that was created but never started,
// it kills init first and waits for it to die.
func (r *Runtime) Delete(ctx context.Context, id string, force bool) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	r.mu.Lock()
	c := r.started[id]
	delete(r.started, id)
	r.mu.Unlock()
	var err error
	if c == nil {
		c, err = libcontainer.Load(r.root, id)
	}
	if errors.Is(err, libcontainer.ErrNotExist) {
		// An aborted start can leave a directory without state.json.
		if err := os.RemoveAll(filepath.Join(r.root, id)); err != nil {
			return fmt.Errorf("delete container %s: %w", id, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	if !force {
		status, err := c.Status()
		if err != nil {
			return fmt.Errorf("delete container %s: %w", id, err)
		}
		switch status {
		case libcontainer.Stopped:
			if err := c.Destroy(); err != nil {
				return fmt.Errorf("delete container %s: %w", id, err)
			}
			return nil
		case libcontainer.Created:
		default:
			return errdefs.New(errdefs.ErrConflict, "delete container %s: container is %s", id, status)
		}
	}
	if err := kill(ctx, c); err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return nil
}

// kill sends SIGKILL to c, waits for init to be gone (a zombie counts as
// gone) and destroys c (runc's killContainer).
func kill(ctx context.Context, c *libcontainer.Container) error {
	_ = c.Signal(unix.SIGKILL)
	deadline := time.Now().Add(killTimeout)
	for c.Signal(unix.Signal(0)) == nil {
		if time.Now().After(deadline) {
			return errors.New("init still running after SIGKILL")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return c.Destroy()
}

// load loads container id; an unknown id is errdefs.ErrNotFound.
func (r *Runtime) load(id string) (*libcontainer.Container, error) {
	if err := runtime.ValidateID(id); err != nil {
		return nil, err
	}
	r.mu.Lock()
	c := r.started[id]
	r.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := libcontainer.Load(r.root, id)
	if errors.Is(err, libcontainer.ErrNotExist) || errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load container %s: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return c, nil
}
