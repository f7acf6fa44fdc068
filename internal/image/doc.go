// Package image is berth's image service: pull, the image records and the
// name→image references, tag, remove, prune, history and inspect.
//
// Layer 5.
//
//	<root>/image/.lock                  store lock: records and references
//	<root>/image/images/<config-hex>.json  one record per image (Image)
//	<root>/image/repositories.json      references, in Docker's format:
//	    {"Repositories": {"docker.io/library/busybox": {
//	        "docker.io/library/busybox:latest": "sha256:<config>",
//	        "docker.io/library/busybox@sha256:<manifest>": "sha256:<config>"}}}
//	<root>/gc.lock                      pulls hold it shared while their layers
//	                                    are not yet referenced by a record;
//	                                    removal takes it exclusive
//
// An image's ID is the digest of its config, as in Docker. Its manifest,
// config (and index, if it came from one) live in the content store; its
// layers in the layer store. A record is written only after every layer is
// committed, and a reference only after the record: a pull killed at any
// moment leaves no visible half image.
package image
