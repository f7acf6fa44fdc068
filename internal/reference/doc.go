// Package reference parses image references exactly as Docker normalises
// them, by wrapping github.com/distribution/reference (the only importer of
// that module in berth), and explains invalid input in one line.
//
// Layer 1: pure, no I/O.
//
//	busybox                          docker.io/library/busybox:latest
//	index.docker.io/busybox          docker.io/library/busybox:latest
//	localhost:5000/team/app:1.2      localhost:5000/team/app:1.2
//	[::1]:5000/app@sha256:…          [::1]:5000/app@sha256:…
//	busybox:1.36@sha256:…            docker.io/library/busybox@sha256:… (Docker drops the tag)
package reference
