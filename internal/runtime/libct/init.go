package libct

import (
	"github.com/opencontainers/runc/libcontainer"

	// The cgroup v1 devices controller and the v2 eBPF device filter, as
	// runc's main package enables them; without it a spec with device
	// rules cannot be applied.
	_ "github.com/opencontainers/cgroups/devices"
	// nsenter's cgo constructor joins the namespaces of a container before
	// the Go runtime starts, in the re-executed "init" process.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// Init is the container init entry point: call it from the main package's
// init function when os.Args[1] is "init". It never returns.
func Init() {
	libcontainer.Init()
}
