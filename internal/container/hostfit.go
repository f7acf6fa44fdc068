package container

import (
	"bufio"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/oci"
)

// fitToHost keeps only the capabilities this process may grant (its
// bounding set: a sandboxed root can lack some, and --privileged must not
// then fail), narrows the seccomp filter to the image's architecture, and
// writes the spec version older runtimes accept.
func fitToHost(spec *specs.Spec, imageArch string) {
	// crun 1.8 and runc 1.1 refuse 1.3.0; berth uses no field newer than 1.0.2.
	spec.Version = "1.0.2-dev"
	narrowSeccomp(spec, imageArch)
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

// seccompArches are the filter architectures kept for an image of each
// architecture on a host of the same one.
var seccompArches = map[string][]specs.Arch{
	"amd64": {specs.ArchX86_64, specs.ArchX32},
	"arm64": {specs.ArchAARCH64},
}

// narrowSeccomp compiles Docker's profile for the image's own architecture
// only. Docker's profile also lists the 32-bit ABIs (x86 on amd64, arm on
// arm64), and libseccomp compiles a second syscall table for each: on amd64
// the x86 table alone cost ~30 ms of every start (measured: 88 ms -> 58 ms
// for `run --rm busybox true`). Syscalls of an unlisted ABI are refused, so
// a 32-bit binary inside a 64-bit image needs --security-opt
// seccomp=unconfined or a profile file; an image built for the 32-bit
// architecture keeps its table (its arch is not narrowed).
//
// The x32 table goes too when the kernel has no x32 ABI (x32 system calls
// then fail with ENOSYS whatever the filter says): it cost another 6 ms of
// every start (measured: 9.3 ms -> 3.1 ms to compile the filter). Under the
// filter, such a call is refused by killing the caller instead of ENOSYS.
func narrowSeccomp(spec *specs.Spec, imageArch string) {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return
	}
	keep, ok := seccompArches[imageArch]
	if !ok || imageArch != goruntime.GOARCH {
		return
	}
	var out []specs.Arch
	for _, a := range spec.Linux.Seccomp.Architectures {
		for _, k := range keep {
			if a == k && (a != specs.ArchX32 || x32ABI()) {
				out = append(out, a)
			}
		}
	}
	if len(out) > 0 {
		spec.Linux.Seccomp.Architectures = out
	}
}
