package e2e

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"berth.dev/berth/internal/imagetest"
)

func TestHealthChecks(t *testing.T) {
	e, addr := archiveEnv(t)
	status := func(id string) string {
		return strings.TrimSpace(e.ok("inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", id))
	}
	waitStatus := func(id, want string) {
		t.Helper()
		for i := 0; i < 100; i++ {
			if strings.HasPrefix(status(id), want) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("health of %s: %q, want %q", id, status(id), want)
	}
	// --health-*: healthy while /tmp/ok exists, unhealthy after two
	// failures in a row, shown in ps.
	id := strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--health-cmd", "test -e /tmp/ok", "--health-interval", "200ms",
		"--health-retries", "2", "busybox", "sh", "-c", "touch /tmp/ok; sleep 1000"))
	waitStatus(id, "healthy 0")
	if out := e.ok("ps", "--filter", "id="+id, "--format", "{{.Status}}"); !strings.Contains(out, "(healthy)") {
		t.Fatalf("ps status: %q", out)
	}
	e.ok("exec", id, "rm", "/tmp/ok")
	waitStatus(id, "unhealthy 2")
	if out := e.ok("inspect", "-f", "{{range .State.Health.Log}}{{.ExitCode}} {{end}}", id); !strings.Contains(out, "1 1") {
		t.Fatalf("health log: %q", out)
	}
	e.ok("rm", "-f", id)

	// A check that outlives its timeout fails; the image's HEALTHCHECK
	// applies unless --no-healthcheck.
	img := must[v1.Image](t)(imagetest.Busybox())
	cf := must[*v1.ConfigFile](t)(img.ConfigFile())
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "sleep", "5"}, Interval: 200 * time.Millisecond, Timeout: 100 * time.Millisecond, Retries: 1}
	img = must[v1.Image](t)(mutate.ConfigFile(img, cf))
	ref := addr + "/test/healthy:1"
	push(t, img, ref)
	e.ok("pull", "-q", ref)
	id = strings.TrimSpace(e.ok("run", "-d", "--network", "none", ref, "sleep", "1000"))
	waitStatus(id, "unhealthy 1")
	if out := e.ok("inspect", "-f", "{{range .State.Health.Log}}{{.Output}}{{end}}", id); !strings.Contains(out, "exceeded timeout") {
		t.Fatalf("timed-out check output: %q", out)
	}
	e.ok("rm", "-f", id)
	id = strings.TrimSpace(e.ok("run", "-d", "--network", "none", "--no-healthcheck", ref, "sleep", "1000"))
	time.Sleep(500 * time.Millisecond)
	if out := e.ok("inspect", "-f", "{{.State.Health}}", id); out != "<no value>\n" {
		t.Fatalf("--no-healthcheck: %q", out)
	}
	if r := e.run("run", "--rm", "--no-healthcheck", "--health-cmd", "true", "busybox", "true"); r.code != 125 {
		t.Fatalf("conflicting health flags: %+v", r)
	}
	e.ok("rm", "-f", id)
}
