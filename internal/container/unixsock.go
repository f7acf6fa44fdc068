package container

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A unix socket path must fit in 108 bytes; a deep --run-root and a 64-hex
// ID do not. Longer paths are reached through the directory's descriptor:
// /proc/self/fd/N/name.

const maxSockPath = 100

func shortSockPath(path string) (string, func(), error) {
	if len(path) <= maxSockPath {
		return path, func() {}, nil
	}
	fd, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open socket directory: %w", &os.PathError{Op: "open", Path: filepath.Dir(path), Err: err})
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", fd, filepath.Base(path)), func() { unix.Close(fd) }, nil
}

func listenUnix(path string) (net.Listener, error) {
	p, done, err := shortSockPath(path)
	if err != nil {
		return nil, err
	}
	defer done()
	return net.Listen("unix", p)
}

func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	p, done, err := shortSockPath(path)
	if err != nil {
		return nil, err
	}
	defer done()
	return (&net.Dialer{}).DialContext(ctx, "unix", p)
}
