package mountspec

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"berth.dev/berth/internal/errdefs"
)

// Type is the kind of a mount.
type Type string

// The mount types berth supports.
const (
	TypeBind   Type = "bind"
	TypeVolume Type = "volume"
	TypeTmpfs  Type = "tmpfs"
)

// Mount is Docker's mount.Mount (the JSON of HostConfig.Mounts), with the
// JSON field names Docker uses, so that it can be stored in a container
// record as it is.
type Mount struct {
	Type Type `json:"Type,omitempty"`
	// Source is the host path of a bind, the name of a volume ("" for an
	// anonymous volume) and empty for a tmpfs.
	Source string `json:"Source,omitempty"`
	// Target is the absolute path in the container; the parsers clean it.
	Target   string `json:"Target,omitempty"`
	ReadOnly bool   `json:"ReadOnly,omitempty"`

	BindOptions   *BindOptions   `json:"BindOptions,omitempty"`
	VolumeOptions *VolumeOptions `json:"VolumeOptions,omitempty"`
	TmpfsOptions  *TmpfsOptions  `json:"TmpfsOptions,omitempty"`
}

// BindOptions are the options of a bind mount.
type BindOptions struct {
	// Propagation is the mount propagation; "" means the default, rprivate.
	Propagation  Propagation `json:"Propagation,omitempty"`
	NonRecursive bool        `json:"NonRecursive,omitempty"`
	// CreateMountpoint asks for the host source directory to be created if
	// it is missing. It is true for -v binds (Docker creates a missing -v
	// source) and false for --mount binds (a missing source is an error).
	CreateMountpoint bool `json:"CreateMountpoint,omitempty"`
}

// Propagation is the propagation mode of a bind mount.
type Propagation string

// The propagation modes, as in Docker's mount.Propagations.
const (
	PropagationRPrivate Propagation = "rprivate"
	PropagationPrivate  Propagation = "private"
	PropagationRShared  Propagation = "rshared"
	PropagationShared   Propagation = "shared"
	PropagationRSlave   Propagation = "rslave"
	PropagationSlave    Propagation = "slave"
)

// OCIOption returns the OCI runtime-spec mount option for p: p itself, or
// "rprivate" (Docker's default on Linux) when p is empty.
func (p Propagation) OCIOption() string {
	if p == "" {
		return string(PropagationRPrivate)
	}
	return string(p)
}

func (p Propagation) valid() bool {
	switch p {
	case PropagationRPrivate, PropagationPrivate, PropagationRShared,
		PropagationShared, PropagationRSlave, PropagationSlave:
		return true
	}
	return false
}

// VolumeOptions are the options of a volume mount.
type VolumeOptions struct {
	NoCopy       bool              `json:"NoCopy,omitempty"`
	Labels       map[string]string `json:"Labels,omitempty"`
	DriverConfig *Driver           `json:"DriverConfig,omitempty"`
	// Subpath is a relative path inside the volume to mount instead of its
	// root.
	Subpath string `json:"Subpath,omitempty"`
}

// Driver names the volume driver of a volume mount and its options.
type Driver struct {
	Name    string            `json:"Name,omitempty"`
	Options map[string]string `json:"Options,omitempty"`
}

// TmpfsOptions are the options of a tmpfs mount.
type TmpfsOptions struct {
	SizeBytes int64       `json:"SizeBytes,omitempty"`
	Mode      os.FileMode `json:"Mode,omitempty"`
	// Options are the other mount options, as given ("noexec", "nosuid",
	// "uid=1000", …), in order. Size and mode are never here, except a
	// percentage size ("size=50%"), which has no byte count.
	Options []string `json:"Options,omitempty"`
}

func invalid(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalidArgument, format, args...)
}

// Validate reports whether m is a mount Docker would accept: a known type,
// an absolute target other than "/", and the options of its own type only.
// It checks mounts built by the parsers of this package and mounts read back
// from a record alike. It does not look at the host.
func (m Mount) Validate() error {
	if err := m.check(); err != nil {
		return invalid("invalid mount config for type %q: %s", m.Type, err)
	}
	return m.checkVolumeName()
}

var errTargetIsRoot = errors.New("invalid specification: destination can't be '/'")

func errNotAbsolute(p string) error {
	return fmt.Errorf("invalid mount path: '%s' mount path must be absolute", p)
}

