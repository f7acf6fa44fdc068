package oci

import (
	"strconv"
	"strings"

	"berth.dev/berth/internal/errdefs"
)

// seccompMode says which seccomp filter a container gets.
type seccompMode int

const (
	seccompDefault    seccompMode = iota // moby's default profile
	seccompUnconfined                    // none
	seccompCustom                        // RunOptions.SeccompProfile
)

// securityOptions is --security-opt parsed.
type securityOptions struct {
	noNewPrivileges bool
	seccomp         seccompMode
	seccompPath     string // for seccompCustom: the path the user named
	systemPaths     bool   // false with systempaths=unconfined: no masked or read-only paths
	writableCgroups bool
}

// parseSecurityOptions parses --security-opt values as moby's
// parseSecurityOpt does; "key:value" is accepted as Docker still accepts
// it. An unknown option or a bad value is an invalid-argument error naming
// the option.
func parseSecurityOptions(opts []string) (securityOptions, error) {
	sec := securityOptions{systemPaths: true}
	for _, opt := range opts {
		switch opt {
		case "no-new-privileges":
			sec.noNewPrivileges = true
			continue
		case "disable": // SELinux labels off; berth sets no labels
			continue
		}
		sep := "="
		if !strings.Contains(opt, "=") {
			sep = ":"
		}
		k, v, ok := strings.Cut(opt, sep)
		if !ok {
			return securityOptions{}, invalidSecurityOpt(opt)
		}
		switch k {
		case "label", "apparmor":
			// Accepted for compatibility; berth sets no LSM profile yet.
		case "seccomp":
			switch v {
			case "":
				return securityOptions{}, invalidSecurityOpt(opt)
			case "unconfined":
				sec.seccomp = seccompUnconfined
			case "builtin":
				sec.seccomp = seccompDefault
			default:
				sec.seccomp, sec.seccompPath = seccompCustom, v
			}
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return securityOptions{}, invalidSecurityOpt(opt)
			}
			sec.noNewPrivileges = b
		case "systempaths":
			if v != "unconfined" {
				return securityOptions{}, invalidSecurityOpt(opt)
			}
			sec.systemPaths = false
		case "writable-cgroups":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return securityOptions{}, invalidSecurityOpt(opt)
			}
			sec.writableCgroups = b
		default:
			return securityOptions{}, invalidSecurityOpt(opt)
		}
	}
	return sec, nil
}

func invalidSecurityOpt(opt string) error {
	return errdefs.New(errdefs.ErrInvalidArgument, "invalid --security-opt: %q", opt)
}
