package image

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/layer"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registry"
)

// PushResult is what a push stored.
type PushResult struct {
	Tag    string
	Digest digest.Digest
	Size   int
}

const mediaDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"

// Push uploads the image named ref with the pusher (the name's own
// registry). A layer the registry already has is not uploaded; a layer it
// lacks is reassembled byte for byte from the unpacked files and the
// tar-split metadata (so its diff ID, and the image ID, stay the same) and
// compressed anew.
func (s *Service) Push(ctx context.Context, ref reference.Reference, p *registry.Pusher, progress func(Progress)) (*PushResult, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	if ref.Digest() != "" {
		return nil, fmt.Errorf("push %s: push a tag, not a digest: %w", ref, errdefs.ErrInvalidArgument)
	}
	img, _, err := s.Resolve(ref.String())
	if err != nil {
		return nil, err
	}
	raw, err := s.content.Get(img.ManifestDigest)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode manifest %s: %w", img.ManifestDigest, err)
	}
	if len(m.Layers) != len(img.Layers) {
		return nil, fmt.Errorf("push %s: manifest %s does not match the image record", ref, img.ManifestDigest)
	}
	changed := false
	for i, lr := range img.Layers {
		id := shortID(lr.Digest)
		progress(Progress{ID: id, Status: "Preparing"})
		has, err := p.HasBlob(ctx, lr.Digest)
		if err != nil {
			return nil, err
		}
		if has {
			progress(Progress{ID: id, Status: "Layer already exists"})
			continue
		}
		rec, err := s.layers.Get(lr.ChainID)
		if err != nil {
			return nil, err
		}
		if src := rec.Source; src != nil && src.Digest == lr.Digest {
			mounted, err := p.Mount(ctx, registry.Blob{Digest: src.Digest, Size: src.Size, MediaType: src.MediaType}, src.Repository)
			if err != nil {
				return nil, err
			}
			if mounted {
				progress(Progress{ID: id, Status: "Mounted from " + src.Repository})
				continue
			}
		}
		progress(Progress{ID: id, Status: "Pushing"})
		b, cleanup, err := s.recompress(ctx, rec, m.MediaType == ocispec.MediaTypeImageManifest)
		if err != nil {
			return nil, err
		}
		if b.Digest != lr.Digest {
			if has, err = p.HasBlob(ctx, b.Digest); err != nil {
				cleanup()
				return nil, err
			}
		}
		if !has {
			if err := p.Upload(ctx, b); err != nil {
				cleanup()
				return nil, err
			}
		}
		cleanup()
		if b.Digest != lr.Digest {
			m.Layers[i] = ocispec.Descriptor{MediaType: b.MediaType, Digest: b.Digest, Size: b.Size}
			changed = true
		}
		progress(Progress{ID: shortID(b.Digest), Status: "Pushed"})
	}
	cfg, err := s.content.Get(img.ID)
	if err != nil {
		return nil, err
	}
	cfgBlob := registry.Blob{Digest: img.ID, Size: int64(len(cfg)), MediaType: m.Config.MediaType, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytesReader(cfg)), nil
	}}
	if err := p.Upload(ctx, cfgBlob); err != nil {
		return nil, err
	}
	if changed {
		if raw, err = json.Marshal(m); err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
	}
	mt := m.MediaType
	if mt == "" {
		mt = img.ManifestMediaType
	}
	if err := p.PutManifest(ctx, ref.Tag(), raw, mt); err != nil {
		return nil, err
	}
	return &PushResult{Tag: ref.Tag(), Digest: digest.FromBytes(raw), Size: len(raw)}, nil
}

// recompress reproduces layer l's tar stream, checks it against the diff
// ID, and gzips it into a temporary file.
func (s *Service) recompress(ctx context.Context, l *layer.Layer, oci bool) (registry.Blob, func(), error) {
	meta, err := os.Open(s.layers.TarSplitPath(l))
	if err != nil {
		return registry.Blob{}, nil, fmt.Errorf("layer %s has no tar-split metadata, so it cannot be pushed byte for byte: %w", l.DiffID, err)
	}
	defer meta.Close()
	mz, err := gzip.NewReader(meta)
	if err != nil {
		return registry.Blob{}, nil, fmt.Errorf("read tar-split metadata of %s: %w", l.DiffID, err)
	}
	root, err := os.OpenRoot(s.layers.DiffDir(l))
	if err != nil {
		return registry.Blob{}, nil, err
	}
	defer root.Close()
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), fmt.Sprintf("push-%d-", os.Getpid()))
	if err != nil {
		return registry.Blob{}, nil, fmt.Errorf("create push staging: %w", err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	cz := sha256.New()
	zw := kgzip.NewWriter(io.MultiWriter(tmp, cz))
	uh := sha256.New()
	stream := asm.NewOutputTarStream(rootGetter{root}, storage.NewJSONUnpacker(mz))
	defer stream.Close()
	if _, err := io.Copy(io.MultiWriter(zw, uh), ctxReader{ctx, stream}); err != nil {
		cleanup()
		return registry.Blob{}, nil, fmt.Errorf("reassemble layer %s: %w", l.DiffID, err)
	}
	if err := zw.Close(); err != nil {
		cleanup()
		return registry.Blob{}, nil, fmt.Errorf("compress layer %s: %w", l.DiffID, err)
	}
	if got := digestOf(uh); got != l.DiffID {
		cleanup()
		return registry.Blob{}, nil, fmt.Errorf("layer %s cannot be reproduced byte for byte (got %s): its files changed on disk", l.DiffID, got)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		cleanup()
		return registry.Blob{}, nil, err
	}
	mt := mediaDockerLayerGzip
	if oci {
		mt = ocispec.MediaTypeImageLayerGzip
	}
	name := tmp.Name()
	return registry.Blob{Digest: digestOf(cz), Size: size, MediaType: mt, Open: func() (io.ReadCloser, error) { return os.Open(name) }}, cleanup, nil
}

// rootGetter reads layer files for tar-split through os.Root, so that no
// path in the metadata can reach outside the layer.
type rootGetter struct{ root *os.Root }

func (g rootGetter) Get(name string) (io.ReadCloser, error) { return g.root.Open(name) }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
