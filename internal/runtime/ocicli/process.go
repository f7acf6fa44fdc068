package ocicli

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/runtime"
)

// process is a container process adopted by the caller (a subreaper). A
// pidfd, opened while it cannot yet have been reaped, makes Signal safe
// from PID reuse.
type process struct {
	pid     int
	console *os.File

	mu     sync.Mutex // guards pidfd and reaped
	pidfd  int        // -1 when pidfd_open is unavailable
	reaped bool

	once sync.Once // guards the wait; code and err are set inside it
	code int
	err  error
}

// process implements runtime.Process.
var _ runtime.Process = (*process)(nil)

func newProcess(pid int) *process {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		fd = -1
	}
	return &process{pid: pid, pidfd: fd}
}

func (p *process) Pid() int          { return p.pid }
func (p *process) Console() *os.File { return p.console }

func (p *process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return fmt.Errorf("signal process %d: %w", p.pid, os.ErrProcessDone)
	}
	var err error
	if p.pidfd >= 0 {
		err = unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
	} else {
		err = unix.Kill(p.pid, sig)
	}
	if err != nil {
		return fmt.Errorf("signal process %d: %w", p.pid, err)
	}
	return nil
}

func (p *process) Wait() (int, error) {
	p.once.Do(func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(p.pid, &ws, 0, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.ECHILD) {
				p.code, p.err = -1, fmt.Errorf("wait for process %d: not a child of this process (only the process that started it can wait): %w", p.pid, err)
				return
			}
			if err != nil {
				p.code, p.err = -1, fmt.Errorf("wait for process %d: %w", p.pid, err)
				return
			}
			break
		}
		p.code = runtime.ExitCode(syscall.WaitStatus(ws))
		p.mu.Lock()
		p.reaped = true
		if p.pidfd >= 0 {
			_ = unix.Close(p.pidfd)
			p.pidfd = -1
		}
		p.mu.Unlock()
	})
	return p.code, p.err
}

// kill kills and reaps the process after a failed start.
func (p *process) kill() {
	_ = p.Signal(unix.SIGKILL)
	_, _ = p.Wait()
	if p.console != nil {
		_ = p.console.Close()
	}
}
