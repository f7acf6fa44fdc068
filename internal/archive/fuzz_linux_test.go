//go:build linux

package archive

import (
	"archive/tar"
	"bytes"
	"testing"
)

// FuzzApply feeds arbitrary bytes to Apply as a layer: it must not panic,
// and nothing outside the layer dir may change, whatever the stream holds.
func FuzzApply(f *testing.F) {
	requireRoot(f)
	seeds := [][]tarEntry{
		{dirEntry("d/"), fileEntry("d/f", "hello"), symlinkEntry("d/l", "f"), hardlinkEntry("d/h", "d/f")},
		{fileEntry(".wh.a", ""), dirEntry("o/"), fileEntry("o/.wh..wh..opq", ""), fileEntry("o/z", "z")},
		{symlinkEntry("s", ".."), fileEntry("s/evil", "x")},
		{symlinkEntry("s", "/"), dirEntry("s/evil/"), hardlinkEntry("h", "s/sentinel")},
		{fileEntry("x", "1"), dirEntry("x/"), fileEntry("x/y", "2"), fileEntry("x", "3")},
		{fileEntry("p", "x").with(func(h *tar.Header) {
			h.PAXRecords = map[string]string{"SCHILY.xattr.user.a": "b"}
			h.Uid, h.Gid, h.Mode = 1, 2, 0o4755
		}), {hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o600}}},
	}
	for _, s := range seeds {
		f.Add(buildTar(f, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		layer, _ := watchedTree(t, base)
		before := snapshot(t, base, layer)
		Apply(t.Context(), layer, bytes.NewReader(data)) //nolint:errcheck // any outcome is fine; escapes are not
		assertSameSnapshot(t, before, snapshot(t, base, layer))
	})
}
