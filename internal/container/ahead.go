package container

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/monitor"
	"berth.dev/berth/internal/runtime"
)

// monitorHandoffEnv names the descriptor on which a monitor started ahead
// of its container receives the container's ID. The same connection is
// then the starting client's attachment.
const monitorHandoffEnv = "BERTH_MONITOR_HANDOFF_FD"

// PendingMonitor is a monitor started before its container exists (run's
// path), so that its start-up, a new process of this binary, overlaps the
// container's creation instead of following it. Start hands it the
// container; Abort lets it exit without doing anything.
type PendingMonitor struct {
	s    *Service
	conn net.Conn
}

// SpawnMonitorAhead starts `berth monitor -`, detached from this process,
// waiting for a container ID on a socket pair.
func (s *Service) SpawnMonitorAhead() (*PendingMonitor, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start monitor: %w", err)
	}
	local, remote := os.NewFile(uintptr(fds[0]), "monitor"), os.NewFile(uintptr(fds[1]), "monitor")
	defer remote.Close()
	conn, err := net.FileConn(local)
	local.Close()
	if err != nil {
		return nil, fmt.Errorf("start monitor: %w", err)
	}
	// Its output goes to the container's monitor.log once it knows the
	// container.
	if err := s.startBerth([]string{"monitor", "-"}, nil, []*os.File{remote}, monitorHandoffEnv+"=3"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("start monitor: %w", err)
	}
	return &PendingMonitor{s: s, conn: conn}, nil
}

// Abort tells the monitor that no container is coming: it exits.
func (p *PendingMonitor) Abort() { p.conn.Close() }

// Start hands the created container id to the monitor, which starts it,
// and returns as Service.Start does.
func (p *PendingMonitor) Start(ctx context.Context, id string) (*View, *Attachment, error) {
	if _, err := p.conn.Write([]byte(id + "\n")); err != nil {
		p.conn.Close()
		return nil, nil, fmt.Errorf("start container %s: the monitor exited: %w", id[:12], err)
	}
	return p.s.awaitStart(ctx, id, &Attachment{conn: p.conn, w: monitor.NewWriter(p.conn)})
}

// MonitorAhead runs in `berth monitor -`: it waits for the container's ID
// from the process that started it, then monitors the container with that
// connection as its first client. If the connection closes first, nothing
// was created and it returns nil.
func (s *Service) MonitorAhead(ctx context.Context) error {
	go runtime.PrimeCgroupAttach()
	fd, err := strconv.Atoi(os.Getenv(monitorHandoffEnv))
	if err != nil {
		return fmt.Errorf("monitor: %s is not set: run `berth monitor CONTAINER`", monitorHandoffEnv)
	}
	os.Unsetenv(monitorHandoffEnv)
	f := os.NewFile(uintptr(fd), "handoff")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	var line [65]byte
	if _, err := io.ReadFull(conn, line[:]); err != nil {
		conn.Close()
		return nil
	}
	id := string(line[:64])
	if _, err := hex.DecodeString(id); err != nil || line[64] != '\n' {
		conn.Close()
		return fmt.Errorf("monitor: bad container ID %q", line[:])
	}
	run := s.store.runPath(id)
	if err := os.MkdirAll(run, 0o700); err != nil {
		conn.Close()
		return err
	}
	logf, err := os.OpenFile(filepath.Join(run, "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		conn.Close()
		return err
	}
	unix.Dup3(int(logf.Fd()), 1, 0)
	unix.Dup3(int(logf.Fd()), 2, 0)
	logf.Close()
	return s.monitor(ctx, id, conn)
}
