package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

// push stores img in a test registry and returns the manifest digest.
func push(t *testing.T, img v1.Image, ref string, opts ...imagetest.PushOption) string {
	t.Helper()
	d, err := imagetest.Push(context.Background(), img, ref, opts...)
	if err != nil {
		t.Fatalf("push fixture %s: %v", ref, err)
	}
	return d
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// inspect returns `berth image inspect` of one image as a map.
func (e *env) inspect(ref string) map[string]any {
	e.t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(e.ok("image", "inspect", ref)), &out); err != nil || len(out) != 1 {
		e.t.Fatalf("inspect %s: %v %v", ref, out, err)
	}
	return out[0]
}

// layerDirs returns the image's layer directories, bottom first.
func (e *env) layerDirs(ref string) []string {
	e.t.Helper()
	lower := e.inspect(ref)["GraphDriver"].(map[string]any)["Data"].(map[string]any)["LowerDir"].(string)
	dirs := strings.Split(lower, ":")
	for i, j := 0, len(dirs)-1; i < j; i, j = i+1, j-1 {
		dirs[i], dirs[j] = dirs[j], dirs[i]
	}
	return dirs
}

// assertStoreClean checks that the store holds no image, no layer and no
// staging leftovers.
func (e *env) assertNoImages() {
	e.t.Helper()
	if out := e.ok("images", "-q"); strings.TrimSpace(out) != "" {
		e.t.Fatalf("images left: %s", out)
	}
	idx, _ := os.ReadDir(filepath.Join(e.root, "layers", "index"))
	if len(idx) != 0 {
		e.t.Fatalf("layers indexed: %v", idx)
	}
}

func (e *env) assertTmpEmpty() {
	e.t.Helper()
	ents, _ := os.ReadDir(filepath.Join(e.root, "tmp"))
	if len(ents) != 0 {
		e.t.Fatalf("staging left in tmp: %v", ents)
	}
}

// The seed's mirror scenario: `berth pull busybox` through registry-mirrors
// behaves as on the internet, and image resolve predicts the endpoint.
func TestPullBusyboxThroughHubMirror(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	idx := must[v1.ImageIndex](t)(imagetest.BusyboxIndex())
	if _, err := imagetest.PushIndex(context.Background(), idx, reg.Addr+"/library/busybox:latest"); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.writeConfig(fmt.Sprintf(`{"registry-mirrors": ["http://%s"]}`, reg.Addr))
	out := e.ok("pull", "busybox")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "Using default tag: latest" || lines[1] != "latest: Pulling from library/busybox" {
		t.Fatalf("pull output starts:\n%s", out)
	}
	n := len(lines)
	if !strings.HasPrefix(lines[n-3], "Digest: sha256:") || lines[n-2] != "Status: Downloaded newer image for busybox:latest" || lines[n-1] != "docker.io/library/busybox:latest" {
		t.Fatalf("pull output ends:\n%s", out)
	}
	if !strings.Contains(out, ": Pull complete") {
		t.Fatalf("no layer completed:\n%s", out)
	}
	// The digest printed is the index's, as Docker prints it.
	h := must[v1.Hash](t)(idx.Digest())
	if lines[n-3] != "Digest: "+h.String() {
		t.Fatalf("digest line %q, want index digest %s", lines[n-3], h)
	}

	var plan struct {
		Candidates []struct{ URL, Ref string }
	}
	if err := json.Unmarshal([]byte(e.ok("image", "resolve", "--format", "json", "busybox")), &plan); err != nil {
		t.Fatal(err)
	}
	src := e.inspect("busybox")["BerthSource"].(map[string]any)
	if src["endpoint"] != plan.Candidates[0].URL || src["ref"] != plan.Candidates[0].Ref || src["role"] != "mirror" {
		t.Fatalf("served by %v, resolve predicted %+v", src, plan.Candidates[0])
	}
	img := e.inspect("busybox")
	if img["Architecture"] != "amd64" || img["Os"] != "linux" {
		t.Fatalf("platform %v/%v", img["Os"], img["Architecture"])
	}
	if tags := img["RepoTags"].([]any); len(tags) != 1 || tags[0] != "busybox:latest" {
		t.Fatalf("RepoTags %v", tags)
	}
	if d := img["RepoDigests"].([]any); len(d) != 1 || d[0] != "busybox@"+h.String() {
		t.Fatalf("RepoDigests %v", d)
	}
	dirs := e.layerDirs("busybox")
	fi, err := os.Stat(filepath.Join(dirs[0], "bin", "busybox"))
	if err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("bin/busybox in layer: %v %v", fi, err)
	}

	// A second pull is up to date, downloads nothing and, as Docker's,
	// shows no layers.
	out = e.ok("pull", "busybox")
	want := "Using default tag: latest\nlatest: Pulling from library/busybox\nDigest: " + h.String() +
		"\nStatus: Image is up to date for busybox:latest\ndocker.io/library/busybox:latest\n"
	if out != want {
		t.Fatalf("second pull:\n%s\nwant:\n%s", out, want)
	}
	if got := strings.TrimSpace(e.ok("pull", "-q", "busybox")); got != "docker.io/library/busybox:latest" {
		t.Fatalf("pull -q printed %q", got)
	}
	if out := e.ok("images"); !strings.Contains(out, "busybox") || !strings.Contains(out, "latest") {
		t.Fatalf("images:\n%s", out)
	}
	e.assertTmpEmpty()
}

