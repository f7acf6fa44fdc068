package registrytest

import "syscall"

// sysProcAttr makes the kernel kill the registry if the test process dies
// without running its cleanups (panic, timeout, SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
