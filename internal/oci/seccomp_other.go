//go:build !linux

package oci

import (
	"berth.dev/berth/internal/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// seccompProfile: moby's profiles are built for Linux only. Elsewhere the
// default filter is left out and a custom one is not implemented; a spec
// made here is for inspection, not for running.
func seccompProfile(_ *specs.Spec, sec securityOptions, privileged bool, _ []byte) (*specs.LinuxSeccomp, error) {
	if sec.seccomp == seccompCustom && !privileged {
		return nil, errdefs.New(errdefs.ErrNotImplemented, "load seccomp profile %s: not implemented on this OS", sec.seccompPath)
	}
	return nil, nil
}