// The layers of an image come out as overlayfs wants them, and the merged
// view is the image's filesystem.
func TestPullMultiLayerContent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: ownership and overlay mounts")
	}
	reg := registrytest.Start(t, registrytest.Options{})
	ref := reg.Addr + "/test/multilayer:latest"
	push(t, must[v1.Image](t)(imagetest.MultiLayer()), ref)
	e := newEnv(t)
	e.ok("pull", ref)
	dirs := e.layerDirs(ref)
	if len(dirs) != 4 {
		t.Fatalf("%d layer dirs", len(dirs))
	}
	files, deletions := dirs[1], dirs[2]

	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(deletions, "gone", "deleted.txt"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("whiteout is not a 0/0 char device: %+v %v", st, err)
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(deletions, "opaque"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Fatalf("opaque xattr: %q %v", buf[:n], err)
	}
	var a, b unix.Stat_t
	unix.Lstat(filepath.Join(files, "data", "hello.txt"), &a)
	unix.Lstat(filepath.Join(files, "data", "hardlink"), &b)
	if a.Ino != b.Ino {
		t.Fatal("hardlink does not share the inode")
	}
	if l, _ := os.Readlink(filepath.Join(files, "data", "abs-link")); l != "/data/hello.txt" {
		t.Fatalf("abs-link -> %q", l)
	}
	fi, _ := os.Stat(filepath.Join(files, "usr", "local", "bin", "suid"))
	if fi.Mode()&os.ModeSetuid == 0 {
		t.Fatalf("suid mode %v", fi.Mode())
	}
	unix.Lstat(filepath.Join(files, "home", "user", "owned.txt"), &st)
	if st.Uid != 1000 || st.Gid != 1000 {
		t.Fatalf("owned.txt %d:%d", st.Uid, st.Gid)
	}
	fi, _ = os.Stat(filepath.Join(files, "data", "dated.txt"))
	if !fi.ModTime().Equal(imagetest.DatedModTime()) {
		t.Fatalf("mtime %v", fi.ModTime())
	}

	// The merged view, as a container would see it.
	mnt := t.TempDir()
	lower := strings.Join([]string{dirs[3], dirs[2], dirs[1], dirs[0]}, ":")
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+lower); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	if _, err := os.Lstat(filepath.Join(mnt, "gone", "deleted.txt")); !os.IsNotExist(err) {
		t.Errorf("deleted file visible: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(mnt, "opaque")); len(ents) != 1 || ents[0].Name() != "new.txt" {
		t.Errorf("opaque dir holds %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(mnt, "data", "overwrite.txt")); string(b) != "version 2\n" {
		t.Errorf("overwrite.txt = %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Join(mnt, "many")); len(ents) != imagetest.MultiLayerManyFiles {
		t.Errorf("many/ has %d files", len(ents))
	}

	// history shows the four steps with their sizes.
	hist := e.ok("history", ref)
	for _, want := range []string{"imagetest app", "imagetest deletions", "imagetest files", "imagetest busybox"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
}

// A mirror that is down, empty, or serves a tampered blob: the pull falls
// back to the origin or, with fallback none, fails and stores nothing.
func TestPullMirrorFallback(t *testing.T) {
	origin := registrytest.Start(t, registrytest.Options{})
	img := must[v1.Image](t)(imagetest.MultiLayer())
	ref := origin.Addr + "/team/app:1"
	push(t, img, ref)
	layers := must[[]v1.Layer](t)(img.Layers())
	top := must[v1.Hash](t)(layers[len(layers)-2].Digest())

	config := func(mirror, fallback string) string {
		fb := ""
		if fallback != "" {
			fb = fmt.Sprintf(`, "fallback": %q`, fallback)
		}
		return fmt.Sprintf(`{"registries": [{"prefix": %q, "mirrors": ["http://%s"]%s}]}`, origin.Addr, mirror, fb)
	}

	t.Run("mirror down", func(t *testing.T) {
		e := newEnv(t)
		e.writeConfig(config(registrytest.FreeAddr(t), ""))
		e.ok("pull", ref)
		if src := e.inspect(ref)["BerthSource"].(map[string]any); src["role"] != "origin" {
			t.Fatalf("served by %v", src)
		}
	})
	t.Run("mirror empty", func(t *testing.T) {
		empty := registrytest.Start(t, registrytest.Options{})
		e := newEnv(t)
		e.writeConfig(config(empty.Addr, ""))
		e.ok("pull", ref)
		if src := e.inspect(ref)["BerthSource"].(map[string]any); src["role"] != "origin" {
			t.Fatalf("served by %v", src)
		}
	})
	t.Run("mirror tampered, falls back per blob", func(t *testing.T) {
		bad := registrytest.Start(t, registrytest.Options{})
		push(t, img, bad.Addr+"/team/app:1")
		bad.Tamper(t, top.String())
		e := newEnv(t)
		e.writeConfig(config(bad.Addr, ""))
		e.ok("pull", ref)
		// The layer that came from the origin after the mirror's failed
		// verification has the right content.
		dirs := e.layerDirs(ref)
		if b, _ := os.ReadFile(filepath.Join(dirs[2], "opaque", "new.txt")); string(b) != "upper\n" {
			t.Fatalf("layer content %q", b)
		}
		e.assertTmpEmpty()
	})
	t.Run("mirror tampered, fallback none", func(t *testing.T) {
		bad := registrytest.Start(t, registrytest.Options{})
		push(t, img, bad.Addr+"/team/app:1")
		bad.Tamper(t, top.String())
		e := newEnv(t)
		e.writeConfig(config(bad.Addr, "none"))
		msg := e.fail("pull", ref)
		if !strings.Contains(msg, top.String()) || !strings.Contains(msg, "http://"+bad.Addr+" (mirror)") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Fatalf("error does not name the blob and endpoint on one line: %q", msg)
		}
		e.assertNoImages()
		e.assertTmpEmpty()
	})
	t.Run("everything down", func(t *testing.T) {
		down := registrytest.FreeAddr(t)
		e := newEnv(t)
		e.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": "gcr.io", "location": %q, "mirrors": ["http://%s"]}]}`, "127.0.0.1:1/x", down))
		msg := e.fail("pull", "gcr.io/team/app:1")
		for _, want := range []string{"every endpoint failed", "http://" + down + " (mirror)", "127.0.0.1:1 (rewrite)"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q: %s", want, msg)
			}
		}
	})
}

// Digest-only mirrors serve pulls by digest, never tag resolution.
func TestPullDigestOnlyMirror(t *testing.T) {
	mirror := registrytest.Start(t, registrytest.Options{})
	img := must[v1.Image](t)(imagetest.Busybox())
	dgst := push(t, img, mirror.Addr+"/library/busybox:latest")
	e := newEnv(t)
	down := registrytest.FreeAddr(t)
	e.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": %q, "mirrors": [{"location": "http://%s/library", "digest-only": true}]}]}`, down+"/lib", mirror.Addr))
	e.ok("pull", down+"/lib/busybox@"+dgst)
	msg := e.fail("pull", down+"/lib/busybox:latest")
	if strings.Contains(msg, mirror.Addr) {
		t.Fatalf("a digest-only mirror was asked for a tag: %s", msg)
	}
}

func TestPullTLSWithAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{TLS: true, Username: "alice", Password: "s3cret"})
	ref := reg.Addr + "/private/bb:1"
	push(t, must[v1.Image](t)(imagetest.Busybox()), ref, imagetest.WithBasicAuth("alice", "s3cret"), imagetest.WithCACert(reg.CACert))
	e := newEnv(t)
	e.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": %q, "ca-dir": %q}]}`, reg.Addr, filepath.Join(reg.CertsDir, reg.Addr)))

	if msg := e.fail("pull", ref); !strings.Contains(strings.ToLower(msg), "unauthorized") {
		t.Fatalf("anonymous pull: %s", msg)
	}
	if msg := e.runIn("wrong\n", "login", "-u", "alice", "--password-stdin", reg.Addr); msg.code == 0 || !strings.Contains(msg.err, "incorrect username or password") {
		t.Fatalf("bad login: %+v", msg)
	}
	r := e.runIn("s3cret\n", "login", "-u", "alice", "--password-stdin", reg.Addr)
	if r.code != 0 || !strings.Contains(r.out, "Login Succeeded") {
		t.Fatalf("login: %+v", r)
	}
	cfg, _ := os.ReadFile(filepath.Join(e.dc, "config.json"))
	if !strings.Contains(string(cfg), reg.Addr) {
		t.Fatalf("docker config.json lacks the login: %s", cfg)
	}
	if out := e.ok("image", "resolve", ref); !strings.Contains(out, fmt.Sprintf("auths[%q]", reg.Addr)) || !strings.Contains(out, "verified with CAs from") {
		t.Fatalf("resolve:\n%s", out)
	}
	e.ok("pull", ref)

	// Another CA: verification fails.
	other := registrytest.Start(t, registrytest.Options{TLS: true})
	e2 := newEnv(t)
	e2.writeConfig(fmt.Sprintf(`{"registries": [{"prefix": %q, "ca-dir": %q}]}`, reg.Addr, filepath.Join(other.CertsDir, other.Addr)))
	if msg := e2.fail("pull", ref); !strings.Contains(msg, "certificate") {
		t.Fatalf("wrong CA: %s", msg)
	}
	if out := e.ok("logout", reg.Addr); !strings.Contains(out, "Removing login credentials for "+reg.Addr) {
		t.Fatalf("logout: %s", out)
	}
	cfg, _ = os.ReadFile(filepath.Join(e.dc, "config.json"))
	if strings.Contains(string(cfg), reg.Addr) {
		t.Fatalf("logout left the login: %s", cfg)
	}
}

