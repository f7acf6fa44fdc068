package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth.dev/berth/internal/credential"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/registryconf"
	"berth.dev/berth/internal/version"
)

// Credentials finds a host's credential.
type Credentials interface {
	Lookup(host string) (credential.Auth, error)
}

// Client talks to registries through go-containerregistry, walking a Plan's
// endpoints in order. It is safe for concurrent use.
type Client struct {
	creds Credentials
	log   *slog.Logger

	mu      sync.Mutex // guards pullers
	pullers map[string]*remote.Puller
}

// NewClient returns a client that authenticates with creds.
func NewClient(creds Credentials, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{creds: creds, log: log, pullers: map[string]*remote.Puller{}}
}

// keychain resolves credentials for the registry a request goes to: the
// host actually contacted, never the name the user typed.
type keychain struct{ creds Credentials }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	a, err := k.creds.Lookup(r.RegistryStr())
	if err != nil {
		return nil, err
	}
	if a.Empty() {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}), nil
}

// Transport returns an HTTP transport with the endpoint's TLS settings.
func Transport(c registryconf.Candidate) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch c.TLS {
	case registryconf.TLSInsecure:
		cfg.InsecureSkipVerify = true //nolint:gosec // the user declared this registry insecure
	case registryconf.TLSVerify:
		if c.CADir != "" {
			if err := loadCertsDir(cfg, c.CADir); err != nil {
				return nil, err
			}
		}
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// loadCertsDir reads a Docker-style certs.d directory: *.crt are CAs added
// to the system pool, *.cert with a matching *.key are client certificates.
func loadCertsDir(cfg *tls.Config, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read certificates dir %s: %w", dir, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".crt"):
			pem, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("read CA %s: %w", p, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("read CA %s: no certificate in it", p)
			}
		case strings.HasSuffix(e.Name(), ".cert"):
			key := strings.TrimSuffix(p, ".cert") + ".key"
			pair, err := tls.LoadX509KeyPair(p, key)
			if err != nil {
				return fmt.Errorf("load client certificate %s: %w", p, err)
			}
			cfg.Certificates = append(cfg.Certificates, pair)
		}
	}
	cfg.RootCAs = pool
	return nil
}

// ggcrRef turns a candidate's physical reference into go-containerregistry's.
func ggcrRef(c registryconf.Candidate, ref string) (name.Reference, error) {
	var opts []name.Option
	if c.TLS != registryconf.TLSVerify {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(ref, opts...)
}

// puller returns the cached go-containerregistry puller of an endpoint, so
// that its authentication is negotiated once per process.
func (c *Client) puller(ctx context.Context, ep registryconf.Candidate) (*remote.Puller, error) {
	key := string(ep.TLS) + "|" + ep.CADir + "|" + ep.Host
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pullers[key]; ok {
		return p, nil
	}
	tr, err := Transport(ep)
	if err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(
		remote.WithTransport(tr),
		remote.WithAuthFromKeychain(keychain{c.creds}),
		remote.WithUserAgent("berth/"+version.Version),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}),
		remote.WithContext(ctx),
	)
	if err != nil {
		return nil, fmt.Errorf("set up client for %s: %w", ep.Host, err)
	}
	c.pullers[key] = p
	return p, nil
}

// Resolved is the manifest a plan resolved to.
type Resolved struct {
	// Endpoint is the index in the plan of the endpoint that resolved it.
	Endpoint int
	// Digest and MediaType are those of what the name points at: an index
	// or a manifest (Docker's RepoDigest).
	Digest    digest.Digest
	MediaType string
	// Manifest is the image manifest for the platform (the same as Digest
	// when the name points at a manifest).
	ManifestDigest    digest.Digest
	ManifestMediaType string
	RawManifest       []byte
	Manifest          ocispec.Manifest
	// RawIndex is the index the manifest was chosen from, if any.
	RawIndex []byte
}

// EndpointError is one endpoint's failure.
type EndpointError struct {
	Endpoint registryconf.Candidate
	Err      error
}

func (e EndpointError) Error() string {
	return fmt.Sprintf("%s (%s): %v", e.Endpoint.URL, e.Endpoint.Role, oneLine(e.Err))
}

// PullError lists what every endpoint tried said.
type PullError struct {
	What  string // "pull docker.io/library/busybox:latest", "fetch blob sha256:…"
	Tried []EndpointError
}

