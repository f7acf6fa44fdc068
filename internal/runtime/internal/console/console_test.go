package console

import (
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRecv(t *testing.T) {
	parent, child, err := Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Close(); _ = child.Close() })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })

	// What runc's SendFile does: the name as payload, the fd as rights.
	if err := unix.Sendmsg(int(child.Fd()), []byte("/dev/pts/7"), unix.UnixRights(int(w.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	got, err := Recv(parent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = got.Close() })
	if got.Name() != "/dev/pts/7" {
		t.Errorf("name = %q, want /dev/pts/7", got.Name())
	}
	flags, err := unix.FcntlInt(got.Fd(), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Error("received descriptor is not close-on-exec")
	}
	_ = w.Close()
	if _, err := io.WriteString(got, "hi"); err != nil {
		t.Fatal(err)
	}
	_ = got.Close()
	if data, _ := io.ReadAll(r); string(data) != "hi" {
		t.Errorf("read %q through the received descriptor, want hi", data)
	}
}

func TestRecvClosed(t *testing.T) {
	parent, child, err := Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Close() })
	_ = child.Close()
	if f, err := Recv(parent); err == nil {
		_ = f.Close()
		t.Error("Recv on a closed socket returned a file")
	}
}

func TestRecvNoRights(t *testing.T) {
	parent, child, err := Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Close(); _ = child.Close() })
	if _, err := child.Write([]byte("no fd")); err != nil {
		t.Fatal(err)
	}
	if f, err := Recv(parent); err == nil {
		_ = f.Close()
		t.Error("Recv of a message without rights returned a file")
	}
}
