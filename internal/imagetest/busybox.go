package imagetest

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BusyboxPath is the host's statically linked busybox (Debian busybox-static).
const BusyboxPath = "/bin/busybox"

// BusyboxApplets returns the commands BusyboxLayer links to bin/busybox.
func BusyboxApplets() []string {
	return []string{"sh", "ls", "cat", "echo", "true", "false", "sleep", "id", "env", "wc", "httpd", "nc",
		"grep", "head", "tail", "mount", "ps", "hostname", "pwd", "seq", "stty", "tty", "touch", "mkdir", "rm",
		"sed", "tr", "cut", "sort", "date", "test", "[", "kill", "dd", "printf", "yes", "wget", "top", "whoami",
		"ip", "ping", "nslookup", "timeout"}
}

// BusyboxEntries returns the entries of [BusyboxLayer]: a minimal root
// filesystem with /bin/busybox and its applet symlinks, etc/passwd and
// etc/group (root and nobody), and the usual empty directories.
func BusyboxEntries() ([]Entry, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read busybox (apt-get install busybox-static): %w", err)
	}
	entries := []Entry{
		Dir("bin", 0o755),
		File("bin/busybox", 0o755, bin),
	}
	for _, a := range BusyboxApplets() {
		entries = append(entries, Symlink("bin/"+a, "busybox"))
	}
	entries = append(entries,
		Dir("dev", 0o755),
		Dir("etc", 0o755),
		File("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")),
		File("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")),
		Dir("proc", 0o555),
		Dir("root", 0o700),
		Dir("sys", 0o555),
		Dir("tmp", 0o1777),
		Dir("usr", 0o755),
		Dir("usr/bin", 0o755),
		Symlink("usr/bin/env", "/bin/busybox"),
	)
	return entries, nil
}

// BusyboxLayer returns the layer of [BusyboxEntries], compressed as c.
func BusyboxLayer(c Compression) (v1.Layer, error) {
	entries, err := BusyboxEntries()
	if err != nil {
		return nil, err
	}
	return LayerFromEntries(entries, c)
}

// busyboxConfig is the config of the busybox fixtures.
func busyboxConfig() v1.Config {
	return v1.Config{Cmd: []string{"sh"}, Env: []string{DefaultPath}}
}

// Busybox returns a Docker schema 2 image of one gzip busybox layer with
// Cmd ["sh"], for linux/amd64.
func Busybox() (v1.Image, error) {
	return busybox(false)
}

// BusyboxOCI is [Busybox] with OCI media types.
func BusyboxOCI() (v1.Image, error) {
	return busybox(true)
}

func busybox(oci bool) (v1.Image, error) {
	l, err := BusyboxLayer(Gzip)
	if err != nil {
		return nil, err
	}
	return Image(Spec{
		Layers:  []v1.Layer{l},
		Config:  busyboxConfig(),
		OCI:     oci,
		History: []string{"imagetest busybox"},
	})
}

// BusyboxIndex returns a Docker manifest list like Docker Hub's busybox:
// linux/amd64 is [Busybox] itself (same digest), and linux/arm64 and
// linux/arm/v7 share its layer (the amd64 binary: they are for resolving,
// not running) with configs naming their platform.
func BusyboxIndex() (v1.ImageIndex, error) {
	img, err := Busybox()
	if err != nil {
		return nil, err
	}
	return Index(map[string]v1.Image{
		"linux/amd64":  img,
		"linux/arm64":  img,
		"linux/arm/v7": img,
	})
}
