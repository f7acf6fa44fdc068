package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// PrimeCgroupAttach moves the calling process into the cgroup it is
// already in, which changes nothing but warms a kernel lock, and returns
// when the move is done. Call it in a goroutine as early as possible
// before starting a container.
//
// Why: every move of a task between cgroups (a runtime writing the new
// init's PID to cgroup.procs) takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet
// spell waits for a full RCU grace period (rcu_sync_enter), 10-20 ms on
// the machines berth is measured on, a third of a container start. A writer
// that comes within a grace period of the previous one does not wait. This
// no-op move pays that wait while the caller does other work (mounting the
// root filesystem, starting the runtime's init), so the runtime's own write
// finds the lock warm. Hosts whose cgroup hierarchy is mounted with
// favordynmods do not wait at all; there this is a cheap no-op.
//
// The mover holds cgroup_mutex while it waits, so a runtime creating its
// cgroups meanwhile waits with it: the earlier the better (berth's CLI
// calls it when run or start begins, before the monitor even exists).
// The lock stays warm for about one grace period after the last move, so
// the monitor calls it again at its start and just before the runtime
// starts, which costs microseconds while warm and keeps it warm.
//
// Errors are ignored: it is only an optimisation.
func PrimeCgroupAttach() {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	// Any hierarchy takes the same global lock; prefer the unified one
	// (the line "0::/path", last in the file), else the v1 ones in order.
	lines := slices.Collect(strings.Lines(string(data)))
	slices.Reverse(lines)
	for _, line := range lines {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var candidates []string
		switch {
		case parts[0] == "0" && parts[1] == "":
			candidates = []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}
		case strings.HasPrefix(parts[1], "name="):
			candidates = []string{"/sys/fs/cgroup/" + strings.TrimPrefix(parts[1], "name=")}
		default:
			candidates = []string{"/sys/fs/cgroup/" + parts[1]}
		}
		for _, mnt := range candidates {
			procs := filepath.Join(mnt, parts[2], "cgroup.procs")
			f, err := os.OpenFile(procs, os.O_WRONLY, 0)
			if err != nil {
				continue
			}
			// "0" is the writing task itself.
			_, err = f.WriteString("0")
			f.Close()
			if err == nil {
				return
			}
		}
	}
}
