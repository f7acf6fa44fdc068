package console

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// maxNameLen bounds the payload, the sent file's name (runc sends the pty's
// path, crun "console").
const maxNameLen = 4096

// Recv reads one message from c and returns the file descriptor it carries
// as a file (close-on-exec). Extra descriptors in the message are closed.
func Recv(c *net.UnixConn) (*os.File, error) {
	name := make([]byte, maxNameLen)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(name, oob)
	if err != nil {
		return nil, fmt.Errorf("receive console: %w", err)
	}
	if n == 0 && oobn == 0 {
		return nil, fmt.Errorf("receive console: connection closed without a file")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receive console: parse control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, got...)
	}
	if len(fds) == 0 {
		return nil, fmt.Errorf("receive console: message carries no file descriptor")
	}
	for _, fd := range fds[1:] {
		_ = unix.Close(fd)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// Socketpair returns a connected pair of unix stream sockets: parent, to
// Recv on, and child, to hand to the runtime's init.
func Socketpair() (parent *net.UnixConn, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create console socket pair: %w", err)
	}
	pf := os.NewFile(uintptr(fds[0]), "console-parent")
	child = os.NewFile(uintptr(fds[1]), "console-child")
	fc, err := net.FileConn(pf) // dups the descriptor
	_ = pf.Close()
	if err != nil {
		_ = child.Close()
		return nil, nil, fmt.Errorf("create console socket pair: %w", err)
	}
	return fc.(*net.UnixConn), child, nil
}
