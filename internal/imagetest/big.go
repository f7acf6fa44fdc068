package imagetest

import (
	"fmt"
	"math/rand/v2"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const (
	bigSmallFiles    = 20000    // at most this many small files
	bigSmallPerDir   = 100      // small files per directory
	bigFileSize      = 16 << 20 // size of each large random file (the last may be smaller)
	bigFilesPerLayer = 4        // large files per layer
)

// Big returns a Docker schema 2 image of about sizeMB MiB of uncompressed
// file content, for benchmarks, all gzip:
//
//   - busybox;
//   - small files: a fifth of the size, at most 20 000 random files of 64 to
//     1984 bytes, small/dNNN/fNNNNN, 100 per directory;
//   - large files: the rest, as 16 MiB incompressible random files
//     big/rand-NNN.bin, four per layer;
//   - a whiteout layer deleting small/d000/f00000 and big/rand-000.bin and
//     making small/d001 opaque (with one new file).
//
// Content comes from ChaCha8 with fixed seeds, so digests are stable.
// Building keeps the image in memory: about twice sizeMB.
func Big(sizeMB int) (v1.Image, error) {
	if sizeMB < 1 {
		return nil, fmt.Errorf("build big image: size %d MiB: want at least 1", sizeMB)
	}
	total := int64(sizeMB) << 20

	bb, err := BusyboxLayer(Gzip)
	if err != nil {
		return nil, err
	}
	layers := []v1.Layer{bb}
	history := []string{"imagetest busybox"}

	// Small files.
	nSmall := int(min(bigSmallFiles, max(100, total/5/1024)))
	rng := rand.NewChaCha8(seedKey(3))
	small := []Entry{Dir("small", 0o755)}
	var smallBytes int64
	for i := range nSmall {
		if i%bigSmallPerDir == 0 {
			small = append(small, Dir(fmt.Sprintf("small/d%03d", i/bigSmallPerDir), 0o755))
		}
		body := make([]byte, 64+(i*7919)%1921)
		_, _ = rng.Read(body) // never fails
		smallBytes += int64(len(body))
		small = append(small, File(fmt.Sprintf("small/d%03d/f%05d", i/bigSmallPerDir, i), 0o644, body))
	}
	l, err := LayerFromEntries(small, Gzip)
	if err != nil {
		return nil, fmt.Errorf("build big image small files: %w", err)
	}
	layers = append(layers, l)
	history = append(history, fmt.Sprintf("imagetest %d small files", nSmall))

	// Large random files, a few per layer.
	remaining := max(total-smallBytes, 1<<20)
	var large []Entry
	flush := func() error {
		if len(large) == 0 {
			return nil
		}
		l, err := LayerFromEntries(append([]Entry{Dir("big", 0o755)}, large...), Gzip)
		if err != nil {
			return fmt.Errorf("build big image large files: %w", err)
		}
		layers = append(layers, l)
		history = append(history, fmt.Sprintf("imagetest %d large files", len(large)))
		large = nil
		return nil
	}
	for i := 0; remaining > 0; i++ {
		n := min(remaining, bigFileSize)
		remaining -= n
		large = append(large, File(fmt.Sprintf("big/rand-%03d.bin", i), 0o644, randomBytes(uint64(100+i), int(n))))
		if len(large) == bigFilesPerLayer {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}

	// Whiteouts.
	wh := []Entry{
		Dir("small", 0o755),
		Dir("small/d000", 0o755),
		Whiteout("small/d000/f00000"),
		Dir("small/d001", 0o755),
		OpaqueWhiteout("small/d001"),
		File("small/d001/replaced.txt", 0o644, []byte("replaced by the whiteout layer\n")),
		Dir("big", 0o755),
		Whiteout("big/rand-000.bin"),
	}
	l, err = LayerFromEntries(wh, Gzip)
	if err != nil {
		return nil, fmt.Errorf("build big image whiteouts: %w", err)
	}
	layers = append(layers, l)
	history = append(history, "imagetest whiteouts")

	return Image(Spec{
		Layers:  layers,
		Config:  v1.Config{Cmd: []string{"sh"}, Env: []string{DefaultPath}, Labels: map[string]string{"dev.berth.test": "big"}},
		History: history,
	})
}
