//go:build !linux

package archive

import (
	"context"
	"fmt"
	"io"

	"berth.dev/berth/internal/errdefs"
)

// Diff writes layers on Linux only; see diff_linux.go for the contract.
func Diff(ctx context.Context, w io.Writer, upper string, opts DiffOptions) (int64, error) {
	return 0, fmt.Errorf("diff %s: %w", upper, errdefs.ErrNotImplemented)
}

// Changes lists changes on Linux only; see changes_linux.go for the contract.
func Changes(upper string, lowers []string) ([]Change, error) {
	return nil, fmt.Errorf("list changes of %s: %w", upper, errdefs.ErrNotImplemented)
}

// Tar archives directories on Linux only; see tar_linux.go for the contract.
func Tar(ctx context.Context, w io.Writer, dir string, opts TarOptions) error {
	return fmt.Errorf("tar %s: %w", dir, errdefs.ErrNotImplemented)
}
