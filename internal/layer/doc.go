// Package layer keeps unpacked image layers, ready to be overlayfs lower
// directories, keyed by chain ID and shared by every image that has them.
//
// Layer 4.
//
//	<root>/layers/.lock                 store lock: allocation, index, removal
//	<root>/layers/next                  next short ID
//	<root>/layers/<id>/diff/            the unpacked layer (overlay whiteout form)
//	<root>/layers/<id>/layer.json       its record (Layer)
//	<root>/layers/<id>/tar-split.json.gz  tar headers and padding: with diff/ it
//	                                    reproduces the original tar stream (push)
//	<root>/layers/index/<chain-hex>     "<id>": the layer with that chain ID
//	<root>/layers/locks/<chain-hex>     per-chain ingest lock, held while one
//	                                    process downloads and unpacks it
//	<root>/tmp/layer-<pid>-*/           staging: a layer being unpacked by process pid
//
// IDs are short numbers because overlay mount options must fit in a page.
// A layer is unpacked into a staging directory, verified, then renamed into
// place and indexed under the store lock: a crash at any moment leaves at
// worst a staging directory or an unindexed layer directory, which Sweep
// removes; never a visible, half-written layer. Two processes pulling the
// same layer serialise on its ingest lock, so it is unpacked once.
package layer
