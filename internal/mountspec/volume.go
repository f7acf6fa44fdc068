package mountspec

import (
	"path"
	"strings"
)

// ParseVolume parses the -v/--volume syntax of docker run on Linux,
// [SOURCE:]TARGET[:MODE], as moby's Linux parser does:
//
//   - an absolute SOURCE is a bind, created on the host if missing;
//   - another SOURCE is a volume name, checked by the local driver's rule
//     (so "./x" and "x/y" are refused, as by the daemon);
//   - no SOURCE is an anonymous volume;
//   - MODE is a comma-separated list of at most one of each of ro|rw,
//     z|Z, nocopy (volumes), a propagation (binds) and
//     consistent|cached|delegated. Labels and consistency are accepted and
//     ignored.
//
// The target is returned cleaned.
func ParseVolume(spec string) (Mount, error) {
	arr := strings.SplitN(spec, ":", 4)
	if arr[0] == "" {
		return Mount{}, errInvalidSpec(spec)
	}
	var m Mount
	var mode string
	switch len(arr) {
	case 1:
		m.Target = arr[0]
	case 2:
		if _, ok := parseMode(arr[1]); ok {
			// TARGET:MODE is not a volume: "/foo:rw".
			return Mount{}, errInvalidSpec(spec)
		}
		m.Source, m.Target = arr[0], arr[1]
	case 3:
		m.Source, m.Target, mode = arr[0], arr[1], arr[2]
	default:
		return Mount{}, errInvalidSpec(spec)
	}

	md, ok := parseMode(mode)
	if !ok {
		return Mount{}, invalid("invalid mode: %s", mode)
	}
	if path.IsAbs(m.Source) {
		m.Type = TypeBind
		m.Source = path.Clean(m.Source)
		m.BindOptions = &BindOptions{CreateMountpoint: true}
	} else {
		m.Type = TypeVolume
	}
	m.ReadOnly = md.readOnly
	if md.noCopy {
		// On a bind, Validate refuses this, as Docker does.
		m.VolumeOptions = &VolumeOptions{NoCopy: true}
	}
	if md.propagation != "" {
		// On a volume, Validate refuses this, as Docker does.
		if m.BindOptions == nil {
			m.BindOptions = &BindOptions{}
		}
		m.BindOptions.Propagation = md.propagation
	}

	if err := m.check(); err != nil {
		return Mount{}, invalid("invalid volume specification: '%s': invalid mount config for type %q: %s", spec, m.Type, err)
	}
	m.Target = path.Clean(m.Target)
	if err := m.checkVolumeName(); err != nil {
		return Mount{}, err
	}
	return m, nil
}

func errInvalidSpec(spec string) error {
	return invalid("invalid volume specification: '%s'", spec)
}

// volumeMode is what a -v MODE means to berth.
type volumeMode struct {
	readOnly, readWrite bool
	noCopy              bool
	propagation         Propagation
}

// parseMode parses a -v or --volumes-from MODE; ok is false when moby
// would call it an invalid mode. The empty mode is valid.
func parseMode(mode string) (md volumeMode, ok bool) {
	if mode == "" {
		return md, true
	}
	var rw, label, prop, copyMode, consistency int
	for _, o := range strings.Split(mode, ",") {
		switch o {
		case "ro", "rw":
			rw++
			md.readOnly = o == "ro"
			md.readWrite = o == "rw"
		case "z", "Z":
			label++ // SELinux relabelling: berth has no SELinux support
		case "nocopy":
			copyMode++
			md.noCopy = true
		case "consistent", "cached", "delegated":
			consistency++ // meaningful on Docker Desktop only
		default:
			if p := Propagation(o); p.valid() {
				prop++
				md.propagation = p
				continue
			}
			return volumeMode{}, false
		}
	}
	if rw > 1 || label > 1 || prop > 1 || copyMode > 1 || consistency > 1 {
		return volumeMode{}, false
	}
	return md, true
}

// ParseVolumesFrom parses --volumes-from CONTAINER[:MODE]. mode is "ro" or
// "rw" when MODE says so and "" when it does not (no MODE, or only labels
// or consistency, which berth ignores). Like Docker, it refuses
// propagation and nocopy modes.
func ParseVolumesFrom(spec string) (container string, mode string, err error) {
	if spec == "" {
		return "", "", invalid("volumes-from specification cannot be an empty string")
	}
	container, raw, _ := strings.Cut(spec, ":")
	if container == "" {
		return "", "", invalid("invalid volumes-from specification: '%s': container is empty", spec)
	}
	md, ok := parseMode(raw)
	if !ok || md.propagation != "" || md.noCopy {
		return "", "", invalid("invalid mode: %s", raw)
	}
	switch {
	case md.readOnly:
		mode = "ro"
	case md.readWrite:
		mode = "rw"
	}
	return container, mode, nil
}
