// Package imagetest is test support for code that pulls, stores and unpacks
// images: it builds real Docker schema 2 and OCI images offline, with
// go-containerregistry, from the host's statically linked /bin/busybox plus
// generated files, and pushes them to a registry (usually one started by
// internal/registrytest).
//
// Layer 50, beside internal/image; only tests, benchmarks and hack/mkimage
// import it. It is one of the packages allowed to use go-containerregistry
// (test/arch testOwners), to build fixtures.
//
// Everything is deterministic: tar entries carry fixed modification times
// (2024-01-01T00:00:00Z unless an [Entry] says otherwise), configs a fixed
// creation time, and "random" content comes from ChaCha8 with fixed seeds,
// so the same call gives the same digests on every run and machine that has
// the same /bin/busybox.
//
// The fixtures:
//
//	Busybox        one busybox layer, Cmd ["sh"], Docker schema 2
//	BusyboxIndex   Docker manifest list: linux/amd64, linux/arm/v7, linux/arm64
//	MultiLayer     busybox plus three layers with links, whiteouts, an opaque
//	               directory, setuid and non-root files (see MultiLayer)
//	Big            busybox plus ~N MiB of random and small files, for benchmarks
package imagetest
