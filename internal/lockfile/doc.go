// Package lockfile provides cross-process locks on files with flock(2):
// exclusive and shared, blocking (cancellable through a context) or try-only.
// The kernel drops a lock when its holder dies, so a killed berth never
// leaves a store locked.
//
// Layer 0.
package lockfile
