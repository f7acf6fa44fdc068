package runtime

import "syscall"

// ExitCode maps a wait status to Docker's exit code: the exit status, or
// 128+N for a process killed by signal N. It is -1 for a status that is
// neither (stopped, continued).
func ExitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return -1
}
