package runtime

import (
	"context"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container statuses reported by [Runtime.State], as the OCI runtime spec
// names them.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusPaused  = "paused"
	StatusStopped = "stopped"
)

// Stdio is the standard I/O of a container process.
//
// Without a terminal, Stdin, Stdout and Stderr are handed to the process as
// they are (no copying goroutine); nil means /dev/null. The process holds
// its own copies once Start or Exec returns, so the caller closes its copies
// of the container's ends (the read end of a stdin pipe, the write ends of
// output pipes) then, or it never sees EOF.
//
// With Terminal, the process gets a new pseudo-terminal as its stdio and
// [Process.Console] returns the master; Stdin, Stdout and Stderr must be nil.
// Terminal must agree with the process spec's Terminal field.
type Stdio struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
	Terminal       bool
}

// Process is a process started in a container by [Runtime.Start] or
// [Runtime.Exec].
type Process interface {
	// Pid is the process ID in the caller's PID namespace.
	Pid() int
	// Wait blocks until the process exits and returns its exit code:
	// the exit status, or 128+N when signal N killed it (Docker's
	// convention). Only the OS process that started it can wait for it.
	// Wait may be called more than once and from several goroutines; all
	// get the same answer.
	Wait() (exitCode int, err error)
	// Console is the master of the process's pseudo-terminal, nil unless
	// it was started with Stdio.Terminal. The caller owns it: it reads
	// the output until EIO (which comes after the process and all holders
	// of the slave are gone), resizes it with unix.IoctlSetWinsize, and
	// closes it.
	Console() *os.File
	// Signal sends sig to the process. It fails once the process has been
	// waited for.
	Signal(sig syscall.Signal) error
}

// State is a container's status and init PID.
type State struct {
	Status string // StatusCreated, StatusRunning, StatusPaused or StatusStopped
	Pid    int    // init's PID in the caller's PID namespace; 0 when stopped
}

// Stats are a container's cgroup figures, for `berth stats`.
type Stats struct {
	CPUUsageNanos  uint64 // total CPU time used
	MemoryUsage    uint64 // bytes
	MemoryLimit    uint64 // bytes; 0 when unlimited
	MemoryMaxUsage uint64 // bytes; peak usage, 0 where the kernel does not report it
	PidsCurrent    uint64
	PidsLimit      uint64 // 0 when unlimited
	// OOMKilled says the kernel's OOM killer killed a process in the
	// container's memory cgroup (v1 memory.oom_control or v2 memory.events
	// oom_kill). It is readable after the container exits, until Delete.
	OOMKilled bool
}

// Runtime runs OCI bundles as containers. Container state lives on disk
// under the runtime's state root, so any berth process can address a
// container by ID; only the process that called Start is init's parent.
type Runtime interface {
	// Name is the runtime's name ("libct", "runc", "crun").
	Name() string
	// Start creates and starts container id from the bundle directory
	// (config.json and the rootfs it names) and returns its init process
	// once the user's program has been executed. The caller becomes the
	// parent of init, so it can Wait for it. A container ID already in
	// use is errdefs.ErrConflict.
	Start(ctx context.Context, id, bundle string, stdio Stdio) (Process, error)
	// Exec runs an additional process in running container id. The caller
	// becomes its parent.
	Exec(ctx context.Context, id string, p *specs.Process, stdio Stdio) (Process, error)
	// Signal sends sig to the container's init (all=false) or to every
	// process in it (all=true). Signalling a stopped container is
	// errdefs.ErrConflict, except with all, which makes it a no-op.
	Signal(ctx context.Context, id string, sig syscall.Signal, all bool) error
	// Pause freezes every process of the container (cgroup freezer).
	Pause(ctx context.Context, id string) error
	// Resume thaws a paused container.
	Resume(ctx context.Context, id string) error
	// State returns the container's status; errdefs.ErrNotFound for an
	// unknown id.
	State(ctx context.Context, id string) (State, error)
	// Stats reads the container's cgroup figures.
	Stats(ctx context.Context, id string) (*Stats, error)
	// OOMKilled reports whether the kernel's OOM killer killed a process
	// of the container: Stats' OOMKilled without the other figures. Like
	// Stats it works after the exit, until Delete.
	OOMKilled(ctx context.Context, id string) (bool, error)
	// Delete removes the container's runtime state and cgroups. With
	// force it kills a running or paused container first; without it, a
	// running or paused container is errdefs.ErrConflict. Deleting an
	// unknown id succeeds. A killed init stays a zombie until its parent
	// waits for it.
	Delete(ctx context.Context, id string, force bool) error
}
