package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/mountspec"
	"berth.dev/berth/internal/volume"
)

// MountPoint is one resolved mount of a container: Docker's inspect
// "Mounts" entry, plus what berth needs to mount it again at every start.
type MountPoint struct {
	Type        mountspec.Type `json:"Type"`
	Name        string         `json:"Name,omitempty"` // volume name
	Source      string         `json:"Source"`         // host path: bind source or the volume's data dir
	Destination string         `json:"Destination"`
	Driver      string         `json:"Driver,omitempty"`
	Mode        string         `json:"Mode"`
	RW          bool           `json:"RW"`
	Propagation string         `json:"Propagation"`

	// CopyUp fills an empty volume with the image's content at
	// Destination when the container starts (Docker's copy-up; off with
	// nocopy).
	CopyUp bool `json:"BerthCopyUp,omitempty"`
	// Anonymous volumes go with the container (rm -v, run --rm).
	Anonymous    bool                    `json:"BerthAnonymous,omitempty"`
	NonRecursive bool                    `json:"BerthNonRecursive,omitempty"`
	Tmpfs        *mountspec.TmpfsOptions `json:"BerthTmpfs,omitempty"`
}

// resolveMounts turns the container's -v, --mount, --tmpfs and
// --volumes-from, and its image's VOLUMEs, into mount points, creating
// named and anonymous volumes and missing -v bind sources, as `docker
// create` does. Explicit mounts win over --volumes-from, which wins over
// the image's volumes.
func (s *Service) resolveMounts(ctx context.Context, c *Container, imgCfg *ocispec.ImageConfig) ([]MountPoint, error) {
	var explicit []mountspec.Mount
	for _, b := range c.HostConfig.Binds {
		m, err := mountspec.ParseVolume(b)
		if err != nil {
			return nil, err
		}
		explicit = append(explicit, m)
	}
	for _, m := range c.HostConfig.Mounts {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		explicit = append(explicit, m)
	}
	dests := make([]string, 0, len(c.HostConfig.Tmpfs))
	for d := range c.HostConfig.Tmpfs {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	for _, d := range dests {
		spec := d
		if o := c.HostConfig.Tmpfs[d]; o != "" {
			spec += ":" + o
		}
		m, err := mountspec.ParseTmpfs(spec)
		if err != nil {
			return nil, err
		}
		explicit = append(explicit, m)
	}
	if err := mountspec.CheckDuplicates(explicit); err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	var out []MountPoint
	cleanup := func() {
		for _, mp := range out {
			if mp.Anonymous {
				s.opts.Volumes.Remove(context.Background(), mp.Name)
			}
		}
	}
	for _, m := range explicit {
		mp, err := s.mountPoint(ctx, m)
		if err != nil {
			cleanup()
			return nil, err
		}
		taken[mp.Destination] = true
		out = append(out, mp)
	}
	for _, vf := range c.HostConfig.VolumesFrom {
		name, mode, err := mountspec.ParseVolumesFrom(vf)
		if err != nil {
			cleanup()
			return nil, err
		}
		from, err := s.store.lookup(name)
		if err != nil {
			cleanup()
			return nil, err
		}
		for _, mp := range from.Mounts {
			if taken[mp.Destination] || mp.Type == mountspec.TypeTmpfs {
				continue
			}
			switch mode {
			case "ro":
				mp.RW = false
			case "rw":
				mp.RW = true
			}
			mp.Mode = modeOf(mp.RW)
			mp.Anonymous = false // it belongs to the other container
			taken[mp.Destination] = true
			out = append(out, mp)
		}
	}
	if imgCfg != nil {
		vols := make([]string, 0, len(imgCfg.Volumes))
		for v := range imgCfg.Volumes {
			vols = append(vols, v)
		}
		sort.Strings(vols)
		for _, v := range vols {
			d := path.Clean("/" + v)
			if taken[d] {
				continue
			}
			mp, err := s.mountPoint(ctx, mountspec.Mount{Type: mountspec.TypeVolume, Target: d})
			if err != nil {
				cleanup()
				return nil, err
			}
			taken[d] = true
			out = append(out, mp)
		}
	}
	return out, nil
}

func modeOf(rw bool) string {
	if rw {
		return "rw"
	}
	return "ro"
}

// mountPoint resolves one mount: it checks or creates a bind source and
// creates a volume.
func (s *Service) mountPoint(ctx context.Context, m mountspec.Mount) (MountPoint, error) {
	mp := MountPoint{Type: m.Type, Destination: m.Target, RW: !m.ReadOnly, Mode: modeOf(!m.ReadOnly)}
	switch m.Type {
	case mountspec.TypeBind:
		mp.Source = m.Source
		mp.Propagation = string(mountspec.PropagationRPrivate)
		if b := m.BindOptions; b != nil {
			if b.Propagation != "" {
				mp.Propagation = string(b.Propagation)
			}
			mp.NonRecursive = b.NonRecursive
		}
		if _, err := os.Stat(m.Source); errors.Is(err, fs.ErrNotExist) {
			if m.BindOptions == nil || !m.BindOptions.CreateMountpoint {
				return mp, errdefs.New(errdefs.ErrInvalidArgument, "invalid mount config for type \"bind\": bind source path does not exist: %s", m.Source)
			}
			// -v creates a missing source directory, as Docker does.
			if err := os.MkdirAll(m.Source, 0o755); err != nil {
				return mp, fmt.Errorf("create bind source %s: %w", m.Source, err)
			}
		} else if err != nil {
			return mp, fmt.Errorf("bind source %s: %w", m.Source, err)
		}
	case mountspec.TypeVolume:
		opts := volume.CreateOptions{Anonymous: m.Source == ""}
		mp.CopyUp = true
		if vo := m.VolumeOptions; vo != nil {
			mp.CopyUp = !vo.NoCopy
			opts.Labels = vo.Labels
			if vo.Subpath != "" {
				return mp, errdefs.New(errdefs.ErrNotImplemented, "mount %s: volume-subpath is not supported by berth yet", m.Target)
			}
			if d := vo.DriverConfig; d != nil {
				if d.Name != "" && d.Name != "local" {
					return mp, errdefs.New(errdefs.ErrNotImplemented, "mount %s: volume driver %q: berth has only the local driver", m.Target, d.Name)
				}
				opts.Options = d.Options
			}
		}
		// An existing volume is used as it is, whatever options it was
		// created with (as Docker does).
		v, err := s.opts.Volumes.Get(m.Source)
		if m.Source == "" || errdefs.IsNotFound(err) {
			v, err = s.opts.Volumes.Create(ctx, m.Source, opts)
		}
		if err != nil {
			return mp, err
		}
		mp.Name, mp.Source, mp.Driver, mp.Anonymous = v.Name, v.Mountpoint, v.Driver, v.Anonymous
		if mp.Mode == "rw" {
			mp.Mode = "z" // Docker shows "z" for a volume's default mode
		}
	case mountspec.TypeTmpfs:
		mp.Tmpfs = m.TmpfsOptions
		if mp.Tmpfs == nil {
			mp.Tmpfs = &mountspec.TmpfsOptions{}
		}
	default:
		return mp, errdefs.New(errdefs.ErrInvalidArgument, "mount %s: unknown type %q", m.Target, m.Type)
	}
	return mp, nil
}

// mountSpecs mounts the container's volumes (a volume with driver options
// is mounted on its data dir; an empty one gets the image's content at its
// destination) and returns the runtime spec's mounts for them, parents
// before children, and the root filesystem propagation they need.
func (s *Service) mountSpecs(ctx context.Context, c *Container, rootfs string) ([]specs.Mount, string, error) {
	mps := append([]MountPoint(nil), c.Mounts...)
	sort.SliceStable(mps, func(i, j int) bool {
		return strings.Count(mps[i].Destination, "/") < strings.Count(mps[j].Destination, "/")
	})
	var out []specs.Mount
	propagation := ""
	for _, mp := range mps {
		switch mp.Type {
		case mountspec.TypeTmpfs:
			opts := []string{"nosuid", "nodev", "noexec"}
			if t := mp.Tmpfs; t != nil {
				opts = append(opts, t.Options...)
				if t.SizeBytes > 0 {
					opts = append(opts, "size="+strconv.FormatInt(t.SizeBytes, 10))
				}
				if t.Mode != 0 {
					opts = append(opts, "mode="+strconv.FormatUint(uint64(t.Mode), 8))
				}
			}
			if !mp.RW {
				opts = append(opts, "ro")
			}
			out = append(out, specs.Mount{Destination: mp.Destination, Type: "tmpfs", Source: "tmpfs", Options: opts})
			continue
		case mountspec.TypeVolume:
			v, err := s.opts.Volumes.Get(mp.Name)
			if err != nil {
				return nil, "", fmt.Errorf("container %s: volume %s: %w", c.ID[:12], mp.Name, err)
			}
			dir, err := s.opts.Volumes.Mount(ctx, v)
			if err != nil {
				return nil, "", err
			}
			if mp.CopyUp {
				// Resolved inside the root filesystem: a symlink in the
				// image cannot point the copy at the host.
				src, err := securejoin.SecureJoin(rootfs, mp.Destination)
				if err != nil {
					return nil, "", fmt.Errorf("container %s: volume %s: resolve %s: %w", c.ID[:12], mp.Name, mp.Destination, err)
				}
				if err := s.opts.Volumes.Populate(ctx, v, src); err != nil {
					return nil, "", err
				}
			}
			mp.Source = dir
		case mountspec.TypeBind:
			switch mp.Propagation {
			case "shared", "rshared":
				propagation = "rshared"
			case "slave", "rslave":
				if propagation == "" {
					propagation = "rslave"
				}
			}
		}
		bind := "rbind"
		if mp.NonRecursive {
			bind = "bind"
		}
		prop := mp.Propagation
		if prop == "" {
			prop = "rprivate"
		}
		opts := []string{bind, prop}
		if !mp.RW {
			opts = append(opts, "ro")
		}
		out = append(out, specs.Mount{Destination: mp.Destination, Type: "bind", Source: mp.Source, Options: opts})
	}
	return out, propagation, nil
}

// mountDestinations are the container paths its mounts cover: what commit
// and diff leave out.
func (c *Container) mountDestinations() []string {
	var out []string
	for _, mp := range c.Mounts {
		out = append(out, mp.Destination)
	}
	return out
}

// removeAnonymousVolumes removes the container's anonymous volumes (rm -v,
// run --rm); named ones stay.
func (s *Service) removeAnonymousVolumes(ctx context.Context, c *Container) error {
	var errs []error
	for _, mp := range c.Mounts {
		if mp.Type == mountspec.TypeVolume && mp.Anonymous {
			if err := s.opts.Volumes.Remove(ctx, mp.Name); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
