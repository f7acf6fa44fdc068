package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbatts/tar-split/tar/storage"
	"golang.org/x/sync/errgroup"

	"berth.dev/berth/internal/archive"
	"berth.dev/berth/internal/layer"
	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/registry"
)

// Progress is one update of a pull, Docker's vocabulary.
type Progress struct {
	ID      string // short layer ID, or "" for the image as a whole
	Status  string // "Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Pull complete", "Already exists", "Retrying"
	Current int64
	Total   int64
}

// PullOptions tune a pull.
type PullOptions struct {
	Platform registry.Platform
	// Progress, if set, receives updates from several goroutines at once.
	Progress func(Progress)
	// Jobs is how many layers are fetched at once (default 3).
	Jobs int
}

// PullResult is what a pull did.
type PullResult struct {
	Image *Image
	// Digest is what the name resolved to (Docker's "Digest:" line).
	Digest digest.Digest
	// Downloaded is false when nothing was new: the name already resolved
	// to the image, at the digest the registry gave (Docker's "Image is up
	// to date").
	Downloaded bool
}

const maxConfigSize = 8 << 20

// Pull fetches plan.Name for opts.Platform and stores it under that name.
func (s *Service) Pull(ctx context.Context, plan *registry.Plan, opts PullOptions) (*PullResult, error) {
	if opts.Progress == nil {
		opts.Progress = func(Progress) {}
	}
	if opts.Jobs <= 0 {
		opts.Jobs = 3
	}
	if opts.Platform == (registry.Platform{}) {
		opts.Platform = registry.HostPlatform()
	}
	name := plan.Name
	// Layers committed by this pull are unreferenced until the record is
	// written: hold the GC lock shared so that removal waits for us.
	gc, err := lockfile.Acquire(ctx, s.gcLockPath(), lockfile.Shared)
	if err != nil {
		return nil, err
	}
	defer gc.Unlock()

	r, err := s.client.Resolve(ctx, plan, opts.Platform)
	if err != nil {
		return nil, err
	}
	blobs := s.client.Blobs(plan, r)
	m := r.Manifest
	if m.Config.Digest.Validate() != nil {
		return nil, fmt.Errorf("pull %s: manifest %s has an invalid config digest %q", name, r.ManifestDigest, m.Config.Digest)
	}
	rawConfig, err := s.content.Get(m.Config.Digest)
	if err != nil {
		if rawConfig, err = blobs.ReadAll(ctx, m.Config.Digest, maxConfigSize); err != nil {
			return nil, err
		}
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(rawConfig, &cfg); err != nil {
		return nil, fmt.Errorf("pull %s: decode config %s: %w", name, m.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("pull %s: manifest has %d layers but config %s lists %d diff IDs", name, len(m.Layers), m.Config.Digest, len(cfg.RootFS.DiffIDs))
	}

	img := &Image{
		ID:                m.Config.Digest,
		ManifestDigest:    r.ManifestDigest,
		ManifestMediaType: r.ManifestMediaType,
		Platform:          platformOf(cfg),
		Created:           time.Now().UTC(),
	}
	if r.RawIndex != nil {
		img.IndexDigest = r.Digest
	}
	var parent digest.Digest
	for i, l := range m.Layers {
		diffID := cfg.RootFS.DiffIDs[i]
		if err := diffID.Validate(); err != nil {
			return nil, fmt.Errorf("pull %s: config diff ID %d %q: %w", name, i, diffID, err)
		}
		if err := l.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("pull %s: manifest layer %d digest %q: %w", name, i, l.Digest, err)
		}
		chain := layer.ChainID(parent, diffID)
		img.Layers = append(img.Layers, LayerRef{DiffID: diffID, ChainID: chain, Digest: l.Digest, MediaType: l.MediaType, Size: l.Size})
		parent = chain
	}
	// An image the name already resolves to, at the same digest: Docker
	// shows none of its layers and says it is up to date.
	known := s.known(plan, r, img)
	if known {
		opts.Progress = func(Progress) {}
	}
	for _, l := range img.Layers {
		opts.Progress(Progress{ID: shortID(l.Digest), Status: "Pulling fs layer"})
	}

	var downloaded atomic.Bool
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	sizes := make([]int64, len(img.Layers))
	for i := range img.Layers {
		g.Go(func() error {
			var parent digest.Digest
			if i > 0 {
				parent = img.Layers[i-1].ChainID
			}
			l, fetched, err := s.ensureLayer(gctx, blobs, img.Layers[i], parent, plan.Endpoints, opts.Progress)
			if err != nil {
				return err
			}
			if fetched {
				downloaded.Store(true)
			}
			sizes[i] = l.Size
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, sz := range sizes {
		img.Size += sz
	}

	for _, b := range []struct {
		d    digest.Digest
		data []byte
	}{{m.Config.Digest, rawConfig}, {r.ManifestDigest, r.RawManifest}, {r.Digest, r.RawIndex}} {
		if b.data == nil {
			continue
		}
		if err := s.content.Put(b.d, b.data); err != nil {
			return nil, err
		}
	}
	ep := plan.Endpoints[r.Endpoint]
	img.Source = &Source{Name: name.String(), Ref: ep.Ref.String(), Endpoint: ep.URL, Role: string(ep.Role), Rule: ep.Rule, PulledAt: img.Created}

	lock, err := s.store.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if old, err := s.store.Get(img.ID); err == nil {
		img.Created = old.Created // keep the first time it was stored
	}
	if err := s.store.Put(img); err != nil {
		return nil, err
	}
	changes := map[string]digest.Digest{name.Name() + "@" + r.Digest.String(): img.ID}
	if name.Digest() == "" {
		changes[name.String()] = img.ID
	}
	upToDate := known && !downloaded.Load()
	if err := s.store.SetReferences(changes); err != nil {
		return nil, err
	}
	return &PullResult{Image: img, Digest: r.Digest, Downloaded: !upToDate}, nil
}

// known reports whether plan's name already resolves to img, which the
// store has with all its layers, and r's digest (what the name resolved to
// at the registry) is one it was pulled or stored at: nothing is new.
func (s *Service) known(plan *registry.Plan, r *registry.Resolved, img *Image) bool {
	refs, err := s.store.References()
	if err != nil || refs[plan.Name.String()] != img.ID {
		return false
	}
	old, err := s.store.Get(img.ID)
	if err != nil {
		return false
	}
	if refs[plan.Name.Name()+"@"+r.Digest.String()] != img.ID && old.ManifestDigest != r.Digest && old.IndexDigest != r.Digest {
		return false
	}
	for _, l := range img.Layers {
		if _, err := s.layers.Get(l.ChainID); err != nil {
			return false
		}
	}
	return true
}

func platformOf(cfg ocispec.Image) string {
	p := cfg.OS + "/" + cfg.Architecture
	if cfg.Variant != "" {
		p += "/" + cfg.Variant
	}
	return p
}

// ensureLayer makes the layer ref present, fetching and unpacking it if no
// process has. It reports whether it fetched it.
func (s *Service) ensureLayer(ctx context.Context, blobs *registry.BlobSource, ref LayerRef, parent digest.Digest, eps []registry.Endpoint, progress func(Progress)) (*layer.Layer, bool, error) {
	id := shortID(ref.Digest)
	if l, err := s.layers.Get(ref.ChainID); err == nil {
		progress(Progress{ID: id, Status: "Already exists"})
		return l, false, nil
	}
	progress(Progress{ID: id, Status: "Waiting"})
	lock, err := s.layers.LockIngest(ctx, ref.ChainID)
	if err != nil {
		return nil, false, err
	}
	defer lock.Unlock()
	if l, err := s.layers.Get(ref.ChainID); err == nil {
		progress(Progress{ID: id, Status: "Already exists"})
		return l, false, nil
	}
	var tried []registry.EndpointError
	for attempt := 0; attempt < blobs.Attempts(); attempt++ {
		if attempt > 0 {
			progress(Progress{ID: id, Status: "Retrying"})
		}
		l, ep, err := s.fetchLayer(ctx, blobs, attempt, ref, parent, progress)
		if err == nil {
			progress(Progress{ID: id, Status: "Pull complete"})
			return l, true, nil
		}
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var ee *archive.EntryError
		if errors.As(err, &ee) {
			return nil, false, fmt.Errorf("layer %s: %w", ref.Digest, err) // malicious content: no retry elsewhere
		}
		s.log.InfoContext(ctx, "layer fetch failed, trying the next endpoint", "digest", ref.Digest, "endpoint", ep.URL, "err", err)
		tried = append(tried, registry.EndpointError{Endpoint: ep.Candidate, Err: err})
	}
	return nil, false, &registry.PullError{What: "fetch layer " + ref.Digest.String(), Tried: tried}
}

func (s *Service) fetchLayer(ctx context.Context, blobs *registry.BlobSource, attempt int, ref LayerRef, parent digest.Digest, progress func(Progress)) (*layer.Layer, registry.Endpoint, error) {
	st, err := s.layers.NewStaging()
	if err != nil {
		return nil, registry.Endpoint{}, err
	}
	defer st.Discard()
	rc, cand, err := blobs.Open(ctx, attempt, ref.Digest)
	ep := registry.Endpoint{Candidate: cand}
	if err != nil {
		return nil, ep, err
	}
	defer rc.Close()
	id := shortID(ref.Digest)
	counter := &progressReader{r: rc, total: ref.Size, report: func(n int64) {
		progress(Progress{ID: id, Status: "Downloading", Current: n, Total: ref.Size})
	}}
	size, diffID, err := unpack(ctx, st.Dir(), st.MetaPath(layer.TarSplitName), counter)
	if err != nil {
		return nil, ep, err
	}
	if diffID != ref.DiffID {
		return nil, ep, fmt.Errorf("layer %s: uncompressed content has digest %s, but the image config says %s", ref.Digest, diffID, ref.DiffID)
	}
	progress(Progress{ID: id, Status: "Verifying Checksum"})
	l, err := s.layers.Commit(ctx, st, layer.Layer{
		ChainID: ref.ChainID, DiffID: ref.DiffID, Parent: parent, Size: size,
		Source: &layer.Source{Digest: ref.Digest, MediaType: ref.MediaType, Size: ref.Size, Repository: cand.Ref.Name()},
	})
	return l, ep, err
}

// unpack decompresses a layer stream (gzip, zstd or none, detected from its
// first bytes), applies it to dir, records its tar-split metadata at
// splitPath and returns the content size and the digest of the uncompressed
// stream. It reads r to its end, so a verifying reader checks the
// compressed digest.
func unpack(ctx context.Context, dir, splitPath string, r io.Reader) (_ int64, _ digest.Digest, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	var tr io.Reader
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, "", fmt.Errorf("read gzip layer: %w", err)
		}
		defer zr.Close()
		tr = zr
	case len(head) == 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return 0, "", fmt.Errorf("read zstd layer: %w", err)
		}
		defer zr.Close()
		tr = zr
	default:
		tr = br
	}
	h := sha256.New()
	split, err := os.OpenFile(splitPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("create tar-split metadata: %w", err)
	}
	defer func() {
		if cerr := split.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write tar-split metadata: %w", cerr)
		}
	}()
	zw := gzip.NewWriter(split)
	tee := io.TeeReader(tr, h)
	size, err := archive.Apply(ctx, dir, tee, archive.WithTarSplit(storage.NewJSONPacker(zw)))
	if err != nil {
		return 0, "", err
	}
	// The rest of the tar (padding after the end marker) counts in the diff
	// ID, and reading the compressed stream to its end verifies its digest.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return 0, "", fmt.Errorf("read layer: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return 0, "", fmt.Errorf("read layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, "", fmt.Errorf("write tar-split metadata: %w", err)
	}
	if err := split.Sync(); err != nil {
		return 0, "", fmt.Errorf("write tar-split metadata: %w", err)
	}
	return size, digestOf(h), nil
}

func digestOf(h hash.Hash) digest.Digest {
	return digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil))
}

// progressReader reports bytes read at most every 100 ms.
type progressReader struct {
	r      io.Reader
	n      int64
	total  int64
	last   time.Time
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || err == io.EOF {
		p.last = now
		p.report(p.n)
	}
	return n, err
}