func TestPullPlatformsAndCompressions(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	if _, err := imagetest.PushIndex(ctx, must[v1.ImageIndex](t)(imagetest.BusyboxIndex()), reg.Addr+"/multi/bb:1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []imagetest.Compression{imagetest.Zstd, imagetest.Uncompressed} {
		l := must[v1.Layer](t)(imagetest.BusyboxLayer(c))
		img := must[v1.Image](t)(imagetest.Image(imagetest.Spec{Layers: []v1.Layer{l}, OCI: true, Config: v1.Config{Cmd: []string{"sh"}}}))
		push(t, img, fmt.Sprintf("%s/comp/%s:1", reg.Addr, strings.ToLower(c.String())))
	}
	e := newEnv(t)
	e.ok("pull", "--platform", "linux/arm64", reg.Addr+"/multi/bb:1")
	if arch := e.inspect(reg.Addr + "/multi/bb:1")["Architecture"]; arch != "arm64" {
		t.Fatalf("arch %v", arch)
	}
	msg := e.fail("pull", "--platform", "linux/s390x", reg.Addr+"/multi/bb:1")
	if !strings.Contains(msg, "no image for platform linux/s390x") || !strings.Contains(msg, "linux/arm64") {
		t.Fatalf("missing platform: %s", msg)
	}
	for _, c := range []string{"zstd", "uncompressed"} {
		name := fmt.Sprintf("%s/comp/%s:1", reg.Addr, c)
		e.ok("pull", name)
		if _, err := os.Stat(filepath.Join(e.layerDirs(name)[0], "bin", "busybox")); err != nil {
			t.Fatalf("%s layer: %v", c, err)
		}
	}
}

