package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

const composeFile = `services:
  db:
    image: busybox
    stop_grace_period: 1s
    command: ["sh", "-c", "sleep 1; mkdir -p /www; echo db-data > /www/index.html; touch /tmp/ready; exec httpd -f -p 80 -h /www"]
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 200ms
      retries: 10
    volumes:
      - data:/data
  web:
    image: busybox
    stop_grace_period: 1s
    depends_on:
      db:
        condition: service_healthy
    # Fails at once unless db serves already: depends_on waited for it.
    command: ["sh", "-c", "wget -qO- http://db/ > /tmp/got && exec sleep 1000"]
    environment:
      GREETING: ${GREETING:-hello}
volumes:
  data: {}
`

func TestComposeUpDown(t *testing.T) {
	e := netEnv(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(composeFile), 0o644); err != nil {
		t.Fatal(err)
	}
	c := func(args ...string) string {
		t.Helper()
		return e.ok(append([]string{"compose", "-f", filepath.Join(dir, "compose.yaml"), "-p", "demo"}, args...)...)
	}
	if out := c("config"); !strings.Contains(out, "GREETING: hello") || !strings.Contains(out, "name: demo") {
		t.Fatalf("compose config:\n%s", out)
	}
	c("up", "-d")
	if out := e.ok("exec", "demo-web-1", "sh", "-c", "cat /tmp/got; echo $GREETING"); out != "db-data\nhello\n" {
		t.Fatalf("web after up: %q", out)
	}
	if out := c("ps", "--format", "{{.Name}} {{.Service}}"); out != "demo-db-1 db\ndemo-web-1 web\n" {
		t.Fatalf("compose ps: %q", out)
	}
	if out := e.ok("inspect", "-f", `{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.container-number"}}`, "demo-db-1"); out != "demo 1\n" {
		t.Fatalf("labels: %q", out)
	}
	// up again: nothing changed, nothing recreated; a changed service is.
	dbID := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", "demo-db-1"))
	webID := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", "demo-web-1"))
	c("up", "-d")
	if id := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", "demo-web-1")); id != webID {
		t.Fatal("an unchanged service was recreated")
	}
	t.Setenv("GREETING", "changed")
	c("up", "-d")
	if id := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", "demo-web-1")); id == webID {
		t.Fatal("a changed service was not recreated")
	}
	if id := strings.TrimSpace(e.ok("inspect", "-f", "{{.Id}}", "demo-db-1")); id != dbID {
		t.Fatal("an unchanged dependency was recreated")
	}
	if out := e.ok("exec", "demo-web-1", "sh", "-c", "echo $GREETING"); out != "changed\n" {
		t.Fatalf("recreated web: %q", out)
	}
	// run: a one-off container of web, on the project's network, removed.
	if r := e.run("compose", "-f", filepath.Join(dir, "compose.yaml"), "-p", "demo", "run", "--rm", "web", "sh", "-c", "wget -qO- http://db/; exit 4"); r.code != 4 || r.out != "db-data\n" {
		t.Fatalf("compose run: %+v", r)
	}
	if out := e.ok("ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "run") {
		t.Fatalf("compose run --rm left %q", out)
	}
	// exec (no terminal here) and top.
	if r := e.run("compose", "-f", filepath.Join(dir, "compose.yaml"), "-p", "demo", "exec", "-T", "-e", "X=1", "web", "sh", "-c", "echo $X $GREETING; exit 3"); r.code != 3 || r.out != "1 changed\n" {
		t.Fatalf("compose exec: %+v", r)
	}
	if out := c("top", "web"); !strings.Contains(out, "demo-web-1") || !strings.Contains(out, "sleep 1000") {
		t.Fatalf("compose top: %q", out)
	}
	// logs are prefixed with the container's name; stop/start; ls.
	e.ok("exec", "demo-web-1", "sh", "-c", "echo from-web > /proc/1/fd/1")
	if out := c("logs", "web"); !strings.Contains(out, "demo-web-1 | from-web") {
		t.Fatalf("compose logs: %q", out)
	}
	c("stop", "web")
	if out := c("ps", "-a", "--format", "{{.Name}} {{.State}}"); !strings.Contains(out, "demo-web-1 exited") {
		t.Fatalf("after stop: %q", out)
	}
	c("start", "web")
	if out := e.ok("compose", "ls"); !strings.Contains(out, "demo") || !strings.Contains(out, "running(2)") {
		t.Fatalf("compose ls: %q", out)
	}
	// A service removed from the file is an orphan: --remove-orphans
	// removes its containers.
	only := filepath.Join(dir, "only-db.yaml")
	os.WriteFile(only, []byte(strings.SplitN(composeFile, "  web:", 2)[0]+"volumes:\n  data: {}\n"), 0o644)
	e.ok("compose", "-f", only, "-p", "demo", "up", "-d", "--remove-orphans")
	if out := c("ps", "-a", "--format", "{{.Name}}"); out != "demo-db-1\n" {
		t.Fatalf("after --remove-orphans: %q", out)
	}
	// --scale: three web replicas, all answering to the service's name.
	c("up", "-d", "--scale", "web=3")
	if out := c("ps", "--format", "{{.Name}}"); out != "demo-db-1\ndemo-web-1\ndemo-web-2\ndemo-web-3\n" {
		t.Fatalf("after --scale web=3: %q", out)
	}
	if out := e.ok("exec", "demo-db-1", "nslookup", "web"); strings.Count(out, "Address:") < 4 {
		t.Fatalf("web resolves to fewer than 3 replicas:\n%s", out)
	}
	// A named volume outlives down, and down -v removes it.
	e.ok("exec", "demo-db-1", "sh", "-c", "echo kept > /data/f")
	c("down")
	if out := e.ok("volume", "ls", "-q"); !strings.Contains(out, "demo_data") {
		t.Fatalf("down removed the named volume: %q", out)
	}
	c("up", "-d")
	if out := e.ok("exec", "demo-db-1", "cat", "/data/f"); out != "kept\n" {
		t.Fatalf("volume across down/up: %q", out)
	}
	c("down", "-v")
	if out := e.ok("ps", "-aq"); out != "" {
		t.Fatalf("containers left after down: %q", out)
	}
	if out := e.ok("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "demo_default") {
		t.Fatalf("network left after down: %q", out)
	}
	if out := e.ok("volume", "ls", "-q"); out != "" {
		t.Fatalf("volumes left after down -v: %q", out)
	}

	// Bad files fail with one clear line before anything is created.
	for name, body := range map[string]string{
		"unknown dependency": "services:\n  a:\n    image: busybox\n    depends_on: [nope]\n",
		"cycle":              "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n",
		"bad port":           "services:\n  a:\n    image: busybox\n    ports: [\"99999:80\"]\n",
	} {
		f := filepath.Join(dir, "bad-"+strings.ReplaceAll(name, " ", "-")+".yaml")
		os.WriteFile(f, []byte(body), 0o644)
		r := e.run("compose", "-f", f, "-p", "bad", "up", "-d")
		if r.code == 0 || strings.Count(strings.TrimSpace(r.err), "\n") > 0 {
			t.Errorf("%s: %+v, want one error line", name, r)
		}
		if out := e.ok("ps", "-aq"); out != "" {
			t.Errorf("%s: containers created: %q", name, out)
		}
	}
	if out := e.ok("network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "bad_") {
		t.Errorf("bad files created networks: %q", out)
	}

	// A key berth cannot run is named, not ignored.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("services:\n  app:\n    image: busybox\n    build: .\n"), 0o644)
	if r := e.run("compose", "-f", bad, "up", "-d"); r.code == 0 || !strings.Contains(r.err, "build") {
		t.Fatalf("compose with build: %+v", r)
	}
	// compose-go's schema check (its meta-schemas compiled on first use,
	// see third_party/jsonschema/FORK.md) names a key the spec does not have.
	os.WriteFile(bad, []byte("services:\n  app:\n    image: busybox\n    bogus: 1\n"), 0o644)
	if r := e.run("compose", "-f", bad, "up", "-d"); r.code == 0 || !strings.Contains(r.err, "bogus") {
		t.Fatalf("compose with an unknown key: %+v", r)
	}
}

