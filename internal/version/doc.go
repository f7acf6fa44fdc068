// Package version holds berth's version, set at build time with
//
//	go build -ldflags "-X berth.dev/berth/internal/version.Version=… -X berth.dev/berth/internal/version.Commit=…"
//
// Layer 0.
package version
