// Package archive unpacks image layers. [Apply] turns a layer's uncompressed
// tar stream into a directory that can be used as an overlayfs lower dir as
// it is: OCI/Docker whiteouts become overlayfs whiteouts (a 0/0 character
// device for ".wh.NAME", the trusted.overlay.opaque=y xattr for
// ".wh..wh..opq"), and ownership, modes, xattrs, times and device numbers
// are kept.
//
// Layer 3: it imports errdefs and golang.org/x/sys. Apply never writes
// outside the directory it is given: every entry's parent is resolved
// through an [os.Root], and the entry itself is made with *at system calls
// on that parent, so neither a ".." in a name nor a symlink in the layer can
// lead out of it. An entry Apply refuses is reported as an [*EntryError]
// naming it.
//
// The other direction: [Diff] writes an overlayfs upper dir as a layer
// (docker commit), [Changes] lists it as docker diff does, and [Tar]
// archives a plain tree (docker export, docker cp); they open every entry
// relative to its parent's fd and never follow a symlink (Linux only, like
// Apply).
//
// Apply does not fsync; the caller syncs the filesystem before it records a
// layer as unpacked. The OS-specific code is in apply_linux.go; elsewhere
// Apply returns errdefs.ErrNotImplemented.
package archive
