// Package engine is berth's composition root: it loads the configuration
// and wires the services together for the CLI (and, later, the API server).
// It holds no logic of its own.
//
// Layer 9.
//
// Lock order (for the services still to come): store-wide lock
// (<root>/berth.lock), then per-object locks; never a lock across network I/O.
package engine
