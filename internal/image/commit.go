package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/layer"
	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registry"
)

// Media types of layers berth makes itself (commit, import, load): kept
// uncompressed, as Docker keeps them. A push compresses them and rewrites
// the manifest it sends.
const (
	mediaDockerManifest  = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerConfig    = "application/vnd.docker.container.image.v1+json"
	mediaDockerLayerTar  = "application/vnd.docker.image.rootfs.diff.tar"
	mediaDockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd"
)

// CommitOptions describe an image made from a layer on top of another.
type CommitOptions struct {
	// Parent is the image the layer goes on; nil starts from scratch
	// (import).
	Parent *Image
	// Config is the new image's runtime config before Changes; nil keeps
	// the parent's (an empty one from scratch).
	Config *ocispec.ImageConfig
	// Changes are Dockerfile instructions applied to the config (commit
	// -c, import -c): see ApplyChanges.
	Changes []string
	// Ref names the new image; empty leaves it untagged.
	Ref string
	// Author, Comment (commit -m, import -m) and CreatedBy go into the
	// config and its history entry.
	Author, Comment, CreatedBy string
	// Platform is "os/arch[/variant]" for an image from scratch; empty
	// means the host's.
	Platform string
}

// Commit adds the layer in the uncompressed tar stream diff on top of
// opts.Parent and stores the new image, as `docker commit` and `docker
// import` do. The layer is unpacked once; a layer with the same chain
// already in the store is reused.
func (s *Service) Commit(ctx context.Context, diff io.Reader, opts CommitOptions) (*Image, error) {
	var ref reference.Reference
	if opts.Ref != "" {
		r, err := reference.Parse(opts.Ref)
		if err != nil {
			return nil, err
		}
		if r.Digest() != "" {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "refusing to create a tag with a digest reference: %s", opts.Ref)
		}
		ref = r
	}
	cfg, _, err := s.baseConfig(opts)
	if err != nil {
		return nil, err
	}
	if opts.Config != nil {
		cfg.Config = *opts.Config
	}
	if err := ApplyChanges(&cfg.Config, opts.Changes); err != nil {
		return nil, err
	}

	// Layers committed here are unreferenced until the record is written:
	// hold the GC lock shared so that removal waits for us.
	gc, err := lockfile.Acquire(ctx, s.gcLockPath(), lockfile.Shared)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()

	var parentChain digest.Digest
	if opts.Parent != nil && len(opts.Parent.Layers) > 0 {
		parentChain = opts.Parent.Layers[len(opts.Parent.Layers)-1].ChainID
	}
	l, err := s.addLayer(ctx, diff, parentChain)
	if err != nil {
		return nil, err
	}

	now := time.Now().UTC()
	cfg.Created = &now
	if opts.Author != "" {
		cfg.Author = opts.Author
	}
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
	cfg.History = append(cfg.History, ocispec.History{Created: &now, Author: opts.Author, CreatedBy: opts.CreatedBy, Comment: opts.Comment})
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	id := digest.FromBytes(rawConfig)

	img := &Image{ID: id, Platform: platformOf(cfg), Created: now}
	m := ocispec.Manifest{MediaType: mediaDockerManifest}
	m.SchemaVersion = 2
	m.Config = ocispec.Descriptor{MediaType: mediaDockerConfig, Digest: id, Size: int64(len(rawConfig))}
	if opts.Parent != nil {
		img.Layers = append(img.Layers, opts.Parent.Layers...)
		img.Size = opts.Parent.Size
	}
	img.Layers = append(img.Layers, LayerRef{DiffID: l.DiffID, ChainID: l.ChainID, Digest: l.DiffID, MediaType: mediaDockerLayerTar, Size: l.Size})
	img.Size += l.Size
	for _, lr := range img.Layers {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: lr.MediaType, Digest: lr.Digest, Size: lr.Size})
	}
	if err := s.putImage(ctx, img, rawConfig, m, ref); err != nil {
		return nil, err
	}
	return img, nil
}

// baseConfig is the parent's config, or an empty one for the platform.
func (s *Service) baseConfig(opts CommitOptions) (ocispec.Image, []byte, error) {
	if opts.Parent == nil {
		p := registry.HostPlatform()
		if opts.Platform != "" {
			var err error
			if p, err = registry.ParsePlatform(opts.Platform); err != nil {
				return ocispec.Image{}, nil, err
			}
		}
		var cfg ocispec.Image
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
		return cfg, nil, nil
	}
	cfg, raw, err := s.Config(opts.Parent)
	if err != nil {
		return ocispec.Image{}, nil, err
	}
	return *cfg, raw, nil
}

// addLayer unpacks the uncompressed tar stream r as a layer over
// parentChain, or finds it already stored. The caller holds the GC lock.
func (s *Service) addLayer(ctx context.Context, r io.Reader, parentChain digest.Digest) (*layer.Layer, error) {
	st, err := s.layers.NewStaging()
	if err != nil {
		return nil, err
	}
	defer st.Discard()
	size, diffID, err := unpack(ctx, st.Dir(), st.MetaPath(layer.TarSplitName), r)
	if err != nil {
		return nil, err
	}
	chain := layer.ChainID(parentChain, diffID)
	if l, err := s.layers.Get(chain); err == nil {
		return l, nil
	}
	lock, err := s.layers.LockIngest(ctx, chain)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if l, err := s.layers.Get(chain); err == nil {
		return l, nil
	}
	return s.layers.Commit(ctx, st, layer.Layer{ChainID: chain, DiffID: diffID, Parent: parentChain, Size: size})
}

// putImage stores the config, the manifest and the record, and points ref
// (if any) at the image.
func (s *Service) putImage(ctx context.Context, img *Image, rawConfig []byte, m ocispec.Manifest, ref reference.Reference) error {
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	img.ManifestDigest = digest.FromBytes(rawManifest)
	img.ManifestMediaType = m.MediaType
	if err := s.content.Put(img.ID, rawConfig); err != nil {
		return err
	}
	if err := s.content.Put(img.ManifestDigest, rawManifest); err != nil {
		return err
	}
	lock, err := s.store.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	// An image with this config is already stored (a load of an image
	// that was pulled): keep its record, with its manifest and provenance.
	if old, err := s.store.Get(img.ID); err == nil {
		*img = *old
	} else if err := s.store.Put(img); err != nil {
		return err
	}
	if ref.IsZero() {
		return nil
	}
	return s.store.SetReferences(map[string]digest.Digest{ref.String(): img.ID})
}
