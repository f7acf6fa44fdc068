package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
)

type rootFiles struct{ root *os.Root }

func (g rootFiles) Get(name string) (io.ReadCloser, error) { return g.root.Open(name) }

// TestTarSplitReproducesStream: what Apply records, with the files it
// wrote, gives back the original stream byte for byte (the layer's diff ID).
func TestTarSplitReproducesStream(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for ownership")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(h *tar.Header, body string) {
		h.ModTime = mt
		if body != "" {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	add(&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "d/a.txt", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 7, Gid: 8}, "hello\n")
	add(&tar.Header{Name: "d/" + strings.Repeat("long", 40), Typeflag: tar.TypeReg, Mode: 0o600, Format: tar.FormatPAX, PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}}, strings.Repeat("x", 1000))
	add(&tar.Header{Name: "d/link", Typeflag: tar.TypeLink, Linkname: "d/a.txt"}, "")
	add(&tar.Header{Name: "d/sym", Typeflag: tar.TypeSymlink, Linkname: "/abs/target"}, "")
	add(&tar.Header{Name: "d/.wh.gone", Typeflag: tar.TypeReg, Mode: 0o600}, "")
	add(&tar.Header{Name: "d/empty", Typeflag: tar.TypeReg, Mode: 0o644}, "")
	add(&tar.Header{Name: "d/fifo", Typeflag: tar.TypeFifo, Mode: 0o644}, "")
	tw.Close()
	orig := append(buf.Bytes(), make([]byte, 4096)...) // trailing zeros, as some writers leave

	dir := t.TempDir()
	var meta bytes.Buffer
	if _, err := Apply(context.Background(), dir, bytes.NewReader(orig), WithTarSplit(storage.NewJSONPacker(&meta))); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	out := asm.NewOutputTarStream(rootFiles{root}, storage.NewJSONUnpacker(&meta))
	got, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, orig) {
		t.Fatalf("reassembled %d bytes, original %d: not identical", len(got), len(orig))
	}
}
