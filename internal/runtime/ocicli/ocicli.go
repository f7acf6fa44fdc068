package ocicli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/runtime"
	"berth.dev/berth/internal/runtime/internal/cgroupfs"
	"berth.dev/berth/internal/runtime/internal/console"
)

// consoleTimeout bounds the wait for the pty master once create or exec
// has returned (the runtime sends it before it exits).
const consoleTimeout = 5 * time.Second

// Runtime is an OCI runtime binary behind runtime.Runtime. It holds no
// container state in memory.
type Runtime struct {
	binary string // absolute path
	name   string
	root   string

	eventsOnce sync.Once // guards events
	events     bool      // the binary has `events --stats`
}

// Runtime implements runtime.Runtime.
var _ runtime.Runtime = (*Runtime)(nil)

// New returns a runtime running binary (a name looked up in PATH, or a
// path) with state under stateRoot, which it creates.
func New(binary, stateRoot string) (*Runtime, error) {
	path, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("find oci runtime %q: %w: %w", binary, errdefs.ErrNotFound, err)
	}
	if path, err = filepath.Abs(path); err != nil {
		return nil, fmt.Errorf("find oci runtime %q: %w", binary, err)
	}
	if !filepath.IsAbs(stateRoot) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "oci runtime state root %q is not absolute", stateRoot)
	}
	if err := os.MkdirAll(stateRoot, 0o700); err != nil {
		return nil, fmt.Errorf("create oci runtime state root: %w", err)
	}
	return &Runtime{binary: path, name: filepath.Base(path), root: stateRoot}, nil
}

// Name returns the binary's base name ("runc", "crun").
func (r *Runtime) Name() string { return r.name }

// Start creates and starts container id: `create` then `start`.
func (r *Runtime) Start(ctx context.Context, id, bundle string, stdio runtime.Stdio) (_ runtime.Process, retErr error) {
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
	if r.exists(id) {
		return nil, errdefs.New(errdefs.ErrConflict, "start container %s: id already in use", id)
	}
	proc, err := r.spawn(ctx, stdio, func(pidFile, consoleSock string) []string {
		args := []string{"create", "--bundle", bundle, "--pid-file", pidFile}
		if consoleSock != "" {
			args = append(args, "--console-socket", consoleSock)
		}
		return append(args, id)
	})
	if err != nil {
		return nil, fmt.Errorf("start container %s: %w", id, err)
	}
	defer func() {
		if retErr != nil {
			proc.kill()
			_ = r.Delete(context.WithoutCancel(ctx), id, true)
		}
	}()
	if err := r.run(ctx, nil, nil, "start", id); err != nil {
		return nil, fmt.Errorf("start container %s: %w", id, err)
	}
	return proc, nil
}

