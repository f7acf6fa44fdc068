//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzApply feeds arbitrary bytes to Apply as a layer: it must not panic,
// and nothing outside the layer dir may change, whatever the stream holds.
//
// Seeds are small and drop the end-of-archive marker (Apply takes a clean
// EOF between entries as the end): each exec costs a few dozen syscalls, and
// the fuzzer minimises every input that finds new coverage.
func FuzzApply(f *testing.F) {
	requireRoot(f)
	seeds := [][]tarEntry{
		{fileEntry("d/f", "hello"), hardlinkEntry("h", "d/f")},
		{symlinkEntry("s", ".."), fileEntry("s/evil", "x")},
		{symlinkEntry("s", "/"), dirEntry("s/evil/")},
		{fileEntry(".wh.a", ""), fileEntry("o/.wh..wh..opq", "")},
		{fileEntry("x", "1"), dirEntry("x/")},
		{fileEntry("p", "x").with(func(h *tar.Header) {
			h.PAXRecords = map[string]string{"SCHILY.xattr.user.a": "b"}
		})},
		{{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o4600, Uid: 1}}},
	}
	for _, s := range seeds {
		data := buildTar(f, s...)
		f.Add(data[:len(data)-1024])
	}
	// One watched tree per worker: each exec applies into the same layer
	// dir, beside the same sentinels, and empties it after.
	base := f.TempDir()
	layer, _ := watchedTree(f, base)
	before := snapshot(f, base, layer)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer emptyDir(t, layer)
		Apply(t.Context(), layer, bytes.NewReader(data)) //nolint:errcheck // any outcome is fine; escapes are not
		assertSameSnapshot(t, before, snapshot(t, base, layer))
	})
}

func emptyDir(t *testing.T, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}
