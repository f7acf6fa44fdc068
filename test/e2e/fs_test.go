package e2e

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommitLeavesVolumesOut(t *testing.T) {
	e, addr := archiveEnv(t)
	host := t.TempDir()
	// /etc is a volume (copied up from the image), /mnt/h a bind mount; the
	// rest is the container's own layer.
	e.ok("run", "--name", "src", "-v", "etcdata:/etc", "-v", host+":/mnt/h", "busybox", "sh", "-c",
		"echo outside > /root-file; rm /bin/yes; echo inside > /etc/in-volume; echo changed > /etc/passwd; echo bound > /mnt/h/b")
	if out := e.ok("diff", "src"); !strings.Contains(out, "A /root-file") || !strings.Contains(out, "D /bin/yes") || strings.Contains(out, "/etc") || strings.Contains(out, "/mnt/h") {
		t.Fatalf("diff: %q", out)
	}
	id := strings.TrimSpace(e.ok("commit", "-m", "my message", "-a", "me", "-c", "ENV COMMITTED=yes", "src", "committed:1"))
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("commit printed %q", id)
	}
	check := func(env *env, ref string) {
		t.Helper()
		out := env.ok("run", "--rm", "--pull", "never", ref, "sh", "-c",
			"cat /root-file; ls /bin/yes 2>&1; ls /etc/in-volume 2>&1; head -c 5 /etc/passwd; echo; ls /mnt/h 2>&1; echo $COMMITTED")
		for _, want := range []string{"outside", "yes: No such file", "in-volume: No such file", "root:", "yes"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", ref, want, out)
			}
		}
		if strings.Contains(out, "bound") {
			t.Errorf("%s: the bind mount's file was committed:\n%s", ref, out)
		}
	}
	check(e, "committed:1")
	if out := e.ok("history", "committed:1"); !strings.Contains(out, "my message") {
		t.Fatalf("history lacks the commit message:\n%s", out)
	}
	if out := e.ok("image", "inspect", "-f", "{{.Author}}", "committed:1"); out != "me\n" {
		t.Fatalf("author %q", out)
	}

	// The whiteout survives push and pull.
	remote := addr + "/test/committed:1"
	e.ok("tag", "committed:1", remote)
	e.ok("push", remote)
	o := otherEnv(t, e)
	o.ok("pull", "-q", remote)
	check(o, remote)
	e.ok("rm", "-v", "src")
}

func TestExportAndImport(t *testing.T) {
	e := runEnv(t)
	e.ok("run", "--name", "ex", "-v", "/anon", "busybox", "sh", "-c", "echo data > /exported; echo vol > /anon/v")
	dir := t.TempDir()
	tarFile := filepath.Join(dir, "ex.tar")
	e.ok("export", "-o", tarFile, "ex")
	names := strings.Join(tarNames(t, tarFile), "\n")
	for _, want := range []string{"exported", "bin/busybox", "etc/passwd"} {
		if !strings.Contains(names, want) {
			t.Errorf("export lacks %s", want)
		}
	}
	if strings.Contains(names, "anon/v") {
		t.Error("export contains a volume's file")
	}
	e.ok("rm", "-v", "ex")

	// import of the export gives a runnable image with the changes.
	id := strings.TrimSpace(e.ok("import", "-c", `CMD ["cat", "/exported"]`, "-m", "from export", tarFile, "imported:1"))
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("import printed %q", id)
	}
	if out := e.ok("run", "--rm", "imported:1"); out != "data\n" {
		t.Fatalf("run imported image: %q", out)
	}
	// From stdin, and a bad change.
	data := must[[]byte](t)(os.ReadFile(tarFile))
	if r := e.runIn(string(data), "import", "-", "imported:2"); r.code != 0 {
		t.Fatalf("import from stdin: %+v", r)
	}
	if r := e.run("import", "-c", "RUN rm -rf /", tarFile); r.code == 0 || !strings.Contains(r.err, "RUN is not a valid change command") {
		t.Fatalf("import with RUN: %+v", r)
	}
	// A tar that tries to leave its directory is refused.
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "../../escaped", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	if r := e.runIn(evil.String(), "import", "-"); r.code == 0 || !strings.Contains(r.err, "escaped") {
		t.Fatalf("import of an escaping tar: %+v", r)
	}
}

