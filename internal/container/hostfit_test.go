package container

import (
	goruntime "runtime"
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
	if got := s.Linux.Seccomp.Architectures; len(got) != 2 || got[0] != specs.ArchX86_64 || got[1] != specs.ArchX32 {
		t.Fatalf("amd64 image: %v", got)
	}
	s = mk()
	narrowSeccomp(s, "386")
	if len(s.Linux.Seccomp.Architectures) != 3 {
		t.Fatalf("386 image must keep its table: %v", s.Linux.Seccomp.Architectures)
	}
	s = &specs.Spec{Linux: &specs.Linux{}}
	narrowSeccomp(s, "amd64") // unconfined: no filter, no panic
}
