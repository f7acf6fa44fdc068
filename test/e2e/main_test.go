package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// berthBin is the binary under test, built once by TestMain.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "berth-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		berthBin = filepath.Join(dir, "berth")
		build := exec.Command("go", "build", "-tags", "seccomp", "-o", berthBin, "berth.dev/berth/cmd/berth")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build berth:", err)
			return 1
		}
		build = exec.Command("go", "build", "-o", filepath.Join(dir, "berth-init"), "berth.dev/berth/cmd/berth-init")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build berth-init:", err)
			return 1
		}
		return m.Run()
	}())
}

// env is one test's world: its own root, run root, config file and Docker
// config directory.
type env struct {
	t                         *testing.T
	root, runRoot, config, dc string
	// cgroupParent is the env's own cgroup-parent (written into every
	// config it uses), so that its cleanup removes only its own cgroups.
	cgroupParent string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d := t.TempDir()
	e := &env{t: t, root: filepath.Join(d, "root"), runRoot: filepath.Join(d, "run"), config: filepath.Join(d, "config.json"), dc: filepath.Join(d, "docker"),
		cgroupParent: "/berth-e2e-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(int(envSeq.Add(1)))}
	if err := os.MkdirAll(e.dc, 0o700); err != nil {
		t.Fatal(err)
	}
	// Tests that write no config get an empty one, never the machine's
	// /etc/berth/config.json.
	if err := os.WriteFile(filepath.Join(d, "empty-config.json"), []byte(`{"cgroup-parent": "`+e.cgroupParent+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) configArgs() []string {
	if _, err := os.Stat(e.config); err == nil {
		return []string{"--config", e.config}
	}
	return []string{"--config", filepath.Join(filepath.Dir(e.config), "empty-config.json")}
}

// writeConfig writes the env's config file; a JSON object gets the env's
// cgroup-parent unless it names one (anything else is written as is).
func (e *env) writeConfig(s string) {
	e.t.Helper()
	var obj map[string]any
	if json.Unmarshal([]byte(s), &obj) == nil && obj != nil {
		if _, ok := obj["cgroup-parent"]; !ok {
			obj["cgroup-parent"] = e.cgroupParent
			b, err := json.Marshal(obj)
			if err != nil {
				e.t.Fatal(err)
			}
			s = string(b)
		}
	}
	if err := os.WriteFile(e.config, []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// envSeq numbers the envs of this test process.
var envSeq atomic.Int64

type result struct {
	out, err string
	code     int
}

// run runs berth with the env's global flags, then args.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn("", args...)
}

// runIn is run with stdin.
func (e *env) runIn(stdin string, args ...string) result {
	e.t.Helper()
	full := append(append(e.configArgs(), "--root", e.root, "--run-root", e.runRoot), args...)
	cmd := exec.Command(berthBin, full...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+e.dc, "BERTH_CONFIG=", "DOCKER_AUTH_CONFIG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run berth %v: %v", args, err)
	}
	return result{out: out.String(), err: errb.String(), code: code}
}

// command returns the exec.Cmd for berth args, not started.
func (e *env) command(args ...string) *exec.Cmd {
	full := append(append(e.configArgs(), "--root", e.root, "--run-root", e.runRoot), args...)
	cmd := exec.Command(berthBin, full...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+e.dc, "BERTH_CONFIG=", "DOCKER_AUTH_CONFIG=")
	return cmd
}

// fail runs berth and fails the test unless it exits non-zero; it returns
// stderr.
func (e *env) fail(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code == 0 {
		e.t.Fatalf("berth %s succeeded, want failure\nstdout: %s", strings.Join(args, " "), r.out)
	}
	return r.err
}

// ok runs berth and fails the test unless it exits 0.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("berth %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}
