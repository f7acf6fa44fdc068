package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

// A pushed image keeps its ID (its layers are reproduced byte for byte) and
// pulls back identical elsewhere; layers the registry has are mounted, not
// uploaded.
func TestPushRoundTrip(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	src := reg.Addr + "/test/multilayer:latest"
	push(t, must[v1.Image](t)(imagetest.MultiLayer()), src)
	e := newEnv(t)
	e.ok("pull", src)
	id := e.inspect(src)["Id"]

	// Another repository on the same registry: blobs are mounted.
	dst := reg.Addr + "/copies/ml:v1"
	e.ok("tag", src, dst)
	out := e.ok("push", dst)
	if !strings.Contains(out, "The push refers to repository ["+reg.Addr+"/copies/ml]") || !strings.Contains(out, "Mounted from") || !strings.Contains(out, "v1: digest: sha256:") {
		t.Fatalf("push output:\n%s", out)
	}

	// Another registry: blobs are reassembled from the unpacked layers.
	other := registrytest.Start(t, registrytest.Options{})
	far := other.Addr + "/far/ml:v2"
	e.ok("tag", src, far)
	out = e.ok("push", far)
	if !strings.Contains(out, "Pushed") {
		t.Fatalf("push to another registry:\n%s", out)
	}
	for _, ref := range []string{dst, far} {
		fresh := newEnv(t)
		fresh.ok("pull", ref)
		if got := fresh.inspect(ref)["Id"]; got != id {
			t.Fatalf("%s pulled back as %v, pushed %v", ref, got, id)
		}
	}
	// Mirrors and rewrites do not apply to push.
	e.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": %q, "location": "127.0.0.1:1/nowhere"}]}`, other.Addr))
	e.ok("push", far)
}

func TestImageCommands(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	bb := reg.Addr + "/library/busybox:latest"
	ml := reg.Addr + "/test/multilayer:latest"
	push(t, must[v1.Image](t)(imagetest.Busybox()), bb)
	push(t, must[v1.Image](t)(imagetest.MultiLayer()), ml)
	e := newEnv(t)
	e.ok("pull", "-q", bb)
	e.ok("pull", "-q", ml)

	// images, with formats and filters.
	out := e.ok("images")
	if !strings.HasPrefix(out, "REPOSITORY") || !strings.Contains(out, reg.Addr+"/library/busybox") {
		t.Fatalf("images:\n%s", out)
	}
	var row map[string]string
	first := strings.SplitN(e.ok("images", "--format", "json"), "\n", 2)[0]
	if err := json.Unmarshal([]byte(first), &row); err != nil || row["ID"] == "" || row["Size"] == "" {
		t.Fatalf("images json %q: %v", first, err)
	}
	if got := e.ok("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "label=dev.berth.test=multilayer"); strings.TrimSpace(got) != ml {
		t.Fatalf("label filter: %q", got)
	}
	if got := e.ok("images", "-q"); len(strings.Fields(got)) != 2 {
		t.Fatalf("images -q: %q", got)
	}
	if got := e.ok("images", "--format", "table {{.Repository}}\t{{.ID}}"); !strings.HasPrefix(got, "REPOSITORY") || !strings.Contains(got, "IMAGE ID") {
		t.Fatalf("table format:\n%s", got)
	}
	if got := e.ok("images", reg.Addr+"/test/*"); strings.Contains(got, "busybox") || !strings.Contains(got, "multilayer") {
		t.Fatalf("images REPOSITORY pattern:\n%s", got)
	}

	// tag and rmi: untag while another tag remains, delete with the last.
	e.ok("tag", bb, "mine:1")
	e.ok("tag", "mine:1", "mine:2")
	out = e.ok("rmi", "mine:1")
	if strings.TrimSpace(out) != "Untagged: mine:1" {
		t.Fatalf("rmi of one tag:\n%s", out)
	}
	e.ok("rmi", "mine:2")
	msg := e.fail("rmi", "nothere")
	if !strings.Contains(msg, "No such image: nothere") {
		t.Fatalf("rmi missing: %s", msg)
	}
	// An ID referenced in two repositories needs -f.
	e.ok("tag", bb, "again:1")
	id := e.inspect(bb)["Id"].(string)
	if msg := e.fail("rmi", id[7:19]); !strings.Contains(msg, "must be forced") {
		t.Fatalf("rmi by id: %s", msg)
	}
	out = e.ok("rmi", "-f", id[7:19])
	if !strings.Contains(out, "Deleted: "+id) {
		t.Fatalf("rmi -f:\n%s", out)
	}
	// Layers only the deleted image used are gone; the shared busybox layer stays.
	idx, _ := os.ReadDir(filepath.Join(e.root, "layers", "index"))
	if len(idx) != 4 {
		t.Fatalf("%d layers after removing busybox, want multilayer's 4", len(idx))
	}

	// inspect of a missing image: empty list and exit 1, like docker.
	r := e.run("image", "inspect", "nothere")
	if r.code != 1 || strings.TrimSpace(r.out) != "[]" || !strings.Contains(r.err, "No such image: nothere") {
		t.Fatalf("inspect missing: %+v", r)
	}

	if out := e.ok("system", "df"); !strings.Contains(out, "Images          1") {
		t.Fatalf("system df:\n%s", out)
	}
	// prune -a removes every unused image and all layers.
	out = e.ok("image", "prune", "-a", "-f")
	if !strings.Contains(out, "deleted: sha256:") || !strings.Contains(out, "Total reclaimed space:") {
		t.Fatalf("prune:\n%s", out)
	}
	e.assertNoImages()
	blobs, _ := os.ReadDir(filepath.Join(e.root, "blobs", "sha256"))
	if len(blobs) != 0 {
		t.Fatalf("blobs left after prune: %v", blobs)
	}
}

