package imagetest_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

// fixture is a named image builder.
type fixture struct {
	name         string
	build        func() (v1.Image, error)
	manifestType types.MediaType
	layerTypes   []types.MediaType // all layers, or one entry meaning "every layer"
	wantLayers   int               // number of layers
}

func zstdImage() (v1.Image, error)         { return compressedImage(imagetest.Zstd, false) }
func uncompressedImage() (v1.Image, error) { return compressedImage(imagetest.Uncompressed, false) }
func zstdOCIImage() (v1.Image, error)      { return compressedImage(imagetest.Zstd, true) }

func compressedImage(c imagetest.Compression, oci bool) (v1.Image, error) {
	bb, err := imagetest.BusyboxLayer(c)
	if err != nil {
		return nil, err
	}
	l, err := imagetest.LayerFromEntries(sampleEntries(), c)
	if err != nil {
		return nil, err
	}
	return imagetest.Image(imagetest.Spec{
		Layers:   []v1.Layer{bb, l},
		Config:   v1.Config{Cmd: []string{"sh"}, User: "1000:1000", WorkingDir: "/data"},
		OCI:      oci,
		Platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
	})
}

func sampleEntries() []imagetest.Entry {
	return []imagetest.Entry{
		imagetest.Dir("data", 0o755),
		imagetest.File("data/a.txt", 0o600, []byte("a\n")),
		{Name: "data/x", Body: []byte("xattr"), Xattrs: map[string]string{"user.berth": "yes"}},
		imagetest.Symlink("data/link", "a.txt"),
		imagetest.Hardlink("data/hard", "data/a.txt"),
	}
}

func fixtures() []fixture {
	big := func() (v1.Image, error) { return imagetest.Big(3) }
	return []fixture{
		{name: "busybox", build: imagetest.Busybox, manifestType: types.DockerManifestSchema2,
			layerTypes: []types.MediaType{types.DockerLayer}, wantLayers: 1},
		{name: "busybox-oci", build: imagetest.BusyboxOCI, manifestType: types.OCIManifestSchema1,
			layerTypes: []types.MediaType{types.OCILayer}, wantLayers: 1},
		{name: "multilayer", build: imagetest.MultiLayer, manifestType: types.DockerManifestSchema2,
			layerTypes: []types.MediaType{types.DockerLayer}, wantLayers: 4},
		{name: "big", build: big, manifestType: types.DockerManifestSchema2,
			layerTypes: []types.MediaType{types.DockerLayer}, wantLayers: 4},
		{name: "zstd", build: zstdImage, manifestType: types.DockerManifestSchema2,
			layerTypes: []types.MediaType{types.OCILayerZStd}, wantLayers: 2},
		{name: "zstd-oci", build: zstdOCIImage, manifestType: types.OCIManifestSchema1,
			layerTypes: []types.MediaType{types.OCILayerZStd}, wantLayers: 2},
		{name: "uncompressed", build: uncompressedImage, manifestType: types.DockerManifestSchema2,
			layerTypes: []types.MediaType{types.OCIUncompressedLayer}, wantLayers: 2},
	}
}

func TestImagesValidate(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			img := build(t, fx.build)
			validateImage(t, img)
			checkManifest(t, img, fx)
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			a, b := digest(t, build(t, fx.build)), digest(t, build(t, fx.build))
			if a != b {
				t.Errorf("two builds differ: %s and %s", a, b)
			}
		})
	}
	t.Run("index", func(t *testing.T) {
		a, b := buildIndex(t), buildIndex(t)
		da, _ := a.Digest()
		db, _ := b.Digest()
		if da != db {
			t.Errorf("two builds differ: %s and %s", da, db)
		}
	})
}