func (e *PullError) Error() string {
	if len(e.Tried) == 0 {
		return e.What + ": no endpoint to try"
	}
	parts := make([]string, len(e.Tried))
	for i, t := range e.Tried {
		parts[i] = t.Error()
	}
	return fmt.Sprintf("%s: every endpoint failed: %s", e.What, strings.Join(parts, "; "))
}

// Is makes a PullError whose every endpoint answered "not found" match
// errdefs.ErrNotFound.
func (e *PullError) Is(target error) bool {
	if target != errdefs.ErrNotFound || len(e.Tried) == 0 {
		return false
	}
	for _, t := range e.Tried {
		if !isNotFound(t.Err) {
			return false
		}
	}
	return true
}

func isNotFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.BlobUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return true
			}
		}
	}
	return errdefs.IsNotFound(err)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// Platform is an OS/architecture[/variant] to select from an index.
type Platform struct {
	OS, Architecture, Variant string
}

// HostPlatform is the platform berth runs on.
func HostPlatform() Platform {
	p := Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm64" {
		p.Variant = "v8"
	}
	return p
}

// ParsePlatform parses os/arch[/variant].
func ParsePlatform(s string) (Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Platform{}, fmt.Errorf("invalid platform %q: want os/arch[/variant]: %w", s, errdefs.ErrInvalidArgument)
	}
	p := Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func (p Platform) matches(q *ocispec.Platform) bool {
	if q == nil || q.OS != p.OS || q.Architecture != p.Architecture {
		return false
	}
	if p.Variant == "" || q.Variant == "" {
		return true
	}
	return p.Variant == q.Variant
}

const (
	mediaDockerList   = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaDockerSchema = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerV1     = "application/vnd.docker.distribution.manifest.v1+json"
	mediaDockerV1S    = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

func isIndex(mt string) bool { return mt == ocispec.MediaTypeImageIndex || mt == mediaDockerList }

// Resolve finds the image manifest for the plan's name and platform: the
// tag (or digest) is resolved at the first endpoint that answers, skipping
// digest-only endpoints for tags.
func (c *Client) Resolve(ctx context.Context, plan *Plan, platform Platform) (*Resolved, error) {
	var tried []EndpointError
	byDigest := plan.Name.Digest() != ""
	for i, ep := range plan.Endpoints {
		if ep.DigestOnly && !byDigest {
			continue
		}
		r, err := c.resolveAt(ctx, ep.Candidate, plan.Name.Digest(), platform)
		if err != nil {
			c.log.DebugContext(ctx, "resolve failed", "endpoint", ep.URL, "err", err)
			tried = append(tried, EndpointError{Endpoint: ep.Candidate, Err: err})
			var perr platformError
			if errors.As(err, &perr) {
				return nil, err // the image exists but not for this platform: no use asking elsewhere
			}
			continue
		}
		r.Endpoint = i
		return r, nil
	}
	return nil, &PullError{What: "pull " + plan.Name.String(), Tried: tried}
}

type platformError struct{ msg string }

func (e platformError) Error() string { return e.msg }

func (c *Client) resolveAt(ctx context.Context, ep registryconf.Candidate, want digest.Digest, platform Platform) (*Resolved, error) {
	p, err := c.puller(ctx, ep)
	if err != nil {
		return nil, err
	}
	ref, err := ggcrRef(ep, ep.Ref.String())
	if err != nil {
		return nil, err
	}
	desc, err := p.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	top := digest.Digest(desc.Digest.String())
	if want != "" && top != want {
		return nil, fmt.Errorf("manifest has digest %s, want %s", top, want)
	}
	r := &Resolved{Digest: top, MediaType: string(desc.MediaType)}
	raw, mt := desc.Manifest, string(desc.MediaType)
	if mt == mediaDockerV1 || mt == mediaDockerV1S {
		return nil, fmt.Errorf("%s uses Docker image manifest v1 (schema 1), which berth does not support", ep.Ref)
	}
	if isIndex(mt) {
		var idx ocispec.Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, fmt.Errorf("decode index %s: %w", top, err)
		}
		var chosen *ocispec.Descriptor
		var seen []string
		for i, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.OS != "unknown" {
				seen = append(seen, Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}.String())
			}
			if platform.matches(m.Platform) {
				chosen = &idx.Manifests[i]
				break
			}
		}
		if chosen == nil {
			return nil, platformError{fmt.Sprintf("no image for platform %s in %s (it has: %s)", platform, ep.Ref, strings.Join(seen, ", "))}
		}
		child, err := ggcrRef(ep, ep.Ref.Name()+"@"+chosen.Digest.String())
		if err != nil {
			return nil, err
		}
		cd, err := p.Get(ctx, child)
		if err != nil {
			return nil, fmt.Errorf("get manifest %s: %w", chosen.Digest, err)
		}
		r.RawIndex = raw
		raw, mt = cd.Manifest, string(cd.MediaType)
		if isIndex(mt) {
			return nil, fmt.Errorf("index %s points at another index for %s", top, platform)
		}
	}
	r.RawManifest, r.ManifestMediaType = raw, mt
	r.ManifestDigest = digest.FromBytes(raw)
	if err := json.Unmarshal(raw, &r.Manifest); err != nil {
		return nil, fmt.Errorf("decode manifest %s: %w", r.ManifestDigest, err)
	}
	if r.ManifestMediaType == "" {
		r.ManifestMediaType = r.Manifest.MediaType
	}
	if r.ManifestMediaType != ocispec.MediaTypeImageManifest && r.ManifestMediaType != mediaDockerSchema {
		return nil, fmt.Errorf("%s is a %q, not an image", ep.Ref, r.ManifestMediaType)
	}
	return r, nil
}