// Exec runs p in running container id: `exec --detach`.
func (r *Runtime) Exec(ctx context.Context, id string, p *specs.Process, stdio runtime.Stdio) (runtime.Process, error) {
	if err := runtime.ValidateID(id); err != nil {
		return nil, err
	}
	if err := runtime.CheckProcess(p); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	if err := runtime.CheckStdio(p, stdio); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	st, err := r.State(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Status != runtime.StatusRunning && st.Status != runtime.StatusCreated {
		return nil, errdefs.New(errdefs.ErrConflict, "exec in container %s: container is %s", id, st.Status)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: encode process: %w", id, err)
	}
	tmp, err := os.MkdirTemp("", "berth-exec-")
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	defer os.RemoveAll(tmp)
	processFile := filepath.Join(tmp, "process.json")
	if err := os.WriteFile(processFile, data, 0o600); err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	proc, err := r.spawn(ctx, stdio, func(pidFile, consoleSock string) []string {
		args := []string{"exec", "--process", processFile, "--pid-file", pidFile, "--detach"}
		if consoleSock != "" {
			args = append(args, "--console-socket", consoleSock)
		}
		return append(args, id)
	})
	if err != nil {
		return nil, fmt.Errorf("exec in container %s: %w", id, err)
	}
	return proc, nil
}

// spawn runs a runtime command that leaves a process behind (create, exec
// --detach) and adopts it: the caller becomes a subreaper first, so the
// process is reparented to it when the runtime exits.
func (r *Runtime) spawn(ctx context.Context, stdio runtime.Stdio, args func(pidFile, consoleSock string) []string) (_ *process, retErr error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become child subreaper: %w", err)
	}
	// A short directory: socket paths are limited to 108 bytes.
	tmp, err := os.MkdirTemp("", "berth-oci-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	pidFile := filepath.Join(tmp, "pid")
	var (
		sockPath string
		masterCh chan masterResult
		ln       *net.UnixListener
	)
	if stdio.Terminal {
		sockPath = filepath.Join(tmp, "console.sock")
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: sockPath, Net: "unix"})
		if err != nil {
			return nil, fmt.Errorf("listen for console: %w", err)
		}
		defer ln.Close()
		masterCh = make(chan masterResult, 1)
		go func() {
			c, err := ln.AcceptUnix()
			if err != nil {
				masterCh <- masterResult{err: fmt.Errorf("accept console connection: %w", err)}
				return
			}
			defer c.Close()
			f, err := console.Recv(c)
			masterCh <- masterResult{f, err}
		}()
	}
	passthrough := &stdio
	if stdio.Terminal {
		passthrough = nil
	}
	if err := r.run(ctx, passthrough, nil, args(pidFile, sockPath)...); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("read pid file: bad pid %q", data)
	}
	proc := newProcess(pid)
	defer func() {
		if retErr != nil {
			proc.kill()
		}
	}()
	if masterCh != nil {
		select {
		case m := <-masterCh:
			if m.err != nil {
				return nil, m.err
			}
			proc.console = m.f
		case <-time.After(consoleTimeout):
			_ = ln.Close()
			return nil, errors.New("receive console: runtime sent no pty master")
		}
	}
	return proc, nil
}

type masterResult struct {
	f   *os.File
	err error
}

// Signal sends sig to init, or with all to every process (`kill --all`).
func (r *Runtime) Signal(ctx context.Context, id string, sig syscall.Signal, all bool) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	args = append(args, id, strconv.Itoa(int(sig)))
	err := r.run(ctx, nil, nil, args...)
	if err == nil {
		if sig == unix.SIGKILL {
			// A v1 freezer holds SIGKILL until the cgroup thaws (libcontainer
			// thaws; crun 1.8.1 does not).
			if st, serr := r.State(ctx, id); serr == nil && st.Status == runtime.StatusPaused {
				if err := r.run(ctx, nil, nil, "resume", id); err != nil {
					return fmt.Errorf("signal container %s: thaw after SIGKILL: %w", id, err)
				}
			}
		}
		return nil
	}
	st, serr := r.State(ctx, id)
	switch {
	case errdefs.IsNotFound(serr):
		return serr
	case serr == nil && st.Status == runtime.StatusStopped:
		if all {
			return nil
		}
		return fmt.Errorf("signal container %s: %w: %w", id, errdefs.ErrConflict, err)
	}
	return fmt.Errorf("signal container %s: %w", id, err)
}

// Pause freezes the container.
func (r *Runtime) Pause(ctx context.Context, id string) error {
	return r.freeze(ctx, id, "pause", runtime.StatusRunning)
}

// Resume thaws the container.
func (r *Runtime) Resume(ctx context.Context, id string) error {
	return r.freeze(ctx, id, "resume", runtime.StatusPaused)
}

// freeze runs pause or resume on a container in status from; any other
// status is a conflict (checked first: crun resumes a running container
// without complaint).
func (r *Runtime) freeze(ctx context.Context, id, verb, from string) error {
	st, err := r.State(ctx, id)
	if err != nil {
		return err
	}
	if st.Status != from {
		return errdefs.New(errdefs.ErrConflict, "%s container %s: container is %s", verb, id, st.Status)
	}
	if err := r.run(ctx, nil, nil, verb, id); err != nil {
		return fmt.Errorf("%s container %s: %w", verb, id, err)
	}
	return nil
}

// ociState is what `state` prints.
type ociState struct {
	Status string `json:"status"`
	Pid    int    `json:"pid"`
	Bundle string `json:"bundle"`
}

