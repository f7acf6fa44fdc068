package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

// manifestDigest returns the digest the registry serves for repo:tag, or ""
// when it has no such manifest.
func manifestDigest(t *testing.T, reg *registrytest.Registry, repo, tag string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, reg.URL+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	if reg.Username != "" {
		req.SetBasicAuth(reg.Username, reg.Password)
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// catalog lists the repositories a registry holds.
func catalog(t *testing.T, reg *registrytest.Registry) []string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, reg.URL+"/v2/_catalog", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var c struct{ Repositories []string }
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("catalog %s: %v", body, err)
	}
	return c.Repositories
}

// A rule's push endpoint: the push goes there, at the name with the rule's
// prefix mapped, with that host's credential and TLS settings, and never to
// the origin; without a push endpoint, fallback "none" refuses the push.
func TestPushToPushEndpoint(t *testing.T) {
	origin := registrytest.Start(t, registrytest.Options{})
	target := registrytest.Start(t, registrytest.Options{TLS: true, Username: "alice", Password: "s3cret"})
	push(t, must[v1.Image](t)(imagetest.Busybox()), origin.Addr+"/src/busybox:latest")
	e := newEnv(t)
	e.ok("pull", "-q", origin.Addr+"/src/busybox:latest")
	name := origin.Addr + "/team/app:v1"
	e.ok("tag", origin.Addr+"/src/busybox:latest", name)
	// The credential is for the push endpoint's host only.
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	if err := os.WriteFile(filepath.Join(e.dc, "config.json"), []byte(fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, target.Addr, auth)), 0o600); err != nil {
		t.Fatal(err)
	}
	caDir := filepath.Join(target.CertsDir, target.Addr)
	e.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": %q, "mirrors": [%q], "push": {"location": %q, "ca-dir": %q}}]}`,
		origin.Addr+"/team", "http://"+origin.Addr+"/cache", target.Addr+"/mirror/team", caDir))

	var plan struct {
		Name            string `json:"name"`
		OriginContacted bool   `json:"originContacted"`
		Refused         bool   `json:"refused"`
		Reason          string `json:"reason"`
		Endpoint        struct {
			Role, Ref, Host, TLS string
			Credentials          struct{ Kind, Detail string }
		} `json:"endpoint"`
	}
	out := e.ok("image", "resolve", "--push", "--format", "json", name)
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	ep := plan.Endpoint
	if plan.Name != name || plan.OriginContacted || plan.Refused || ep.Role != "push" || ep.Ref != target.Addr+"/mirror/team/app:v1" ||
		ep.Host != target.Addr || ep.TLS != "https" || !strings.Contains(ep.Credentials.Detail, fmt.Sprintf("auths[%q]", target.Addr)) {
		t.Fatalf("push plan %+v", plan)
	}
	if out := e.ok("image", "resolve", "--push", name); !strings.Contains(out, "Origin:    "+origin.Addr+", never contacted") || !strings.Contains(out, "A push goes to this endpoint only (no fallback):") {
		t.Fatalf("resolve --push:\n%s", out)
	}

	out = e.ok("push", name)
	if !strings.Contains(out, "The push refers to repository ["+target.Addr+"/mirror/team/app]") || !strings.Contains(out, "Push endpoint of registries[0].push") {
		t.Fatalf("push output:\n%s", out)
	}
	m := regexp.MustCompile(`v1: digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("push output has no digest:\n%s", out)
	}
	if got := manifestDigest(t, target, "mirror/team/app", "v1"); got != m[1] {
		t.Fatalf("push endpoint has %q, want %s", got, m[1])
	}
	if got := catalog(t, origin); strings.Join(got, " ") != "src/busybox" {
		t.Fatalf("the origin was pushed to: it holds %v", got)
	}

	// An unreachable push endpoint: the push fails and says it does not
	// fall back; the origin still gets nothing.
	e.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": %q, "push": "127.0.0.1:1/nowhere"}]}`, origin.Addr+"/team"))
	msg := e.fail("push", name)
	if !strings.Contains(msg, "push to 127.0.0.1:1/nowhere/app (the push endpoint of registries[0].push") || !strings.Contains(msg, "no fallback to the origin") {
		t.Fatalf("unreachable push endpoint: %s", msg)
	}
	if got := catalog(t, origin); strings.Join(got, " ") != "src/busybox" {
		t.Fatalf("the push fell back to the origin: it holds %v", got)
	}

	// fallback "none" without a push endpoint: refused, nothing contacted.
	e.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": %q, "fallback": "none", "mirrors": [%q]}]}`, origin.Addr+"/team", "http://"+origin.Addr+"/cache"))
	r := e.run("push", name)
	want := fmt.Sprintf(`Error: push of %s refused by registries[0] (prefix "%s/team") in %s: fallback "none" never contacts %s and the rule names no push endpoint`, name, origin.Addr, e.config, origin.Addr)
	if r.code != 1 || !strings.HasPrefix(r.err, want) || strings.Count(strings.TrimSpace(r.err), "\n") != 0 || r.out != "" {
		t.Fatalf("fallback none: exit %d\nstdout: %s\nstderr: %s\nwant: %s", r.code, r.out, r.err, want)
	}
	if r := e.run("image", "resolve", "--push", name); r.code != 1 || !strings.Contains(r.out, "Refused:   yes: fallback \"none\"") {
		t.Fatalf("resolve --push of a refused push: %+v", r)
	}
	if got := catalog(t, origin); strings.Join(got, " ") != "src/busybox" {
		t.Fatalf("a refused push reached the origin: it holds %v", got)
	}

	// Config errors name the file and key.
	e.writeConfig(`{"registries": [{"prefix": "gcr.io", "push": {"location": "h.local", "digest-only": true}}]}`)
	if msg := e.fail("push", name); !strings.Contains(msg, e.config+": registries[0].push.digest-only: a push stores a tag") {
		t.Fatalf("digest-only push endpoint: %s", msg)
	}
	e.writeConfig(`{"registries": [{"prefix": "gcr.io", "push": {"location": "h.local", "insecur": true}}]}`)
	if msg := e.fail("push", name); !strings.Contains(msg, "config "+e.config+`: registries[0].push.insecur: unknown key (did you mean "insecure"?)`) {
		t.Fatalf("unknown key: %s", msg)
	}
	e.writeConfig(`{"registries": [{"prefix": "gcr.io", "push": ["a.local", "b.local"]}]}`)
	if msg := e.fail("push", name); !strings.Contains(msg, e.config+": registries[0].push: want an object, got a list") {
		t.Fatalf("two push endpoints: %s", msg)
	}
	// The registry flags are for pulls.
	if r := e.run("image", "resolve", "--push", "--replace", "a.io", "--replace-to", "b.io", name); r.code != 125 || !strings.Contains(r.err, "apply to pulls only") {
		t.Fatalf("resolve --push --replace: %+v", r)
	}
}