func TestComposeSecretsConfigsLimits(t *testing.T) {
	e := netEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("s3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "app.conf"), []byte("cfg\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(`services:
  app:
    image: busybox
    command: ["sh", "-c", "cat /run/secrets/token /etc/app.conf; ulimit -n; cat /proc/sys/net/core/somaxconn; echo x > /run/secrets/token || echo read-only"]
    secrets: [token]
    configs:
      - source: appconf
        target: /etc/app.conf
    ulimits:
      nofile: {soft: 512, hard: 1024}
    sysctls:
      net.core.somaxconn: "1024"
secrets:
  token:
    file: ./secret.txt
configs:
  appconf:
    file: ./app.conf
`), 0o644)
	out := e.ok("compose", "-f", filepath.Join(dir, "compose.yaml"), "-p", "lim", "run", "--rm", "app")
	if !strings.HasPrefix(out, "s3cret\ncfg\n512\n1024\n") || !strings.HasSuffix(out, "read-only\n") {
		t.Fatalf("secrets, configs, ulimits, sysctls: %q", out)
	}
	e.ok("compose", "-f", filepath.Join(dir, "compose.yaml"), "-p", "lim", "down")
	// The same on the command line.
	if out := e.ok("run", "--rm", "--network", "none", "--ulimit", "nofile=256:512", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"); out != "256\n512\n" {
		t.Fatalf("--ulimit: %q", out)
	}
	if r := e.run("run", "--rm", "--ulimit", "bogus=1", "busybox", "true"); r.code != 125 {
		t.Fatalf("bad --ulimit: %+v", r)
	}
}

