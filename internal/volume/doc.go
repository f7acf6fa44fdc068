// Package volume is berth's named-volume store: Docker's "local" volume
// driver.
//
// Layer 60. It imports errdefs, atomicfile, lockfile and golang.org/x/sys.
//
//	<root>/.lock                     store lock (flock): creation, removal, mounting, sweeping
//	<root>/<name>/volume.json        the record (Volume), written once, before the rename below
//	<root>/<name>/_data/             the volume's data: what containers bind-mount
//	<root>/<name>/populate.lock      held (flock) while Populate copies into _data
//	<root>/<name>/populating         marker: a copy-up into _data is under way or was cut short
//	<root>/.<name>.creating/         a volume being created (staging)
//	<root>/.<name>.removing/         a volume being removed
//
// berth passes <berth root>/volumes as root. Volume names match Docker's
// ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$, so a name never starts with a dot and the
// staging and trash names, which do, never collide with a volume (a volume
// may well be called "x.creating").
//
// Creation builds .<name>.creating (with _data and volume.json) and renames
// it to <name> under the store lock; removal unmounts whatever is mounted
// below <name>, renames it to .<name>.removing and deletes that. A process
// killed at any moment leaves either a complete volume or a dot-directory
// that is never listed and that Sweep removes. A directory is a volume only
// if its record names it.
//
// A volume created with Options (Docker's `-o type=…,device=…,o=…`) is
// mounted on its _data by Mount, once: Mount is idempotent, and the mount
// stays until Remove. Populate is Docker's copy-up of an image directory
// into an empty volume; it never follows a symlink, on either side.
package volume
