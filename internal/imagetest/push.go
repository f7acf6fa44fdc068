package imagetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushOption configures Push, PushIndex, Pull and PullIndex.
type PushOption func(*pushOptions)

type pushOptions struct {
	user, password string
	caCert         string
	insecure       bool
}

// WithBasicAuth sends user and password to the registry.
func WithBasicAuth(user, password string) PushOption {
	return func(o *pushOptions) { o.user, o.password = user, password }
}

// WithCACert trusts the CA certificate (PEM) at path, besides the system
// roots: for registrytest's TLS registries (Registry.CACert).
func WithCACert(path string) PushOption {
	return func(o *pushOptions) { o.caCert = path }
}

// WithInsecure allows plain HTTP to a registry that is not on loopback
// (loopback registries always may use it).
func WithInsecure() PushOption {
	return func(o *pushOptions) { o.insecure = true }
}

// Push uploads img to ref ("127.0.0.1:PORT/library/busybox:latest") and
// returns its manifest digest ("sha256:…").
func Push(ctx context.Context, img v1.Image, ref string, opts ...PushOption) (string, error) {
	r, ropts, err := remoteArgs(ctx, ref, opts)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	if err := remote.Write(r, img, ropts...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("push %s: compute digest: %w", ref, err)
	}
	return d.String(), nil
}

// PushIndex uploads idx and every image it lists to ref and returns the
// index digest.
func PushIndex(ctx context.Context, idx v1.ImageIndex, ref string, opts ...PushOption) (string, error) {
	r, ropts, err := remoteArgs(ctx, ref, opts)
	if err != nil {
		return "", fmt.Errorf("push index %s: %w", ref, err)
	}
	if err := remote.WriteIndex(r, idx, ropts...); err != nil {
		return "", fmt.Errorf("push index %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("push index %s: compute digest: %w", ref, err)
	}
	return d.String(), nil
}

// Pull returns the image at ref (for an index, the linux/amd64 image),
// read lazily from the registry.
func Pull(ctx context.Context, ref string, opts ...PushOption) (v1.Image, error) {
	r, ropts, err := remoteArgs(ctx, ref, opts)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := remote.Image(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return img, nil
}

// PullIndex returns the index at ref, read lazily from the registry.
func PullIndex(ctx context.Context, ref string, opts ...PushOption) (v1.ImageIndex, error) {
	r, ropts, err := remoteArgs(ctx, ref, opts)
	if err != nil {
		return nil, fmt.Errorf("pull index %s: %w", ref, err)
	}
	idx, err := remote.Index(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("pull index %s: %w", ref, err)
	}
	return idx, nil
}

// remoteArgs parses ref and turns opts into go-containerregistry options.
func remoteArgs(ctx context.Context, ref string, opts []PushOption) (name.Reference, []remote.Option, error) {
	var o pushOptions
	for _, opt := range opts {
		opt(&o)
	}
	var nameOpts []name.Option
	if o.insecure || isLoopback(ref) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("parse reference: %w", err)
	}

	transport := remote.DefaultTransport.(*http.Transport).Clone()
	if o.caCert != "" {
		pem, err := os.ReadFile(o.caCert)
		if err != nil {
			return nil, nil, fmt.Errorf("read ca certificate: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("read ca certificate %s: no PEM certificate", o.caCert)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	auth := authn.Anonymous
	if o.user != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: o.user, Password: o.password})
	}
	return r, []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithTransport(transport),
	}, nil
}

// isLoopback reports whether ref's registry host is a loopback address.
func isLoopback(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
