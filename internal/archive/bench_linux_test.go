//go:build linux

package archive

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkApply unpacks a layer of 5000 small files in 50 directories and
// four 1 MiB files.
func BenchmarkApply(b *testing.B) {
	requireRoot(b)
	var entries []tarEntry
	for d := range 50 {
		dir := fmt.Sprintf("usr/share/d%02d/", d)
		entries = append(entries, dirEntry(dir))
		for f := range 100 {
			entries = append(entries, fileEntry(dir+"f"+strconv.Itoa(f), strings.Repeat("x", 200+(f*37)%1800)))
		}
	}
	for i := range 4 {
		entries = append(entries, fileEntry("usr/lib/big"+strconv.Itoa(i), strings.Repeat("y", 1<<20)))
	}
	data := buildTar(b, entries...)
	tmp := b.TempDir()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(tmp, strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(b.Context(), dir, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(entries)*b.N)/b.Elapsed().Seconds(), "entries/s")
}
