package container

import (
	goruntime "runtime"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNarrowSeccomp(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skip("table written for amd64 hosts")
	}
	mk := func() *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{Seccomp: &specs.LinuxSeccomp{Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}}}}
	}
	s := mk()
	narrowSeccomp(s, "amd64")
	want := []specs.Arch{specs.ArchX86_64}
	if x32ABI() {
		want = append(want, specs.ArchX32)
	}
	if got := s.Linux.Seccomp.Architectures; !slices.Equal(got, want) {
		t.Fatalf("amd64 image (x32 ABI %v): got %v, want %v", x32ABI(), got, want)
	}
	s = mk()
	narrowSeccomp(s, "386")
	if len(s.Linux.Seccomp.Architectures) != 3 {
		t.Fatalf("386 image must keep its table: %v", s.Linux.Seccomp.Architectures)
	}
	s = &specs.Spec{Linux: &specs.Linux{}}
	narrowSeccomp(s, "amd64") // unconfined: no filter, no panic
}