func TestBusyboxIndex(t *testing.T) {
	idx := buildIndex(t)
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.DockerManifestList {
		t.Errorf("index media type %s, want %s", im.MediaType, types.DockerManifestList)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("artifactType")) {
		t.Errorf("index manifest has an artifactType (Docker Hub's have none): %s", raw)
	}
	want := []string{"linux/amd64", "linux/arm/v7", "linux/arm64"}
	var got []string
	configs := map[v1.Hash]bool{}
	for _, desc := range im.Manifests {
		got = append(got, desc.Platform.String())
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Platform().String() != desc.Platform.String() {
			t.Errorf("manifest for %s has config platform %s", desc.Platform, cf.Platform())
		}
		cd, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		configs[cd] = true
	}
	if !slices.Equal(got, want) {
		t.Errorf("platforms %v, want %v", got, want)
	}
	if len(configs) != 3 {
		t.Errorf("%d distinct configs, want 3", len(configs))
	}
	amd64 := build(t, imagetest.Busybox)
	if im.Manifests[0].Digest != mustDigest(t, amd64) {
		t.Errorf("linux/amd64 entry %s is not Busybox() %s", im.Manifests[0].Digest, mustDigest(t, amd64))
	}

	if _, err := imagetest.Index(map[string]v1.Image{"amd64": amd64}); err == nil {
		t.Errorf("Index with platform %q succeeded, want an error", "amd64")
	}
	if _, err := imagetest.Index(nil); err == nil {
		t.Errorf("Index of no images succeeded, want an error")
	}
}

