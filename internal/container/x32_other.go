//go:build !amd64

package container

// x32ABI reports whether the kernel runs x32 system calls: only amd64
// kernels can.
func x32ABI() bool { return false }
