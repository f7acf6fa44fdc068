// Package runtimetest is test support for runtime.Runtime implementations:
// OCI bundles built in a test's temporary directory from the host's static
// /bin/busybox, and [Suite], the conformance suite every implementation
// runs (libct, ocicli with runc, ocicli with crun).
//
// Layer 6, beside package runtime; only tests import it. The suite needs
// root and a real kernel: it starts containers, so it skips when not root.
// Every container's cgroups go under /berth-test/<unique> in each
// hierarchy, and test cleanups remove them, the containers' state and any
// process left behind, even when a test fails.
package runtimetest