func TestCopy(t *testing.T) {
	e := runEnv(t)
	hostSecret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(hostSecret, []byte("host only"), 0o600); err != nil {
		t.Fatal(err)
	}
	// /evil points at the host's secret's directory by absolute path,
	// /root-link at "/": inside the container both resolve in its root.
	e.ok("run", "-d", "--name", "cp", "-v", "cpvol:/vol", "busybox", "sh", "-c",
		"mkdir -p /d/sub && echo f > /d/sub/f && ln -s "+filepath.Dir(hostSecret)+" /evil && ln -s / /root-link && echo v > /vol/v && sleep 1000")
	waitFor(t, func() bool { return e.run("exec", "cp", "test", "-e", "/vol/v").code == 0 })

	out := t.TempDir()
	e.ok("cp", "cp:/d", out)
	if data, _ := os.ReadFile(filepath.Join(out, "d", "sub", "f")); string(data) != "f\n" {
		t.Fatalf("cp dir out: %q", data)
	}
	e.ok("cp", "cp:/d/sub/f", filepath.Join(out, "renamed"))
	if data, _ := os.ReadFile(filepath.Join(out, "renamed")); string(data) != "f\n" {
		t.Fatalf("cp file out renamed: %q", data)
	}
	e.ok("cp", "cp:/vol/v", out)
	if data, _ := os.ReadFile(filepath.Join(out, "v")); string(data) != "v\n" {
		t.Fatalf("cp out of a volume: %q", data)
	}
	// Through the container's symlinks: never the host's files.
	if r := e.run("cp", "cp:/evil/secret", out); r.code == 0 {
		t.Fatalf("cp followed a container symlink to the host: %+v", r)
	}
	if r := e.run("cp", "cp:/root-link/etc/passwd", filepath.Join(out, "pw")); r.code != 0 {
		t.Fatalf("cp through a symlink to the container's /: %+v", r)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "pw")); !strings.HasPrefix(string(data), "root:x:0:0:root:/root:/bin/sh") {
		t.Fatalf("cp through /root-link read %q, want the container's passwd", data)
	}
	// To stdout as a tar.
	cmd := e.command("cp", "cp:/d/sub/f", "-")
	stream, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(stream))
	if h, err := tr.Next(); err != nil || h.Name != "f" {
		t.Fatalf("cp to stdout: %v %v", h, err)
	}

	// Into the container: a file, a dir, a renamed file, into a volume.
	in := t.TempDir()
	os.WriteFile(filepath.Join(in, "file"), []byte("in"), 0o644)
	os.MkdirAll(filepath.Join(in, "tree", "a"), 0o755)
	os.WriteFile(filepath.Join(in, "tree", "a", "b"), []byte("b"), 0o644)
	e.ok("cp", filepath.Join(in, "file"), "cp:/tmp/")
	e.ok("cp", filepath.Join(in, "tree"), "cp:/tmp")
	e.ok("cp", filepath.Join(in, "file"), "cp:/tmp/renamed")
	e.ok("cp", filepath.Join(in, "file"), "cp:/vol/")
	if got := e.ok("exec", "cp", "sh", "-c", "cat /tmp/file /tmp/tree/a/b /tmp/renamed /vol/file; ls -n /tmp/file | tr -s ' ' | cut -d' ' -f3,4"); got != "inbinin0 0\n" {
		t.Fatalf("files copied in: %q", got)
	}
	// Writing through /evil lands in the container, not on the host.
	e.ok("cp", filepath.Join(in, "file"), "cp:/evil/")
	if _, err := os.Stat(filepath.Join(filepath.Dir(hostSecret), "file")); err == nil {
		t.Fatal("cp into a container symlink wrote on the host")
	}
	// A tar on stdin that tries to leave the target is refused.
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "../../../../escaped-cp", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	if r := e.runIn(evil.String(), "cp", "-", "cp:/tmp"); r.code == 0 {
		t.Fatalf("cp of an escaping tar: %+v", r)
	}
	if out, _ := exec.Command("find", e.root, "-name", "escaped-cp").Output(); len(out) > 0 {
		t.Fatalf("the escaping entry was written: %s", out)
	}
	e.ok("rm", "-f", "-v", "cp")

	// Into a stopped container.
	e.ok("create", "--name", "stopped", "busybox", "cat", "/tmp/file")
	e.ok("cp", filepath.Join(in, "file"), "stopped:/tmp/")
	if out := e.ok("start", "-a", "stopped"); out != "in" {
		t.Fatalf("file copied into a stopped container: %q", out)
	}
	e.ok("rm", "stopped")
}
