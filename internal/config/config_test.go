package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/errdefs"
)

func TestParse(t *testing.T) {
	f, err := Parse([]byte(`{
  "registry-mirrors": ["http://127.0.0.1:5000"],
  "insecure-registries": ["reg.local:5000", "10.0.0.0/8"],
  "registries": [
    {"prefix": "gcr.io/google_containers", "location": "registry.local/k8s"},
    {"prefix": "quay.io", "fallback": "none",
     "mirrors": ["mirror.local", {"location": "cache.local", "digest-only": true}]}
  ]
}`), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Mirrors) != 1 || len(f.Insecure) != 2 || len(f.Registries) != 2 {
		t.Fatalf("decoded %+v", f)
	}
	m := f.Registries[1].Mirrors
	if len(m) != 2 || m[0].Location != "mirror.local" || !m[1].DigestOnly {
		t.Fatalf("mirrors %+v", m)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unknown top key", `{"registry-mirror": []}`, `config c.json: registry-mirror: unknown key (did you mean "registry-mirrors"?)`},
		{"docker key", `{"log-driver": "json-file"}`, "config c.json: log-driver: a Docker daemon.json key that berth does not support"},
		{"relative cgroup parent", `{"cgroup-parent": "berth"}`, `config c.json: cgroup-parent: "berth": want an absolute, clean cgroup path such as /berth`},
		{"cgroup parent with dots", `{"cgroup-parent": "/a/../b"}`, `config c.json: cgroup-parent: "/a/../b": want an absolute, clean cgroup path such as /berth`},
		{"root cgroup parent", `{"cgroup-parent": "/"}`, `config c.json: cgroup-parent: "/": want an absolute, clean cgroup path such as /berth`},
		{"unknown nested key", `{"registries": [{"prefix": "a.io"}, {"prefix": "b.io", "mirrors": [{"location": "m.io", "insecur": true}]}]}`,
			`config c.json: registries[1].mirrors[0].insecur: unknown key (did you mean "insecure"?)`},
		{"wrong type", `{"registries": [{"prefix": "a.io", "blocked": "yes"}]}`, "config c.json: registries[0].blocked: want true or false, got a string"},
		{"not a list", `{"registry-mirrors": "http://x"}`, "config c.json: registry-mirrors: want a list, got a string"},
		{"syntax", "{\n  \"registry-mirrors\": [\"a\",]\n}", "config c.json: line 2, column 28: invalid character ']'"},
		{"truncated", `{"registry-mirrors": [`, "unexpected end of file"},
		{"not an object", `[]`, "the file must hold a JSON object"},
		{"two values", `{} {}`, "more than one JSON value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data), "c.json")
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %q, want one line containing %q", err, tc.want)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("err is not invalid argument")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.json")
	l, err := Load(missing, false)
	if err != nil || l.Found {
		t.Fatalf("missing default file: %+v, %v", l, err)
	}
	if _, err := Load(missing, true); err == nil {
		t.Fatal("a missing named file must be an error")
	}
	p := filepath.Join(dir, "c.json")
	if err := os.WriteFile(p, []byte(`{"registry-mirrors": ["http://127.0.0.1:5000"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = Load(p, true)
	if err != nil || !l.Found || l.Mirrors[0] != "http://127.0.0.1:5000" {
		t.Fatalf("Load = %+v, %v", l, err)
	}
}

func TestCgroupParent(t *testing.T) {
	f, err := Parse([]byte(`{"cgroup-parent": "/ci/berth"}`), "c.json")
	if err != nil || f.CgroupParent != "/ci/berth" {
		t.Fatalf("Parse = %+v, %v", f, err)
	}
}