// State runs `state`.
func (r *Runtime) State(ctx context.Context, id string) (runtime.State, error) {
	s, err := r.state(ctx, id)
	if err != nil {
		return runtime.State{}, err
	}
	var st runtime.State
	switch s.Status {
	case "creating", "created":
		st.Status = runtime.StatusCreated
	case "running":
		st.Status = runtime.StatusRunning
	case "pausing", "paused":
		st.Status = runtime.StatusPaused
	default:
		return runtime.State{Status: runtime.StatusStopped}, nil
	}
	st.Pid = s.Pid
	return st, nil
}

func (r *Runtime) state(ctx context.Context, id string) (*ociState, error) {
	if err := runtime.ValidateID(id); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := r.run(ctx, nil, &out, "state", id); err != nil {
		if !r.exists(id) {
			return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("read state of container %s: %w", id, err)
	}
	var s ociState
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return nil, fmt.Errorf("read state of container %s: decode: %w", id, err)
	}
	return &s, nil
}

// Stats runs `events --stats` where the runtime has it and reads the
// cgroup files otherwise; the OOM kill count always comes from the memory
// cgroup.
func (r *Runtime) Stats(ctx context.Context, id string) (*runtime.Stats, error) {
	s, err := r.state(ctx, id)
	if err != nil {
		return nil, err
	}
	dirs, err := r.cgroup(s)
	if err != nil {
		return nil, fmt.Errorf("read stats of container %s: %w", id, err)
	}
	// runc's events refuses stopped containers, whose cgroups (and OOM
	// count) live on until Delete.
	if !r.hasEvents(ctx) || s.Status == "stopped" {
		st, err := dirs.Read()
		if err != nil {
			return nil, fmt.Errorf("read stats of container %s: %w", id, err)
		}
		return st, nil
	}
	var out bytes.Buffer
	if err := r.run(ctx, nil, &out, "events", "--stats", id); err != nil {
		return nil, fmt.Errorf("read stats of container %s: %w", id, err)
	}
	var ev struct {
		Data struct {
			CPU struct {
				Usage struct {
					Total uint64 `json:"total"`
				} `json:"usage"`
			} `json:"cpu"`
			Memory struct {
				Usage struct {
					Limit uint64 `json:"limit"`
					Usage uint64 `json:"usage"`
					Max   uint64 `json:"max"`
				} `json:"usage"`
			} `json:"memory"`
			Pids struct {
				Current uint64 `json:"current"`
				Limit   uint64 `json:"limit"`
			} `json:"pids"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
		return nil, fmt.Errorf("read stats of container %s: decode events: %w", id, err)
	}
	d := ev.Data
	st := &runtime.Stats{
		CPUUsageNanos:  d.CPU.Usage.Total,
		MemoryUsage:    d.Memory.Usage.Usage,
		MemoryLimit:    d.Memory.Usage.Limit,
		MemoryMaxUsage: d.Memory.Usage.Max,
		PidsCurrent:    d.Pids.Current,
		PidsLimit:      d.Pids.Limit,
	}
	if st.MemoryLimit >= 1<<62 {
		st.MemoryLimit = 0
	}
	if st.PidsLimit >= 1<<62 {
		st.PidsLimit = 0
	}
	if st.OOMKilled, err = cgroupfs.OOMKilled(dirs.Memory); err != nil {
		return nil, fmt.Errorf("read stats of container %s: %w", id, err)
	}
	return st, nil
}

// OOMKilled reads the OOM kill count of the container's memory cgroup.
func (r *Runtime) OOMKilled(ctx context.Context, id string) (bool, error) {
	s, err := r.state(ctx, id)
	if err != nil {
		return false, err
	}
	dirs, err := r.cgroup(s)
	if err != nil {
		return false, fmt.Errorf("read OOM kills of container %s: %w", id, err)
	}
	oom, err := cgroupfs.OOMKilled(dirs.Memory)
	if err != nil {
		return false, fmt.Errorf("read OOM kills of container %s: %w", id, err)
	}
	return oom, nil
}

// cgroup finds the container's cgroup: the absolute cgroupsPath of its
// bundle's spec (it outlives init, so an OOM kill stays readable), else
// the cgroup of its running init.
func (r *Runtime) cgroup(s *ociState) (cgroupfs.Dirs, error) {
	if s.Bundle != "" {
		if spec, err := runtime.LoadSpec(s.Bundle); err == nil && spec.Linux != nil && filepath.IsAbs(spec.Linux.CgroupsPath) {
			return cgroupfs.ForPath(spec.Linux.CgroupsPath)
		}
	}
	if s.Pid > 0 {
		return cgroupfs.ForPID(s.Pid)
	}
	return cgroupfs.Dirs{}, fmt.Errorf("find cgroup: no absolute cgroups path and no running init: %w", errdefs.ErrNotImplemented)
}

// hasEvents reports whether the runtime has an events command (runc does,
// crun does not).
func (r *Runtime) hasEvents(ctx context.Context) bool {
	r.eventsOnce.Do(func() {
		r.events = exec.CommandContext(ctx, r.binary, "events", "--help").Run() == nil
	})
	return r.events
}

// Delete runs `delete [--force]`; an unknown id is not an error.
func (r *Runtime) Delete(ctx context.Context, id string, force bool) error {
	if err := runtime.ValidateID(id); err != nil {
		return err
	}
	if !r.exists(id) {
		return nil
	}
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	err := r.run(ctx, nil, nil, append(args, id)...)
	if err == nil || !r.exists(id) {
		return nil
	}
	if !force {
		if st, serr := r.State(ctx, id); serr == nil && st.Status != runtime.StatusStopped && st.Status != runtime.StatusCreated {
			return fmt.Errorf("delete container %s: %w: container is %s: %w", id, errdefs.ErrConflict, st.Status, err)
		}
	}
	return fmt.Errorf("delete container %s: %w", id, err)
}

// exists reports whether the runtime has a state directory for id (runc
// and crun keep <root>/<id>).
func (r *Runtime) exists(id string) bool {
	_, err := os.Stat(filepath.Join(r.root, id))
	return !errors.Is(err, fs.ErrNotExist)
}

// run runs the runtime with args. With stdio, the runtime's stdin, stdout
// and stderr are those files (nil: /dev/null), passed through to the
// container; otherwise stdout goes to out and stderr is kept for the error.
// A failure's error is the runtime's last error message, on one line.
func (r *Runtime) run(ctx context.Context, stdio *runtime.Stdio, out *bytes.Buffer, args ...string) error {
	logFile, err := os.CreateTemp("", "berth-oci-log-")
	if err != nil {
		return err
	}
	logPath := logFile.Name()
	_ = logFile.Close()
	defer os.Remove(logPath)

	full := append([]string{"--root", r.root, "--log", logPath, "--log-format", "json"}, args...)
	cmd := exec.CommandContext(ctx, r.binary, full...)
	cmd.WaitDelay = 5 * time.Second
	var stderr *os.File
	if stdio != nil {
		// Assign only non-nil files: a nil *os.File in an io.Reader is not
		// a nil interface.
		if stdio.Stdin != nil {
			cmd.Stdin = stdio.Stdin
		}
		if stdio.Stdout != nil {
			cmd.Stdout = stdio.Stdout
		}
		if stdio.Stderr != nil {
			cmd.Stderr = stdio.Stderr
		}
	} else {
		// A file, not a pipe: a process the runtime leaves behind may hold
		// it, and a pipe would keep Wait waiting.
		if stderr, err = os.CreateTemp("", "berth-oci-stderr-"); err != nil {
			return err
		}
		defer os.Remove(stderr.Name())
		defer stderr.Close()
		cmd.Stderr = stderr
		if out != nil {
			cmd.Stdout = out
		}
	}
	runErr := cmd.Run()
	if runErr == nil {
		return nil
	}
	msg := logError(logPath)
	if msg == "" && stderr != nil {
		msg = lastLine(stderr.Name())
	}
	if msg == "" {
		msg = runErr.Error()
	}
	if !strings.HasPrefix(msg, r.name+" ") { // runc says "runc create failed: ..."
		msg = r.name + " " + args[0] + ": " + msg
	}
	return errors.New(msg)
}

// logError returns the last error message of a runtime's JSON log.
func logError(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var msg string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && (e.Level == "error" || e.Level == "fatal") && e.Msg != "" {
			msg = e.Msg
		}
	}
	return oneLine(msg)
}

// lastLine returns the last non-empty line of a file.
func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return oneLine(lines[len(lines)-1])
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
