package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dfSize is Docker's system df size: decimal units, four significant digits.
func dfSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB"}
	f, i := float64(n), 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}

// dfReclaimable is Docker's RECLAIMABLE column.
func dfReclaimable(reclaimable, total int64) string {
	if total == 0 {
		return dfSize(reclaimable)
	}
	return fmt.Sprintf("%s (%d%%)", dfSize(reclaimable), reclaimable*100/total)
}

// system df counts what exists and what is in use: a running and an exited
// container with their writable layers, a volume in use and an unused one,
// an image in use and an unused one.
func TestSystemDf(t *testing.T) {
	e := runEnv(t)
	df := func() map[string]map[string]string {
		t.Helper()
		rows := map[string]map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(e.ok("system", "df", "--format", "json")), "\n") {
			var r map[string]string
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("system df json %q: %v", line, err)
			}
			rows[r["Type"]] = r
		}
		return rows
	}
	check := func(rows map[string]map[string]string, typ, total, active, size, reclaimable string) {
		t.Helper()
		r := rows[typ]
		if r["TotalCount"] != total || r["Active"] != active || r["Size"] != size || r["Reclaimable"] != reclaimable {
			t.Errorf("%s: %v, want total %s active %s size %s reclaimable %s", typ, r, total, active, size, reclaimable)
		}
	}

	bbSize := int64(e.inspect("busybox")["Size"].(float64))
	rows := df()
	check(rows, "Images", "1", "0", dfSize(bbSize), dfReclaimable(bbSize, bbSize))
	check(rows, "Containers", "0", "0", "0B", "0B")
	check(rows, "Local Volumes", "0", "0", "0B", "0B")
	check(rows, "Build Cache", "0", "0", "0B", "0B")

	// A running container with 100 kB in its writable layer and 50 kB in
	// its volume, an exited one with 200 kB, and an unused volume of 30 kB.
	e.ok("run", "-d", "--name", "df-running", "-v", "df-used:/data", "busybox", "sleep", "1000")
	e.ok("exec", "df-running", "sh", "-c", "head -c 100000 /dev/zero > /big && head -c 50000 /dev/zero > /data/f")
	e.ok("run", "--name", "df-exited", "busybox", "sh", "-c", "head -c 200000 /dev/zero > /big")
	e.ok("volume", "create", "df-unused")
	mp := strings.TrimSpace(e.ok("volume", "inspect", "-f", "{{.Mountpoint}}", "df-unused"))
	if err := os.WriteFile(filepath.Join(mp, "f"), make([]byte, 30000), 0o644); err != nil {
		t.Fatal(err)
	}
	// An image no container uses: busybox's layer plus the exited
	// container's 200 kB.
	e.ok("commit", "df-exited", "df-unused:1")
	unusedSize := int64(e.inspect("df-unused:1")["Size"].(float64))
	if unusedSize-bbSize != 200000 {
		t.Fatalf("committed image is %d bytes, busybox %d: want 200000 more", unusedSize, bbSize)
	}

	rows = df()
	check(rows, "Images", "2", "1", dfSize(unusedSize), dfReclaimable(200000, unusedSize))
	check(rows, "Containers", "2", "1", "300kB", "200kB (66%)")
	check(rows, "Local Volumes", "2", "1", "80kB", "30kB (37%)")
	check(rows, "Build Cache", "0", "0", "0B", "0B")

	// The default table, Docker's columns.
	out := e.ok("system", "df")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != "TYPE TOTAL ACTIVE SIZE RECLAIMABLE" ||
		strings.Join(strings.Fields(lines[2]), " ") != "Containers 2 1 300kB 200kB (66%)" ||
		strings.Join(strings.Fields(lines[4]), " ") != "Build Cache 0 0 0B 0B" {
		t.Fatalf("system df:\n%s", out)
	}
	if got := e.ok("system", "df", "--format", "{{.Type}}={{.Active}}"); got != "Images=1\nContainers=1\nLocal Volumes=1\nBuild Cache=0\n" {
		t.Fatalf("system df template: %q", got)
	}

	// Once the exited container is gone, its layer is no longer counted.
	e.ok("rm", "df-exited")
	rows = df()
	check(rows, "Containers", "1", "1", "100kB", "0B (0%)")
}

// ps -s shows each container's writable layer and, as "virtual", that plus
// its image; volume prune reports the space it freed.
func TestPsSizeAndVolumePruneReclaimed(t *testing.T) {
	e := runEnv(t)
	e.ok("run", "--name", "writer", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /f")
	imgSize := int64(e.inspect("busybox")["Size"].(float64))
	out := e.ok("ps", "-a", "-s")
	want := fmt.Sprintf("100kB (virtual %s)", dfSize3(100000+imgSize))
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], "SIZE") || !strings.HasSuffix(lines[1], want) {
		t.Fatalf("ps -a -s:\n%s\nwant a SIZE column ending %q", out, want)
	}
	if got := strings.TrimSpace(e.ok("ps", "-a", "--format", "{{.Size}}")); got != want {
		t.Errorf("ps --format {{.Size}} = %q, want %q", got, want)
	}
	e.ok("volume", "create", "data")
	e.ok("run", "--rm", "-v", "data:/d", "busybox", "sh", "-c", "head -c 200000 /dev/zero > /d/f")
	out = e.ok("volume", "prune", "-a", "-f")
	if !strings.Contains(out, "data\n") || !strings.Contains(out, "Total reclaimed space: 200kB") {
		t.Errorf("volume prune -a -f:\n%s", out)
	}
}

// dfSize3 is Docker's size with three significant digits (ps, prune).
func dfSize3(n int64) string {
	units := []string{"B", "kB", "MB", "GB"}
	f, i := float64(n), 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}
