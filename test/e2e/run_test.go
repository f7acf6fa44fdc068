package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/imagetest"
	"berth.dev/berth/internal/registrytest"
)

// runEnv is an env whose config mirrors Docker Hub to a test registry that
// holds busybox, so that `berth run busybox` works as on the internet.
func runEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containers need root")
	}
	reg := registrytest.Start(t, registrytest.Options{})
	push(t, must[v1.Image](t)(imagetest.Busybox()), reg.Addr+"/library/busybox:latest")
	e := newEnv(t)
	e.writeConfig(fmt.Sprintf(`{"registry-mirrors": ["http://%s"]}`, reg.Addr))
	e.ok("pull", "-q", "busybox")
	t.Cleanup(func() { e.cleanupContainers() })
	return e
}

// cleanupContainers removes every container of the env, even after a
// failed test, and checks that nothing is left.
func (e *env) cleanupContainers() {
	out := e.run("ps", "-aq", "--no-trunc")
	for _, id := range strings.Fields(out.out) {
		e.run("rm", "-f", id)
	}
	// berth keeps its default bridge (as Docker keeps docker0) and its
	// nftables table; the tests remove them, after the networks' DNS
	// responders have gone (they exit once no container of theirs runs).
	e.run("network", "prune", "-f")
	waitGone(e.t, "berth dns", e.root)
	exec.Command("ip", "link", "del", "berth0").Run()
	exec.Command("nft", "delete", "table", "ip", "berth").Run()
	// The tmpfs berth mounts for its monitors' binary stays, as Docker's
	// mounts under /run/docker do; the tests remove it.
	unmountBin(e.runRoot)
	for _, dir := range []string{e.root, e.runRoot} {
		if m := mountsUnder(dir); len(m) > 0 {
			e.t.Errorf("mounts left under %s: %v", dir, m)
			for _, p := range m {
				syscall.Unmount(p, syscall.MNT_DETACH)
			}
		}
	}
	// berth keeps its parent cgroup (/berth, as Docker keeps /docker);
	// each env has its own (cgroup-parent in its config) and removes it
	// once empty, so that it leaves no cgroup behind and never removes
	// one another berth uses.
	for _, d := range cgroupDirs(e.cgroupParent) {
		syscall.Rmdir(d)
	}
}

// unmountBin removes the tmpfs berth mounts on <run root>/bin when the run
// root is not a tmpfs.
func unmountBin(runRoot string) {
	for syscall.Unmount(filepath.Join(runRoot, "bin"), syscall.MNT_DETACH) == nil {
	}
}

func mountsUnder(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}

