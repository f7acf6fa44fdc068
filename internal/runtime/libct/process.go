package libct

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"

	"berth.dev/berth/internal/runtime"
)

// process is a libcontainer process of which the caller is the parent.
type process struct {
	lp      *libcontainer.Process
	pid     int
	console *os.File

	once sync.Once // guards the wait; code and err are set inside it
	code int
	err  error
}

// process implements runtime.Process.
var _ runtime.Process = (*process)(nil)

func (p *process) Pid() int          { return p.pid }
func (p *process) Console() *os.File { return p.console }

func (p *process) Signal(sig syscall.Signal) error {
	if err := p.lp.Signal(sig); err != nil {
		return fmt.Errorf("signal process %d: %w", p.pid, err)
	}
	return nil
}

func (p *process) Wait() (int, error) {
	p.once.Do(func() {
		state, err := p.lp.Wait()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) || state == nil {
			p.code, p.err = -1, fmt.Errorf("wait for process %d: %w", p.pid, err)
			return
		}
		p.code = runtime.ExitCode(state.Sys().(syscall.WaitStatus))
	})
	return p.code, p.err
}
