package archive

// DiffOptions configures [Diff].
type DiffOptions struct {
	// Exclude are paths (absolute in the container, e.g. "/data") whose
	// entries are left out with everything under them: a container's volume
	// and bind-mount targets. The excluded directory itself is left out too.
	Exclude []string
}

// TarOptions configures [Tar].
type TarOptions struct {
	// Name is the name of dir's own entry in the archive: "" means the
	// entries are relative to dir and dir itself is not included (docker
	// export); "foo" means dir is archived as "foo/…" (docker cp ctr:/x/foo -).
	// It must be a relative path without "..".
	Name string
	// Exclude as in DiffOptions, relative to dir: "/proc" means dir/proc.
	Exclude []string
	// NoOwnership writes uid and gid 0 on every entry; by default the real
	// ids are kept.
	NoOwnership bool
}
