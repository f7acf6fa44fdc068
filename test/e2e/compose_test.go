package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

	// A key berth cannot run is named, not ignored.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("services:\n  app:\n    image: busybox\n    build: .\n"), 0o644)
	if r := e.run("compose", "-f", bad, "up", "-d"); r.code == 0 || !strings.Contains(r.err, "build") {
		t.Fatalf("compose with build: %+v", r)
	}
}
