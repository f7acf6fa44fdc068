package credential

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourceFor(t *testing.T) {
	dir := t.TempDir()
	cfg := `{
  "auths": {
    "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
    "127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"},
    "https://reg.example.com:8443/v1/": {"auth": "dXNlcjpwYXNz"}
  },
  "credHelpers": {"gcr.io": "gcloud"}
}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_AUTH_CONFIG", `{"auths": {"env.example.com": {"auth": "dXNlcjpwYXNz"}}}`)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		kind Kind
		want string
	}{
		{"docker.io", KindFile, `auths["https://index.docker.io/v1/"]`},
		{"127.0.0.1:5000", KindFile, `auths["127.0.0.1:5000"]`},
		{"reg.example.com:8443", KindFile, `auths["https://reg.example.com:8443/v1/"]`},
		{"gcr.io", KindHelper, "docker-credential-gcloud"},
		{"env.example.com", KindEnv, "DOCKER_AUTH_CONFIG"},
		{"127.0.0.1:5001", KindNone, "anonymous (no entry for 127.0.0.1:5001"},
	}
	for _, tc := range tests {
		got := s.SourceFor(tc.host)
		if got.Kind != tc.kind || !strings.Contains(got.Detail, tc.want) {
			t.Errorf("SourceFor(%q) = %+v, want %s containing %q", tc.host, got, tc.kind, tc.want)
		}
		if strings.Contains(got.Detail, "dXNlcjpwYXNz") || strings.Contains(got.Detail, "pass") {
			t.Errorf("SourceFor(%q) leaks the secret: %q", tc.host, got.Detail)
		}
	}
}

func TestSourceForStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore": "pass", "auths": {"a.io": {}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SourceFor("a.io"); got.Kind != KindStore || !strings.Contains(got.Detail, "docker-credential-pass") {
		t.Fatalf("SourceFor = %+v", got)
	}
}

func TestOpenMissing(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SourceFor("docker.io"); got.Kind != KindNone {
		t.Fatalf("SourceFor = %+v", got)
	}
}
