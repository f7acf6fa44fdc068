package runtimetest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/runtime"
)

// NewRuntime returns the runtime under test, keeping its state under
// stateRoot. The suite calls it twice with one root to play two berth
// processes (a monitor that started a container and a CLI that signals it).
type NewRuntime func(t *testing.T, stateRoot string) runtime.Runtime

// waitTimeout bounds every wait for a container process.
const waitTimeout = 10 * time.Second

// Suite runs the conformance tests of runtime.Runtime against the runtimes
// newRuntime returns. It needs root.
func Suite(t *testing.T, newRuntime NewRuntime) {
	RequireRoot(t)
	t.Cleanup(RemoveCgroupParent)
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"StdoutStderr", testStdoutStderr},
		{"ExitCodes", testExitCodes},
		{"KillExitCode", testKillExitCode},
		{"KillPaused", testKillPaused},
		{"MissingBinary", testMissingBinary},
		{"Stdin", testStdin},
		{"Terminal", testTerminal},
		{"TerminalResize", testTerminalResize},
		{"StatePauseResume", testStatePauseResume},
		{"SignalFromAnotherProcess", testSignalFromAnotherProcess},
		{"SignalAll", testSignalAll},
		{"Stats", testStats},
		{"OOMKill", testOOMKill},
		{"Exec", testExec},
		{"DeleteForce", testDeleteForce},
		{"DeleteUnknownAndRunning", testDeleteUnknownAndRunning},
		{"IDInUse", testIDInUse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			h := &harness{t: t, root: root, rt: newRuntime(t, root), newRuntime: newRuntime}
			tc.run(t, h)
		})
	}
}

// harness starts containers for one test and cleans up after them.
type harness struct {
	t          *testing.T
	root       string
	rt         runtime.Runtime
	newRuntime NewRuntime
}

// start saves b and starts it, failing the test on error.
func (h *harness) start(b *Bundle, stdio runtime.Stdio) runtime.Process {
	h.t.Helper()
	p, err := h.tryStart(b, stdio)
	if err != nil {
		h.t.Fatalf("start %s: %v", b.ID, err)
	}
	return p
}

// tryStart saves b and starts it. Cleanups force-delete the container,
// kill and reap its init, and remove its cgroups, whatever happens.
func (h *harness) tryStart(b *Bundle, stdio runtime.Stdio) (runtime.Process, error) {
	h.t.Helper()
	b.Save(h.t)
	var p runtime.Process
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := h.rt.Delete(ctx, b.ID, true); err != nil {
			h.t.Errorf("cleanup: delete %s: %v", b.ID, err)
		}
		if p != nil {
			_ = p.Signal(syscall.SIGKILL)
			done := make(chan struct{})
			go func() { _, _ = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(waitTimeout):
				h.t.Errorf("cleanup: process %d of %s did not exit", p.Pid(), b.ID)
			}
			if c := p.Console(); c != nil {
				_ = c.Close()
			}
		}
		RemoveCgroup(h.t, b.CgroupsPath())
	})
	var err error
	p, err = h.rt.Start(h.t.Context(), b.ID, b.Dir, stdio)
	return p, err
}

// wait waits for p and returns its exit code, failing the test after
// waitTimeout.
func wait(t *testing.T, p runtime.Process) int {
	t.Helper()
	type result struct {
		code int
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		code, err := p.Wait()
		ch <- result{code, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("wait for %d: %v", p.Pid(), r.err)
		}
		return r.code
	case <-time.After(waitTimeout):
		t.Fatalf("process %d still running after %s", p.Pid(), waitTimeout)
		return -1
	}
}

// capture collects what a container writes to a pipe.
type capture struct {
	w    *os.File // the container's end
	done chan struct{}
	out  []byte
}

// newCapture returns a pipe whose read end is read to EOF in the background.
func newCapture(t *testing.T) *capture {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{w: w, done: make(chan struct{})}
	go func() {
		c.out, _ = io.ReadAll(r)
		_ = r.Close()
		close(c.done)
	}()
	t.Cleanup(func() { _ = w.Close() })
	return c
}

// text closes the test's copy of the write end and returns everything
// written once every writer has closed its copy.
func (c *capture) text(t *testing.T) string {
	t.Helper()
	_ = c.w.Close()
	select {
	case <-c.done:
		return string(c.out)
	case <-time.After(waitTimeout):
		t.Fatal("output pipe not closed by the container")
		return ""
	}
}

