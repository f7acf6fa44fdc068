package container

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// trimDelay is how long a container runs before its monitor trims itself.
const trimDelay = time.Second

// trimMemory gives back what a monitor no longer needs once its container
// runs: the pages of berth's own binary that starting it touched (the CLI,
// the image service, libcontainer's setup; the wait-and-copy loop faults
// back the few it uses) and the freed heap. A monitor lives as long as its
// container, so this is most of its footprint. How much of the binary it
// can give back depends on where it runs from: see monitorExe.
//
// The monitor calls it trimDelay after the start, if the container still
// runs.
func trimMemory() {
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue // only the binary's read-only and executable mappings
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// No more 2 MiB mappings of it; evict the pages only this process
		// maps (a binary on disk that no other monitor runs); unmap the
		// rest, to be faulted back page by page where still used (a copy
		// on tmpfs, see monitorExe).
		for _, advice := range []uintptr{unix.MADV_NOHUGEPAGE, unix.MADV_PAGEOUT, unix.MADV_DONTNEED} {
			unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), advice)
		}
	}
}
