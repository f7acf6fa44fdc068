// Package libct runs containers with runc's libcontainer embedded in the
// berth binary. It is the only berth package that imports runc.
//
// Layer 6, an implementation of runtime.Runtime.
//
// It follows runc's own command code: specconv turns the bundle's spec into
// a libcontainer config (cgroupfs manager, never systemd), Start is
// `runc run -d` (libcontainer.Create then Container.Run), Exec is `runc exec
// -d`, Delete is `runc delete`. Container state is libcontainer's: one
// directory per container (state.json, exec fifo) under the state root.
//
// # Re-executing berth as init
//
// libcontainer starts a container by re-executing the current binary
// (/proc/self/exe) with the single argument "init", after the cgo
// constructor of runc's nsenter package (linked in by this package) has set
// up namespaces. The berth binary's main package must therefore hand that
// case to [Init] before anything else looks at the arguments:
//
//	func init() {
//		if len(os.Args) > 1 && os.Args[1] == "init" {
//			libct.Init() // never returns
//		}
//	}
//
// Tests that start containers do the same in their test binary.
//
// # The caller
//
// The process that calls Start is the parent of the container's init (runc
// clones it with CLONE_PARENT) and is the only one that can Wait for it; it
// must not reap children with wait4(-1) or ignore SIGCHLD. Starting a
// process marks every descriptor of the calling process above 2
// close-on-exec (runc's guard against leaking descriptors into containers).
// libcontainer logs warnings through logrus's standard logger (stderr by
// default).
package libct
