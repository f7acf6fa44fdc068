package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
)

// Files in a volume's directory, beside _data.
const (
	populateLock     = "populate.lock"
	populatingMarker = "populating"
)

// Populate is Docker's copy-up: if the volume's data is empty, it copies
// the directory tree at the host path src into it, with owners, modes,
// times, extended attributes, symlinks (as symlinks), hard links, fifos and
// device nodes; sockets are skipped. The data directory itself takes the
// owner, mode and times of src. A volume that is not empty is left alone,
// and so is any volume if src does not exist or is not a directory.
//
// src is a directory inside a container's root filesystem, resolved by the
// caller; Populate still never follows a symlink, neither while walking src
// nor while writing, and writes only below the data directory. A volume
// with Options is mounted first, so the copy lands on its own file system.
// A copy that fails is undone; one cut short by a kill is undone by the
// next Populate or Sweep.
func (s *Store) Populate(ctx context.Context, v *Volume, src string) error {
	if v == nil {
		return fmt.Errorf("populate volume: no volume given: %w", errdefs.ErrInvalidArgument)
	}
	name := v.Name
	dir, err := s.Mount(ctx, v)
	if err != nil {
		return err
	}
	from, err := openSource(src)
	if err != nil {
		return fmt.Errorf("populate volume %s from %s: %w", name, src, err)
	}
	if from == nil {
		return nil
	}
	defer from.Close()

	l, err := lockfile.Acquire(ctx, filepath.Join(s.dir(name), populateLock), lockfile.Exclusive)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound(name)
	} else if err != nil {
		return fmt.Errorf("populate volume %s: %w", name, err)
	}
	defer l.Unlock()
	marker := filepath.Join(s.dir(name), populatingMarker)
	if _, err := os.Lstat(marker); err == nil {
		// A copy-up was killed (we hold its lock): start again from empty.
		if err := s.resetPopulate(name); err != nil {
			return fmt.Errorf("populate volume %s: %w", name, err)
		}
	}
	empty, err := isEmpty(dir)
	if err != nil {
		return fmt.Errorf("populate volume %s: %w", name, err)
	}
	if !empty {
		return nil
	}
	if err := atomicfile.Write(marker, nil, 0o600); err != nil {
		return fmt.Errorf("populate volume %s: %w", name, err)
	}
	if err := copyTree(ctx, dir, from); err != nil {
		if rerr := s.resetPopulate(name); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("populate volume %s from %s: %w", name, src, err)
	}
	if err := os.Remove(marker); err != nil {
		return fmt.Errorf("populate volume %s: %w", name, err)
	}
	if err := atomicfile.SyncDir(s.dir(name)); err != nil {
		return fmt.Errorf("populate volume %s: %w", name, err)
	}
	return nil
}

// resetPopulate empties the data of the volume name and drops its
// populating marker. The caller holds the volume's populate lock.
func (s *Store) resetPopulate(name string) error {
	r, err := os.OpenRoot(s.dataDir(name))
	if err != nil {
		return fmt.Errorf("clear partial copy: %w", err)
	}
	defer r.Close()
	ents, err := fs.ReadDir(r.FS(), ".")
	if err != nil {
		return fmt.Errorf("clear partial copy: %w", err)
	}
	for _, e := range ents {
		if err := r.RemoveAll(e.Name()); err != nil { // never follows a symlink
			return fmt.Errorf("clear partial copy: %w", err)
		}
	}
	if err := os.Remove(filepath.Join(s.dir(name), populatingMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear partial copy: %w", err)
	}
	return atomicfile.SyncDir(s.dir(name))
}

func isEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}
