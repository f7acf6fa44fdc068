// Package monitor holds what a container's monitor process and its clients
// share: the frames spoken on the monitor's unix socket (attach, stdin,
// resize, exit) and Docker's json-file log format.
//
// Layer 6. The monitor process itself is run by package container.
package monitor