func TestRunHelloAndExitCodes(t *testing.T) {
	e := runEnv(t)
	if out := e.ok("run", "--rm", "busybox", "echo", "hello"); out != "hello\n" {
		t.Fatalf("run echo: %q", out)
	}
	// A short run root too (socket paths under 100 bytes are used as they are).
	short, err := os.MkdirTemp("/run", "bt-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		unmountBin(short)
		os.RemoveAll(short)
	}()
	full := append([]string{"--run-root", short}, "run", "--rm", "busybox", "echo", "short")
	if out := e.ok(full...); out != "short\n" {
		t.Fatalf("run with a short run root: %q", out)
	}
	// Relative global paths: the monitor runs in "/", so the CLI must hand
	// it absolute ones.
	rel := exec.Command(berthBin, "--root", "root", "--run-root", "run", "--config", filepath.Base(e.configArgs()[1]), "run", "--rm", "busybox", "echo", "relative")
	rel.Dir = filepath.Dir(e.root)
	rel.Env = append(os.Environ(), "DOCKER_CONFIG="+e.dc, "BERTH_CONFIG=")
	if out, err := rel.CombinedOutput(); err != nil || string(out) != "relative\n" {
		t.Fatalf("run with relative --root, --run-root and --config: %v: %q", err, out)
	}
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"own exit code", []string{"run", "--rm", "busybox", "sh", "-c", "exit 3"}, 3, ""},
		{"command not found", []string{"run", "--rm", "busybox", "nonexistent-cmd"}, 127, "nonexistent-cmd"},
		{"cannot execute", []string{"run", "--rm", "busybox", "/etc/passwd"}, 126, ""},
		{"berth error", []string{"run", "--rm", "--pull", "never", "nosuchimage"}, 125, "No such image"},
		{"bad capability", []string{"run", "--rm", "--cap-add", "FOO", "busybox", "true"}, 125, "unknown capability"},
		{"unsupported detach keys", []string{"run", "--rm", "--detach-keys", "ctrl-a", "busybox", "true"}, 125, "only \"ctrl-p,ctrl-q\" is supported yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(tc.args...)
			if r.code != tc.code || !strings.Contains(r.err, tc.err) {
				t.Fatalf("exit %d (want %d), stderr %q", r.code, tc.code, r.err)
			}
		})
	}
	// --init: berth-init is PID 1 and passes the exit code on.
	if out := e.ok("run", "--rm", "--init", "busybox", "ps"); !strings.Contains(out, "1 root     /sbin/berth-init -- ps") {
		t.Fatalf("--init: %q", out)
	}
	if r := e.run("run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"); r.code != 7 {
		t.Fatalf("--init exit code %d", r.code)
	}
	// stdout and stderr stay apart.
	r := e.run("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
	if r.out != "out\n" || r.err != "err\n" {
		t.Fatalf("streams: stdout %q stderr %q", r.out, r.err)
	}
	// stdin with -i; EOF ends cat.
	r = e.runIn("line one\nline two\n", "run", "--rm", "-i", "busybox", "cat")
	if r.code != 0 || r.out != "line one\nline two\n" {
		t.Fatalf("stdin: %+v", r)
	}
	// No -i: stdin is not forwarded.
	r = e.runIn("ignored\n", "run", "--rm", "busybox", "cat")
	if r.code != 0 || r.out != "" {
		t.Fatalf("no -i: %+v", r)
	}
}

// cgroupDirs is parent in every cgroup hierarchy (v1 ones and the unified
// one) where it exists.
func cgroupDirs(parent string) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
	if _, err := os.Stat("/sys/fs/cgroup" + parent); err == nil {
		dirs = append(dirs, "/sys/fs/cgroup"+parent)
	}
	return dirs
}

// cgroups are the containers' cgroups under the env's parent.
func (e *env) cgroups() map[string]bool {
	out := map[string]bool{}
	for _, h := range cgroupDirs(e.cgroupParent) {
		ents, _ := os.ReadDir(h)
		for _, en := range ents {
			if en.IsDir() {
				out[filepath.Join(h, en.Name())] = true
			}
		}
	}
	return out
}

func TestRunRmLeavesNothing(t *testing.T) {
	e := runEnv(t)
	before := e.cgroups()
	e.ok("run", "--rm", "--name", "gone", "busybox", "true")
	if out := e.ok("ps", "-aq"); strings.TrimSpace(out) != "" {
		t.Fatalf("containers left: %s", out)
	}
	ents, _ := os.ReadDir(filepath.Join(e.root, "containers"))
	for _, en := range ents {
		if en.Name() != ".lock" {
			t.Fatalf("container dir left: %s", en.Name())
		}
	}
	if m := mountsUnder(e.root); len(m) != 0 {
		t.Fatalf("mounts left: %v", m)
	}
	for cg := range e.cgroups() {
		if !before[cg] {
			t.Fatalf("cgroup left: %s", cg)
		}
	}
}

// run starts the container's monitor ahead of the creation; when the
// creation fails, that monitor exits and nothing is left.
func TestRunCreateFailsLeavesNoMonitor(t *testing.T) {
	e := runEnv(t)
	e.ok("create", "--name", "taken", "busybox", "true")
	out := e.fail("run", "--rm", "--name", "taken", "busybox", "true")
	if !strings.Contains(out, "already in use") {
		t.Fatalf("run with a taken name: %q", out)
	}
	waitGone(t, " monitor ", e.root)
	if out := e.ok("ps", "-aq"); len(strings.Fields(out)) != 1 {
		t.Fatalf("containers after the failed run: %q", out)
	}
	// A run after it works and leaves no run directory.
	e.ok("run", "--rm", "busybox", "true")
	if ents, _ := os.ReadDir(filepath.Join(e.runRoot, "containers")); len(ents) != 0 {
		t.Fatalf("run dirs left: %v", ents)
	}
}

