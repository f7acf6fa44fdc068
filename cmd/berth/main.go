// Command berth is a Docker-compatible container engine.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/runtime/libct"
)

// The container runtime re-executes this binary as "berth init" to set up
// a container (runc's pattern); libcontainer's nsenter has already run in
// a cgo constructor by then.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libct.Init()
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// BERTH_CPUPROFILE=file writes a CPU profile of the command (for
	// benchmarking berth itself).
	if p := os.Getenv("BERTH_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	pprof.StopCPUProfile()
	stop()
	os.Exit(code)
}
