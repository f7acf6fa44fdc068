package libct_test

import (
	"os"
	"testing"

	"berth.dev/berth/internal/runtime"
	"berth.dev/berth/internal/runtime/libct"
	"berth.dev/berth/internal/runtime/runtimetest"
)

// init makes the test binary able to act as the container init, as runc's
// libcontainer/integration/init_test.go does: libcontainer re-executes
// /proc/self/exe (this binary) with the argument "init".
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libct.Init()
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

func TestSuite(t *testing.T) {
	runtimetest.Suite(t, func(t *testing.T, stateRoot string) runtime.Runtime {
		rt, err := libct.New(stateRoot)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	})
}

func TestNewRelativeRoot(t *testing.T) {
	if _, err := libct.New("relative/root"); err == nil {
		t.Error("New accepted a relative state root")
	}
}