// The running state is written without fsync; a record torn by a crash
// shows the container as dead, and rm removes it.
func TestTornStateRecord(t *testing.T) {
	e := runEnv(t)
	id := strings.TrimSpace(e.ok("create", "busybox", "true"))
	if err := os.WriteFile(filepath.Join(e.root, "containers", id, "state.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("ps", "-a", "--format", "{{.State}}"); strings.TrimSpace(out) != "dead" {
		t.Fatalf("state of a container with an empty state record: %q, want dead", out)
	}
	e.ok("rm", id)
}

// A container's cgroup goes under --cgroup-parent, else the config's
// cgroup-parent (every env has its own); inspect shows the flag.
func TestCgroupParent(t *testing.T) {
	e := runEnv(t)
	custom := e.cgroupParent + "/custom"
	t.Cleanup(func() {
		for _, d := range cgroupDirs(custom) {
			syscall.Rmdir(d)
		}
	})
	id := strings.TrimSpace(e.ok("run", "-d", "--cgroup-parent", custom, "busybox", "sleep", "30"))
	if dirs := cgroupDirs(custom + "/" + id); len(dirs) == 0 {
		t.Errorf("no cgroup %s/%s in any hierarchy", custom, id)
	}
	if got := strings.TrimSpace(e.ok("inspect", "-f", "{{.HostConfig.CgroupParent}}", id)); got != custom {
		t.Errorf("HostConfig.CgroupParent = %q, want %q", got, custom)
	}
	id2 := strings.TrimSpace(e.ok("run", "-d", "busybox", "sleep", "30"))
	if dirs := cgroupDirs(e.cgroupParent + "/" + id2); len(dirs) == 0 {
		t.Errorf("no cgroup %s/%s: the config's cgroup-parent is not used", e.cgroupParent, id2)
	}
	e.ok("rm", "-f", id, id2)
	if out := e.fail("run", "--rm", "--cgroup-parent", "relative", "busybox", "true"); !strings.Contains(out, "invalid --cgroup-parent") {
		t.Errorf("relative --cgroup-parent: %q", out)
	}
}

// ps shows the image as the user named it (Docker's Config.Image);
// ancestor= matches that name, its normalised forms and the image ID.
func TestPsImageAndAncestor(t *testing.T) {
	e := runEnv(t)
	e.ok("run", "--name", "short", "busybox", "true")
	e.ok("run", "--name", "long", "docker.io/library/busybox:latest", "true")
	if got := strings.TrimSpace(e.ok("ps", "-a", "--format", "{{.Names}} {{.Image}}")); got != "long docker.io/library/busybox:latest\nshort busybox" {
		t.Errorf("ps IMAGE column:\n%s", got)
	}
	if got := strings.TrimSpace(e.ok("inspect", "-f", "{{.Config.Image}}", "short")); got != "busybox" {
		t.Errorf("Config.Image = %q, want busybox", got)
	}
	id := strings.TrimPrefix(strings.TrimSpace(e.ok("image", "inspect", "-f", "{{.Id}}", "busybox")), "sha256:")
	for _, f := range []string{"busybox", "busybox:latest", "docker.io/library/busybox", "docker.io/library/busybox:latest", id[:12]} {
		if got := strings.Fields(e.ok("ps", "-a", "--filter", "ancestor="+f, "--format", "{{.Names}}")); len(got) != 2 {
			t.Errorf("ps --filter ancestor=%s: %v, want both containers", f, got)
		}
	}
	if got := strings.TrimSpace(e.ok("ps", "-a", "--filter", "ancestor=alpine", "-q")); got != "" {
		t.Errorf("ps --filter ancestor=alpine: %q", got)
	}
}

func TestRunSecurityDefaults(t *testing.T) {
	e := runEnv(t)
	out := e.ok("run", "--rm", "busybox", "sh", "-c", "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status; wc -c < /proc/timer_list; ls /proc | grep -c '^[0-9]'; mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo mount-refused")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := map[string]string{"CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb", "Seccomp": "2"}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if ok && want[k] != "" && strings.TrimSpace(v) != want[k] {
			t.Errorf("%s = %s, want %s (Docker's default)", k, strings.TrimSpace(v), want[k])
		}
	}
	if !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("seccomp not in filter mode:\n%s", out)
	}
	n := len(lines)
	if lines[n-3] != "0" {
		t.Errorf("/proc/timer_list not masked: %s bytes", lines[n-3])
	}
	if pids, _ := strconv.Atoi(lines[n-2]); pids > 5 {
		t.Errorf("%d PIDs visible: host PIDs leak into the container", pids)
	}
	if lines[n-1] != "mount-refused" {
		t.Errorf("mount inside a default container: %s", lines[n-1])
	}
	// --privileged has every capability and no seccomp.
	out = e.ok("run", "--rm", "--privileged", "busybox", "grep", "Seccomp:", "/proc/self/status")
	if !strings.Contains(out, "0") {
		t.Errorf("privileged seccomp: %s", out)
	}
	// --cap-drop ALL.
	out = e.ok("run", "--rm", "--cap-drop", "ALL", "busybox", "grep", "CapEff", "/proc/self/status")
	if !strings.Contains(out, "0000000000000000") {
		t.Errorf("cap-drop ALL: %s", out)
	}
	// --read-only
	if r := e.run("run", "--rm", "--read-only", "busybox", "touch", "/x"); r.code == 0 {
		t.Errorf("write to a read-only rootfs succeeded")
	}
	// -u nobody from the image's /etc/passwd; -w; -e; -h
	out = e.ok("run", "--rm", "-u", "nobody", "-w", "/tmp", "-e", "FOO=bar", "-h", "box", "busybox", "sh", "-c", "id -u; pwd; echo $FOO; hostname")
	if out != "65534\n/tmp\nbar\nbox\n" {
		t.Errorf("user/workdir/env/hostname: %q", out)
	}
	if r := e.run("run", "--rm", "-u", "nosuchuser", "busybox", "true"); r.code != 125 || !strings.Contains(r.err, "unable to find user nosuchuser") {
		t.Errorf("unknown user: %+v", r)
	}
}

