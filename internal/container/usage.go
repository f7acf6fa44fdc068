package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	"berth.dev/berth/internal/mountspec"
	"berth.dev/berth/internal/volume"
)

// Usage is the disk use of containers and volumes, for `system df`.
type Usage struct {
	Containers []ContainerUsage
	Volumes    []VolumeUsage
}

// ContainerUsage is one container and the size of its writable layer.
type ContainerUsage struct {
	*View
	SizeRw int64
}

// VolumeUsage is one volume, its size and how many containers mount it.
type VolumeUsage struct {
	*volume.Volume
	Size     int64
	RefCount int
}

// DiskUsage measures every container's writable layer and every volume's
// data, as Docker's `system df` does: the sizes of the files, each inode
// once, directories not counted.
func (s *Service) DiskUsage(ctx context.Context) (*Usage, error) {
	views, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	u := &Usage{}
	refs := map[string]int{}
	for _, v := range views {
		size, err := dirSize(ctx, s.store.path(v.ID, "upper"))
		if err != nil {
			return nil, err
		}
		u.Containers = append(u.Containers, ContainerUsage{View: v, SizeRw: size})
		for _, mp := range v.Mounts {
			if mp.Type == mountspec.TypeVolume {
				refs[mp.Name]++
			}
		}
	}
	vols, err := s.opts.Volumes.List()
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		size, err := dirSize(ctx, v.Mountpoint)
		if err != nil {
			return nil, err
		}
		u.Volumes = append(u.Volumes, VolumeUsage{Volume: v, Size: size, RefCount: refs[v.Name]})
	}
	return u, nil
}

// SizeRw is the size of container id's writable layer (its files, as
// DiskUsage measures them): `ps -s`.
func (s *Service) SizeRw(ctx context.Context, id string) (int64, error) {
	return dirSize(ctx, s.store.path(id, "upper"))
}

// dirSize sums the sizes of the files under dir, counting a hard-linked
// inode once (Docker's directory.Size). Files that vanish while it walks
// (a running container's) are skipped; a missing dir is empty.
func dirSize(ctx context.Context, dir string) (int64, error) {
	var size int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if fi.Size() == 0 {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		size += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	return size, nil
}
