package registry

import (
	"encoding/json"
	"strings"
	"testing"

	"berth.dev/berth/internal/credential"
	"berth.dev/berth/internal/reference"
	"berth.dev/berth/internal/registryconf"
)

type fakeCreds map[string]credential.Source

func (f fakeCreds) SourceFor(host string) credential.Source {
	if s, ok := f[host]; ok {
		return s
	}
	return credential.Source{Kind: credential.KindNone, Detail: "anonymous"}
}

func TestNewPlanUsesContactedHost(t *testing.T) {
	r, err := registryconf.New(registryconf.Config{Mirrors: []string{"http://127.0.0.1:5000"}}, "c.json", registryconf.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Resolve(reference.MustParse("busybox"))
	if err != nil {
		t.Fatal(err)
	}
	creds := fakeCreds{"docker.io": {Kind: credential.KindFile, Detail: "hub"}}
	p := NewPlan(res, creds)
	if len(p.Endpoints) != 2 {
		t.Fatalf("endpoints = %+v", p.Endpoints)
	}
	if p.Endpoints[0].Host != "127.0.0.1:5000" || p.Endpoints[0].Credentials.Kind != credential.KindNone {
		t.Errorf("the mirror must not get Docker Hub's credential: %+v", p.Endpoints[0])
	}
	if p.Endpoints[1].Credentials.Detail != "hub" {
		t.Errorf("origin credential = %+v", p.Endpoints[1].Credentials)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"candidates":[{"role":"mirror"`) || strings.Count(s, `"candidates"`) != 1 {
		t.Errorf("json = %s", s)
	}
}

func TestNewPushPlanUsesPushEndpointHost(t *testing.T) {
	cfg := registryconf.Config{Registries: []registryconf.Rule{{Prefix: "registry.k8s.io", Location: "registry.local/k8s",
		Push: &registryconf.Endpoint{Location: "registry.local/k8s"}}}}
	r, err := registryconf.New(cfg, "c.json", registryconf.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.ResolvePush(reference.MustParse("registry.k8s.io/pause:3.9"))
	if err != nil {
		t.Fatal(err)
	}
	creds := fakeCreds{"registry.k8s.io": {Kind: credential.KindFile, Detail: "origin"}, "registry.local": {Kind: credential.KindFile, Detail: "local"}}
	p := NewPushPlan(res, creds)
	if p.Endpoint == nil || p.Endpoint.Ref.String() != "registry.local/k8s/pause:3.9" || p.Endpoint.Credentials.Detail != "local" {
		t.Fatalf("endpoint = %+v", p.Endpoint)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"endpoint":{"role":"push"`) || !strings.Contains(s, `"credentials":{`) || strings.Count(s, `"endpoint"`) != 1 {
		t.Errorf("json = %s", s)
	}
}
