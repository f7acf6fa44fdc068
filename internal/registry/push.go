package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/registryconf"
	"berth.dev/berth/internal/version"
)

// Pusher pushes to one registry endpoint: the name's own registry, or a
// rule's push endpoint (registryconf.Resolver.ResolvePush). There is no
// fallback: errors at a push endpoint say so.
type Pusher struct {
	ep   registryconf.Candidate
	repo name.Repository
	p    *remote.Pusher
	pl   *remote.Puller // for existence checks, with the same transport and auth
}

// NewPusher prepares a push to ep, into the repository of its physical
// reference ep.Ref (for a push endpoint, the name with the rule's prefix
// mapped).
func (c *Client) NewPusher(ctx context.Context, ep registryconf.Candidate) (*Pusher, error) {
	ref := ep.Ref
	var opts []name.Option
	if ep.TLS != registryconf.TLSVerify {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(ref.Name(), opts...)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", ref, err)
	}
	tr, err := Transport(ep)
	if err != nil {
		return nil, err
	}
	opt := []remote.Option{
		remote.WithTransport(tr),
		remote.WithAuthFromKeychain(keychain{c.creds}),
		remote.WithUserAgent("berth/" + version.Version),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}),
		remote.WithContext(ctx),
	}
	p, err := remote.NewPusher(opt...)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", ref, err)
	}
	pl, err := remote.NewPuller(opt...)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", ref, err)
	}
	return &Pusher{ep: ep, repo: repo, p: p, pl: pl}, nil
}

// Endpoint is where the pusher pushes.
func (p *Pusher) Endpoint() registryconf.Candidate { return p.ep }

// fail adds, at a push endpoint, the rule that chose it and that the push
// does not fall back to the origin.
func (p *Pusher) fail(err error) error {
	if p.ep.Role != registryconf.RolePush {
		return err
	}
	return fmt.Errorf("push to %s (the push endpoint of %s; no fallback to the origin): %w", p.repo, p.ep.Rule, err)
}

// HasBlob reports whether the repository already has blob dgst.
func (p *Pusher) HasBlob(ctx context.Context, dgst digest.Digest) (bool, error) {
	l, err := p.pl.Layer(ctx, p.repo.Digest(dgst.String()))
	if err != nil {
		return false, p.fail(fmt.Errorf("check blob %s: %w", dgst, err))
	}
	ok, err := l.(interface{ Exists() (bool, error) }).Exists()
	if err != nil {
		return false, p.fail(fmt.Errorf("check blob %s: %w", dgst, err))
	}
	return ok, nil
}

// Blob is content to upload: known digest, size and media type, and a way
// to read it.
type Blob struct {
	Digest    digest.Digest
	Size      int64
	MediaType string
	Open      func() (io.ReadCloser, error)
}

// blobLayer adapts Blob to the v1.Layer go-containerregistry uploads.
type blobLayer struct{ b Blob }

func (l blobLayer) Digest() (v1.Hash, error)           { return v1.NewHash(l.b.Digest.String()) }
func (l blobLayer) DiffID() (v1.Hash, error)           { return v1.NewHash(l.b.Digest.String()) }
func (l blobLayer) Compressed() (io.ReadCloser, error) { return l.b.Open() }
func (l blobLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("blob %s: uncompressed form not available", l.b.Digest)
}
func (l blobLayer) Size() (int64, error)                { return l.b.Size, nil }
func (l blobLayer) MediaType() (types.MediaType, error) { return types.MediaType(l.b.MediaType), nil }

// Upload uploads b unless the repository has it.
func (p *Pusher) Upload(ctx context.Context, b Blob) error {
	if err := p.p.Upload(ctx, p.repo, blobLayer{b}); err != nil {
		return p.fail(fmt.Errorf("upload blob %s to %s: %w", b.Digest, p.ep.Host, err))
	}
	return nil
}

type rawManifest struct {
	raw []byte
	mt  string
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(m.mt), nil }

// PutManifest stores raw (of mediaType) under tag.
func (p *Pusher) PutManifest(ctx context.Context, tag string, raw []byte, mediaType string) error {
	if err := p.p.Push(ctx, p.repo.Tag(tag), rawManifest{raw, mediaType}); err != nil {
		return p.fail(fmt.Errorf("put manifest %s:%s: %w", p.repo, tag, err))
	}
	return nil
}

// errNoContent stops an upload that a mount was meant to avoid.
var errNoContent = errors.New("content not kept locally")

// Mount asks the registry to link blob b from repository from (on the same
// registry) into the pushed repository, without uploading. It reports
// whether the registry did.
func (p *Pusher) Mount(ctx context.Context, b Blob, from string) (bool, error) {
	var opts []name.Option
	if p.ep.TLS != registryconf.TLSVerify {
		opts = append(opts, name.Insecure)
	}
	src, err := name.NewDigest(from+"@"+b.Digest.String(), opts...)
	if err != nil {
		return false, nil
	}
	if src.Context().RegistryStr() != p.repo.RegistryStr() {
		return false, nil
	}
	b.Open = func() (io.ReadCloser, error) { return nil, errNoContent }
	err = p.p.Upload(ctx, p.repo, &remote.MountableLayer{Layer: blobLayer{b}, Reference: src})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errNoContent):
		return false, nil
	}
	return false, p.fail(fmt.Errorf("mount blob %s from %s: %w", b.Digest, from, err))
}