// An OCI image index (not a Docker manifest list): --platform picks its
// manifest, the default is the host's, and the digest shown and recorded is
// the index's.
func TestPullOCIIndexPlatform(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	bb := must[v1.Image](t)(imagetest.BusyboxOCI())
	idx := must[v1.ImageIndex](t)(imagetest.Index(map[string]v1.Image{"linux/amd64": bb, "linux/arm64": bb, "linux/arm/v7": bb}))
	ref := reg.Addr + "/oci/bb:1"
	idxDigest, err := imagetest.PushIndex(ctx, idx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// What the registry serves is an OCI index.
	if mt := must[types.MediaType](t)(must[v1.ImageIndex](t)(imagetest.PullIndex(ctx, ref)).MediaType()); mt != types.OCIImageIndex {
		t.Fatalf("fixture index media type %s", mt)
	}
	manifests := must[*v1.IndexManifest](t)(idx.IndexManifest()).Manifests
	manifestFor := map[string]string{}
	for _, m := range manifests {
		if m.MediaType != types.OCIManifestSchema1 {
			t.Fatalf("fixture manifest media type %s", m.MediaType)
		}
		manifestFor[m.Platform.String()] = m.Digest.String()
	}

	ids := map[string]bool{}
	for _, tc := range []struct {
		platform, arch, variant string
	}{
		{"linux/arm/v7", "arm", "v7"},
		{"linux/arm64", "arm64", ""},
		{"", "amd64", ""}, // the host's
	} {
		e := newEnv(t)
		args := []string{"pull", ref}
		if tc.platform != "" {
			args = []string{"pull", "--platform", tc.platform, ref}
		}
		out := e.ok(args...)
		if !strings.Contains(out, "Digest: "+idxDigest+"\n") || !strings.Contains(out, "Status: Downloaded newer image for "+ref+"\n") {
			t.Fatalf("pull %s:\n%s", tc.platform, out)
		}
		img := e.inspect(ref)
		variant, _ := img["Variant"].(string)
		if img["Os"] != "linux" || img["Architecture"] != tc.arch || variant != tc.variant {
			t.Fatalf("pull %q gave %v/%v/%v", tc.platform, img["Os"], img["Architecture"], variant)
		}
		if d := img["RepoDigests"].([]any); len(d) != 1 || d[0] != reg.Addr+"/oci/bb@"+idxDigest {
			t.Fatalf("RepoDigests %v, want the index digest %s", d, idxDigest)
		}
		ids[img["Id"].(string)] = true
		// The platform's manifest also names the image.
		want := manifestFor["linux/"+tc.arch]
		if tc.variant != "" {
			want = manifestFor["linux/"+tc.arch+"/"+tc.variant]
		}
		if got := e.inspect(reg.Addr + "/oci/bb@" + want)["Id"]; got != img["Id"] {
			t.Fatalf("by manifest digest %s: %v, want %v", want, got, img["Id"])
		}
	}
	if len(ids) != 3 {
		t.Fatalf("three platforms gave %d image IDs", len(ids))
	}
	e := newEnv(t)
	if msg := e.fail("pull", "--platform", "linux/ppc64le", ref); !strings.Contains(msg, "no image for platform linux/ppc64le") {
		t.Fatalf("missing platform: %s", msg)
	}
	e.assertNoImages()
}

// Layers that try to write outside their directory are refused with an
// error naming the entry, and nothing outside the store changes.
func TestPullMaliciousLayers(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	outside := t.TempDir()
	sentinel := filepath.Join(outside, "sentinel")
	os.WriteFile(sentinel, []byte("untouched"), 0o644)
	type entry struct {
		name, link string
		typ        byte
	}
	cases := map[string][]entry{
		"dotdot":       {{name: "../../../../../../" + outside[1:] + "/evil", typ: tar.TypeReg}},
		"absolute":     {{name: sentinel, typ: tar.TypeReg}},
		"symlink":      {{name: "s", link: outside, typ: tar.TypeSymlink}, {name: "s/evil", typ: tar.TypeReg}},
		"hardlink-out": {{name: "h", link: sentinel, typ: tar.TypeLink}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, en := range entries {
				hdr := &tar.Header{Name: en.name, Linkname: en.link, Typeflag: en.typ, Mode: 0o644}
				if en.typ == tar.TypeReg {
					hdr.Size = 1
				}
				if err := tw.WriteHeader(hdr); err != nil {
					t.Fatal(err)
				}
				if en.typ == tar.TypeReg {
					tw.Write([]byte("x"))
				}
			}
			tw.Close()
			data := buf.Bytes()
			l := must[v1.Layer](t)(tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }))
			bb := must[v1.Layer](t)(imagetest.BusyboxLayer(imagetest.Gzip))
			ref := reg.Addr + "/evil/" + name + ":1"
			push(t, must[v1.Image](t)(imagetest.Image(imagetest.Spec{Layers: []v1.Layer{bb, l}})), ref)
			e := newEnv(t)
			msg := e.fail("pull", ref)
			if !strings.Contains(msg, "layer entry") {
				t.Fatalf("error does not name the entry: %s", msg)
			}
			if b, _ := os.ReadFile(sentinel); string(b) != "untouched" {
				t.Fatal("sentinel changed")
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 1 {
				t.Fatalf("outside dir now holds %v", ents)
			}
			if out := e.ok("images", "-q"); strings.TrimSpace(out) != "" {
				t.Fatalf("image stored: %s", out)
			}
			e.assertTmpEmpty()
		})
	}
}

