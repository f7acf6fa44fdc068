package container

import (
	"context"
	"errors"
	"slices"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/mountspec"
	"berth.dev/berth/internal/volume"
)

// VolumeUsers returns the IDs of the containers that mount volume name.
func (s *Service) VolumeUsers(name string) ([]string, error) {
	all, err := s.store.list()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range all {
		for _, mp := range c.Mounts {
			if mp.Type == mountspec.TypeVolume && mp.Name == name {
				ids = append(ids, c.ID)
				break
			}
		}
	}
	return ids, nil
}

// RemoveVolume removes a volume that no container uses, as `docker volume
// rm` does: a volume in use is refused, whatever the container's state.
func (s *Service) RemoveVolume(ctx context.Context, name string) error {
	lock, err := s.store.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	v, err := s.opts.Volumes.Get(name)
	if err != nil {
		return err
	}
	users, err := s.VolumeUsers(v.Name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errdefs.New(errdefs.ErrConflict, "remove %s: volume is in use - %v", name, users)
	}
	return s.opts.Volumes.Remove(ctx, v.Name)
}

// PruneVolumes removes the volumes no container uses: anonymous ones only,
// or all with all (Docker 23's `volume prune` and `volume prune -a`). It
// returns them and the space their removal freed: the size of their data,
// measured as system df does (a volume mounted from a device or with
// -o type keeps its data elsewhere and frees nothing).
func (s *Service) PruneVolumes(ctx context.Context, all bool) ([]*volume.Volume, int64, error) {
	lock, err := s.store.lock(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer lock.Unlock()
	vols, err := s.opts.Volumes.List()
	if err != nil {
		return nil, 0, err
	}
	ctrs, err := s.store.list()
	if err != nil {
		return nil, 0, err
	}
	var used []string
	for _, c := range ctrs {
		for _, mp := range c.Mounts {
			if mp.Type == mountspec.TypeVolume {
				used = append(used, mp.Name)
			}
		}
	}
	var removed []*volume.Volume
	var reclaimed int64
	var errs []error
	for _, v := range vols {
		if slices.Contains(used, v.Name) || (!all && !v.Anonymous) {
			continue
		}
		var size int64
		if len(v.Options) == 0 {
			size, _ = dirSize(ctx, v.Mountpoint)
		}
		if err := s.opts.Volumes.Remove(ctx, v.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v)
		reclaimed += size
	}
	return removed, reclaimed, errors.Join(errs...)
}