// The compose commands that pull take pull's registry flags: names under
// images.example.invalid (which no DNS answers) come from the local
// registry through --replace.
func TestComposeRegistryFlags(t *testing.T) {
	e := netEnv(t)
	reg := registrytest.Start(t, registrytest.Options{})
	bb := must[v1.Image](t)(imagetest.Busybox())
	for _, svc := range []string{"pulled", "up", "run"} {
		push(t, bb, reg.Addr+"/mirror/"+svc+"/busybox:latest")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	var body strings.Builder
	body.WriteString("services:\n")
	for _, svc := range []string{"pulled", "up", "run"} {
		fmt.Fprintf(&body, "  %s:\n    image: images.example.invalid/%s/busybox\n    network_mode: none\n    command: [\"true\"]\n", svc, svc)
	}
	if err := os.WriteFile(file, []byte(body.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := func(args ...string) string {
		t.Helper()
		return e.ok(append([]string{"compose", "-f", file, "-p", "regflags"}, args...)...)
	}
	replace := []string{"--replace", "images.example.invalid", "--replace-to", reg.Addr + "/mirror"}
	has := func(svc string) bool {
		return e.run("image", "inspect", "images.example.invalid/"+svc+"/busybox").code == 0
	}

	c(append(append([]string{"pull"}, replace...), "pulled")...)
	if !has("pulled") || has("up") || has("run") {
		t.Fatal("compose pull --replace did not pull exactly the service named")
	}
	c(append(append([]string{"up", "-d"}, replace...), "up")...)
	if !has("up") {
		t.Fatal("compose up --replace did not pull the service's image")
	}
	c(append(append([]string{"run", "--rm"}, replace...), "run")...)
	if !has("run") {
		t.Fatal("compose run --replace did not pull the service's image")
	}
	// image resolve explains the same rewrite.
	if out := e.ok("image", "resolve", "--replace", "images.example.invalid", "--replace-to", reg.Addr+"/mirror", "images.example.invalid/up/busybox"); !strings.Contains(out, "1. rewrite  "+reg.Addr+"/mirror/up/busybox:latest") {
		t.Fatalf("resolve:\n%s", out)
	}
	if r := e.run("compose", "-f", file, "pull", "--replace", "images.example.invalid"); r.code != 125 || !strings.Contains(r.err, "got 1 --replace and 0 --replace-to") {
		t.Fatalf("unpaired --replace: %+v", r)
	}
	c("down")
}