// tableRows splits a table's lines into columns (separated by two spaces
// or more, as tabwriter pads them).
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
	}
	return rows
}

// images with --digests, --no-trunc and -a show Docker's columns: the
// digest of each row's repository (<none> for a local tag), full IDs, and
// with -a the same rows (berth keeps no intermediate images).
func TestImagesColumns(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	bb := reg.Addr + "/library/busybox:latest"
	bbDigest := push(t, must[v1.Image](t)(imagetest.Busybox()), bb)
	mlDigest := push(t, must[v1.Image](t)(imagetest.MultiLayer()), reg.Addr+"/test/multilayer:latest")
	e := newEnv(t)
	e.ok("pull", "-q", bb)
	e.ok("pull", "-q", reg.Addr+"/test/multilayer@"+mlDigest) // by digest only: no tag
	e.ok("tag", bb, "mine:1")
	bbID := e.inspect(bb)["Id"].(string)
	mlID := e.inspect(reg.Addr + "/test/multilayer@" + mlDigest)["Id"].(string)
	short := func(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }

	check := func(args []string, want [][]string) {
		t.Helper()
		out := e.ok(append([]string{"images"}, args...)...)
		got := tableRows(out)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("images %v:\n%s\nwant rows %q", args, out, want)
		}
	}
	bbRepo, mlRepo := reg.Addr+"/library/busybox", reg.Addr+"/test/multilayer"
	head := []string{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}
	created := tableRows(e.ok("images", "--format", "table {{.CreatedSince}}", "mine:1"))[1][0]
	bbSize := tableRows(e.ok("images", "--format", "table {{.Size}}", "mine:1"))[1][0]
	mlSize := tableRows(e.ok("images", "--format", "table {{.Size}}", mlRepo))[1][0]
	def := [][]string{head,
		{bbRepo, "latest", short(bbID), created, bbSize},
		{"mine", "1", short(bbID), created, bbSize},
		{mlRepo, "<none>", short(mlID), created, mlSize},
	}
	check(nil, def)
	check([]string{"-a"}, def)
	check([]string{"--no-trunc"}, [][]string{head,
		{bbRepo, "latest", bbID, created, bbSize},
		{"mine", "1", bbID, created, bbSize},
		{mlRepo, "<none>", mlID, created, mlSize},
	})
	check([]string{"--digests"}, [][]string{{"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"},
		{bbRepo, "latest", bbDigest, short(bbID), created, bbSize},
		{"mine", "1", "<none>", short(bbID), created, bbSize},
		{mlRepo, "<none>", mlDigest, short(mlID), created, mlSize},
	})
	check([]string{"--digests", "--no-trunc", "-a"}, [][]string{{"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"},
		{bbRepo, "latest", bbDigest, bbID, created, bbSize},
		{"mine", "1", "<none>", bbID, created, bbSize},
		{mlRepo, "<none>", mlDigest, mlID, created, mlSize},
	})
	// -q lists each image once; with --no-trunc, in full.
	if got := e.ok("images", "-q", "--no-trunc"); got != bbID+"\n"+mlID+"\n" {
		t.Fatalf("images -q --no-trunc: %q", got)
	}
	if got := e.ok("images", "-qa"); got != short(bbID)+"\n"+short(mlID)+"\n" {
		t.Fatalf("images -qa: %q", got)
	}
}
