// Package container is berth's container service: create, start (through a
// per-container monitor process), stop, kill, remove, wait, logs, list and
// recovery after crashes. It runs the monitor too: `berth monitor ID` is
// Service.Monitor.
//
// Layer 7.
//
//	<root>/containers/.lock            store lock: names, creation, removal
//	<root>/containers/<id>/config.json the container (Container), written once at create
//	<root>/containers/<id>/state.json  its state (State), written by its monitor while it lives
//	<root>/containers/<id>/upper/ work/ rootfs/   overlay upper, work and mount point
//	<root>/containers/<id>/bundle/config.json     the OCI runtime spec of the last start
//	<root>/containers/<id>/<id>-json.log          Docker's json-file log
//	<root>/containers/<id>/hostname hosts resolv.conf
//	<run-root>/containers/<id>/monitor.sock       the monitor's socket (attach, stdin, resize, signal)
//	<run-root>/containers/<id>/monitor.lock       held by the live monitor (flock)
//	<run-root>/containers/<id>/monitor.log        the monitor's own errors
//	<run-root>/containers/<id>/stopped            marker: stopped by the user (no restart)
//
// State is re-derived on every read: a container recorded as running whose
// monitor no longer holds its lock is reported as exited (or as running, if
// its process still runs), so a monitor killed with -9 never makes a
// command hang or lie.
package container