// check is moby's validateMountConfig for Linux, without the host lookups.
// Its errors are completed by the caller with "invalid mount config for
// type …".
func (m Mount) check() error {
	if m.Target == "" {
		return errors.New("field Target must not be empty")
	}
	if path.Clean(m.Target) == "/" {
		return errTargetIsRoot
	}
	if !path.IsAbs(m.Target) {
		return errNotAbsolute(m.Target)
	}
	switch m.Type {
	case TypeBind:
		if m.Source == "" {
			return errors.New("field Source must not be empty")
		}
		if o := m.BindOptions; o != nil && o.Propagation != "" && !o.Propagation.valid() {
			return fmt.Errorf("invalid propagation mode: %s", o.Propagation)
		}
		if err := extraOptions(m.VolumeOptions != nil, "VolumeOptions", m.TmpfsOptions != nil, "TmpfsOptions"); err != nil {
			return err
		}
		if !path.IsAbs(m.Source) {
			return errNotAbsolute(m.Source)
		}
	case TypeVolume:
		if err := extraOptions(m.BindOptions != nil, "BindOptions", m.TmpfsOptions != nil, "TmpfsOptions"); err != nil {
			return err
		}
		anonymous := m.Source == ""
		if o := m.VolumeOptions; o != nil && o.Subpath != "" {
			if anonymous {
				return errors.New("must not set Subpath when using anonymous volumes")
			}
			if !filepath.IsLocal(o.Subpath) {
				return errors.New("subpath must be a relative path within the volume")
			}
		}
		if m.ReadOnly && anonymous {
			return errors.New("must not set ReadOnly mode when using anonymous volumes")
		}
	case TypeTmpfs:
		if err := extraOptions(m.BindOptions != nil, "BindOptions", m.VolumeOptions != nil, "VolumeOptions"); err != nil {
			return err
		}
		if m.Source != "" {
			return errors.New("field Source must not be specified")
		}
		if o := m.TmpfsOptions; o != nil {
			if o.SizeBytes < 0 {
				return fmt.Errorf("invalid tmpfs size: %d", o.SizeBytes)
			}
			if o.Mode&^0o7777 != 0 {
				return fmt.Errorf("invalid tmpfs mode: %o", uint32(o.Mode))
			}
			for _, opt := range o.Options {
				if !storedTmpfsOption(opt) {
					return fmt.Errorf("invalid tmpfs option %q", opt)
				}
			}
		}
	default:
		return errors.New("mount type unknown")
	}
	return nil
}

// extraOptions refuses options that belong to another mount type.
func extraOptions(set1 bool, name1 string, set2 bool, name2 string) error {
	if set1 {
		return fmt.Errorf("field %s must not be specified", name1)
	}
	if set2 {
		return fmt.Errorf("field %s must not be specified", name2)
	}
	return nil
}

// volumeNameRE is the local volume driver's name rule.
var volumeNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

const restrictedNameChars = `[a-zA-Z0-9][a-zA-Z0-9_.-]`

// checkVolumeName applies the local driver's name rule to a named volume
// that the local driver would create. Other drivers choose their own names.
func (m Mount) checkVolumeName() error {
	if m.Type != TypeVolume || m.Source == "" {
		return nil
	}
	if o := m.VolumeOptions; o != nil && o.DriverConfig != nil && o.DriverConfig.Name != "" && o.DriverConfig.Name != "local" {
		return nil
	}
	name := m.Source
	if len(name) == 1 {
		return invalid("create %s: volume name is too short, names should be at least two alphanumeric characters", name)
	}
	if !volumeNameRE.MatchString(name) {
		return invalid("create %s: %q includes invalid characters for a local volume name, only %q are allowed. If you intended to pass a host directory, use absolute path", name, name, restrictedNameChars)
	}
	return nil
}

// CheckDuplicates refuses two mounts on the same target, as Docker does
// when it registers a container's mount points.
func CheckDuplicates(ms []Mount) error {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		t := path.Clean(m.Target)
		if seen[t] {
			return invalid("Duplicate mount point: %s", t)
		}
		seen[t] = true
	}
	return nil
}

// tmpfsFlags are the mount flags Docker accepts among --tmpfs options
// (moby/sys/mount's flag table).
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "suid": true, "nosuid": true, "dev": true, "nodev": true,
	"exec": true, "noexec": true, "sync": true, "async": true, "dirsync": true,
	"remount": true, "mand": true, "nomand": true, "atime": true, "noatime": true,
	"diratime": true, "nodiratime": true, "bind": true, "rbind": true,
	"unbindable": true, "runbindable": true, "private": true, "rprivate": true,
	"shared": true, "rshared": true, "slave": true, "rslave": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true,
}

// tmpfsData are the key=value options Docker passes to tmpfs.
var tmpfsData = map[string]bool{
	"size": true, "mode": true, "uid": true, "gid": true,
	"nr_inodes": true, "nr_blocks": true, "mpol": true,
}

// storedTmpfsOption reports whether opt may appear in TmpfsOptions.Options:
// a known flag or data option, but not what has a field of its own.
func storedTmpfsOption(opt string) bool {
	if opt == "ro" || opt == "rw" {
		return false // ReadOnly
	}
	if tmpfsFlags[opt] {
		return true
	}
	k, v, ok := strings.Cut(opt, "=")
	switch {
	case !ok || v == "" || !tmpfsData[k] || k == "mode":
		return false
	case k == "size":
		return percentSize(v)
	}
	return true
}

// percentSize reports whether v is a tmpfs size given as a percentage of
// RAM ("50%"), which the kernel accepts and which has no byte count.
func percentSize(v string) bool {
	n, ok := strings.CutSuffix(v, "%")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}
