package registry

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"berth.dev/berth/internal/credential"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/registryconf"
)

// Login checks a credential against the registry at ep: GET /v2/ must
// succeed with it (after the token exchange, for token-auth registries).
func Login(ctx context.Context, ep registryconf.Candidate, a credential.Auth) error {
	var opts []name.Option
	if ep.TLS != registryconf.TLSVerify {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(ep.Ref.Domain(), opts...)
	if err != nil {
		return fmt.Errorf("login %s: %w", ep.Host, err)
	}
	tr, err := Transport(ep)
	if err != nil {
		return err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password})
	rt, err := transport.NewWithContext(ctx, reg, auth, tr, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return fmt.Errorf("login %s: %w", ep.Host, err)
	}
	ping := func(scheme string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+reg.RegistryStr()+"/v2/", nil)
		if err != nil {
			return nil, err
		}
		return (&http.Client{Transport: rt}).Do(req)
	}
	resp, err := ping(reg.Scheme())
	if err != nil && reg.Scheme() == "http" {
		resp, err = ping("https")
	}
	if err != nil {
		return fmt.Errorf("login %s: %w", ep.Host, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("login %s: unauthorized: incorrect username or password: %w", ep.Host, errdefs.ErrForbidden)
	}
	return fmt.Errorf("login %s: registry answered %s", ep.Host, resp.Status)
}
