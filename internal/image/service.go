package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"berth.dev/berth/internal/content"
	"berth.dev/berth/internal/layer"
	"berth.dev/berth/internal/registry"
)

// Service is the image service over one root.
type Service struct {
	root    string
	content *content.Store
	layers  *layer.Store
	store   *Store
	client  *registry.Client
	log     *slog.Logger
}

// NewService opens the stores under root. client may be nil for commands
// that contact no registry.
func NewService(root string, client *registry.Client, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := content.New(root)
	if err != nil {
		return nil, err
	}
	l, err := layer.New(root)
	if err != nil {
		return nil, err
	}
	st, err := NewStore(root)
	if err != nil {
		return nil, err
	}
	return &Service{root: root, content: c, layers: l, store: st, client: client, log: log}, nil
}

// Sweep removes what killed processes left in the stores.
func (s *Service) Sweep(ctx context.Context) error { return s.layers.Sweep(ctx) }

func (s *Service) gcLockPath() string { return filepath.Join(s.root, "gc.lock") }

// Store is the image record store.
func (s *Service) Store() *Store { return s.store }

// Layers is the layer store (for the container service's mounts).
func (s *Service) Layers() *layer.Store { return s.layers }

func shortID(d fmt.Stringer) string {
	s := d.String()
	if i := len("sha256:"); len(s) >= i+12 {
		return s[i : i+12]
	}
	return s
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
