// Package content is berth's content-addressed blob store: manifests,
// indexes and image configs, each stored under its digest after the digest
// and size were verified.
//
// Layer 3.
//
//	<root>/blobs/sha256/<hex>
//
// A blob is written to a temporary file beside its final path, verified,
// fsynced and renamed into place, so a reader (or a crash) never sees a
// partial or unverified blob. Putting a blob that exists is a no-op.
// Compressed layers are not kept: they are unpacked as they stream in
// (see package layer), as Docker does.
package content