func TestPushPull(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := t.Context()
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			img := build(t, fx.build)
			ref := reg.Addr + "/test/" + fx.name + ":latest"
			dgst, err := imagetest.Push(ctx, img, ref)
			if err != nil {
				t.Fatal(err)
			}
			if want := digest(t, img); dgst != want {
				t.Errorf("Push returned %s, image digest is %s", dgst, want)
			}
			// Pull back with ggcr's remote directly.
			r, err := name.ParseReference(ref, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Image(r, remote.WithContext(ctx))
			if err != nil {
				t.Fatalf("pull %s: %v", ref, err)
			}
			if d := digest(t, got); d != dgst {
				t.Errorf("pulled digest %s, pushed %s", d, dgst)
			}
			validateImage(t, got)
			checkManifest(t, got, fx)
			wantLayers, _ := img.Layers()
			gotLayers, err := got.Layers()
			if err != nil {
				t.Fatal(err)
			}
			for i := range gotLayers {
				gd, _ := gotLayers[i].Digest()
				wd, _ := wantLayers[i].Digest()
				if gd != wd {
					t.Errorf("layer %d: pulled %s, pushed %s", i, gd, wd)
				}
			}
		})
	}
	t.Run("index", func(t *testing.T) {
		idx := buildIndex(t)
		ref := reg.Addr + "/library/busybox:latest"
		dgst, err := imagetest.PushIndex(ctx, idx, ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := imagetest.PullIndex(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := got.Digest(); d.String() != dgst {
			t.Errorf("pulled index %s, pushed %s", d, dgst)
		}
		if err := validate.Index(got); err != nil {
			t.Errorf("validate.Index of the pulled index: %v", err)
		}
		// By tag, the default platform (linux/amd64) resolves to Busybox().
		img, err := imagetest.Pull(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if d, want := digest(t, img), digest(t, build(t, imagetest.Busybox)); d != want {
			t.Errorf("linux/amd64 of the index is %s, want Busybox() %s", d, want)
		}
	})
}

func TestPushTLSAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{TLS: true, Username: "carol", Password: "hunter2"})
	ctx := t.Context()
	img := build(t, imagetest.Busybox)
	ref := reg.Addr + "/library/busybox:schema2"

	if _, err := imagetest.Push(ctx, img, ref, imagetest.WithCACert(reg.CACert)); err == nil {
		t.Errorf("push without credentials succeeded")
	}
	if _, err := imagetest.Push(ctx, img, ref, imagetest.WithBasicAuth("carol", "hunter2")); err == nil {
		t.Errorf("push without the CA succeeded")
	}
	opts := []imagetest.PushOption{imagetest.WithBasicAuth("carol", "hunter2"), imagetest.WithCACert(reg.CACert)}
	dgst, err := imagetest.Push(ctx, img, ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := imagetest.Pull(ctx, ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if d := digest(t, got); d != dgst {
		t.Errorf("pulled %s, pushed %s", d, dgst)
	}
	if _, err := imagetest.Push(ctx, img, ref, imagetest.WithCACert("/nonexistent/ca.crt")); err == nil {
		t.Errorf("push with a missing CA file succeeded")
	}
}

// TestLayerRoundTrip checks that every compression gives back the entries.
func TestLayerRoundTrip(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := t.Context()
	tests := []struct {
		name     string
		c        imagetest.Compression
		wantType types.MediaType
		magic    []byte
	}{
		{name: "gzip", c: imagetest.Gzip, wantType: types.DockerLayer, magic: []byte{0x1f, 0x8b}},
		{name: "zstd", c: imagetest.Zstd, wantType: types.OCILayerZStd, magic: []byte{0x28, 0xb5, 0x2f, 0xfd}},
		{name: "uncompressed", c: imagetest.Uncompressed, wantType: types.OCIUncompressedLayer, magic: []byte("data/")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := imagetest.LayerFromEntries(sampleEntries(), tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if mt, _ := l.MediaType(); mt != tc.wantType {
				t.Errorf("media type %s, want %s", mt, tc.wantType)
			}
			img, err := imagetest.Image(imagetest.Spec{Layers: []v1.Layer{l}})
			if err != nil {
				t.Fatal(err)
			}
			ref := reg.Addr + "/test/layer-" + tc.name + ":latest"
			if _, err := imagetest.Push(ctx, img, ref); err != nil {
				t.Fatal(err)
			}
			pulled, err := imagetest.Pull(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			layers, err := pulled.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if mt, _ := layers[0].MediaType(); mt != tc.wantType {
				t.Errorf("pulled media type %s, want %s", mt, tc.wantType)
			}
			rc, err := layers[0].Compressed()
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, len(tc.magic))
			_, err = io.ReadFull(rc, head)
			_ = rc.Close()
			if err != nil || !bytes.Equal(head, tc.magic) {
				t.Errorf("compressed blob starts %x (%v), want %x", head, err, tc.magic)
			}
			hdrs := readTar(t, layers[0])
			want := []string{"data/", "data/a.txt", "data/x", "data/link", "data/hard"}
			if got := names(hdrs); !slices.Equal(got, want) {
				t.Fatalf("entries %v, want %v", got, want)
			}
			if h := hdrs[1]; h.Mode != 0o600 || string(h.body) != "a\n" || h.ModTime.Unix() != 1704067200 {
				t.Errorf("data/a.txt: mode %o body %q mtime %v", h.Mode, h.body, h.ModTime)
			}
			if h := hdrs[2]; h.PAXRecords["SCHILY.xattr.user.berth"] != "yes" {
				t.Errorf("data/x xattrs: %v", h.PAXRecords)
			}
			if h := hdrs[3]; h.Typeflag != tar.TypeSymlink || h.Linkname != "a.txt" {
				t.Errorf("data/link: type %c -> %q", h.Typeflag, h.Linkname)
			}
			if h := hdrs[4]; h.Typeflag != tar.TypeLink || h.Linkname != "data/a.txt" {
				t.Errorf("data/hard: type %c -> %q", h.Typeflag, h.Linkname)
			}
		})
	}
}

func TestMultiLayerContent(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := t.Context()
	ref := reg.Addr + "/test/multilayer:latest"
	if _, err := imagetest.Push(ctx, build(t, imagetest.MultiLayer), ref); err != nil {
		t.Fatal(err)
	}
	img, err := imagetest.Pull(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 4 {
		t.Fatalf("%d layers, want 4", len(layers))
	}

	bb := byName(readTar(t, layers[0]))
	if h := bb["bin/busybox"]; h == nil || h.Mode != 0o755 || len(h.body) < 100_000 {
		t.Errorf("bin/busybox missing or wrong: %+v", h)
	}
	for _, a := range imagetest.BusyboxApplets() {
		if h := bb["bin/"+a]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("bin/%s is not a symlink to busybox", a)
		}
	}
	if h := bb["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp/ missing or not 1777: %+v", h)
	}

	files := byName(readTar(t, layers[1]))
	checks := []struct {
		name string
		ok   func(h *entry) bool
	}{
		{"data/1m.bin", func(h *entry) bool { return len(h.body) == 1<<20 }},
		{"data/empty", func(h *entry) bool { return h.Size == 0 && h.Typeflag == tar.TypeReg }},
		{"data/hardlink", func(h *entry) bool { return h.Typeflag == tar.TypeLink && h.Linkname == "data/hello.txt" }},
		{"data/rel-link", func(h *entry) bool { return h.Typeflag == tar.TypeSymlink && h.Linkname == "hello.txt" }},
		{"data/abs-link", func(h *entry) bool { return h.Typeflag == tar.TypeSymlink && h.Linkname == "/data/hello.txt" }},
		{"data/dated.txt", func(h *entry) bool { return h.ModTime.Equal(imagetest.DatedModTime()) && len(h.PAXRecords) == 0 }},
		{"usr/local/bin/suid", func(h *entry) bool { return h.Mode == 0o4755 }},
		{"home/user/owned.txt", func(h *entry) bool { return h.Uid == 1000 && h.Gid == 1000 && h.Mode == 0o640 }},
		{"many/file-299.txt", func(h *entry) bool { return string(h.body) == "file 299\n" }},
	}
	for _, c := range checks {
		if h := files[c.name]; h == nil || !c.ok(h) {
			t.Errorf("layer 1 %s missing or wrong: %+v", c.name, h)
		}
	}

	deletions := names(readTar(t, layers[2]))
	for _, wh := range []string{"gone/.wh.deleted.txt", "opaque/.wh..wh..opq"} {
		if !slices.Contains(deletions, wh) {
			t.Errorf("layer 2 has no %s: %v", wh, deletions)
		}
	}

	// The flattened filesystem applies the whiteouts.
	flat := byName(readTarStream(t, mutate.Extract(img)))
	for _, gone := range []string{"gone/deleted.txt", "opaque/old.txt", "opaque/sub/old2.txt"} {
		if _, ok := flat[gone]; ok {
			t.Errorf("flattened image still has %s", gone)
		}
	}
	for path, want := range map[string]string{
		"gone/kept.txt":      "kept\n",
		"opaque/new.txt":     "upper\n",
		"data/overwrite.txt": "version 2\n",
		"app/VERSION":        "1\n",
	} {
		if h := flat[path]; h == nil || string(h.body) != want {
			t.Errorf("flattened %s = %+v, want %q", path, h, want)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.WorkingDir != "/app" || len(cf.History) != 4 || cf.Created.Unix() != 1704067200 {
		t.Errorf("config: workdir %q, %d history entries, created %v", cf.Config.WorkingDir, len(cf.History), cf.Created)
	}
}

func TestBigSize(t *testing.T) {
	img := build(t, func() (v1.Image, error) { return imagetest.Big(4) })
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var content int64
	var small int
	var whiteouts []string
	for _, l := range layers[1:] {
		for _, h := range readTar(t, l) {
			content += h.Size
			if strings.HasPrefix(h.Name, "small/") && h.Typeflag == tar.TypeReg {
				small++
			}
			if strings.Contains(h.Name, ".wh.") {
				whiteouts = append(whiteouts, h.Name)
			}
		}
	}
	if content < 4<<20 || content > 5<<20 {
		t.Errorf("content %d bytes, want about 4 MiB", content)
	}
	if small < 100 {
		t.Errorf("%d small files, want at least 100", small)
	}
	if len(whiteouts) != 3 {
		t.Errorf("whiteouts %v, want 3", whiteouts)
	}
	if _, err := imagetest.Big(0); err == nil {
		t.Errorf("Big(0) succeeded")
	}
}

func TestEntryErrors(t *testing.T) {
	tests := []struct {
		name  string
		entry imagetest.Entry
	}{
		{"empty name", imagetest.Entry{}},
		{"symlink without target", imagetest.Entry{Name: "l", Type: tar.TypeSymlink}},
		{"dir with body", imagetest.Entry{Name: "d/", Body: []byte("x")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := imagetest.LayerFromEntries([]imagetest.Entry{tc.entry}, imagetest.Gzip); err == nil {
				t.Errorf("LayerFromEntries(%+v) succeeded", tc.entry)
			}
		})
	}
}

type entry struct {
	*tar.Header
	body []byte
}

func (e *entry) String() string {
	if e == nil {
		return "<missing>"
	}
	return e.Name
}

func readTar(t *testing.T, l v1.Layer) []*entry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	return readTarStream(t, rc)
}

func readTarStream(t *testing.T, rc io.ReadCloser) []*entry {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []*entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar entry %s: %v", h.Name, err)
		}
		out = append(out, &entry{Header: h, body: body})
	}
}