// readConsole reads a pty master until EIO (all slave holders gone).
func readConsole(t *testing.T, console *os.File) <-chan string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		var sb strings.Builder
		_, _ = io.Copy(&sb, console)
		ch <- sb.String()
	}()
	return ch
}

func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(waitTimeout):
		t.Fatal("console output did not end")
		return ""
	}
}

func testStdoutStderr(t *testing.T, h *harness) {
	b := NewBundle(t, "sh", "-c", "echo out; echo err >&2")
	stdout, stderr := newCapture(t), newCapture(t)
	p := h.start(b, runtime.Stdio{Stdout: stdout.w, Stderr: stderr.w})
	if code := wait(t, p); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if got := stdout.text(t); got != "out\n" {
		t.Errorf("stdout = %q, want %q", got, "out\n")
	}
	if got := stderr.text(t); got != "err\n" {
		t.Errorf("stderr = %q, want %q", got, "err\n")
	}
}

func testExitCodes(t *testing.T, h *harness) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"true", []string{"true"}, 0},
		{"false", []string{"false"}, 1},
		{"exit 3", []string{"sh", "-c", "exit 3"}, 3},
		{"exit 255", []string{"sh", "-c", "exit 255"}, 255},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := h.start(NewBundle(t, tc.args...), runtime.Stdio{})
			if code := wait(t, p); code != tc.want {
				t.Errorf("exit code = %d, want %d", code, tc.want)
			}
		})
	}
}

