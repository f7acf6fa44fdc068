package registryconf

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/reference"
)

func TestResolvePush(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		flags Flags
		ref   string
		// want is "role tls ref", or "refused: REASON-SUBSTRING".
		want   string
		origin bool   // OriginContacted
		rule   string // substring of the endpoint's Rule
	}{
		{
			name:   "no rule: the origin",
			ref:    "busybox:1.36",
			want:   "origin https docker.io/library/busybox:1.36",
			origin: true,
			rule:   "no rule matches",
		},
		{
			name:   "registry-mirrors are for pulls",
			cfg:    Config{Mirrors: []string{"http://127.0.0.1:5000"}},
			ref:    "busybox",
			want:   "origin https docker.io/library/busybox:latest",
			origin: true,
			rule:   "registry-mirrors in " + src,
		},
		{
			name: "a rewrite is for pulls",
			cfg:  Config{Registries: []Rule{{Prefix: "registry.k8s.io", Location: "registry.local/k8s"}}},
			ref:  "registry.k8s.io/kube-proxy:v1.30.0",
			want: "origin https registry.k8s.io/kube-proxy:v1.30.0", origin: true,
		},
		{
			name: "push endpoint with the rule's rewrite applied",
			cfg: Config{Registries: []Rule{{Prefix: "registry.k8s.io", Location: "registry.local/k8s",
				Push: &Endpoint{Location: "registry.local/k8s"}}}},
			ref:  "registry.k8s.io/kube-proxy:v1.30.0",
			want: "push https registry.local/k8s/kube-proxy:v1.30.0",
			rule: `registries[0].push (prefix "registry.k8s.io") in ` + src,
		},
		{
			name: "push endpoint of a path prefix",
			cfg: Config{Registries: []Rule{{Prefix: "ghcr.io/org", Mirrors: []Endpoint{{Location: "cache.local/ghcr"}},
				Push: &Endpoint{Location: "http://harbor.local/org", Insecure: false}}}},
			ref:  "ghcr.io/org/team/app:v1",
			want: "push http harbor.local/org/team/app:v1",
		},
		{
			name: "fallback none with a push endpoint",
			cfg: Config{Registries: []Rule{{Prefix: "docker.io", Fallback: "none",
				Mirrors: []Endpoint{{Location: "mirror.local"}}, Push: &Endpoint{Location: "mirror.local", Insecure: true}}}},
			ref:  "alpine:3",
			want: "push insecure mirror.local/library/alpine:3",
		},
		{
			name: "fallback none without a push endpoint refuses",
			cfg: Config{Registries: []Rule{{Prefix: "docker.io", Fallback: "none",
				Mirrors: []Endpoint{{Location: "mirror.local"}}}}},
			ref:  "alpine:3",
			want: `refused: fallback "none" never contacts docker.io and the rule names no push endpoint`,
		},
		{
			name: "fallback none with registry-mirrors refuses",
			cfg: Config{Mirrors: []string{"http://127.0.0.1:5000"},
				Registries: []Rule{{Prefix: "docker.io", Fallback: "none"}}},
			ref:  "alpine:3",
			want: `refused: fallback "none" never contacts docker.io`,
		},
		{
			name: "blocked refuses",
			cfg:  Config{Registries: []Rule{{Prefix: "ghcr.io/untrusted", Blocked: true}}},
			ref:  "ghcr.io/untrusted/x:1",
			want: "refused: the rule blocks the name",
		},
		{
			name: "a push endpoint equal to the prefix names the origin",
			cfg: Config{Registries: []Rule{{Prefix: "reg.corp/team", Fallback: "none",
				Mirrors: []Endpoint{{Location: "cache.local/team"}}, Push: &Endpoint{Location: "reg.corp/team"}}}},
			ref:    "reg.corp/team/app:2",
			want:   "push https reg.corp/team/app:2",
			origin: true,
		},
		{
			name: "longest prefix wins: a more specific rule without push",
			cfg: Config{Registries: []Rule{
				{Prefix: "quay.io", Push: &Endpoint{Location: "harbor.local/quay"}},
				{Prefix: "quay.io/coreos", Mirrors: []Endpoint{{Location: "m.local"}}}}},
			ref:    "quay.io/coreos/etcd:v3",
			want:   "origin https quay.io/coreos/etcd:v3",
			origin: true,
		},
		{
			name: "longest prefix wins: a more specific push endpoint",
			cfg: Config{Registries: []Rule{
				{Prefix: "quay.io", Push: &Endpoint{Location: "harbor.local/quay"}},
				{Prefix: "quay.io/coreos", Push: &Endpoint{Location: "harbor.local/coreos"}}}},
			ref:  "quay.io/coreos/etcd:v3",
			want: "push https harbor.local/coreos/etcd:v3",
		},
		{
			name: "wildcard prefix with a push endpoint",
			cfg:  Config{Registries: []Rule{{Prefix: "*.corp.example.com", Push: &Endpoint{Location: "edge.local", CADir: "/certs/edge"}}}},
			ref:  "eu.corp.example.com/team/app:1",
			want: "push https edge.local/team/app:1",
		},
		{
			name: "the origin keeps the rule's TLS settings when it has no location",
			cfg:  Config{Registries: []Rule{{Prefix: "127.0.0.1:5443", CADir: "/certs/127.0.0.1:5443"}}},
			ref:  "127.0.0.1:5443/app",
			want: "origin https 127.0.0.1:5443/app:latest", origin: true,
		},
		{
			name: "the location's TLS settings do not apply to the origin",
			cfg:  Config{Registries: []Rule{{Prefix: "localhost:5000", Location: "registry.local", CADir: "/certs/registry.local"}}},
			ref:  "localhost:5000/app",
			want: "origin insecure localhost:5000/app:latest", origin: true,
		},
		{
			name:   "flag rules are for pulls",
			cfg:    Config{Registries: []Rule{{Prefix: "gcr.io", Push: &Endpoint{Location: "harbor.local/gcr"}}}},
			flags:  Flags{Replace: []Replace{{From: "gcr.io/google_containers", To: "flag.local/k8s"}}, Mirrors: []string{"https://m.local"}},
			ref:    "gcr.io/google_containers/pause:3.9",
			want:   "push https harbor.local/gcr/google_containers/pause:3.9",
			origin: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg, src, tc.flags, WithDirExists(func(string) bool { return false }))
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.ResolvePush(reference.MustParse(tc.ref))
			if reason, refused := strings.CutPrefix(tc.want, "refused: "); refused {
				if !errors.Is(err, errdefs.ErrForbidden) || res == nil || !res.Refused || res.Endpoint != nil {
					t.Fatalf("want refused, got %+v, %v", res, err)
				}
				var pe *PushRefusedError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), reason) || !strings.Contains(res.Reason, reason) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %q (reason %q), want one line with %q", err, res.Reason, reason)
				}
				if !strings.HasPrefix(err.Error(), "push of "+reference.MustParse(tc.ref).String()+" refused by registries[") {
					t.Fatalf("err = %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := res.Endpoint
			if got := fmt.Sprintf("%s %s %s", c.Role, c.TLS, c.Ref); got != tc.want {
				t.Errorf("endpoint %q, want %q", got, tc.want)
			}
			if res.OriginContacted != tc.origin {
				t.Errorf("OriginContacted = %v, want %v", res.OriginContacted, tc.origin)
			}
			if !strings.Contains(c.Rule, tc.rule) || c.URL == "" || c.Host == "" || res.Reason == "" {
				t.Errorf("endpoint %+v (reason %q): want rule containing %q, a URL, a host and a reason", c, res.Reason, tc.rule)
			}
			if c.Role == RolePush && !strings.Contains(res.Reason, "never falling back to the origin") {
				t.Errorf("reason %q does not say there is no fallback", res.Reason)
			}
		})
	}
}

