package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
)

const recordVersion = 1

// Image is the record of an image.
type Image struct {
	SchemaVersion int `json:"schemaVersion"`
	// ID is the config digest.
	ID                digest.Digest `json:"id"`
	ManifestDigest    digest.Digest `json:"manifestDigest"`
	ManifestMediaType string        `json:"manifestMediaType"`
	// IndexDigest is the index the manifest was chosen from, if any.
	IndexDigest digest.Digest `json:"indexDigest,omitempty"`
	Layers      []LayerRef    `json:"layers"`
	Platform    string        `json:"platform"`
	// Size is the unpacked size of all layers, in bytes.
	Size int64 `json:"size"`
	// Source is where the image was last pulled from (provenance).
	Source  *Source   `json:"source,omitempty"`
	Created time.Time `json:"created"` // when berth stored it
}

// LayerRef is one layer of an image.
type LayerRef struct {
	DiffID    digest.Digest `json:"diffID"`
	ChainID   digest.Digest `json:"chainID"`
	Digest    digest.Digest `json:"digest"` // compressed blob in the manifest
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"` // compressed size
}

// Source is the physical origin of a pulled image.
type Source struct {
	// Name is the logical name that was pulled.
	Name string `json:"name"`
	// Ref is the physical reference at the endpoint that resolved it.
	Ref      string    `json:"ref"`
	Endpoint string    `json:"endpoint"`
	Role     string    `json:"role"`
	Rule     string    `json:"rule"`
	PulledAt time.Time `json:"pulledAt"`
}

// Store holds image records and references.
type Store struct {
	dir string // <root>/image
}

// NewStore opens (creating if needed) the image store under root.
func NewStore(root string) (*Store, error) {
	dir := filepath.Join(root, "image")
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o700); err != nil {
		return nil, fmt.Errorf("create image store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Lock takes the store lock; hold it to change records or references.
func (s *Store) Lock(ctx context.Context) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(s.dir, ".lock"), lockfile.Exclusive)
}

func (s *Store) recordPath(id digest.Digest) string {
	return filepath.Join(s.dir, "images", id.Encoded()+".json")
}

// Get returns the record of image id, or an error of kind ErrNotFound.
func (s *Store) Get(id digest.Digest) (*Image, error) {
	if id.Validate() != nil {
		return nil, fmt.Errorf("image %s: %w", id, errdefs.ErrNotFound)
	}
	var img Image
	if err := atomicfile.ReadJSON(s.recordPath(id), &img); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", id, errdefs.ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("read image %s: %w", id, err)
	}
	if img.SchemaVersion != recordVersion {
		return nil, fmt.Errorf("image %s: unknown record version %d", id, img.SchemaVersion)
	}
	return &img, nil
}

// Put writes img's record; the caller holds the lock.
func (s *Store) Put(img *Image) error {
	img.SchemaVersion = recordVersion
	return atomicfile.WriteJSON(s.recordPath(img.ID), img, 0o600)
}

// Delete removes img's record; the caller holds the lock.
func (s *Store) Delete(id digest.Digest) error {
	if err := os.Remove(s.recordPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete image %s: %w", id, err)
	}
	return nil
}

// List returns every image record, oldest first.
func (s *Store) List() ([]*Image, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "images"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []*Image
	for _, e := range ents {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(hex, ".") {
			continue
		}
		img, err := s.Get(digest.NewDigestFromEncoded(digest.SHA256, hex))
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// References maps full references (name:tag or name@digest) to image IDs.
type References map[string]digest.Digest

type repositoriesFile struct {
	Repositories map[string]map[string]digest.Digest `json:"Repositories"`
}

// References reads every reference.
func (s *Store) References() (References, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "repositories.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return References{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read references: %w", err)
	}
	var f repositoriesFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode references: %w", err)
	}
	refs := References{}
	for _, m := range f.Repositories {
		for r, id := range m {
			refs[r] = id
		}
	}
	return refs, nil
}

// SetReferences applies changes (ref -> id; an empty id removes the ref) and
// writes the references; the caller holds the lock.
func (s *Store) SetReferences(changes map[string]digest.Digest) error {
	refs, err := s.References()
	if err != nil {
		return err
	}
	for r, id := range changes {
		if id == "" {
			delete(refs, r)
		} else {
			refs[r] = id
		}
	}
	f := repositoriesFile{Repositories: map[string]map[string]digest.Digest{}}
	for r, id := range refs {
		repo := repoOf(r)
		if f.Repositories[repo] == nil {
			f.Repositories[repo] = map[string]digest.Digest{}
		}
		f.Repositories[repo][r] = id
	}
	return atomicfile.WriteJSON(filepath.Join(s.dir, "repositories.json"), f, 0o600)
}

// repoOf is the repository of a full reference: name:tag or name@digest.
func repoOf(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i]
	}
	return ref
}
