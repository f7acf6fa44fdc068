package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

// archiveEnv is runEnv that also returns the test registry's address.
func archiveEnv(t *testing.T) (*env, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	reg := registrytest.Start(t, registrytest.Options{})
	push(t, must[v1.Image](t)(imagetest.Busybox()), reg.Addr+"/library/busybox:latest")
	e := newEnv(t)
	e.writeConfig(fmt.Sprintf(`{"registry-mirrors": ["http://%s"]}`, reg.Addr))
	e.ok("pull", "-q", "busybox")
	t.Cleanup(func() { e.cleanupContainers() })
	return e, reg.Addr
}

// otherEnv is a second, empty store beside e (same config).
func otherEnv(t *testing.T, e *env) *env {
	o := newEnv(t)
	data, _ := os.ReadFile(e.config)
	o.writeConfig(string(data))
	t.Cleanup(func() { o.cleanupContainers() })
	return o
}

func imageID(e *env, ref string) string {
	e.t.Helper()
	return strings.TrimSpace(e.ok("image", "inspect", "-f", "{{.Id}}", ref))
}

func tarNames(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names
}

func TestSaveLoadRoundTrip(t *testing.T) {
	e, _ := archiveEnv(t)
	id := imageID(e, "busybox")
	dir := t.TempDir()
	archive := filepath.Join(dir, "bb.tar")
	e.ok("save", "-o", archive, "busybox")
	names := strings.Join(tarNames(t, archive), " ")
	for _, want := range []string{"manifest.json", "index.json", "oci-layout", "blobs/sha256/"} {
		if !strings.Contains(names, want) {
			t.Errorf("save archive lacks %s: %s", want, names)
		}
	}

	o := otherEnv(t, e)
	if out := o.ok("load", "-i", archive); out != "Loaded image: busybox:latest\n" {
		t.Fatalf("load output %q", out)
	}
	if got := imageID(o, "busybox"); got != id {
		t.Fatalf("image ID after save/load = %s, want %s", got, id)
	}
	if out := o.ok("run", "--rm", "--pull", "never", "busybox", "echo", "loaded"); out != "loaded\n" {
		t.Fatalf("run loaded image: %q", out)
	}

	// Through stdin, gzip-compressed, and as a pure OCI layout.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(must[[]byte](t)(os.ReadFile(archive)))
	zw.Close()
	o2 := otherEnv(t, e)
	if r := o2.runIn(gz.String(), "load"); r.code != 0 || !strings.Contains(r.out, "Loaded image: busybox:latest") {
		t.Fatalf("load gzip from stdin: %+v", r)
	}
	ociArchive := filepath.Join(dir, "oci.tar")
	e.ok("save", "--format", "oci", "-o", ociArchive, "busybox:latest")
	if strings.Contains(strings.Join(tarNames(t, ociArchive), " "), "manifest.json") {
		t.Error("--format oci wrote manifest.json")
	}
	o3 := otherEnv(t, e)
	o3.ok("load", "-i", ociArchive)
	if got := imageID(o3, "busybox"); got != id {
		t.Fatalf("image ID after OCI save/load = %s, want %s", got, id)
	}
}

