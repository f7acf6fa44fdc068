// Package mountspec parses the mount flags of docker run (-v/--volume,
// --mount, --tmpfs, --volumes-from) into one normalised [Mount], the way
// Docker does on Linux: docker/cli's opts for the --mount syntax and moby's
// volume/mounts Linux parser and local volume driver for everything else.
//
// Layer 20: pure; it imports only errdefs. It reads no file and makes no
// system call: whether a bind source exists is decided later, by whoever
// mounts it ([BindOptions] CreateMountpoint says what to do then).
//
// Errors are of kind [errdefs.ErrInvalidArgument] and carry Docker's wording:
//
//	-v x/y:/data        create x/y: "x/y" includes invalid characters for a local volume name, …
//	-v /a:/b:foo        invalid mode: foo
//	-v /:/              invalid volume specification: '/:/': invalid mount config for type "bind": invalid specification: destination can't be '/'
//	--mount type=tmpfs,src=x,dst=/t
//	                    invalid mount config for type "tmpfs": field Source must not be specified
//
// A [Mount] is Docker's mount.Mount (HostConfig.Mounts) with the same JSON
// field names, so a container record can store it as it is; [Mount.Validate]
// checks one read back from such a record.
package mountspec
