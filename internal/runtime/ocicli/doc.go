// Package ocicli runs containers with an OCI runtime binary (runc, crun or
// any runtime with runc's command line), calling it with --root <stateRoot>.
//
// Layer 6, an implementation of runtime.Runtime. It does not import runc.
//
// Start is `create --bundle B --pid-file F [--console-socket S] ID` then
// `start ID`. To stay the parent of the container's init, the caller makes
// itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER) first: when
// `create` exits, init is reparented to the caller, which waits for it with
// wait4. Exec is `exec --process P --pid-file F --detach` the same way.
// Without a terminal the caller's files are the runtime's own stdio, which
// the runtime passes through to the container. With a terminal the runtime
// connects to a unix socket the caller listens on and sends the pty master
// (SCM_RIGHTS).
//
// Errors carry the runtime's own message, taken from its JSON log (--log
// --log-format json) or its stderr, on one line.
//
// Runtime quirks seen with Debian 12's binaries: crun 1.8.1 rejects an
// ociVersion above 1.1.x ("unknown version specified") and refuses every
// container on a hybrid cgroup layout whose v2 part has controllers
// (/sys/fs/cgroup/unified/cgroup.controllers not empty); it has no `events`
// command, so Stats reads the cgroup files. runc 1.1.5's `events` refuses
// stopped containers, so Stats reads the cgroup files for those too.
//
// The subreaper setting is process-wide and permanent: every orphaned
// descendant of the caller becomes its child, and the caller must reap what
// it does not Wait for.
package ocicli
