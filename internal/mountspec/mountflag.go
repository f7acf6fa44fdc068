package mountspec

import (
	"encoding/csv"
	"os"
	"path"
	"strconv"
	"strings"
)

// ParseMount parses the --mount syntax of docker run: comma-separated
// key=value fields read as one CSV record, as docker/cli reads them, so that
// a quoted value may hold commas. The type defaults to volume. Keys are
// matched without regard to case, as docker/cli does.
//
// A relative bind source is refused: docker/cli makes a source that starts
// with "." absolute against its working directory before this point, and a
// caller wanting that must do it too.
//
// The result has been through [Mount.Validate]; its target (and a bind's
// source) are cleaned.
func ParseMount(value string) (Mount, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return Mount{}, invalid("value is empty")
	}
	fields, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return Mount{}, invalid("invalid mount %q: %s", value, err)
	}

	m := Mount{Type: TypeVolume}
	bind := func() *BindOptions {
		if m.BindOptions == nil {
			m.BindOptions = &BindOptions{}
		}
		return m.BindOptions
	}
	volume := func() *VolumeOptions {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &VolumeOptions{}
		}
		return m.VolumeOptions
	}
	driver := func() *Driver {
		if volume().DriverConfig == nil {
			m.VolumeOptions.DriverConfig = &Driver{}
		}
		return m.VolumeOptions.DriverConfig
	}
	tmpfs := func() *TmpfsOptions {
		if m.TmpfsOptions == nil {
			m.TmpfsOptions = &TmpfsOptions{}
		}
		return m.TmpfsOptions
	}

	for _, field := range fields {
		key, val, hasValue := strings.Cut(field, "=")
		if k := strings.TrimSpace(key); k != key {
			return Mount{}, invalid("invalid option '%s' in '%s': option should not have whitespace", k, field)
		}
		if hasValue {
			v := strings.TrimSpace(val)
			if v == "" {
				return Mount{}, invalid("invalid value for '%s': value is empty", key)
			}
			if v != val {
				return Mount{}, invalid("invalid value for '%s' in '%s': value should not have whitespace", key, field)
			}
		}
		key = strings.ToLower(key)
		if !hasValue {
			switch key {
			case "readonly", "ro", "volume-nocopy", "bind-nonrecursive":
			default:
				return Mount{}, invalid("invalid field '%s' must be a key=value pair", field)
			}
		}

		switch key {
		case "type":
			m.Type = Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			m.ReadOnly, err = parseBool(key, val, hasValue)
		case "consistency":
			// Meaningful on Docker Desktop only.
		case "bind-propagation":
			bind().Propagation = Propagation(strings.ToLower(val))
		case "bind-nonrecursive":
			bind().NonRecursive, err = parseBool(key, val, hasValue)
		case "volume-nocopy":
			volume().NoCopy, err = parseBool(key, val, hasValue)
		case "volume-label":
			volume().Labels = setKeyValue(volume().Labels, val)
		case "volume-driver":
			driver().Name = val
		case "volume-opt":
			driver().Options = setKeyValue(driver().Options, val)
		case "volume-subpath":
			volume().Subpath = val
		case "tmpfs-size":
			n, serr := RAMInBytes(val)
			if serr != nil {
				return Mount{}, invalid("invalid value for %s: %s", key, val)
			}
			tmpfs().SizeBytes = n
		case "tmpfs-mode":
			mode, merr := strconv.ParseUint(val, 8, 32)
			if merr != nil || mode > 0o7777 {
				return Mount{}, invalid("invalid value for %s: %s", key, val)
			}
			tmpfs().Mode = os.FileMode(mode)
		default:
			return Mount{}, invalid("unexpected key '%s' in '%s'", key, field)
		}
		if err != nil {
			return Mount{}, err
		}
	}

	if err := m.Validate(); err != nil {
		return Mount{}, err
	}
	m.Target = path.Clean(m.Target)
	if m.Type == TypeBind {
		m.Source = path.Clean(m.Source)
	}
	return m, nil
}

// parseBool reads a boolean field: bare (true), or 1, true, 0, false.
func parseBool(key, val string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	switch val {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, invalid("invalid value for %s: %s", key, val)
}

// setKeyValue sets k=v (or k, with an empty value) in m, creating m if
// needed. An empty key is ignored, as docker/cli ignores it.
func setKeyValue(m map[string]string, kv string) map[string]string {
	k, v, _ := strings.Cut(kv, "=")
	if k == "" {
		return m
	}
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
