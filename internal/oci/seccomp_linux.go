package oci

import (
	"fmt"

	"berth.dev/berth/internal/errdefs"
	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// seccompProfile returns the seccomp filter for a spec whose capabilities
// are already set: moby's default profile adapts to them (rules included
// for CAP_SYS_ADMIN, CAP_SYS_PTRACE, …).
func seccompProfile(s *specs.Spec, sec securityOptions, privileged bool, custom []byte) (*specs.LinuxSeccomp, error) {
	if privileged || sec.seccomp == seccompUnconfined {
		return nil, nil
	}
	if sec.seccomp == seccompCustom {
		if len(custom) == 0 {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "load seccomp profile %s: profile is empty", sec.seccompPath)
		}
		p, err := seccomp.LoadProfile(string(custom), s)
		if err != nil {
			return nil, fmt.Errorf("load seccomp profile %s: %w: %w", sec.seccompPath, errdefs.ErrInvalidArgument, err)
		}
		return p, nil
	}
	p, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		return nil, fmt.Errorf("load default seccomp profile: %w", err)
	}
	return p, nil
}