func testKillExitCode(t *testing.T, h *harness) {
	b := NewBundle(t, "sleep", "30")
	p := h.start(b, runtime.Stdio{})
	if err := h.rt.Signal(t.Context(), b.ID, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 137 {
		t.Errorf("exit code = %d, want 137", code)
	}
}

func testKillPaused(t *testing.T, h *harness) {
	b := NewBundle(t, "sleep", "30")
	p := h.start(b, runtime.Stdio{})
	if err := h.rt.Pause(t.Context(), b.ID); err != nil {
		t.Fatal(err)
	}
	// A v1 freezer holds a SIGKILL until the cgroup is thawed.
	if err := h.rt.Signal(t.Context(), b.ID, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 137 {
		t.Errorf("exit code = %d, want 137", code)
	}
}

func testMissingBinary(t *testing.T, h *harness) {
	b := NewBundle(t, "/nonexistent")
	stderr := newCapture(t)
	p, err := h.tryStart(b, runtime.Stdio{Stderr: stderr.w})
	if err != nil {
		if !strings.Contains(err.Error(), "/nonexistent") {
			t.Errorf("start error does not name the binary: %v", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("start error is not one line: %q", err)
		}
		t.Logf("start error: %v", err)
		return
	}
	code := wait(t, p)
	if code != 127 && code != 126 {
		t.Errorf("exit code = %d, want 127 (or a start error)", code)
	}
	t.Logf("exit code %d, stderr %q", code, stderr.text(t))
}

func testStdin(t *testing.T, h *harness) {
	b := NewBundle(t, "cat")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	stdout := newCapture(t)
	p := h.start(b, runtime.Stdio{Stdin: r, Stdout: stdout.w})
	_ = r.Close()
	const input = "hello\nworld\n"
	if _, err := io.WriteString(w, input); err != nil {
		t.Fatal(err)
	}
	_ = w.Close() // EOF ends cat
	if code := wait(t, p); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if got := stdout.text(t); got != input {
		t.Errorf("stdout = %q, want %q", got, input)
	}
}

func testTerminal(t *testing.T, h *harness) {
	b := NewBundle(t, "tty")
	b.Spec.Process.Terminal = true
	p := h.start(b, runtime.Stdio{Terminal: true})
	console := p.Console()
	if console == nil {
		t.Fatal("no console for a terminal process")
	}
	out := readConsole(t, console)
	if code := wait(t, p); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if got := strings.TrimSpace(receive(t, out)); got != "/dev/pts/0" {
		t.Errorf("tty printed %q, want /dev/pts/0", got)
	}
}

func testTerminalResize(t *testing.T, h *harness) {
	b := NewBundle(t, "sh", "-c", "read line; stty size")
	b.Spec.Process.Terminal = true
	p := h.start(b, runtime.Stdio{Terminal: true})
	console := p.Console()
	if console == nil {
		t.Fatal("no console for a terminal process")
	}
	out := readConsole(t, console)
	if err := unix.IoctlSetWinsize(int(console.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(console, "go\n"); err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if got := receive(t, out); !strings.Contains(got, "40 100") {
		t.Errorf("stty size printed %q, want 40 100", got)
	}
}

// freezerState reads the freezer state of the cgroup at path: FROZEN or
// THAWED (v1 freezer.state; v2 cgroup.freeze 1 or 0).
func freezerState(t *testing.T, path string) string {
	t.Helper()
	for _, dir := range CgroupDirs(path) {
		if data, err := os.ReadFile(filepath.Join(dir, "freezer.state")); err == nil {
			return strings.TrimSpace(string(data))
		}
		if data, err := os.ReadFile(filepath.Join(dir, "cgroup.freeze")); err == nil && !strings.Contains(dir, "/unified/") {
			if strings.TrimSpace(string(data)) == "1" {
				return "FROZEN"
			}
			return "THAWED"
		}
	}
	t.Fatalf("no freezer cgroup for %s", path)
	return ""
}

func checkState(t *testing.T, rt runtime.Runtime, id string, want runtime.State) {
	t.Helper()
	got, err := rt.State(t.Context(), id)
	if err != nil {
		t.Fatalf("state of %s: %v", id, err)
	}
	if got != want {
		t.Errorf("state of %s = %+v, want %+v", id, got, want)
	}
}

func testStatePauseResume(t *testing.T, h *harness) {
	ctx := t.Context()
	b := NewBundle(t, "sleep", "30")
	p := h.start(b, runtime.Stdio{})
	checkState(t, h.rt, b.ID, runtime.State{Status: runtime.StatusRunning, Pid: p.Pid()})
	if err := h.rt.Resume(ctx, b.ID); !errdefs.IsConflict(err) {
		t.Errorf("resume of a running container: err = %v, want a conflict", err)
	}
	if err := h.rt.Pause(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	checkState(t, h.rt, b.ID, runtime.State{Status: runtime.StatusPaused, Pid: p.Pid()})
	if got := freezerState(t, b.CgroupsPath()); got != "FROZEN" {
		t.Errorf("freezer state while paused = %s, want FROZEN", got)
	}
	if err := h.rt.Resume(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	checkState(t, h.rt, b.ID, runtime.State{Status: runtime.StatusRunning, Pid: p.Pid()})
	if got := freezerState(t, b.CgroupsPath()); got != "THAWED" {
		t.Errorf("freezer state after resume = %s, want THAWED", got)
	}
	if err := h.rt.Signal(ctx, b.ID, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 137 {
		t.Errorf("exit code = %d, want 137", code)
	}
	checkState(t, h.rt, b.ID, runtime.State{Status: runtime.StatusStopped})
	if err := h.rt.Signal(ctx, b.ID, syscall.SIGTERM, false); !errdefs.IsConflict(err) {
		t.Errorf("signal to a stopped container: err = %v, want a conflict", err)
	}
	if err := h.rt.Signal(ctx, b.ID, syscall.SIGKILL, true); err != nil {
		t.Errorf("signal all to a stopped container: %v, want nil", err)
	}
	if err := h.rt.Pause(ctx, b.ID); !errdefs.IsConflict(err) {
		t.Errorf("pause of a stopped container: err = %v, want a conflict", err)
	}
	if err := h.rt.Delete(ctx, b.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.rt.State(ctx, b.ID); !errdefs.IsNotFound(err) {
		t.Errorf("state after delete: err = %v, want not found", err)
	}
	if dirs := CgroupDirs(b.CgroupsPath()); len(dirs) > 0 {
		t.Errorf("cgroups left after delete: %v", dirs)
	}
}

// startReady starts a shell script that prints "ready" once it is set up,
// and returns when it has.
func startReady(t *testing.T, h *harness, script string) (*Bundle, runtime.Process, *bufio.Reader) {
	t.Helper()
	b := NewBundle(t, "sh", "-c", script)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	p := h.start(b, runtime.Stdio{Stdout: w})
	_ = w.Close()
	br := bufio.NewReader(r)
	line := make(chan string, 1)
	go func() {
		s, _ := br.ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s != "ready\n" {
			t.Fatalf("container printed %q, want ready", s)
		}
	case <-time.After(waitTimeout):
		t.Fatal("container never got ready")
	}
	return b, p, br
}

func testSignalFromAnotherProcess(t *testing.T, h *harness) {
	// Init (PID 1 of its namespace) gets only signals it handles.
	b, p, _ := startReady(t, h, `trap "exit 42" TERM; echo ready; while true; do sleep 1; done`)
	other := h.newRuntime(t, h.root)
	checkState(t, other, b.ID, runtime.State{Status: runtime.StatusRunning, Pid: p.Pid()})
	if err := other.Signal(t.Context(), b.ID, syscall.SIGTERM, false); err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 42 {
		t.Errorf("exit code = %d, want 42 (the TERM trap)", code)
	}
}

func testSignalAll(t *testing.T, h *harness) {
	// Init ignores TERM (no handler); its child dies of it.
	b, p, out := startReady(t, h, `sleep 30 & echo ready; wait $!; echo "child $?"`)
	if err := h.rt.Signal(t.Context(), b.ID, syscall.SIGTERM, true); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	if code := wait(t, p); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if got := string(rest); got != "child 143\n" {
		t.Errorf("container printed %q, want %q", got, "child 143\n")
	}
}

func testStats(t *testing.T, h *harness) {
	b := NewBundle(t, "sleep", "30")
	h.start(b, runtime.Stdio{})
	s, err := h.rt.Stats(t.Context(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats: %+v", *s)
	if s.MemoryUsage == 0 {
		t.Error("memory usage is 0")
	}
	if s.CPUUsageNanos == 0 {
		t.Error("cpu usage is 0")
	}
	if s.PidsCurrent == 0 {
		t.Error("pids current is 0")
	}
	if s.MemoryLimit != 0 || s.PidsLimit != 0 {
		t.Errorf("limits = memory %d, pids %d; want 0 (unlimited)", s.MemoryLimit, s.PidsLimit)
	}
	if s.OOMKilled {
		t.Error("OOMKilled without a limit")
	}
	if oom, err := h.rt.OOMKilled(t.Context(), b.ID); err != nil || oom {
		t.Errorf("OOMKilled = %v, %v; want false", oom, err)
	}
}

func testOOMKill(t *testing.T, h *harness) {
	const limit = 32 << 20
	b := NewBundle(t, "sh", "-c", "x=a; while true; do x=$x$x; done")
	mem := &specs.LinuxMemory{Limit: ptr(int64(limit))}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"); err == nil {
		mem.Swap = ptr(int64(limit)) // v1: memory+swap, so no swapping instead
	}
	b.Spec.Linux.Resources.Memory = mem
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr(int64(64))}
	p := h.start(b, runtime.Stdio{})
	if code := wait(t, p); code != 137 {
		t.Errorf("exit code = %d, want 137 (OOM kill)", code)
	}
	s, err := h.rt.Stats(t.Context(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats: %+v", *s)
	if !s.OOMKilled {
		t.Error("stats do not report the OOM kill")
	}
	if oom, err := h.rt.OOMKilled(t.Context(), b.ID); err != nil || !oom {
		t.Errorf("OOMKilled = %v, %v; want true", oom, err)
	}
	if s.MemoryLimit != limit {
		t.Errorf("memory limit = %d, want %d", s.MemoryLimit, limit)
	}
	if s.PidsLimit != 64 {
		t.Errorf("pids limit = %d, want 64", s.PidsLimit)
	}
	if s.MemoryMaxUsage == 0 {
		t.Log("memory max usage not reported")
	}
}

func ptr[T any](v T) *T { return &v }

func testExec(t *testing.T, h *harness) {
	ctx := t.Context()
	b := NewBundle(t, "sleep", "30")
	init := h.start(b, runtime.Stdio{})
	proc := func(args ...string) *specs.Process {
		return &specs.Process{Args: args, Cwd: "/", Env: b.Spec.Process.Env, Capabilities: b.Spec.Process.Capabilities}
	}
	t.Run("echo", func(t *testing.T) {
		stdout := newCapture(t)
		p, err := h.rt.Exec(ctx, b.ID, proc("echo", "hi"), runtime.Stdio{Stdout: stdout.w})
		if err != nil {
			t.Fatal(err)
		}
		if code := wait(t, p); code != 0 {
			t.Errorf("exit code = %d, want 0", code)
		}
		if got := stdout.text(t); got != "hi\n" {
			t.Errorf("stdout = %q, want %q", got, "hi\n")
		}
	})
	t.Run("exit code and pid namespace", func(t *testing.T) {
		stdout := newCapture(t)
		p, err := h.rt.Exec(ctx, b.ID, proc("sh", "-c", "cat /proc/1/cmdline; exit 5"), runtime.Stdio{Stdout: stdout.w})
		if err != nil {
			t.Fatal(err)
		}
		if code := wait(t, p); code != 5 {
			t.Errorf("exit code = %d, want 5", code)
		}
		if got := stdout.text(t); got != "sleep\x0030\x00" {
			t.Errorf("PID 1 of the exec'd process is %q, want the container's sleep", got)
		}
	})
	t.Run("terminal", func(t *testing.T) {
		pr := proc("tty")
		pr.Terminal = true
		p, err := h.rt.Exec(ctx, b.ID, pr, runtime.Stdio{Terminal: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.Console() == nil {
			t.Fatal("no console for a terminal process")
		}
		t.Cleanup(func() { _ = p.Console().Close() })
		out := readConsole(t, p.Console())
		if code := wait(t, p); code != 0 {
			t.Errorf("exit code = %d, want 0", code)
		}
		if got := strings.TrimSpace(receive(t, out)); !strings.HasPrefix(got, "/dev/pts/") {
			t.Errorf("tty printed %q, want /dev/pts/N", got)
		}
	})
	if err := h.rt.Signal(ctx, b.ID, syscall.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	wait(t, init)
	if _, err := h.rt.Exec(ctx, b.ID, proc("true"), runtime.Stdio{}); !errdefs.IsConflict(err) {
		t.Errorf("exec in a stopped container: err = %v, want a conflict", err)
	}
}

func testDeleteForce(t *testing.T, h *harness) {
	b := NewBundle(t, "sh", "-c", "sleep 30 & sleep 30")
	p := h.start(b, runtime.Stdio{})
	if err := h.rt.Pause(t.Context(), b.ID); err != nil { // v1 freezer: a kill must thaw
		t.Fatal(err)
	}
	if err := h.rt.Delete(t.Context(), b.ID, true); err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 137 {
		t.Errorf("exit code = %d, want 137", code)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(p.Pid()))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("process %d still exists after delete and wait: %v", p.Pid(), err)
	}
	if dirs := CgroupDirs(b.CgroupsPath()); len(dirs) > 0 {
		t.Errorf("cgroups left after delete: %v", dirs)
	}
	if _, err := os.Stat(filepath.Join(h.root, b.ID)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state directory left after delete: %v", err)
	}
	if _, err := h.rt.State(t.Context(), b.ID); !errdefs.IsNotFound(err) {
		t.Errorf("state after delete: err = %v, want not found", err)
	}
}

func testDeleteUnknownAndRunning(t *testing.T, h *harness) {
	ctx := t.Context()
	unknown := NewID()
	for _, force := range []bool{false, true} {
		if err := h.rt.Delete(ctx, unknown, force); err != nil {
			t.Errorf("delete unknown (force %t): %v", force, err)
		}
	}
	if _, err := h.rt.State(ctx, unknown); !errdefs.IsNotFound(err) {
		t.Errorf("state of unknown: err = %v, want not found", err)
	}
	if err := h.rt.Signal(ctx, unknown, syscall.SIGKILL, false); !errdefs.IsNotFound(err) {
		t.Errorf("signal to unknown: err = %v, want not found", err)
	}
	b := NewBundle(t, "sleep", "30")
	p := h.start(b, runtime.Stdio{})
	if err := h.rt.Delete(ctx, b.ID, false); !errdefs.IsConflict(err) {
		t.Errorf("delete of a running container: err = %v, want a conflict", err)
	}
	checkState(t, h.rt, b.ID, runtime.State{Status: runtime.StatusRunning, Pid: p.Pid()})
}

func testIDInUse(t *testing.T, h *harness) {
	b := NewBundle(t, "sleep", "30")
	h.start(b, runtime.Stdio{})
	b2 := NewBundle(t, "true")
	b2.ID = b.ID
	b2.Save(t)
	if _, err := h.rt.Start(t.Context(), b2.ID, b2.Dir, runtime.Stdio{}); !errdefs.IsConflict(err) {
		t.Errorf("start with an ID in use: err = %v, want a conflict", err)
	}
}
