//go:build !linux

package archive

import (
	"context"
	"fmt"
	"io"

	"berth.dev/berth/internal/errdefs"
)

// Apply unpacks layers on Linux only; see apply_linux.go for the contract.
func Apply(ctx context.Context, dir string, r io.Reader, opts ...Option) (int64, error) {
	return 0, fmt.Errorf("apply layer to %s: %w", dir, errdefs.ErrNotImplemented)
}
