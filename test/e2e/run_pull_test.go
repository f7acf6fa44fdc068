package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

// run and create pull as Docker's do: an image not in the store is pulled
// with its progress on stderr (the container's output alone on stdout), and
// --pull always says whether anything changed.
func TestRunPulls(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("containers need root")
	}
	reg := registrytest.Start(t, registrytest.Options{})
	first := push(t, must[v1.Image](t)(imagetest.Busybox()), reg.Addr+"/library/busybox:latest")
	e := newEnv(t)
	e.writeConfig(fmt.Sprintf(`{"registry-mirrors": ["http://%s"]}`, reg.Addr))
	t.Cleanup(e.cleanupContainers)

	// The default --pull missing, with no image in the store.
	r := e.run("run", "--rm", "busybox", "echo", "hello")
	if r.code != 0 || r.out != "hello\n" {
		t.Fatalf("implicit pull: exit %d, stdout %q, stderr:\n%s", r.code, r.out, r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	n := len(lines)
	if n < 5 || lines[0] != "Unable to find image 'busybox:latest' locally" || lines[1] != "latest: Pulling from library/busybox" ||
		!strings.Contains(r.err, ": Pull complete\n") ||
		lines[n-2] != "Digest: "+first || lines[n-1] != "Status: Downloaded newer image for busybox:latest" {
		t.Fatalf("implicit pull stderr:\n%s", r.err)
	}
	// Present now: no pull at all.
	if r := e.run("run", "--rm", "busybox", "echo", "again"); r.code != 0 || r.out != "again\n" || r.err != "" {
		t.Fatalf("second run: %+v", r)
	}

	// --pull always with nothing new on the registry.
	upToDate := "latest: Pulling from library/busybox\nDigest: " + first + "\nStatus: Image is up to date for busybox:latest\n"
	r = e.run("run", "--rm", "--pull", "always", "busybox", "echo", "always")
	if r.code != 0 || r.out != "always\n" || r.err != upToDate {
		t.Fatalf("run --pull always, up to date: exit %d, stdout %q, stderr:\n%s", r.code, r.out, r.err)
	}
	r = e.run("create", "--pull", "always", "busybox")
	if r.code != 0 || r.err != upToDate || len(strings.TrimSpace(r.out)) != 64 {
		t.Fatalf("create --pull always, up to date: %+v", r)
	}

	// A new manifest under the tag (OCI media types; the same config and
	// layer, so the same image ID): downloaded newer, its layer already
	// there.
	second := push(t, must[v1.Image](t)(imagetest.BusyboxOCI()), reg.Addr+"/library/busybox:latest")
	if second == first {
		t.Fatal("the OCI busybox has the Docker one's digest")
	}
	r = e.run("run", "--rm", "--pull", "always", "busybox", "echo", "newer")
	if r.code != 0 || r.out != "newer\n" || !strings.HasPrefix(r.err, "latest: Pulling from library/busybox\n") ||
		!strings.Contains(r.err, ": Already exists\n") || strings.Contains(r.err, "Pull complete") ||
		!strings.HasSuffix(r.err, "Digest: "+second+"\nStatus: Downloaded newer image for busybox:latest\n") {
		t.Fatalf("run --pull always, newer: exit %d, stdout %q, stderr:\n%s", r.code, r.out, r.err)
	}
	// And the next one is up to date again.
	r = e.run("run", "--rm", "--pull", "always", "busybox", "true")
	if r.code != 0 || !strings.HasSuffix(r.err, "Status: Image is up to date for busybox:latest\n") {
		t.Fatalf("run --pull always after the update: %+v", r)
	}
}
