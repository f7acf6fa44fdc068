package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"

	"berth.dev/berth/internal/archive"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/layer"
	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registry"
)

// Formats of `save`.
const (
	// FormatDocker is what `docker save` writes since Docker 25: an OCI
	// image layout (oci-layout, index.json, blobs/) that also carries
	// Docker's manifest.json, so that every `docker load` and every OCI
	// tool reads it.
	FormatDocker = "docker"
	// FormatOCI is an OCI image layout only.
	FormatOCI = "oci"
)

// Annotations naming an image in an OCI layout's index.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = ocispec.AnnotationRefName
)

// dockerManifest is one entry of a docker-save archive's manifest.json.
type dockerManifest struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// Save writes the images names refer to (references or IDs) as one tar
// archive to w. A repository name without a tag saves every tagged image
// of the repository, as `docker save` does. Layers are written
// uncompressed, reassembled byte for byte from what was unpacked.
func (s *Service) Save(ctx context.Context, w io.Writer, names []string, format string) error {
	if format == "" {
		format = FormatDocker
	}
	if format != FormatDocker && format != FormatOCI {
		return errdefs.New(errdefs.ErrInvalidArgument, "save: unknown format %q: want docker or oci", format)
	}
	if len(names) == 0 {
		return errdefs.New(errdefs.ErrInvalidArgument, "save: no images given")
	}
	type entry struct {
		img  *Image
		tags []reference.Reference
	}
	var order []digest.Digest
	byID := map[digest.Digest]*entry{}
	add := func(img *Image, r reference.Reference) {
		e := byID[img.ID]
		if e == nil {
			e = &entry{img: img}
			byID[img.ID] = e
			order = append(order, img.ID)
		}
		if !r.IsZero() && r.Tag() != "" {
			for _, t := range e.tags {
				if t.String() == r.String() {
					return
				}
			}
			e.tags = append(e.tags, r)
		}
	}
	refs, err := s.store.References()
	if err != nil {
		return err
	}
	for _, n := range names {
		if repo, ok := repositoryOnly(n); ok {
			var found bool
			keys := make([]string, 0, len(refs))
			for k := range refs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				r, err := reference.Parse(k)
				if err != nil || r.Name() != repo || r.Tag() == "" || r.Digest() != "" {
					continue
				}
				img, err := s.store.Get(refs[k])
				if err != nil {
					return err
				}
				add(img, r)
				found = true
			}
			if found {
				continue
			}
		}
		img, r, err := s.Resolve(n)
		if err != nil {
			return err
		}
		add(img, r)
	}

	tw := tar.NewWriter(w)
	written := map[digest.Digest]bool{}
	blobPath := func(d digest.Digest) string { return path.Join("blobs", d.Algorithm().String(), d.Encoded()) }
	putBlob := func(d digest.Digest, data []byte) error {
		if written[d] {
			return nil
		}
		written[d] = true
		return writeTarFile(tw, blobPath(d), data)
	}
	var index ocispec.Index
	index.SchemaVersion = 2
	index.MediaType = ocispec.MediaTypeImageIndex
	var dms []dockerManifest
	for _, id := range order {
		e := byID[id]
		rawConfig, err := s.content.Get(e.img.ID)
		if err != nil {
			return err
		}
		if err := putBlob(e.img.ID, rawConfig); err != nil {
			return err
		}
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest}
		m.SchemaVersion = 2
		m.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: e.img.ID, Size: int64(len(rawConfig))}
		dm := dockerManifest{Config: blobPath(e.img.ID)}
		for _, lr := range e.img.Layers {
			l, err := s.layers.Get(lr.ChainID)
			if err != nil {
				return fmt.Errorf("save %s: layer %s: %w", shortID(e.img.ID), lr.DiffID, err)
			}
			size, err := s.writeLayer(ctx, tw, l, blobPath(l.DiffID), written)
			if err != nil {
				return fmt.Errorf("save %s: %w", shortID(e.img.ID), err)
			}
			m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: l.DiffID, Size: size})
			dm.Layers = append(dm.Layers, blobPath(l.DiffID))
		}
		rawManifest, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode manifest: %w", err)
		}
		md := digest.FromBytes(rawManifest)
		if err := putBlob(md, rawManifest); err != nil {
			return err
		}
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(rawManifest))}
		if len(e.tags) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, t := range e.tags {
			d := desc
			d.Annotations = map[string]string{annotationImageName: t.String(), annotationRefName: t.Tag()}
			index.Manifests = append(index.Manifests, d)
			dm.RepoTags = append(dm.RepoTags, t.Familiar())
		}
		dms = append(dms, dm)
	}
	rawIndex, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	if err := writeTarFile(tw, ocispec.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := writeTarFile(tw, "index.json", rawIndex); err != nil {
		return err
	}
	if format == FormatDocker {
		rawDM, err := json.Marshal(dms)
		if err != nil {
			return fmt.Errorf("encode manifest.json: %w", err)
		}
		if err := writeTarFile(tw, "manifest.json", rawDM); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// repositoryOnly reports whether s names a repository without a tag or
// digest ("busybox", "localhost:5000/app"), and which.
func repositoryOnly(s string) (string, bool) {
	if strings.Contains(s, "@") {
		return "", false
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return "", false
	}
	r, err := reference.Parse(s)
	if err != nil {
		return "", false
	}
	return r.Name(), true
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// writeLayer writes layer l's tar stream, reassembled from its tar-split
// metadata, as the archive entry name (once), and returns its size.
func (s *Service) writeLayer(ctx context.Context, tw *tar.Writer, l *layer.Layer, name string, written map[digest.Digest]bool) (int64, error) {
	size, err := s.layerTarSize(l)
	if err != nil {
		return 0, err
	}
	if written[l.DiffID] {
		return size, nil
	}
	written[l.DiffID] = true
	rc, err := s.layerTar(l)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
		return 0, fmt.Errorf("write archive: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), ctxReader{ctx, rc})
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", l.DiffID, err)
	}
	if n != size || digestOf(h) != l.DiffID {
		return 0, fmt.Errorf("layer %s cannot be reproduced byte for byte (got %s, %d bytes): its files changed on disk", l.DiffID, digestOf(h), n)
	}
	return size, nil
}

// layerTarSize is the length of layer l's tar stream, from its tar-split
// metadata alone.
func (s *Service) layerTarSize(l *layer.Layer) (int64, error) {
	meta, err := os.Open(s.layers.TarSplitPath(l))
	if err != nil {
		return 0, fmt.Errorf("layer %s has no tar-split metadata: %w", l.DiffID, err)
	}
	defer meta.Close()
	mz, err := gzip.NewReader(meta)
	if err != nil {
		return 0, fmt.Errorf("read tar-split metadata of %s: %w", l.DiffID, err)
	}
	up := storage.NewJSONUnpacker(mz)
	var size int64
	for {
		e, err := up.Next()
		if errors.Is(err, io.EOF) {
			return size, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read tar-split metadata of %s: %w", l.DiffID, err)
		}
		switch e.Type {
		case storage.SegmentType:
			size += int64(len(e.Payload))
		case storage.FileType:
			size += e.Size
		}
	}
}

// layerTar reassembles layer l's tar stream from its files and tar-split
// metadata.
func (s *Service) layerTar(l *layer.Layer) (io.ReadCloser, error) {
	meta, err := os.Open(s.layers.TarSplitPath(l))
	if err != nil {
		return nil, fmt.Errorf("layer %s has no tar-split metadata: %w", l.DiffID, err)
	}
	mz, err := gzip.NewReader(meta)
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("read tar-split metadata of %s: %w", l.DiffID, err)
	}
	root, err := os.OpenRoot(s.layers.DiffDir(l))
	if err != nil {
		meta.Close()
		return nil, err
	}
	stream := asm.NewOutputTarStream(rootGetter{root}, storage.NewJSONUnpacker(mz))
	return &layerStream{ReadCloser: stream, closers: []io.Closer{root, meta}}, nil
}

type layerStream struct {
	io.ReadCloser
	closers []io.Closer
}

func (l *layerStream) Close() error {
	err := l.ReadCloser.Close()
	for _, c := range l.closers {
		c.Close()
	}
	return err
}

// Loaded is one image `load` stored.
type Loaded struct {
	ID digest.Digest
	// Refs are the names it was loaded with (none: an untagged image).
	Refs []reference.Reference
}

// Load reads a `docker save` archive (any Docker version's) or an OCI image
// layout, plain, gzip- or zstd-compressed, from r and stores its images.
// The archive is unpacked into a staging directory with the same checks
// as a pulled layer (no entry can land outside it), and every config and
// layer is verified against its digest before it is stored.
func (s *Service) Load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), fmt.Sprintf("load-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer os.RemoveAll(tmp)
	tr, closeTR, err := decompress(r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer closeTR()
	if _, err := archive.Apply(ctx, tmp, tr); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer root.Close()

	gc, err := lockfile.Acquire(ctx, s.gcLockPath(), lockfile.Shared)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()

	if data, err := readFileIn(root, "manifest.json", maxConfigSize); err == nil {
		var dms []dockerManifest
		if err := json.Unmarshal(data, &dms); err != nil {
			return nil, fmt.Errorf("load: decode manifest.json: %w: %w", errdefs.ErrInvalidArgument, err)
		}
		var out []Loaded
		for _, dm := range dms {
			var tags []reference.Reference
			for _, t := range dm.RepoTags {
				r, err := reference.Parse(t)
				if err != nil {
					return nil, fmt.Errorf("load: tag %q: %w", t, err)
				}
				tags = append(tags, r)
			}
			l, err := s.loadImage(ctx, root, dm.Config, "", dm.Layers, nil, tags)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load: %w", err)
	}
	data, err := readFileIn(root, "index.json", maxConfigSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "load: the archive has neither manifest.json (docker save) nor index.json (OCI layout)")
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("load: decode index.json: %w: %w", errdefs.ErrInvalidArgument, err)
	}
	var out []Loaded
	for _, desc := range idx.Manifests {
		md, err := s.pickManifest(root, desc)
		if err != nil {
			return nil, err
		}
		raw, err := readBlob(root, md.Digest, maxConfigSize)
		if err != nil {
			return nil, err
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("load: decode manifest %s: %w: %w", md.Digest, errdefs.ErrInvalidArgument, err)
		}
		var layers []string
		for _, l := range m.Layers {
			if err := l.Digest.Validate(); err != nil {
				return nil, fmt.Errorf("load: manifest %s: layer digest %q: %w: %w", md.Digest, l.Digest, errdefs.ErrInvalidArgument, err)
			}
			layers = append(layers, blobName(l.Digest))
		}
		if err := m.Config.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("load: manifest %s: config digest %q: %w: %w", md.Digest, m.Config.Digest, errdefs.ErrInvalidArgument, err)
		}
		var tags []reference.Reference
		name := desc.Annotations[annotationImageName]
		if name == "" {
			name = desc.Annotations[annotationRefName] // a full reference, or only a tag (then unnamed)
		}
		if r, err := reference.Parse(name); name != "" && err == nil && strings.ContainsAny(name, "/:") {
			tags = append(tags, r)
		}
		var layerDigests []digest.Digest
		for _, l := range m.Layers {
			layerDigests = append(layerDigests, l.Digest)
		}
		l, err := s.loadImage(ctx, root, blobName(m.Config.Digest), m.Config.Digest, layers, layerDigests, tags)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// pickManifest follows an index entry to an image manifest: an index in
// the layout is resolved to the host's platform.
func (s *Service) pickManifest(root *os.Root, desc ocispec.Descriptor) (ocispec.Descriptor, error) {
	for range 4 {
		if desc.MediaType != ocispec.MediaTypeImageIndex && desc.MediaType != "application/vnd.docker.distribution.manifest.list.v2+json" {
			return desc, nil
		}
		raw, err := readBlob(root, desc.Digest, maxConfigSize)
		if err != nil {
			return desc, err
		}
		var idx ocispec.Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			return desc, fmt.Errorf("load: decode index %s: %w: %w", desc.Digest, errdefs.ErrInvalidArgument, err)
		}
		host := registry.HostPlatform()
		var next *ocispec.Descriptor
		for i, d := range idx.Manifests {
			if d.Platform != nil && d.Platform.OS == host.OS && d.Platform.Architecture == host.Architecture {
				next = &idx.Manifests[i]
				break
			}
		}
		if next == nil {
			return desc, errdefs.New(errdefs.ErrNotFound, "load: index %s has no image for %s/%s", desc.Digest, host.OS, host.Architecture)
		}
		desc = *next
	}
	return desc, errdefs.New(errdefs.ErrInvalidArgument, "load: indexes nested too deep")
}

func blobName(d digest.Digest) string {
	return path.Join("blobs", d.Algorithm().String(), d.Encoded())
}

// loadImage stores one image of an archive: its config at configPath
// (verified against configDigest, or against the hex in its name as
// Docker names it), its layers at layerPaths (verified against
// layerDigests when the format gives them, and always against the
// config's diff IDs).
func (s *Service) loadImage(ctx context.Context, root *os.Root, configPath string, configDigest digest.Digest, layerPaths []string, layerDigests []digest.Digest, tags []reference.Reference) (Loaded, error) {
	rawConfig, err := readFileIn(root, configPath, maxConfigSize)
	if err != nil {
		return Loaded{}, fmt.Errorf("load: config %s: %w", configPath, err)
	}
	id := digest.FromBytes(rawConfig)
	if configDigest == "" {
		if hex := strings.TrimSuffix(path.Base(configPath), ".json"); len(hex) == 64 {
			configDigest = digest.NewDigestFromEncoded(digest.SHA256, hex)
		}
	}
	if configDigest != "" && configDigest != id {
		return Loaded{}, errdefs.New(errdefs.ErrInvalidArgument, "load: config %s has digest %s, but the archive names it %s", configPath, id, configDigest)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(rawConfig, &cfg); err != nil {
		return Loaded{}, fmt.Errorf("load: decode config %s: %w: %w", configPath, errdefs.ErrInvalidArgument, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(layerPaths) {
		return Loaded{}, errdefs.New(errdefs.ErrInvalidArgument, "load: image %s has %d layers but its config lists %d diff IDs", shortID(id), len(layerPaths), len(cfg.RootFS.DiffIDs))
	}
	img := &Image{ID: id, Platform: platformOf(cfg), Created: time.Now().UTC()}
	m := ocispec.Manifest{MediaType: mediaDockerManifest}
	m.SchemaVersion = 2
	m.Config = ocispec.Descriptor{MediaType: mediaDockerConfig, Digest: id, Size: int64(len(rawConfig))}
	var parent digest.Digest
	for i, p := range layerPaths {
		diffID := cfg.RootFS.DiffIDs[i]
		if err := diffID.Validate(); err != nil {
			return Loaded{}, fmt.Errorf("load: config diff ID %d %q: %w: %w", i, diffID, errdefs.ErrInvalidArgument, err)
		}
		var want digest.Digest
		if layerDigests != nil {
			want = layerDigests[i]
		}
		l, err := s.loadLayer(ctx, root, p, want, diffID, parent)
		if err != nil {
			return Loaded{}, err
		}
		img.Layers = append(img.Layers, LayerRef{DiffID: l.DiffID, ChainID: l.ChainID, Digest: l.DiffID, MediaType: mediaDockerLayerTar, Size: l.Size})
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: mediaDockerLayerTar, Digest: l.DiffID, Size: l.Size})
		img.Size += l.Size
		parent = l.ChainID
	}
	var first reference.Reference
	if len(tags) > 0 {
		first = tags[0]
	}
	if err := s.putImage(ctx, img, rawConfig, m, first); err != nil {
		return Loaded{}, err
	}
	if len(tags) > 1 {
		lock, err := s.store.Lock(ctx)
		if err != nil {
			return Loaded{}, err
		}
		changes := map[string]digest.Digest{}
		for _, t := range tags[1:] {
			changes[t.String()] = img.ID
		}
		err = s.store.SetReferences(changes)
		lock.Unlock()
		if err != nil {
			return Loaded{}, err
		}
	}
	return Loaded{ID: img.ID, Refs: tags}, nil
}

// loadLayer unpacks the layer file at p (plain or compressed) unless its
// chain is stored already, checking the file's digest (want, if known)
// and the uncompressed stream's (diffID).
func (s *Service) loadLayer(ctx context.Context, root *os.Root, p string, want, diffID, parent digest.Digest) (*layer.Layer, error) {
	chain := layer.ChainID(parent, diffID)
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
	f, err := root.Open(p)
	if err != nil {
		return nil, fmt.Errorf("load: layer %s: %w", p, err)
	}
	defer f.Close()
	st, err := s.layers.NewStaging()
	if err != nil {
		return nil, err
	}
	defer st.Discard()
	var h hash.Hash = sha256.New()
	size, got, err := unpack(ctx, st.Dir(), st.MetaPath(layer.TarSplitName), io.TeeReader(f, h))
	if err != nil {
		return nil, fmt.Errorf("load: layer %s: %w", p, err)
	}
	if want != "" && digestOf(h) != want {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "load: layer %s has digest %s, but the manifest says %s", p, digestOf(h), want)
	}
	if got != diffID {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "load: layer %s has diff ID %s, but the image config says %s", p, got, diffID)
	}
	return s.layers.Commit(ctx, st, layer.Layer{ChainID: chain, DiffID: diffID, Parent: parent, Size: size})
}

// readFileIn reads a file of the unpacked archive, at most max bytes.
func readFileIn(root *os.Root, name string, max int64) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "%s is larger than %d bytes", name, max)
	}
	return data, nil
}

// readBlob reads and verifies a blob of an OCI layout.
func readBlob(root *os.Root, d digest.Digest, max int64) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("load: digest %q: %w: %w", d, errdefs.ErrInvalidArgument, err)
	}
	data, err := readFileIn(root, blobName(d), max)
	if err != nil {
		return nil, fmt.Errorf("load: blob %s: %w", d, err)
	}
	if got := digest.FromBytes(data); got != d {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "load: blob %s has digest %s", d, got)
	}
	return data, nil
}

// decompress returns the tar stream inside r: r itself, or r gunzipped or
// unzstd'ed, found from its first bytes.
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("read gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case len(head) == 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("read zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