func TestRunLimits(t *testing.T) {
	e := runEnv(t)
	r := e.run("run", "--name", "hog", "--memory", "32m", "busybox", "sh", "-c", "x=a; while true; do x=$x$x; done")
	if r.code != 137 {
		t.Fatalf("memory hog exit %d, want 137 (OOM kill)\n%s", r.code, r.err)
	}
	if got := strings.TrimSpace(e.ok("inspect", "-f", "{{.State.OOMKilled}}", "hog")); got != "true" {
		t.Errorf("OOMKilled = %s", got)
	}
	e.ok("rm", "hog")
	// A fork bomb stops at 20 processes: the shell's forks start failing.
	out := e.run("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c", "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; wait")
	if !strings.Contains(out.err, "can't fork") {
		t.Errorf("pids limit 20 did not stop 40 forks: stdout %q stderr %q", out.out, out.err)
	}
}

func TestRunDetachedLifecycle(t *testing.T) {
	e := runEnv(t)
	id := strings.TrimSpace(e.ok("run", "-d", "--name", "sleeper", "--label", "app=test", "busybox", "sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; sleep 1000 & wait"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q", id)
	}
	ps := e.ok("ps")
	if !strings.Contains(ps, id[:12]) || !strings.Contains(ps, "Up ") || !strings.Contains(ps, "sleeper") {
		t.Fatalf("ps:\n%s", ps)
	}
	if got := e.ok("ps", "-q", "--filter", "label=app=test"); strings.TrimSpace(got) != id[:12] {
		t.Fatalf("ps filter: %q", got)
	}
	waitFor(t, func() bool { return strings.Contains(e.ok("logs", "sleeper"), "started") })
	if out := e.ok("exec", "sleeper", "sh", "-c", "echo in-$HOSTNAME"); out != "in-"+id[:12]+"\n" {
		t.Fatalf("exec: %q", out)
	}
	if top := e.ok("top", "sleeper"); !strings.Contains(top, "sleep 1000") || !strings.Contains(top, "PID") {
		t.Fatalf("top:\n%s", top)
	}
	if st := e.ok("stats", "--no-stream", "sleeper"); !strings.Contains(st, "sleeper") || !strings.Contains(st, "MEM USAGE") {
		t.Fatalf("stats:\n%s", st)
	}
	e.ok("rename", "sleeper", "sleeper2")
	e.ok("rename", "sleeper2", "sleeper")
	e.ok("pause", "sleeper")
	if st := e.ok("inspect", "-f", "{{.State.Status}}", "sleeper"); strings.TrimSpace(st) != "paused" {
		t.Fatalf("paused state %q", st)
	}
	e.ok("unpause", "sleeper")
	e.ok("stop", "-t", "5", "sleeper")
	if st := e.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "sleeper"); strings.TrimSpace(st) != "exited 0" {
		t.Fatalf("after stop: %q", st)
	}
	if logs := e.ok("logs", "sleeper"); !strings.Contains(logs, "bye") {
		t.Fatalf("logs after stop: %q", logs)
	}
	if out := e.ok("wait", "sleeper"); strings.TrimSpace(out) != "0" {
		t.Fatalf("wait: %q", out)
	}
	// A process that ignores SIGTERM is killed after the timeout.
	e.ok("run", "-d", "--name", "stubborn", "busybox", "sleep", "1000")
	start := time.Now()
	e.ok("stop", "-t", "1", "stubborn")
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("stop -t 1 took %v", d)
	}
	if st := e.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "stubborn"); strings.TrimSpace(st) != "exited 137" {
		t.Fatalf("stubborn after stop: %q", st)
	}
	// start again, kill, rm
	e.ok("start", "sleeper")
	e.ok("kill", "sleeper")
	if out := e.ok("wait", "sleeper"); strings.TrimSpace(out) != "137" {
		t.Fatalf("wait after kill: %q", out)
	}
	if r := e.run("run", "--name", "sleeper", "busybox", "true"); r.code != 125 || !strings.Contains(r.err, "is already in use") {
		t.Fatalf("duplicate name: %+v", r)
	}
	// An image a container uses is not removed without -f; with -f it
	// loses its names but stays for the container.
	if r := e.run("rmi", "busybox"); r.code == 0 || !strings.Contains(r.err, "image is being used by a container") {
		t.Fatalf("rmi of an image in use: %+v", r)
	}
	e.ok("rmi", "-f", "busybox")
	e.ok("start", "stubborn")
	e.ok("rm", "-f", "stubborn")
	e.ok("rm", "sleeper")
	if r := e.run("inspect", "sleeper"); r.code == 0 {
		t.Fatal("removed container still inspectable")
	}
	e.ok("image", "prune", "-f")
	if out := e.ok("images", "-q"); strings.TrimSpace(out) != "" {
		t.Fatalf("the dangling image stayed after its last container: %q", out)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met in 10 s")
}

