package container

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/oci"
)

// fitToHost keeps only the capabilities this process may grant (its
// bounding set: a sandboxed root can lack some, and --privileged must not
// then fail), and writes the spec version older runtimes accept.
func fitToHost(spec *specs.Spec) {
	// crun 1.8 and runc 1.1 refuse 1.3.0; berth uses no field newer than 1.0.2.
	spec.Version = "1.0.2-dev"
	bnd, ok := boundingSet()
	if !ok || spec.Process == nil || spec.Process.Capabilities == nil {
		return
	}
	keep := func(caps []string) []string {
		var out []string
		for _, c := range caps {
			if bnd[c] {
				out = append(out, c)
			}
		}
		return out
	}
	c := spec.Process.Capabilities
	c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient = keep(c.Bounding), keep(c.Effective), keep(c.Permitted), keep(c.Inheritable), keep(c.Ambient)
}

// boundingSet reads this process's capability bounding set.
func boundingSet() (map[string]bool, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil, false
		}
		set := map[string]bool{}
		for i, name := range oci.AllCapabilities() {
			if mask&(1<<uint(i)) != 0 {
				set[name] = true
			}
		}
		return set, true
	}
	return nil, false
}