func names(es []*entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func byName(es []*entry) map[string]*entry {
	m := make(map[string]*entry, len(es))
	for _, e := range es {
		m[e.Name] = e
	}
	return m
}

func build(t *testing.T, f func() (v1.Image, error)) v1.Image {
	t.Helper()
	img, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func buildIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx, err := imagetest.BusyboxIndex()
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	return mustDigest(t, img).String()
}

// validateImage runs validate.Image. Its layer check assumes gzip, so images
// with other layers get the fast check plus digest, diff ID and size checks
// of each layer against the manifest and config.
func validateImage(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	gzipOnly := true
	for _, l := range m.Layers {
		gzipOnly = gzipOnly && (l.MediaType == types.DockerLayer || l.MediaType == types.OCILayer)
	}
	if gzipOnly {
		if err := validate.Image(img); err != nil {
			t.Fatalf("validate.Image: %v", err)
		}
		return
	}
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatalf("validate.Image (fast): %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(m.Layers) || len(cf.RootFS.DiffIDs) != len(m.Layers) {
		t.Fatalf("%d layers, %d manifest layers, %d diff IDs", len(layers), len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		dgst, size, err := v1.SHA256(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if dgst != m.Layers[i].Digest || size != m.Layers[i].Size {
			t.Errorf("layer %d: blob %s (%d bytes), manifest says %s (%d bytes)", i, dgst, size, m.Layers[i].Digest, m.Layers[i].Size)
		}
		rc, err = l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		diffID, _, err := v1.SHA256(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if diffID != cf.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: uncompressed %s, config diff ID %s", i, diffID, cf.RootFS.DiffIDs[i])
		}
	}
}

func checkManifest(t *testing.T, img v1.Image, fx fixture) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != fx.manifestType {
		t.Errorf("manifest media type %s, want %s", m.MediaType, fx.manifestType)
	}
	wantConfig := types.DockerConfigJSON
	if fx.manifestType == types.OCIManifestSchema1 {
		wantConfig = types.OCIConfigJSON
	}
	if m.Config.MediaType != wantConfig {
		t.Errorf("config media type %s, want %s", m.Config.MediaType, wantConfig)
	}
	if len(m.Layers) != fx.wantLayers {
		t.Errorf("%d layers, want %d", len(m.Layers), fx.wantLayers)
	}
	for i, l := range m.Layers {
		want := fx.layerTypes[min(i, len(fx.layerTypes)-1)]
		if l.MediaType != want {
			t.Errorf("layer %d media type %s, want %s", i, l.MediaType, want)
		}
	}
}