// A push endpoint is not a pull candidate: pulls are unchanged by it.
func TestPushEndpointIsNotPulledFrom(t *testing.T) {
	r, err := New(Config{Registries: []Rule{{Prefix: "quay.io", Mirrors: []Endpoint{{Location: "m.local"}},
		Push: &Endpoint{Location: "harbor.local/quay"}}}}, src, Flags{}, WithDirExists(func(string) bool { return false }))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Resolve(reference.MustParse("quay.io/coreos/etcd:v3"))
	if err != nil {
		t.Fatal(err)
	}
	want := "mirror https m.local/coreos/etcd:v3\norigin https quay.io/coreos/etcd:v3"
	if got := strings.Join(summarize(res), "\n"); got != want {
		t.Fatalf("candidates:\n%s\nwant:\n%s", got, want)
	}
}

func TestPushConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want string
	}{
		{"digest-only push endpoint", Rule{Prefix: "gcr.io", Push: &Endpoint{Location: "h.local", DigestOnly: true}},
			"registries[0].push.digest-only: a push stores a tag, so a push endpoint cannot be digest-only"},
		{"blocked with push", Rule{Prefix: "gcr.io", Blocked: true, Push: &Endpoint{Location: "h.local"}},
			"registries[0]: a blocked rule has no location, mirrors, push, fallback or TLS settings"},
		{"bad push location", Rule{Prefix: "gcr.io", Push: &Endpoint{Location: "ftp://h.local"}},
			"registries[0].push.location: \"ftp://h.local\": scheme must be http or https"},
		{"push insecure with ca-dir", Rule{Prefix: "gcr.io", Push: &Endpoint{Location: "h.local", Insecure: true, CADir: "/c"}},
			"registries[0].push: insecure skips certificate verification"},
		{"push http with ca-dir", Rule{Prefix: "gcr.io", Push: &Endpoint{Location: "http://h.local", CADir: "/c"}},
			"registries[0].push: an http:// endpoint has no TLS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Registries: []Rule{tc.rule}}, src, Flags{})
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), src+": ") {
				t.Fatalf("err = %v, want a *ConfigError from %s containing %q", err, src, tc.want)
			}
		})
	}
}

func TestRulesShowPushAndTLS(t *testing.T) {
	r, err := New(Config{Registries: []Rule{{Prefix: "quay.io", CADir: "/c/quay",
		Mirrors: []Endpoint{{Location: "m.local", Insecure: true}, {Location: "d.local", DigestOnly: true}},
		Push:    &Endpoint{Location: "https://harbor.local/quay", CADir: "/c/harbor"}}}}, src, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	rules := r.Rules()
	if len(rules) != 1 {
		t.Fatalf("rules = %+v", rules)
	}
	ri := rules[0]
	if len(ri.Mirrors) != 2 || !ri.Mirrors[0].Insecure || ri.Mirrors[0].Location != "m.local" || !ri.Mirrors[1].DigestOnly || ri.Mirrors[1].Insecure {
		t.Errorf("mirrors = %+v", ri.Mirrors)
	}
	if ri.Push == nil || *ri.Push != (EndpointInfo{Location: "https://harbor.local/quay", CADir: "/c/harbor"}) {
		t.Errorf("push = %+v", ri.Push)
	}
	if ri.CADir != "/c/quay" || ri.Insecure {
		t.Errorf("rule TLS = %v %q", ri.Insecure, ri.CADir)
	}
}
