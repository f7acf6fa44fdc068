package content

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
)

// Store is the blob store under one root.
type Store struct {
	dir string // <root>/blobs
}

// New opens (creating if needed) the blob store under root.
func New(root string) (*Store, error) {
	dir := filepath.Join(root, "blobs")
	if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o700); err != nil {
		return nil, fmt.Errorf("create blob store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Path is where the blob dgst lives (whether or not it exists).
func (s *Store) Path(dgst digest.Digest) string {
	return filepath.Join(s.dir, dgst.Algorithm().String(), dgst.Encoded())
}

// Has reports whether dgst is stored.
func (s *Store) Has(dgst digest.Digest) bool {
	if dgst.Validate() != nil {
		return false
	}
	_, err := os.Stat(s.Path(dgst))
	return err == nil
}

// Put stores data under dgst after checking that data has that digest. A
// nil error means the blob is stored at dgst.
func (s *Store) Put(dgst digest.Digest, data []byte) error {
	if err := dgst.Validate(); err != nil {
		return fmt.Errorf("put blob %s: %w: %w", dgst, errdefs.ErrInvalidArgument, err)
	}
	if got := dgst.Algorithm().FromBytes(data); got != dgst {
		return fmt.Errorf("put blob %s: content has digest %s: %w", dgst, got, errdefs.ErrInvalidArgument)
	}
	if s.Has(dgst) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.Path(dgst)), 0o700); err != nil {
		return fmt.Errorf("put blob %s: %w", dgst, err)
	}
	if err := atomicfile.Write(s.Path(dgst), data, 0o600); err != nil {
		return fmt.Errorf("put blob %s: %w", dgst, err)
	}
	return nil
}

// Get returns the blob dgst, checking its digest (a blob damaged on disk is
// an error, not silently returned).
func (s *Store) Get(dgst digest.Digest) ([]byte, error) {
	if err := dgst.Validate(); err != nil {
		return nil, fmt.Errorf("get blob %s: %w: %w", dgst, errdefs.ErrInvalidArgument, err)
	}
	data, err := os.ReadFile(s.Path(dgst))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", dgst, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", dgst, err)
	}
	if got := dgst.Algorithm().FromBytes(data); got != dgst {
		return nil, fmt.Errorf("blob %s is damaged on disk (content has digest %s)", dgst, got)
	}
	return data, nil
}

// Delete removes the blob dgst; a missing blob is not an error.
func (s *Store) Delete(dgst digest.Digest) error {
	if err := dgst.Validate(); err != nil {
		return fmt.Errorf("delete blob %s: %w: %w", dgst, errdefs.ErrInvalidArgument, err)
	}
	if err := os.Remove(s.Path(dgst)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", dgst, err)
	}
	return nil
}

// Walk calls fn for every stored blob with its size.
func (s *Store) Walk(fn func(dgst digest.Digest, size int64) error) error {
	algos, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	for _, a := range algos {
		ents, err := os.ReadDir(filepath.Join(s.dir, a.Name()))
		if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
		for _, e := range ents {
			d := digest.NewDigestFromEncoded(digest.Algorithm(a.Name()), e.Name())
			if d.Validate() != nil {
				continue // a temporary file
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			if err := fn(d, fi.Size()); err != nil {
				return err
			}
		}
	}
	return nil
}