func TestRunRestartOnFailure(t *testing.T) {
	e := runEnv(t)
	e.ok("run", "-d", "--name", "flaky", "--restart", "on-failure:3", "busybox", "sh", "-c", "echo run; exit 1")
	waitFor(t, func() bool {
		return strings.TrimSpace(e.ok("inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "flaky")) == "exited 3"
	})
	time.Sleep(500 * time.Millisecond)
	if got := strings.TrimSpace(e.ok("inspect", "-f", "{{.RestartCount}}", "flaky")); got != "3" {
		t.Fatalf("restarted %s times", got)
	}
	if n := strings.Count(e.ok("logs", "flaky"), "run\n"); n != 4 {
		t.Fatalf("ran %d times, want 4", n)
	}
}

func TestMonitorKilled(t *testing.T) {
	e := runEnv(t)
	id := strings.TrimSpace(e.ok("run", "-d", "busybox", "sleep", "1000"))
	var st struct{ MonitorPid, Pid int }
	data, _ := os.ReadFile(filepath.Join(e.root, "containers", id, "state.json"))
	json.Unmarshal(data, &st)
	if st.MonitorPid == 0 {
		t.Fatalf("no monitor pid in %s", data)
	}
	// The monitor runs from berth's copy of the binary on a tmpfs (its
	// own mount when the run root is on another file system).
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", st.MonitorPid))
	if err != nil || filepath.Dir(filepath.Dir(exe)) != filepath.Join(e.runRoot, "bin") || filepath.Base(exe) != "berth" {
		t.Errorf("monitor runs from %q (%v), want a copy in %s/bin", exe, err, e.runRoot)
	}
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(filepath.Join(e.runRoot, "bin"), &sfs); err != nil || sfs.Type != 0x01021994 {
		t.Errorf("%s/bin is not a tmpfs (%x, %v)", e.runRoot, sfs.Type, err)
	}
	syscall.Kill(st.MonitorPid, syscall.SIGKILL)
	time.Sleep(200 * time.Millisecond)
	r := e.run("ps", "-a")
	if r.code != 0 || !strings.Contains(r.out, id[:12]) {
		t.Fatalf("ps after monitor kill: %+v", r)
	}
	e.ok("rm", "-f", id)
	// Its parent (the monitor) is gone, so it may linger as a zombie until
	// the system's init reaps it: that is dead.
	if alive(st.Pid) {
		t.Fatalf("container process %d survived rm -f", st.Pid)
	}
	if m := mountsUnder(e.root); len(m) != 0 {
		t.Fatalf("mounts left: %v", m)
	}
}

func TestRunParallel(t *testing.T) {
	e := runEnv(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.command("run", "-d", "busybox", "sleep", "60")
			var out bytes.Buffer
			c.Stdout, c.Stderr = &out, &out
			if err := c.Run(); err != nil {
				errs[i] = fmt.Sprintf("%v: %s", err, out.String())
			}
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("container %d: %s", i, e)
		}
	}
	names := map[string]bool{}
	for _, name := range strings.Fields(e.ok("ps", "--format", "{{.Names}}")) {
		if names[name] {
			t.Errorf("name %s given twice", name)
		}
		names[name] = true
	}
	if len(names) != n {
		t.Errorf("%d containers running, want %d", len(names), n)
	}
}

func TestRunTTY(t *testing.T) {
	e := runEnv(t)
	cmd := e.command("run", "--rm", "-it", "busybox", "sh")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 99})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	var mu sync.Mutex
	go func() {
		r := bufio.NewReader(f)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	f.Write([]byte("tty; stty size\n"))
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(out.String(), "/dev/pts/") && strings.Contains(out.String(), "33 99")
	})
	f.Write([]byte("exit 5\n"))
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
		t.Fatalf("tty session exit: %v\n%s", err, out.String())
	}
}