// Two processes pulling the same image at once both succeed and unpack each
// layer once.
func TestConcurrentPulls(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ref := reg.Addr + "/test/multilayer:latest"
	push(t, must[v1.Image](t)(imagetest.MultiLayer()), ref)
	e := newEnv(t)
	var outs [3]strings.Builder
	var cmds [3]interface{ Wait() error }
	for i := range cmds {
		c := e.command("pull", ref)
		c.Stdout, c.Stderr = &outs[i], &outs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = c
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("pull %d: %v\n%s", i, err, outs[i].String())
		}
	}
	all := outs[0].String() + outs[1].String() + outs[2].String()
	if n := strings.Count(all, "Pull complete"); n != 4 {
		t.Fatalf("%d layers unpacked in all, want 4:\n%s", n, all)
	}
	idx, _ := os.ReadDir(filepath.Join(e.root, "layers", "index"))
	if len(idx) != 4 {
		t.Fatalf("%d layers indexed", len(idx))
	}
	e.assertTmpEmpty()
}

// A pull killed with SIGKILL leaves no visible image; the next pull
// completes, reusing finished layers, and sweeps the garbage.
func TestKilledPull(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ref := reg.Addr + "/test/big:latest"
	push(t, must[v1.Image](t)(imagetest.Big(48)), ref)
	e := newEnv(t)
	for _, wait := range []string{"layer-", "index"} {
		c := e.command("pull", ref)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it once it is unpacking (a staging dir exists) or once it
		// has committed a first layer.
		for i := 0; i < 2000; i++ {
			var found bool
			if wait == "index" {
				ents, _ := os.ReadDir(filepath.Join(e.root, "layers", "index"))
				for _, en := range ents {
					found = found || !strings.HasPrefix(en.Name(), ".") // not a temporary file
				}
			} else {
				ents, _ := os.ReadDir(filepath.Join(e.root, "tmp"))
				for _, en := range ents {
					found = found || strings.HasPrefix(en.Name(), "layer-")
				}
			}
			if found {
				break
			}
			sleepMs(2)
		}
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		if out := e.ok("images", "-q"); strings.TrimSpace(out) != "" {
			t.Fatalf("killed pull left a visible image: %s", out)
		}
	}
	// The second pull was killed after committing a layer: it is reused.
	out := e.ok("pull", ref)
	if !strings.Contains(out, "Already exists") {
		t.Fatalf("no committed layer was reused:\n%s", out)
	}
	e.ok("image", "inspect", ref)
	e.assertTmpEmpty()
	ents, _ := os.ReadDir(filepath.Join(e.root, "layers", "index"))
	for _, en := range ents {
		if strings.HasPrefix(en.Name(), ".") {
			t.Errorf("temporary index file left: %s", en.Name())
		}
	}
}
