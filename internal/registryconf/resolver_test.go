package registryconf

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/reference"
)

const src = "/etc/berth/config.json"

// want is a compact candidate: "role tls ref" (plus " digest-only").
func summarize(res *Resolution) []string {
	var out []string
	for _, c := range res.Candidates {
		s := fmt.Sprintf("%s %s %s", c.Role, c.TLS, c.Ref)
		if c.DigestOnly {
			s += " digest-only"
		}
		out = append(out, s)
	}
	return out
}

func TestResolve(t *testing.T) {
	const d = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"
	tests := []struct {
		name   string
		cfg    Config
		flags  Flags
		ref    string
		want   []string
		origin bool   // OriginContacted
		rule   string // substring of Resolution.Rule
	}{
		{
			name:   "no config: the origin",
			ref:    "busybox",
			want:   []string{"origin https docker.io/library/busybox:latest"},
			origin: true,
		},
		{
			name:   "docker hub mirrors from registry-mirrors",
			cfg:    Config{Mirrors: []string{"http://127.0.0.1:5000", "https://mirror.example.com"}},
			ref:    "busybox:1.36",
			want:   []string{"mirror http 127.0.0.1:5000/library/busybox:1.36", "mirror https mirror.example.com/library/busybox:1.36", "origin https docker.io/library/busybox:1.36"},
			origin: true,
			rule:   "registry-mirrors in " + src,
		},
		{
			name: "registry-mirrors do not apply to other registries",
			cfg:  Config{Mirrors: []string{"http://127.0.0.1:5000"}},
			ref:  "quay.io/coreos/etcd:v3",
			want: []string{"origin https quay.io/coreos/etcd:v3"}, origin: true,
		},
		{
			name: "mirrors for a non-hub registry",
			cfg: Config{Registries: []Rule{{Prefix: "quay.io", Mirrors: []Endpoint{
				{Location: "mirror.local:5000"}, {Location: "http://cache.local/quay"}}}}},
			ref:    "quay.io/coreos/etcd:v3",
			want:   []string{"mirror https mirror.local:5000/coreos/etcd:v3", "mirror http cache.local/quay/coreos/etcd:v3", "origin https quay.io/coreos/etcd:v3"},
			origin: true,
			rule:   `registries[0] (prefix "quay.io")`,
		},
		{
			name:  "kubeadm --image-repository case",
			flags: Flags{Replace: []Replace{{From: "gcr.io/google_containers", To: "registry.local/k8s"}}},
			ref:   "gcr.io/google_containers/pause:3.9",
			want:  []string{"rewrite https registry.local/k8s/pause:3.9"},
			rule:  "--replace gcr.io/google_containers --replace-to registry.local/k8s",
		},
		{
			name: "rewrite applies to every endpoint of the rule",
			cfg: Config{Registries: []Rule{{Prefix: "gcr.io/google_containers", Location: "registry.local/k8s",
				Mirrors: []Endpoint{{Location: "mirror.local/cache"}}}}},
			ref:  "gcr.io/google_containers/kube-proxy:v1.30",
			want: []string{"mirror https mirror.local/cache/kube-proxy:v1.30", "rewrite https registry.local/k8s/kube-proxy:v1.30"},
		},
		{
			name:   "prefix matches whole components only",
			flags:  Flags{Replace: []Replace{{From: "docker.io/lib", To: "registry.local/lib"}}},
			ref:    "docker.io/library/x",
			want:   []string{"origin https docker.io/library/x:latest"},
			origin: true,
		},
		{
			name:  "prefix equal to the whole repository",
			flags: Flags{Replace: []Replace{{From: "docker.io/library/busybox", To: "registry.local/tools/bb"}}},
			ref:   "busybox@" + d,
			want:  []string{"rewrite https registry.local/tools/bb@" + d},
		},
		{
			name:   "a port makes another registry",
			cfg:    Config{Registries: []Rule{{Prefix: "example.com", Mirrors: []Endpoint{{Location: "mirror.local"}}}}},
			ref:    "example.com:5000/app",
			want:   []string{"origin https example.com:5000/app:latest"},
			origin: true,
		},
		{
			name: "the port-qualified rule applies to the port only",
			cfg: Config{Registries: []Rule{
				{Prefix: "example.com", Mirrors: []Endpoint{{Location: "a.local"}}},
				{Prefix: "example.com:5000", Mirrors: []Endpoint{{Location: "b.local"}}}}},
			ref:    "example.com:5000/app",
			want:   []string{"mirror https b.local/app:latest", "origin https example.com:5000/app:latest"},
			origin: true,
		},
		{
			name:   "wildcard host",
			cfg:    Config{Registries: []Rule{{Prefix: "*.example.com", Mirrors: []Endpoint{{Location: "mirror.local"}}}}},
			ref:    "eu.registry.example.com/team/app:1",
			want:   []string{"mirror https mirror.local/team/app:1", "origin https eu.registry.example.com/team/app:1"},
			origin: true,
		},
		{
			name:   "wildcard does not match the bare domain",
			cfg:    Config{Registries: []Rule{{Prefix: "*.example.com", Mirrors: []Endpoint{{Location: "mirror.local"}}}}},
			ref:    "example.com/team/app:1",
			want:   []string{"origin https example.com/team/app:1"},
			origin: true,
		},
		{
			name: "literal host beats wildcard on a tie",
			cfg: Config{Registries: []Rule{
				{Prefix: "*.example.com", Mirrors: []Endpoint{{Location: "wild.local"}}},
				{Prefix: "a.example.com", Mirrors: []Endpoint{{Location: "exact.local"}}}}},
			ref:    "a.example.com/app",
			want:   []string{"mirror https exact.local/app:latest", "origin https a.example.com/app:latest"},
			origin: true,
		},
		{
			name: "longest prefix wins",
			cfg: Config{Registries: []Rule{
				{Prefix: "*.example.com/team", Mirrors: []Endpoint{{Location: "team.local"}}},
				{Prefix: "a.example.com", Mirrors: []Endpoint{{Location: "exact.local"}}}}},
			ref:    "a.example.com/team/app",
			want:   []string{"mirror https team.local/app:latest", "origin https a.example.com/team/app:latest"},
			origin: true,
		},
		{
			name: "fallback none never contacts the source",
			cfg: Config{Registries: []Rule{{Prefix: "docker.io", Fallback: "none",
				Mirrors: []Endpoint{{Location: "http://127.0.0.1:5000"}}}}},
			ref:  "alpine:3",
			want: []string{"mirror http 127.0.0.1:5000/library/alpine:3"},
		},
		{
			name: "fallback none with registry-mirrors",
			cfg: Config{Mirrors: []string{"http://127.0.0.1:5000"},
				Registries: []Rule{{Prefix: "docker.io", Fallback: "none"}}},
			ref:  "alpine:3",
			want: []string{"mirror http 127.0.0.1:5000/library/alpine:3"},
		},
		{
			name: "digest-only mirror",
			cfg: Config{Registries: []Rule{{Prefix: "ghcr.io", Mirrors: []Endpoint{
				{Location: "cache.local", DigestOnly: true}}}}},
			ref:    "ghcr.io/org/tool:v1",
			want:   []string{"mirror https cache.local/org/tool:v1 digest-only", "origin https ghcr.io/org/tool:v1"},
			origin: true,
		},
		{
			name: "flags override config",
			cfg: Config{Mirrors: []string{"https://config-mirror.local"},
				Registries: []Rule{{Prefix: "gcr.io/google_containers", Location: "config.local/k8s"}}},
			flags: Flags{
				Replace: []Replace{{From: "gcr.io", To: "flag.local/gcr"}, {From: "quay.io", To: "flag.local/quay"}},
				Mirrors: []string{"http://127.0.0.1:5000"},
			},
			ref:  "gcr.io/google_containers/pause:3.9",
			want: []string{"rewrite https flag.local/gcr/google_containers/pause:3.9"},
			rule: "--replace gcr.io --replace-to flag.local/gcr",
		},
		{
			name: "--registry-mirror replaces registry-mirrors",
			cfg:  Config{Mirrors: []string{"https://config-mirror.local"}},
			flags: Flags{
				Replace: []Replace{{From: "gcr.io", To: "flag.local/gcr"}},
				Mirrors: []string{"http://127.0.0.1:5000"},
			},
			ref:    "busybox",
			want:   []string{"mirror http 127.0.0.1:5000/library/busybox:latest", "origin https docker.io/library/busybox:latest"},
			origin: true,
			rule:   "--registry-mirror",
		},
		{
			// k3s#7007, wharfie#25: a mirror's path must not leak into the
			// fallback to the origin.
			name:   "harbor proxy project as hub mirror; origin keeps the name",
			cfg:    Config{Mirrors: []string{"https://harbor.local/dockerhub"}},
			ref:    "rancher/coredns:1.6",
			want:   []string{"mirror https harbor.local/dockerhub/rancher/coredns:1.6", "origin https docker.io/rancher/coredns:1.6"},
			origin: true,
		},
		{
			name:   "insecure registries: host and CIDR",
			cfg:    Config{Insecure: []string{"reg.local:5000", "10.1.0.0/16"}},
			ref:    "reg.local:5000/app",
			want:   []string{"origin insecure reg.local:5000/app:latest"},
			origin: true,
		},
		{
			name:   "insecure entry is exact: another port is secure",
			cfg:    Config{Insecure: []string{"reg.local:5000"}},
			ref:    "reg.local:5001/app",
			want:   []string{"origin https reg.local:5001/app:latest"},
			origin: true,
		},
		{
			name:   "CIDR by IP literal",
			cfg:    Config{Insecure: []string{"10.1.0.0/16"}},
			ref:    "10.1.2.3:5000/app",
			want:   []string{"origin insecure 10.1.2.3:5000/app:latest"},
			origin: true,
		},
		{
			name:   "an explicit ca-dir verifies even a loopback registry",
			cfg:    Config{Registries: []Rule{{Prefix: "127.0.0.1:5443", CADir: "/certs/127.0.0.1:5443"}}},
			ref:    "127.0.0.1:5443/app",
			want:   []string{"origin https 127.0.0.1:5443/app:latest"},
			origin: true,
		},
		{
			name:   "loopback is implicitly insecure",
			ref:    "localhost:5000/app",
			want:   []string{"origin insecure localhost:5000/app:latest"},
			origin: true,
		},
		{
			name:   "ipv6 loopback",
			ref:    "[::1]:5000/app",
			want:   []string{"origin insecure [::1]:5000/app:latest"},
			origin: true,
		},
		{
			name: "hub aliases in a prefix",
			cfg:  Config{Registries: []Rule{{Prefix: "index.docker.io/library", Location: "registry.local/hub"}}},
			ref:  "busybox",
			want: []string{"rewrite https registry.local/hub/busybox:latest"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg, src, tc.flags, WithDirExists(func(string) bool { return false }))
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Resolve(reference.MustParse(tc.ref))
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(res)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("candidates:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if res.OriginContacted != tc.origin {
				t.Errorf("OriginContacted = %v, want %v", res.OriginContacted, tc.origin)
			}
			if !strings.Contains(res.Rule, tc.rule) {
				t.Errorf("Rule = %q, want it to contain %q", res.Rule, tc.rule)
			}
			for _, c := range res.Candidates {
				if c.Rule == "" || c.URL == "" || c.Host == "" {
					t.Errorf("candidate %+v lacks rule, URL or host", c)
				}
			}
		})
	}
}