func TestRunExternalRuntimes(t *testing.T) {
	e := runEnv(t)
	for _, rt := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(rt); err != nil {
			t.Logf("%s not installed", rt)
			continue
		}
		t.Run(rt, func(t *testing.T) {
			r := e.run("run", "--rm", "--runtime", rt, "busybox", "sh", "-c", "echo via-"+rt+"; grep Seccomp: /proc/self/status; exit 4")
			if strings.Contains(r.err, "cgroups in hybrid mode not supported") {
				t.Skipf("%s refuses this host's hybrid cgroup layout (v1 with controllers left on the v2 mount): %s", rt, strings.TrimSpace(r.err))
			}
			if r.code != 4 || !strings.Contains(r.out, "via-"+rt) || !strings.Contains(r.out, "2") {
				t.Fatalf("%s: %+v", rt, r)
			}
		})
	}
}

func TestContainerCommandsMore(t *testing.T) {
	e := runEnv(t)
	// create, then start -a: output and exit code come back.
	id := strings.TrimSpace(e.ok("create", "--name", "made", "busybox", "sh", "-c", "echo made; exit 2"))
	if st := e.ok("ps", "-a", "--filter", "status=created", "-q"); strings.TrimSpace(st) != id[:12] {
		t.Fatalf("created container not listed: %q", st)
	}
	if r := e.run("start", "-a", "made"); r.code != 2 || r.out != "made\n" {
		t.Fatalf("start -a: %+v", r)
	}
	if got := e.ok("ps", "-a", "--filter", "exited=2", "--format", "{{.Names}}"); strings.TrimSpace(got) != "made" {
		t.Fatalf("exited filter: %q", got)
	}
	// logs -f follows until the container exits.
	e.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 0.2; done")
	if out := e.ok("logs", "-f", "ticker"); out != "tick 1\ntick 2\ntick 3\n" {
		t.Fatalf("logs -f: %q", out)
	}
	if out := e.ok("logs", "--tail", "1", "ticker"); out != "tick 3\n" {
		t.Fatalf("logs --tail 1: %q", out)
	}
	// exec: exit code, stdin with -i, env and user.
	e.ok("run", "-d", "--name", "box", "busybox", "sleep", "1000")
	if r := e.run("exec", "box", "sh", "-c", "exit 6"); r.code != 6 {
		t.Fatalf("exec exit code: %+v", r)
	}
	if r := e.runIn("from stdin\n", "exec", "-i", "box", "cat"); r.out != "from stdin\n" {
		t.Fatalf("exec -i: %+v", r)
	}
	if out := e.ok("exec", "-e", "X=1", "-u", "nobody", "box", "sh", "-c", "echo $X $(id -u)"); out != "1 65534\n" {
		t.Fatalf("exec -e -u: %q", out)
	}
	// restart gives a new process.
	pid1 := e.ok("inspect", "-f", "{{.State.Pid}}", "box")
	e.ok("restart", "-t", "1", "box")
	if pid2 := e.ok("inspect", "-f", "{{.State.Pid}}", "box"); pid2 == pid1 || strings.TrimSpace(e.ok("inspect", "-f", "{{.State.Status}}", "box")) != "running" {
		t.Fatalf("restart: pid %s -> %s", pid1, pid2)
	}
	// --restart always is not restarted after stop.
	e.ok("run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "1000")
	e.ok("stop", "-t", "1", "always")
	time.Sleep(500 * time.Millisecond)
	if st := strings.TrimSpace(e.ok("inspect", "-f", "{{.State.Status}}", "always")); st != "exited" {
		t.Fatalf("always after stop: %s", st)
	}
	// run -d --rm removes itself when it exits.
	e.ok("run", "-d", "--rm", "--name", "selfremoving", "busybox", "true")
	waitFor(t, func() bool { return e.run("inspect", "selfremoving").code != 0 })
	// container prune removes the stopped ones only.
	e.ok("container", "prune", "-f")
	names := strings.Fields(e.ok("ps", "-a", "--format", "{{.Names}}"))
	if len(names) != 1 || names[0] != "box" {
		t.Fatalf("after prune: %v", names)
	}
}

// ctrl-p ctrl-q detaches from a -it container and leaves it running; exec
// -it gets a terminal too.
func TestRunTTYDetachAndExec(t *testing.T) {
	e := runEnv(t)
	cmd := e.command("run", "-it", "--name", "shell", "busybox", "sh")
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Registered after runEnv's cleanup, so it runs first: the CLI must be
	// gone before the containers are removed.
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
		}
	}()
	waitFor(t, func() bool {
		r := e.run("inspect", "-f", "{{.State.Status}}", "shell")
		return r.code == 0 && strings.TrimSpace(r.out) == "running"
	})
	time.Sleep(300 * time.Millisecond)
	f.Write([]byte{0x10, 0x11})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("detach: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("ctrl-p ctrl-q did not detach")
	}
	if st := strings.TrimSpace(e.ok("inspect", "-f", "{{.State.Status}}", "shell")); st != "running" {
		t.Fatalf("after detach: %s", st)
	}
	ex := e.command("exec", "-it", "shell", "tty")
	out, err := pty.Start(ex)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := out.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	if err := ex.Wait(); err != nil {
		t.Fatalf("exec -it: %v", err)
	}
	select {
	case <-read:
	case <-time.After(2 * time.Second):
	}
	out.Close()
	<-read
	if !strings.Contains(got.String(), "/dev/pts/") {
		t.Fatalf("exec -it tty printed %q", got.String())
	}
}
