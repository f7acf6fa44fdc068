// Package runtime defines how berth runs OCI containers: the Runtime
// interface, its stdio, process, state and stats types, and helpers shared by
// the implementations.
//
// Layer 6. Two implementations live below it: libct embeds runc's
// libcontainer (the only berth package that imports runc) and ocicli drives
// any OCI runtime binary (runc, crun) through its command line.
// runtimetest holds the conformance suite both run.
//
// Lifecycle, as berth's per-container monitor drives it:
//
//	p, err := rt.Start(ctx, id, bundle, stdio) // create + start; the caller is init's parent
//	code, err := p.Wait()                       // only in the process that called Start
//	st, err := rt.Stats(ctx, id)                // still works after exit, until Delete (OOMKilled)
//	err = rt.Delete(ctx, id, false)             // state and cgroups
//
// Signal, Pause, Resume, State, Stats and Delete address a container by ID
// and may be called from any berth process that uses the same state root.
package runtime