func TestLoadSkopeoFormats(t *testing.T) {
	e, addr := archiveEnv(t)
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Fatal("skopeo is missing: hack/setup.sh installs it")
	}
	dir := t.TempDir()
	src := "docker://" + addr + "/library/busybox:latest"
	da := filepath.Join(dir, "da.tar")
	oa := filepath.Join(dir, "oa.tar")
	for _, args := range [][]string{
		{"copy", "-q", "--src-tls-verify=false", src, "docker-archive:" + da + ":example.com/sk/busybox:da"},
		{"copy", "-q", "--src-tls-verify=false", src, "oci-archive:" + oa + ":example.com/sk/busybox:oa"},
	} {
		if out, err := exec.Command("skopeo", args...).CombinedOutput(); err != nil {
			t.Fatalf("skopeo %v: %v\n%s", args, err, out)
		}
	}
	o := otherEnv(t, e)
	if out := o.ok("load", "-i", da); out != "Loaded image: example.com/sk/busybox:da\n" {
		t.Fatalf("load skopeo docker-archive: %q", out)
	}
	if out := o.ok("run", "--rm", "--pull", "never", "example.com/sk/busybox:da", "echo", "ok"); out != "ok\n" {
		t.Fatalf("run skopeo docker-archive image: %q", out)
	}
	if out := o.ok("load", "-i", oa); out != "Loaded image: example.com/sk/busybox:oa\n" {
		t.Fatalf("load skopeo oci-archive: %q", out)
	}
	if out := o.ok("run", "--rm", "--pull", "never", "example.com/sk/busybox:oa", "echo", "ok"); out != "ok\n" {
		t.Fatalf("run skopeo oci-archive image: %q", out)
	}

	// And skopeo reads what berth saves, in both formats.
	ours := filepath.Join(dir, "ours.tar")
	e.ok("save", "-o", ours, "busybox")
	for _, ref := range []string{"docker-archive:" + ours, "oci-archive:" + ours} {
		if out, err := exec.Command("skopeo", "inspect", ref).CombinedOutput(); err != nil {
			t.Errorf("skopeo inspect %s: %v\n%s", ref, err, out)
		}
	}
}

func TestLoadRefusesBadArchives(t *testing.T) {
	e, _ := archiveEnv(t)
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, entries func(tw *tar.Writer)) string {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		entries(tw)
		tw.Close()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := func(tw *tar.Writer, name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	dotdot := write("dotdot.tar", func(tw *tar.Writer) {
		file(tw, "../outside/evil", "x")
	})
	symlink := write("symlink.tar", func(tw *tar.Writer) {
		tw.WriteHeader(&tar.Header{Name: "blobs", Typeflag: tar.TypeSymlink, Linkname: outside})
		file(tw, "blobs/evil", "x")
	})
	empty := write("empty.tar", func(tw *tar.Writer) { file(tw, "README", "hello") })

	// A layer whose content does not match the config's diff ID.
	good := filepath.Join(dir, "good.tar")
	e.ok("save", "-o", good, "busybox")
	tampered := write("tampered.tar", func(tw *tar.Writer) {
		f, _ := os.Open(good)
		defer f.Close()
		tr := tar.NewReader(f)
		for {
			h, err := tr.Next()
			if err != nil {
				return
			}
			var body bytes.Buffer
			body.ReadFrom(tr)
			data := body.Bytes()
			if h.Name != "manifest.json" && h.Name != "index.json" && h.Name != "oci-layout" && h.Size > 10000 {
				var lb bytes.Buffer
				ltw := tar.NewWriter(&lb)
				ltw.WriteHeader(&tar.Header{Name: "bin/evil", Mode: 0o755, Size: 2, Typeflag: tar.TypeReg})
				ltw.Write([]byte("hi"))
				ltw.Close()
				data = lb.Bytes()
			}
			h.Size = int64(len(data))
			tw.WriteHeader(h)
			tw.Write(data)
		}
	})

	o := otherEnv(t, e)
	for name, tt := range map[string]struct{ file, err string }{
		"dot dot":     {dotdot, "evil"},
		"symlink":     {symlink, "blobs"},
		"no manifest": {empty, "neither manifest.json"},
		"tampered":    {tampered, "diff ID"},
	} {
		r := o.run("load", "-i", tt.file)
		if r.code == 0 || !strings.Contains(r.err, tt.err) || strings.Count(strings.TrimSpace(r.err), "\n") > 0 {
			t.Errorf("%s: load = %+v, want a one-line error naming %q", name, r, tt.err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) > 0 {
		t.Fatalf("load wrote outside its staging dir: %v", ents)
	}
	if out := o.ok("images", "-q"); out != "" {
		t.Fatalf("refused loads left images: %q", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(o.root, "tmp")); len(ents) > 0 {
		t.Fatalf("refused loads left staging: %v", ents)
	}
}
