package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	e := newEnv(t)
	out := e.ok("version")
	if !strings.Contains(out, "Version:") || !strings.Contains(out, "Go version:") {
		t.Fatalf("version output:\n%s", out)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(e.ok("version", "--format", "json")), &v); err != nil || v["Version"] == "" {
		t.Fatalf("version json: %v %v", v, err)
	}
	if got := strings.TrimSpace(e.ok("version", "--format", "{{.Os}}/{{.Arch}}")); got != "linux/amd64" && !strings.HasPrefix(got, "linux/") {
		t.Fatalf("template output %q", got)
	}
}

// The seed's mirror scenario: registry-mirrors pointing at a local registry.
func TestResolveHubMirror(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(`{"registry-mirrors": ["http://127.0.0.1:5000"]}`)
	out := e.ok("image", "resolve", "busybox")
	for _, want := range []string{
		"Name:      docker.io/library/busybox:latest",
		"Rule:      registry-mirrors in " + e.config,
		"1. mirror   127.0.0.1:5000/library/busybox:latest",
		"endpoint:     http://127.0.0.1:5000 (plain HTTP)",
		"2. origin   docker.io/library/busybox:latest",
		"https://registry-1.docker.io",
		"Origin:    docker.io, contacted last",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestResolveReplaceFlags(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(`{"registries": [{"prefix": "gcr.io/google_containers", "location": "config.local/k8s"}]}`)
	out := e.ok("image", "resolve", "--format", "json",
		"--replace", "gcr.io/google_containers", "--replace-to", "registry.local/k8s",
		"gcr.io/google_containers/pause:3.9")
	var plan struct {
		Name            string `json:"name"`
		Rule            string `json:"rule"`
		OriginContacted bool   `json:"originContacted"`
		Candidates      []struct {
			Role, Ref, Host, TLS string
			Credentials          struct{ Kind, Detail string }
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if plan.Name != "gcr.io/google_containers/pause:3.9" || plan.OriginContacted || len(plan.Candidates) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	c := plan.Candidates[0]
	if c.Role != "rewrite" || c.Ref != "registry.local/k8s/pause:3.9" || c.Host != "registry.local" || c.TLS != "https" {
		t.Fatalf("candidate %+v", c)
	}
	if plan.Rule != "--replace gcr.io/google_containers --replace-to registry.local/k8s" {
		t.Fatalf("rule %q", plan.Rule)
	}
	if c.Credentials.Kind != "none" {
		t.Fatalf("credentials %+v", c.Credentials)
	}
}

func TestResolveCredentialsOfContactedHost(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(`{"registry-mirrors": ["http://127.0.0.1:5000"]}`)
	auth := `{"auths": {"https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="}}}`
	if err := os.WriteFile(filepath.Join(e.dc, "config.json"), []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.ok("image", "resolve", "busybox")
	mirror, origin, _ := strings.Cut(out, "2. origin")
	if !strings.Contains(mirror, "anonymous (no entry for 127.0.0.1:5000") {
		t.Errorf("the mirror must not use Docker Hub's credential:\n%s", out)
	}
	if !strings.Contains(origin, `auths["https://index.docker.io/v1/"]`) {
		t.Errorf("the origin uses Docker Hub's credential:\n%s", out)
	}
	if strings.Contains(out, "aHViOnNlY3JldA") || strings.Contains(out, "secret") {
		t.Errorf("output shows the secret:\n%s", out)
	}
}

func TestResolveBlockedAndFallbackNone(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(`{
  "registries": [
    {"prefix": "ghcr.io", "blocked": true},
    {"prefix": "docker.io", "fallback": "none", "mirrors": ["http://127.0.0.1:5000"]}
  ]
}`)
	r := e.run("image", "resolve", "ghcr.io/org/tool")
	if r.code != 1 || !strings.Contains(r.out, "Blocked:   yes") || !strings.Contains(r.err, "Error: pull of ghcr.io/org/tool:latest is blocked by registries[0]") {
		t.Fatalf("blocked: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	out := e.ok("image", "resolve", "alpine")
	if !strings.Contains(out, "never contacted (fallback: none)") || strings.Contains(out, "2. ") {
		t.Fatalf("fallback none:\n%s", out)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name   string
		config string
		args   []string
		code   int
		want   string
	}{
		{"uppercase", "", []string{"image", "resolve", "Busybox"}, 1, `Error: invalid reference "Busybox": repository name must be lowercase`},
		{"long tag", "", []string{"image", "resolve", "busybox:" + strings.Repeat("x", 130)}, 1, "tag is 130 characters long"},
		{"bad digest", "", []string{"image", "resolve", "busybox@sha256:1234"}, 1, "sha256 needs 64 hex digits, got 4"},
		{"unknown key", `{"registry-mirorrs": []}`, []string{"info"}, 1, `registry-mirorrs: unknown key (did you mean "registry-mirrors"?)`},
		{"contradiction", `{"registries": [{"prefix": "gcr.io", "blocked": true, "location": "x.io"}]}`, []string{"image", "resolve", "busybox"}, 1, "registries[0]: a blocked rule has no location"},
		{"unpaired replace", "", []string{"image", "resolve", "--replace", "gcr.io", "busybox"}, 125, "got 1 --replace and 0 --replace-to"},
		{"unknown flag", "", []string{"image", "resolve", "--nope", "busybox"}, 125, "unknown flag: --nope"},
		{"bad log level", "", []string{"--log-level", "loud", "version"}, 125, `invalid log level "loud"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.config != "" {
				e.writeConfig(tc.config)
			}
			r := e.run(tc.args...)
			if r.code != tc.code || !strings.Contains(r.err, tc.want) {
				t.Fatalf("exit %d (want %d), stderr %q, want it to contain %q", r.code, tc.code, r.err, tc.want)
			}
			if tc.config != "" && !strings.Contains(r.err, e.config) {
				t.Errorf("config error does not name the file: %q", r.err)
			}
			if tc.code == 1 && strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
				t.Errorf("error is not one line: %q", r.err)
			}
		})
	}
}

func TestInfoShowsConfig(t *testing.T) {
	e := newEnv(t)
	e.writeConfig(`{
  "registry-mirrors": ["http://127.0.0.1:5000"],
  "insecure-registries": ["reg.corp:5000", "http://other.corp"],
  "registries": [
    {"prefix": "quay.io", "mirrors": [{"location": "cache.local", "digest-only": true}, {"location": "m.local:5000", "insecure": true}], "push": "harbor.local/quay"},
    {"prefix": "docker.io/library", "fallback": "none", "mirrors": ["http://127.0.0.1:5000"]}
  ]
}`)
	out := e.ok("info", "--replace", "gcr.io", "--replace-to", "registry.local/gcr")
	for _, want := range []string{
		"Berth Root Dir: " + e.root,
		"Config File: " + e.config,
		" reg.corp:5000",
		" other.corp",
		"Registry Mirrors:\n http://127.0.0.1:5000",
		" gcr.io\n  then:     registry.local/gcr (rewrite)",
		"  mirror:   cache.local (digest-only)",
		"  mirror:   m.local:5000 (insecure)",
		"  push:     harbor.local/quay, only there",
		"  push:     refused (fallback: none, no push endpoint)",
		"  push:     not affected (flags are for pulls)",
		"Default Runtime: berth\n",
		"Runtimes: berth (",
		`WARNING: ` + e.config + `: insecure-registries[1]: scheme "http://" ignored`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(e.ok("info", "--format", "json")), &info); err != nil {
		t.Fatal(err)
	}
	if info["BerthRootDir"] != e.root || info["DefaultRuntime"] != "berth" {
		t.Errorf("info json BerthRootDir = %v, DefaultRuntime = %v", info["BerthRootDir"], info["DefaultRuntime"])
	}
	rules, _ := info["RegistryConfig"].(map[string]any)["Rules"].([]any)
	if len(rules) != 3 {
		t.Fatalf("info json rules: %v", rules)
	}
	quay := rules[0].(map[string]any)
	if push, _ := quay["push"].(map[string]any); push["location"] != "harbor.local/quay" {
		t.Errorf("info json push = %v", quay["push"])
	}
	if m, _ := quay["mirrors"].([]any); len(m) != 2 || m[1].(map[string]any)["insecure"] != true {
		t.Errorf("info json mirrors = %v", quay["mirrors"])
	}
}
