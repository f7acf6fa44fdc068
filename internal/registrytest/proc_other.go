//go:build !linux

package registrytest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: there the registry
// relies on Stop (t.Cleanup) alone.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
