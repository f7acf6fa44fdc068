// Package oci turns an image config and `docker run` options into an OCI
// runtime spec ([Generate]) with Docker's semantics: the same default
// capabilities, mounts, masked and read-only paths, device allowlist,
// seccomp profile, resource limits and process environment that Docker
// 20.10–27 gives a container (moby's daemon/oci_linux.go, oci/defaults.go,
// oci/caps and daemon/create.go).
//
// Layer 5. It imports errdefs, runtime-spec, image-spec,
// moby/profiles/seccomp and golang.org/x/sys only.
//
// The package is pure: it reads no files and makes no system calls of its
// own. Everything it needs comes in as arguments: the image's /etc/passwd
// and /etc/group already parsed ([ParsePasswd], [ParseGroup]), the content
// of a custom seccomp profile, and a callback for facts about host devices.
// The one exception is inside moby/profiles/seccomp, which asks the kernel
// for its version to pick rules of the default profile; elsewhere than
// Linux that profile is not available and a spec gets no seccomp filter
// unless a custom profile is given, which is an error there.
//
// Where berth departs from Docker (or goes past it), the reason is next to
// the code.
package oci