func TestResolveBlocked(t *testing.T) {
	r, err := New(Config{Registries: []Rule{{Prefix: "docker.io", Blocked: true}}}, src, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Resolve(reference.MustParse("busybox"))
	if !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("err = %v, want forbidden", err)
	}
	if !res.Blocked || len(res.Candidates) != 0 {
		t.Fatalf("res = %+v", res)
	}
	if want := `pull of docker.io/library/busybox:latest is blocked by registries[0] (prefix "docker.io") in ` + src; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	// A more specific rule unblocks part of a blocked registry.
	r, err = New(Config{Registries: []Rule{{Prefix: "docker.io", Blocked: true}, {Prefix: "docker.io/library", Location: "registry.local/hub"}}}, src, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(reference.MustParse("busybox")); err != nil {
		t.Fatalf("docker.io/library is allowed: %v", err)
	}
	if _, err := r.Resolve(reference.MustParse("someone/app")); !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("docker.io/someone is blocked: %v", err)
	}
}

func TestResolveCertsDir(t *testing.T) {
	dirs := map[string]bool{"/etc/docker/certs.d/reg.example.com:5000": true, "/etc/berth/certs.d/reg.example.com:5000": false}
	r, err := New(Config{}, src, Flags{}, WithDirExists(func(p string) bool { return dirs[p] }))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Resolve(reference.MustParse("reg.example.com:5000/app"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Candidates[0].CADir; got != "/etc/docker/certs.d/reg.example.com:5000" {
		t.Fatalf("CADir = %q", got)
	}
}

func TestInsecureLookup(t *testing.T) {
	lookup := func(h string) ([]net.IP, error) {
		if h == "reg.corp" {
			return []net.IP{net.ParseIP("10.1.2.3")}, nil
		}
		return nil, errors.New("no such host")
	}
	r, err := New(Config{Insecure: []string{"10.1.0.0/16"}}, src, Flags{}, WithLookupIP(lookup), WithDirExists(func(string) bool { return false }))
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]TLS{"reg.corp/app": TLSInsecure, "other.corp/app": TLSVerify} {
		res, err := r.Resolve(reference.MustParse(ref))
		if err != nil {
			t.Fatal(err)
		}
		if res.Candidates[0].TLS != want {
			t.Errorf("%s: TLS = %s, want %s", ref, res.Candidates[0].TLS, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		flags Flags
		want  string
	}{
		{"duplicate prefix", Config{Registries: []Rule{{Prefix: "gcr.io", Location: "a.local"}, {Prefix: "GCR.io", Location: "b.local"}}},
			Flags{}, `registries[1].prefix: "gcr.io" is already the prefix of registries[0]`},
		{"blocked with mirrors", Config{Registries: []Rule{{Prefix: "gcr.io", Blocked: true, Mirrors: []Endpoint{{Location: "m.local"}}}}},
			Flags{}, "registries[0]: a blocked rule has no location, mirrors"},
		{"fallback none without mirrors", Config{Registries: []Rule{{Prefix: "gcr.io", Fallback: "none"}}},
			Flags{}, `registries[0].fallback: "none" without mirrors`},
		{"fallback none with a location", Config{Registries: []Rule{{Prefix: "gcr.io", Location: "a.local", Fallback: "none", Mirrors: []Endpoint{{Location: "m.local"}}}}},
			Flags{}, `registries[0].location: with fallback "none" the location is never contacted`},
		{"bad fallback", Config{Registries: []Rule{{Prefix: "gcr.io", Fallback: "mirror"}}},
			Flags{}, `registries[0].fallback: "mirror" is not one of`},
		{"hub mirrors twice", Config{Mirrors: []string{"https://a.local"}, Registries: []Rule{{Prefix: "docker.io", Mirrors: []Endpoint{{Location: "b.local"}}}}},
			Flags{}, "registry-mirrors: registries[0] also sets mirrors for docker.io"},
		{"prefix with scheme", Config{Registries: []Rule{{Prefix: "https://gcr.io", Location: "a.local"}}},
			Flags{}, `registries[0].prefix: prefix "https://gcr.io": a prefix is a name, not a URL`},
		{"prefix without host", Config{Registries: []Rule{{Prefix: "library/busybox", Location: "a.local/x"}}},
			Flags{}, `"library" is not a registry host`},
		{"mid wildcard", Config{Registries: []Rule{{Prefix: "a.*.com", Location: "a.local"}}},
			Flags{}, `a wildcard may only be a leading "*."`},
		{"uppercase path", Config{Registries: []Rule{{Prefix: "gcr.io/Team", Location: "a.local"}}},
			Flags{}, `path component "Team"`},
		{"insecure with ca-dir", Config{Registries: []Rule{{Prefix: "gcr.io", Mirrors: []Endpoint{{Location: "m.local", Insecure: true, CADir: "/x"}}}}},
			Flags{}, "registries[0].mirrors[0]: insecure skips certificate verification"},
		{"duplicate mirror", Config{Registries: []Rule{{Prefix: "gcr.io", Mirrors: []Endpoint{{Location: "m.local"}, {Location: "https://m.local"}}}}},
			Flags{}, `registries[0].mirrors[1]: "https://m.local" repeats mirrors[0]`},
		{"mirror ftp", Config{Registries: []Rule{{Prefix: "gcr.io", Mirrors: []Endpoint{{Location: "ftp://m.local"}}}}},
			Flags{}, "scheme must be http or https"},
		{"location repeats prefix", Config{Registries: []Rule{{Prefix: "gcr.io/x", Location: "gcr.io/x"}}},
			Flags{}, "repeats the prefix"},
		{"hub mirror without scheme", Config{Mirrors: []string{"mirror.local"}},
			Flags{}, "registry-mirrors[0]: \"mirror.local\": a mirror is a URL"},
		{"hub mirror with query", Config{Mirrors: []string{"https://mirror.local/?a=b"}},
			Flags{}, "no user, query or fragment"},
		{"bad insecure", Config{Insecure: []string{"not a host"}},
			Flags{}, `insecure-registries[0]: "not a host" is neither host[:port] nor a CIDR`},
		{"unpaired flags", Config{}, Flags{}, ""},
		{"duplicate --replace", Config{}, Flags{Replace: []Replace{{"gcr.io", "a.local"}, {"gcr.io", "b.local"}}},
			`flags: --replace: "gcr.io" is given twice (pairs 1 and 2)`},
		{"bad --replace-to", Config{}, Flags{Replace: []Replace{{"gcr.io", "A_B"}}},
			"flags: --replace-to"},
		{"bad --registry-mirror", Config{}, Flags{Mirrors: []string{"ftp://x.local"}},
			"flags: --registry-mirror[0]"},
	}
	for _, tc := range tests {
		if tc.want == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, src, tc.flags)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line containing %q", err, tc.want)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("err %v is not invalid argument", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("err %T is not a *ConfigError", err)
			}
		})
	}
}

func TestPairReplace(t *testing.T) {
	if _, err := PairReplace([]string{"a.io", "b.io"}, []string{"c.io"}); err == nil || !strings.Contains(err.Error(), "got 2 --replace and 1 --replace-to") {
		t.Fatalf("err = %v", err)
	}
	got, err := PairReplace([]string{"a.io", "b.io"}, []string{"c.io", "d.io"})
	if err != nil || len(got) != 2 || got[1] != (Replace{"b.io", "d.io"}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestInsecureSchemeWarning(t *testing.T) {
	r, err := New(Config{Insecure: []string{"http://reg.local:5000"}}, src, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Warnings(); len(w) != 1 || !strings.Contains(w[0], `scheme "http://" ignored`) {
		t.Fatalf("warnings = %q", w)
	}
	res, _ := r.Resolve(reference.MustParse("reg.local:5000/app"))
	if res.Candidates[0].TLS != TLSInsecure {
		t.Fatalf("TLS = %s", res.Candidates[0].TLS)
	}
}
