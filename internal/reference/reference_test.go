package reference

import (
	"errors"
	"strings"
	"testing"

	"berth.dev/berth/internal/errdefs"
)

const dgst = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"

func TestParse(t *testing.T) {
	tests := []struct {
		name, in                string
		want, domain, path, tag string
		familiar                string
		digest                  string
	}{
		{name: "short", in: "busybox", want: "docker.io/library/busybox:latest", domain: "docker.io", path: "library/busybox", tag: "latest", familiar: "busybox:latest"},
		{name: "legacy hub host", in: "index.docker.io/busybox", want: "docker.io/library/busybox:latest", domain: "docker.io", path: "library/busybox", tag: "latest", familiar: "busybox:latest"},
		{name: "hub user repo", in: "team/app:1.2", want: "docker.io/team/app:1.2", domain: "docker.io", path: "team/app", tag: "1.2", familiar: "team/app:1.2"},
		{name: "localhost port", in: "localhost:5000/team/app:1.2", want: "localhost:5000/team/app:1.2", domain: "localhost:5000", path: "team/app", tag: "1.2", familiar: "localhost:5000/team/app:1.2"},
		{name: "ipv6 host", in: "[::1]:5000/app", want: "[::1]:5000/app:latest", domain: "[::1]:5000", path: "app", tag: "latest", familiar: "[::1]:5000/app:latest"},
		{name: "by digest", in: "busybox@" + dgst, want: "docker.io/library/busybox@" + dgst, domain: "docker.io", path: "library/busybox", digest: dgst, familiar: "busybox@" + dgst},
		{name: "tag and digest keeps digest", in: "busybox:1.36@" + dgst, want: "docker.io/library/busybox@" + dgst, domain: "docker.io", path: "library/busybox", digest: dgst, familiar: "busybox@" + dgst},
		{name: "host without dot is a hub user", in: "registry/app", want: "docker.io/registry/app:latest", domain: "docker.io", path: "registry/app", tag: "latest", familiar: "registry/app:latest"},
		{name: "port makes a host", in: "registry:5000/app", want: "registry:5000/app:latest", domain: "registry:5000", path: "app", tag: "latest", familiar: "registry:5000/app:latest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tc.want || r.Domain() != tc.domain || r.Path() != tc.path || r.Tag() != tc.tag || string(r.Digest()) != tc.digest || r.Familiar() != tc.familiar {
				t.Errorf("Parse(%q) = %q (domain %q path %q tag %q digest %q familiar %q)", tc.in, r, r.Domain(), r.Path(), r.Tag(), r.Digest(), r.Familiar())
			}
			again, err := Parse(r.String())
			if err != nil || again.String() != r.String() {
				t.Errorf("Parse(String()) = %q, %v; not a fixed point", again, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: "reference is empty"},
		{name: "uppercase repo", in: "Busybox", want: `repository name must be lowercase: "Busybox"`},
		{name: "uppercase path component", in: "docker.io/team/App:1", want: `repository name must be lowercase: "App"`},
		{name: "image id", in: strings.Repeat("ab", 32), want: "64-character hexadecimal string is an image ID"},
		{name: "long tag", in: "busybox:" + strings.Repeat("t", 129), want: "tag is 129 characters long, at most 128"},
		{name: "bad tag", in: "busybox:-x", want: `tag "-x"`},
		{name: "empty tag", in: "busybox:", want: "tag is empty"},
		{name: "short digest", in: "busybox@sha256:abc", want: "sha256 needs 64 hex digits, got 3"},
		{name: "upper hex digest", in: "busybox@sha256:" + strings.Repeat("A", 64), want: "lowercase hexadecimal"},
		{name: "digest without algorithm", in: "busybox@" + strings.Repeat("a", 64), want: "has no algorithm"},
		{name: "unknown algorithm", in: "busybox@md5:" + strings.Repeat("a", 32), want: `unsupported algorithm "md5"`},
		{name: "scheme", in: "https://gcr.io/app", want: `drop "https://"`},
		{name: "double slash", in: "gcr.io//app", want: "empty path component"},
		{name: "bad host", in: "-gcr.io/app", want: `registry host "-gcr.io"`},
		{name: "space", in: "busy box", want: "white space"},
		{name: "bad component", in: "gcr.io/a..b", want: `path component "a..b"`},
		{name: "ipv6 without path", in: "[fc00::1]:5000", want: "needs a repository path"},
		{name: "long name", in: "gcr.io/" + strings.Repeat("a", 256), want: "longer than 255"},
		{name: "underscore in host", in: "n_xcker.i.io/x", want: `registry host "n_xcker.i.io" is not a valid host`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.in)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tc.in, err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("error %v is not ErrInvalidArgument", err)
			}
		})
	}
}

func TestWithName(t *testing.T) {
	r := MustParse("gcr.io/google_containers/pause:3.9")
	got, err := r.WithName("registry.local/k8s/pause")
	if err != nil || got.String() != "registry.local/k8s/pause:3.9" {
		t.Fatalf("WithName = %q, %v", got, err)
	}
	d := MustParse("busybox@" + dgst)
	got, err = d.WithName("127.0.0.1:5000/library/busybox")
	if err != nil || got.String() != "127.0.0.1:5000/library/busybox@"+dgst {
		t.Fatalf("WithName = %q, %v", got, err)
	}
	if _, err := r.WithName("registry.local/k8s/pause:1"); err == nil {
		t.Fatal("WithName accepted a tagged name")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"busybox", "localhost:5000/a/b:c", "[::1]:5000/x@" + dgst, "a:b@" + dgst, "Upper", "x:" + strings.Repeat("y", 200), "a//b", "@", ":", "[", "index.docker.io/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		again, err := Parse(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("Parse(%q) = %q does not re-parse to itself: %q, %v", s, r, again, err)
		}
		if r.Domain() == "" || r.Path() == "" || (r.Tag() == "") == (r.Digest() == "") {
			t.Fatalf("Parse(%q) = %q lacks a part: domain %q path %q tag %q digest %q", s, r, r.Domain(), r.Path(), r.Tag(), r.Digest())
		}
	})
}