// blobOrder is the order endpoints are asked for content once the tag is
// resolved: digest-only endpoints before the resolver, the resolver, then
// the endpoints after it. Endpoints that failed to resolve are skipped.
func blobOrder(plan *Plan, resolvedAt int) []int {
	var order []int
	for i := range plan.Endpoints[:resolvedAt] {
		if plan.Endpoints[i].DigestOnly || plan.Name.Digest() != "" {
			order = append(order, i)
		}
	}
	order = append(order, resolvedAt)
	for i := resolvedAt + 1; i < len(plan.Endpoints); i++ {
		order = append(order, i)
	}
	return order
}

// BlobSource opens blobs of a resolved image, endpoint after endpoint.
type BlobSource struct {
	c     *Client
	plan  *Plan
	order []int
}

// Blobs returns the source of content for r.
func (c *Client) Blobs(plan *Plan, r *Resolved) *BlobSource {
	return &BlobSource{c: c, plan: plan, order: blobOrder(plan, r.Endpoint)}
}

// Attempts is how many endpoints Open may try, for callers that retry a
// stream that failed verification at its end.
func (b *BlobSource) Attempts() int { return len(b.order) }

// Open opens blob desc at the attempt-th endpoint in order (0 first). The
// reader verifies size and digest: its final Read fails on a mismatch.
func (b *BlobSource) Open(ctx context.Context, attempt int, dgst digest.Digest) (io.ReadCloser, registryconf.Candidate, error) {
	ep := b.plan.Endpoints[b.order[attempt]].Candidate
	p, err := b.c.puller(ctx, ep)
	if err != nil {
		return nil, ep, err
	}
	ref, err := ggcrRef(ep, ep.Ref.Name()+"@"+dgst.String())
	if err != nil {
		return nil, ep, err
	}
	l, err := p.Layer(ctx, ref.(name.Digest))
	if err != nil {
		return nil, ep, err
	}
	rc, err := l.Compressed()
	return rc, ep, err
}

// ReadAll fetches a small blob (a config), trying endpoints in order.
func (b *BlobSource) ReadAll(ctx context.Context, dgst digest.Digest, limit int64) ([]byte, error) {
	var tried []EndpointError
	for i := range b.order {
		rc, ep, err := b.Open(ctx, i, dgst)
		if err == nil {
			var data []byte
			data, err = io.ReadAll(io.LimitReader(rc, limit+1))
			rc.Close()
			if err == nil && int64(len(data)) > limit {
				err = fmt.Errorf("blob is larger than %d bytes", limit)
			}
			if err == nil && digest.FromBytes(data) != dgst {
				err = fmt.Errorf("content has digest %s", digest.FromBytes(data))
			}
			if err == nil {
				return data, nil
			}
		}
		tried = append(tried, EndpointError{Endpoint: ep, Err: err})
	}
	return nil, &PullError{What: "fetch blob " + dgst.String(), Tried: tried}
}
