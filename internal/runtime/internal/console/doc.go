// Package console receives a pseudo-terminal master that an OCI runtime
// sends over a unix socket (the --console-socket protocol: one SCM_RIGHTS
// message whose payload is the file's name).
//
// Layer 6, internal to package runtime's implementations. It is written
// against golang.org/x/sys/unix rather than runc's cmsg helpers, which are
// internal to runc (the exported utils.RecvFile is deprecated and goes away
// in runc 1.6), so that ocicli stays free of runc.
package console
