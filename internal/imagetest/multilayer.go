package imagetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DatedModTime returns the modification time of data/dated.txt in
// [MultiLayer]: 2001-02-03T04:05:06Z.
func DatedModTime() time.Time {
	return time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
}

// MultiLayerManyFiles is how many files many/ holds in [MultiLayer].
const MultiLayerManyFiles = 300

// MultiLayerEntries returns the entries of the three layers [MultiLayer]
// puts on top of busybox, bottom first.
//
// Layer 1 ("files"):
//
//	data/empty            0 bytes
//	data/hello.txt        "hello from berth\n"
//	data/4k.bin           4 KiB random (seed 1)
//	data/64k.txt          64 KiB of text
//	data/1m.bin           1 MiB random (seed 2)
//	data/overwrite.txt    "version 1\n"
//	data/dated.txt        "dated\n", mtime DatedModTime()
//	data/hardlink         hard link to data/hello.txt
//	data/rel-link         -> hello.txt
//	data/abs-link         -> /data/hello.txt
//	data/dangling         -> does-not-exist
//	many/file-NNN.txt     MultiLayerManyFiles files "file NNN\n"
//	gone/deleted.txt      deleted by layer 2
//	gone/kept.txt         "kept\n"
//	opaque/old.txt        hidden by layer 2's opaque marker
//	opaque/sub/old2.txt   hidden too
//	usr/local/bin/suid    mode 04755 shell script
//	home/user/            owned by 1000:1000, mode 0755
//	home/user/owned.txt   owned by 1000:1000, mode 0640
//
// Layer 2 ("deletions"): gone/.wh.deleted.txt; opaque/.wh..wh..opq with
// opaque/new.txt ("upper\n"); data/overwrite.txt rewritten to "version 2\n".
//
// Layer 3 ("app"): app/run.sh (0755), app/VERSION, etc/motd.
//
// Every entry but data/dated.txt has mtime 2024-01-01T00:00:00Z; no entry
// has xattrs.
func MultiLayerEntries() [][]Entry {
	files := []Entry{
		Dir("data", 0o755),
		File("data/empty", 0o644, nil),
		File("data/hello.txt", 0o644, []byte("hello from berth\n")),
		File("data/4k.bin", 0o644, randomBytes(1, 4<<10)),
		File("data/64k.txt", 0o644, textBytes(64<<10)),
		File("data/1m.bin", 0o644, randomBytes(2, 1<<20)),
		File("data/overwrite.txt", 0o644, []byte("version 1\n")),
		{Name: "data/dated.txt", Mode: 0o644, Body: []byte("dated\n"), ModTime: DatedModTime()},
		Hardlink("data/hardlink", "data/hello.txt"),
		Symlink("data/rel-link", "hello.txt"),
		Symlink("data/abs-link", "/data/hello.txt"),
		Symlink("data/dangling", "does-not-exist"),
		Dir("many", 0o755),
	}
	for i := range MultiLayerManyFiles {
		files = append(files, File(fmt.Sprintf("many/file-%03d.txt", i), 0o644, fmt.Appendf(nil, "file %03d\n", i)))
	}
	files = append(files,
		Dir("gone", 0o755),
		File("gone/deleted.txt", 0o644, []byte("to be deleted\n")),
		File("gone/kept.txt", 0o644, []byte("kept\n")),
		Dir("opaque", 0o755),
		File("opaque/old.txt", 0o644, []byte("lower\n")),
		Dir("opaque/sub", 0o755),
		File("opaque/sub/old2.txt", 0o644, []byte("lower too\n")),
		Dir("usr", 0o755),
		Dir("usr/local", 0o755),
		Dir("usr/local/bin", 0o755),
		File("usr/local/bin/suid", 0o4755, []byte("#!/bin/sh\nid\n")),
		Dir("home", 0o755),
		Entry{Name: "home/user/", Mode: 0o755, Uid: 1000, Gid: 1000},
		Entry{Name: "home/user/owned.txt", Mode: 0o640, Uid: 1000, Gid: 1000, Body: []byte("owned by 1000\n")},
	)
	deletions := []Entry{
		Dir("data", 0o755),
		File("data/overwrite.txt", 0o644, []byte("version 2\n")),
		Dir("gone", 0o755),
		Whiteout("gone/deleted.txt"),
		Dir("opaque", 0o755),
		OpaqueWhiteout("opaque"),
		File("opaque/new.txt", 0o644, []byte("upper\n")),
	}
	app := []Entry{
		Dir("app", 0o755),
		File("app/run.sh", 0o755, []byte("#!/bin/sh\necho multilayer\n")),
		File("app/VERSION", 0o644, []byte("1\n")),
		Dir("etc", 0o755),
		File("etc/motd", 0o644, []byte("berth multilayer test image\n")),
	}
	return [][]Entry{files, deletions, app}
}

// MultiLayer returns a Docker schema 2 image of busybox plus the three gzip
// layers of [MultiLayerEntries], with WorkingDir /app and Cmd ["sh"].
func MultiLayer() (v1.Image, error) {
	bb, err := BusyboxLayer(Gzip)
	if err != nil {
		return nil, err
	}
	layers := []v1.Layer{bb}
	for i, entries := range MultiLayerEntries() {
		l, err := LayerFromEntries(entries, Gzip)
		if err != nil {
			return nil, fmt.Errorf("build multilayer layer %d: %w", i+1, err)
		}
		layers = append(layers, l)
	}
	return Image(Spec{
		Layers: layers,
		Config: v1.Config{
			Cmd:        []string{"sh"},
			Env:        []string{DefaultPath, "BERTH_TEST=multilayer"},
			WorkingDir: "/app",
			Labels:     map[string]string{"dev.berth.test": "multilayer"},
		},
		History: []string{"imagetest busybox", "imagetest files", "imagetest deletions", "imagetest app"},
	})
}

// randomBytes returns n incompressible bytes from ChaCha8 seeded with seed:
// the same for the same arguments on every run.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seedKey(seed)).Read(b) // never fails
	return b
}

// seedKey turns seed into a ChaCha8 key.
func seedKey(seed uint64) [32]byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	copy(key[8:], "berth imagetest")
	return key
}

// textBytes returns n bytes of compressible text.
func textBytes(n int) []byte {
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		fmt.Fprintf(&sb, "line %06d: the quick brown fox jumps over the lazy dog\n", i)
	}
	return []byte(sb.String()[:n])
}
