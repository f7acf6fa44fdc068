package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostMounts is the host's mount table, one mount point per entry.
func hostMounts(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out[f[4]] = true
		}
	}
	return out
}

func TestBindMounts(t *testing.T) {
	e := runEnv(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "from-host"), []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Written from inside, seen on the host; the host's mount table gets
	// nothing new while the container runs.
	id := strings.TrimSpace(e.ok("run", "-d", "-v", host+":/mnt/h", "busybox", "sh", "-c", "cat /mnt/h/from-host > /mnt/h/from-ctr; sleep 100"))
	waitFor(t, func() bool {
		data, _ := os.ReadFile(filepath.Join(host, "from-ctr"))
		return len(data) > 0
	})
	for m := range hostMounts(t) {
		if strings.HasSuffix(m, "/mnt/h") || strings.HasPrefix(m, host) {
			t.Errorf("the bind mount shows on the host: %s", m)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(host, "from-ctr")); string(data) != "host data\n" {
		t.Fatalf("file written in the container: %q", data)
	}
	e.ok("rm", "-f", id)

	// :ro refuses writes; a file can be mounted; -v creates a missing
	// source dir, --mount refuses it.
	if r := e.run("run", "--rm", "-v", host+":/mnt/h:ro", "busybox", "touch", "/mnt/h/x"); r.code == 0 || !strings.Contains(r.err, "Read-only file system") {
		t.Fatalf("write to a :ro bind: %+v", r)
	}
	if out := e.ok("run", "--rm", "--mount", "type=bind,source="+filepath.Join(host, "from-host")+",target=/f.txt,readonly", "busybox", "cat", "/f.txt"); out != "host data\n" {
		t.Fatalf("file bind mount: %q", out)
	}
	missing := filepath.Join(host, "made", "by", "v")
	e.ok("run", "--rm", "-v", missing+":/m", "busybox", "true")
	if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Fatalf("-v did not create its missing source: %v", err)
	}
	if r := e.run("run", "--rm", "--mount", "type=bind,src="+filepath.Join(host, "nope")+",dst=/m", "busybox", "true"); r.code != 125 || !strings.Contains(r.err, "bind source path does not exist") {
		t.Fatalf("--mount with a missing source: %+v", r)
	}
	for _, bad := range [][]string{
		{"-v", "rel/path:/x"},
		{"-v", "/a:relative"},
		{"-v", "/a:/b:bogus"},
		{"--mount", "type=bind,dst=/x"},
		{"--tmpfs", "relative"},
	} {
		args := append(append([]string{"run", "--rm"}, bad...), "busybox", "true")
		if r := e.run(args...); r.code != 125 || strings.Count(strings.TrimSpace(r.err), "\n") > 0 {
			t.Errorf("run %v = %+v, want exit 125 and a one-line error", bad, r)
		}
	}

	// A symlink in the container's filesystem cannot redirect a mount, or
	// a volume's copy-up, onto the host: targets resolve inside the root.
	victim := t.TempDir()
	if err := os.WriteFile(filepath.Join(victim, "secret"), []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(e.ok("create", "-v", host+":/escape/sub", "-v", "snoop:/peek", "busybox", "ls", "/escape/sub"))
	upper := filepath.Join(e.root, "containers", id, "upper")
	for _, l := range []string{"escape", "peek"} {
		if err := os.Symlink(victim, filepath.Join(upper, l)); err != nil {
			t.Fatal(err)
		}
	}
	if out := e.ok("start", "-a", id); !strings.Contains(out, "from-host") {
		t.Fatalf("mount through a symlink: %q", out)
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 1 {
		t.Fatalf("the mount reached the host dir the symlink names: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(e.root, "volumes", "snoop", "_data", "secret")); err == nil {
		t.Fatal("copy-up followed a symlink to the host")
	}
	e.ok("rm", "-v", id)
	e.ok("volume", "rm", "snoop")
}

func TestTmpfsMounts(t *testing.T) {
	e := runEnv(t)
	out := e.ok("run", "--rm", "--tmpfs", "/scratch:size=1m,mode=1777", "--mount", "type=tmpfs,target=/t2,tmpfs-size=2m", "busybox", "sh", "-c", "grep -E ' /(scratch|t2) ' /proc/mounts; ls -ld /scratch")
	if !strings.Contains(out, "tmpfs /scratch tmpfs") || !strings.Contains(out, "size=1024k") || !strings.Contains(out, "size=2048k") || !strings.Contains(out, "drwxrwxrwt") {
		t.Fatalf("tmpfs mounts: %q", out)
	}
}

func TestNamedAndAnonymousVolumes(t *testing.T) {
	e := runEnv(t)
	// Copy-up: a fresh named volume gets the image's files at its path.
	if out := e.ok("run", "--rm", "-v", "etcvol:/etc", "busybox", "head", "-1", "/etc/passwd"); !strings.HasPrefix(out, "root:") {
		t.Fatalf("copy-up: %q", out)
	}
	data, err := os.ReadFile(filepath.Join(e.root, "volumes", "etcvol", "_data", "passwd"))
	if err != nil || !strings.HasPrefix(string(data), "root:") {
		t.Fatalf("copy-up on the host: %q, %v", data, err)
	}
	// nocopy leaves it empty.
	if out := e.ok("run", "--rm", "-v", "empty1:/etc:nocopy", "busybox", "ls", "-A", "/etc"); strings.Contains(out, "passwd") {
		t.Fatalf("nocopy volume has image files: %q", out)
	}

	// A named volume survives rm and is reused.
	e.ok("run", "--name", "writer", "-v", "keep:/data", "busybox", "sh", "-c", "echo kept > /data/f")
	e.ok("rm", "-v", "writer")
	if out := e.ok("run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f"); out != "kept\n" {
		t.Fatalf("named volume after rm -v: %q", out)
	}

	// Anonymous volumes (-v /path, image VOLUMEs) go with rm -v and run
	// --rm; named ones stay.
	before := e.ok("volume", "ls", "-q")
	e.ok("run", "--rm", "-v", "/anon", "-v", "keep:/data", "busybox", "true")
	if after := e.ok("volume", "ls", "-q"); after != before {
		t.Fatalf("run --rm left volumes: before %q after %q", before, after)
	}
	id := strings.TrimSpace(e.ok("create", "-v", "/anon2", "busybox", "true"))
	anon := strings.TrimSpace(e.ok("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", id))
	if len(anon) != 64 {
		t.Fatalf("anonymous volume name %q", anon)
	}
	e.ok("rm", id)
	if !strings.Contains(e.ok("volume", "ls", "-q"), anon) {
		t.Fatal("rm without -v removed an anonymous volume")
	}
	e.ok("volume", "rm", anon)

	// volume rm refuses a volume in use, even by a stopped container.
	e.ok("create", "--name", "user", "-v", "keep:/data", "busybox", "true")
	if r := e.run("volume", "rm", "keep"); r.code == 0 || !strings.Contains(r.err, "volume is in use") {
		t.Fatalf("volume rm of a used volume: %+v", r)
	}
	if out := e.ok("volume", "ls", "-q", "--filter", "dangling=true"); strings.Contains(out, "keep") {
		t.Fatalf("used volume listed as dangling: %q", out)
	}
	// --volumes-from shares it, read-only here.
	if r := e.run("run", "--rm", "--volumes-from", "user:ro", "busybox", "sh", "-c", "cat /data/f; touch /data/g"); !strings.Contains(r.out, "kept") || r.code == 0 {
		t.Fatalf("--volumes-from :ro: %+v", r)
	}
	e.ok("rm", "user")

	// create / inspect / ls --format / prune.
	e.ok("volume", "create", "--label", "team=a", "labelled")
	if out := e.ok("volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.team}}", "labelled"); out != "labelled local a\n" {
		t.Fatalf("volume inspect: %q", out)
	}
	if out := e.ok("volume", "ls", "--filter", "label=team=a", "--format", "{{.Name}}"); out != "labelled\n" {
		t.Fatalf("volume ls --filter label: %q", out)
	}
	e.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "tmpvol")
	if out := e.ok("run", "--rm", "-v", "tmpvol:/t", "busybox", "sh", "-c", "echo x > /t/x; cat /t/x"); out != "x\n" {
		t.Fatalf("tmpfs volume: %q", out)
	}
	e.ok("volume", "prune", "-a", "-f")
	if out := e.ok("volume", "ls", "-q"); out != "" {
		t.Fatalf("volume prune -a left %q", out)
	}
	if r := e.run("volume", "create", "bad/name"); r.code == 0 || !strings.Contains(r.err, "invalid characters") {
		t.Fatalf("bad volume name: %+v", r)
	}
}
