package ocicli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/runtime"
	"berth.dev/berth/internal/runtime/ocicli"
	"berth.dev/berth/internal/runtime/runtimetest"
)

// unifiedControllers is where a hybrid cgroup layout lists the controllers
// left to its v2 part. crun (1.8.1 at least) refuses to create any
// container when it is not empty: "cgroups in hybrid mode not supported,
// drop all controllers from cgroupv2".
const unifiedControllers = "/sys/fs/cgroup/unified/cgroup.controllers"

// maskEnv marks a test binary re-executed in a private mount namespace in
// which an empty file hides unifiedControllers from crun.
const maskEnv = "BERTH_TEST_MASK_UNIFIED_CONTROLLERS"

func TestMain(m *testing.M) {
	if os.Getenv(maskEnv) == "1" {
		if err := maskUnifiedControllers(); err != nil {
			os.Stderr.WriteString("mask " + unifiedControllers + ": " + err.Error() + "\n")
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// maskUnifiedControllers bind-mounts an empty file over unifiedControllers
// (in the private mount namespace the parent test made).
func maskUnifiedControllers() error {
	f, err := os.CreateTemp("", "berth-empty-")
	if err != nil {
		return err
	}
	_ = f.Close()
	defer os.Remove(f.Name()) // the mount keeps the inode
	return unix.Mount(f.Name(), unifiedControllers, "", unix.MS_BIND, "")
}

func newRuntime(binary string) runtimetest.NewRuntime {
	return func(t *testing.T, stateRoot string) runtime.Runtime {
		rt, err := ocicli.New(binary, stateRoot)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
}

func requireBinary(t *testing.T, binary string) {
	t.Helper()
	if _, err := exec.LookPath(binary); err != nil {
		t.Skipf("%s not installed: %v", binary, err)
	}
}

func TestRunc(t *testing.T) {
	requireBinary(t, "runc")
	runtimetest.Suite(t, newRuntime("runc"))
}

func TestCrun(t *testing.T) {
	requireBinary(t, "crun")
	runtimetest.RequireRoot(t)
	if data, err := os.ReadFile(unifiedControllers); err == nil && len(strings.TrimSpace(string(data))) > 0 && os.Getenv(maskEnv) == "" {
		// Run this test again in a private mount namespace where crun's
		// hybrid check sees no v2 controllers; the containers still get
		// their v1 cgroups.
		t.Logf("%s lists %q, which crun refuses; rerunning in a private mount namespace that hides it", unifiedControllers, strings.TrimSpace(string(data)))
		args := []string{"-test.run=^TestCrun$", "-test.count=1"}
		if testing.Verbose() {
			args = append(args, "-test.v")
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), maskEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		t.Logf("crun suite in a private mount namespace:\n%s", out)
		if err != nil {
			t.Fatalf("crun suite: %v", err)
		}
		return
	}
	runtimetest.Suite(t, newRuntime("crun"))
}

func TestNew(t *testing.T) {
	tests := []struct {
		name            string
		binary, root    string
		wantErrContains string
	}{
		{"missing binary", "no-such-oci-runtime", t.TempDir(), "no-such-oci-runtime"},
		{"relative root", "/bin/true", "relative/root", "not absolute"},
		{"ok", "/bin/true", filepath.Join(t.TempDir(), "state"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := ocicli.New(tc.binary, tc.root)
			if tc.wantErrContains == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rt.Name() != "true" {
					t.Errorf("name = %q, want true", rt.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErrContains) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErrContains)
			}
		})
	}
}
