//go:build !linux

package volume

import (
	"context"
	"fmt"
	"os"

	"berth.dev/berth/internal/errdefs"
)

// Mounting and copy-up are Linux only; see mount_linux.go and copy_linux.go.

func mountVolume(opts map[string]string, dir, realDir string) error {
	return fmt.Errorf("mount %s: %w", dir, errdefs.ErrNotImplemented)
}

func isMountPoint(dir string) (bool, error) { return false, nil }

// unmountBelow has nothing to do: berth mounts nothing on other systems.
func unmountBelow(dir string) error { return nil }

func openSource(src string) (*os.File, error) {
	return nil, fmt.Errorf("copy from %s: %w", src, errdefs.ErrNotImplemented)
}

func copyTree(ctx context.Context, dst string, src *os.File) error {
	return fmt.Errorf("copy into %s: %w", dst, errdefs.ErrNotImplemented)
}
