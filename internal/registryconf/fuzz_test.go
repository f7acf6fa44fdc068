package registryconf

import (
	"strings"
	"testing"

	"berth.dev/berth/internal/reference"
)

// FuzzResolve compiles a rule from fuzzed prefix and locations and resolves a
// fuzzed reference: it must never panic, and every answer must be coherent.
func FuzzResolve(f *testing.F) {
	seeds := [][4]string{
		{"gcr.io/google_containers", "registry.local/k8s", "", "gcr.io/google_containers/pause:3.9"},
		{"docker.io/lib", "registry.local/lib", "", "docker.io/library/x"},
		{"*.example.com", "", "http://127.0.0.1:5000", "a.example.com/x/y:1"},
		{"example.com:5000", "", "[::1]:5000/m", "example.com:5000/app"},
		{"docker.io", "", "https://mirror.local/hub", "busybox@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"},
		{"*.a.b:1", "x.y/z", "m.n", "c.a.b:1/q"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, prefix, loc, mirror, ref string) {
		rule := Rule{Prefix: prefix, Location: loc}
		if mirror != "" {
			rule.Mirrors = []Endpoint{{Location: mirror}}
			rule.Push = &Endpoint{Location: mirror}
		}
		r, err := New(Config{Registries: []Rule{rule}}, "fuzz", Flags{Replace: []Replace{{From: prefix + "/flag", To: loc}}}, WithDirExists(func(string) bool { return false }))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		name, err := reference.Parse(ref)
		if err != nil {
			return
		}
		if pr, err := r.ResolvePush(name); err == nil {
			if pr.Endpoint == nil || pr.Refused || pr.Endpoint.Ref.Tag() != name.Tag() || pr.Endpoint.Ref.Digest() != name.Digest() {
				t.Fatalf("push of %s: %+v", name, pr)
			}
		} else if pr != nil && (!pr.Refused || pr.Endpoint != nil || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("push of %s: %+v, %v", name, pr, err)
		}
		res, err := r.Resolve(name)
		if err != nil {
			return
		}
		if len(res.Candidates) == 0 {
			t.Fatalf("no candidates and no error for %s", name)
		}
		for _, c := range res.Candidates {
			if c.Ref.Tag() != name.Tag() || c.Ref.Digest() != name.Digest() {
				t.Fatalf("candidate %s changed the tag or digest of %s", c.Ref, name)
			}
			if _, err := reference.Parse(c.Ref.String()); err != nil {
				t.Fatalf("candidate %s does not parse: %v", c.Ref, err)
			}
			if c.Role == RoleOrigin && c.Ref.String() != name.String() {
				t.Fatalf("origin candidate %s differs from %s", c.Ref, name)
			}
		}
		if res.Prefix != "" && !strings.HasPrefix(res.Prefix, "*.") {
			full := strings.ToLower(name.Name())
			if full != res.Prefix && !strings.HasPrefix(full, res.Prefix+"/") {
				t.Fatalf("rule %q matched %s across a component boundary", res.Prefix, full)
			}
		}
	})
}
