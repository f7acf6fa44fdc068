// Package atomicfile writes files so that readers see the old content or the
// new, never a mix: temp file in the same directory, fsync, rename, fsync of
// the directory.
//
// Layer 0.
package atomicfile
