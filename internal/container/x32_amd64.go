package container

import (
	"sync"
	"syscall"
)

// x32ABI reports whether the kernel runs x32 system calls (CONFIG_X86_X32_ABI,
// off in most distribution kernels): it makes getpid through the x32 entry
// and sees whether the kernel answers ENOSYS.
var x32ABI = sync.OnceValue(func() bool {
	const x32SyscallBit = 0x40000000
	_, _, errno := syscall.RawSyscall(x32SyscallBit|syscall.SYS_GETPID, 0, 0, 0)
	return errno != syscall.ENOSYS
})
