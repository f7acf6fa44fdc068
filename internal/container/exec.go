package container

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/oci"
	"berth.dev/berth/internal/runtime"
)

// ExecOptions is a process to run in a running container.
type ExecOptions struct {
	Args       []string
	Env        []string
	User       string
	WorkingDir string
	Tty        bool
}

// Exec starts a process in the running container ref; the caller becomes
// its parent and waits for it.
func (s *Service) Exec(ctx context.Context, ref string, opts ExecOptions, stdio runtime.Stdio) (runtime.Process, error) {
	v, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if v.State.Status != StatusRunning {
		if v.State.Status == StatusPaused {
			return nil, errdefs.New(errdefs.ErrConflict, "Container %s is paused, unpause the container before exec", v.ID)
		}
		return nil, errdefs.New(errdefs.ErrConflict, "Container %s is not running", v.ID)
	}
	if len(opts.Args) == 0 {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "no command specified")
	}
	data, err := os.ReadFile(s.store.path(v.ID, "bundle", "config.json"))
	if err != nil {
		return nil, fmt.Errorf("exec in %s: %w", v.ID[:12], err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("exec in %s: %w", v.ID[:12], err)
	}
	p := *spec.Process
	p.Args, p.Terminal = opts.Args, opts.Tty
	if opts.WorkingDir != "" {
		p.Cwd = opts.WorkingDir
	}
	if opts.User != "" {
		id, err := oci.ResolveUser(opts.User, readUsers([]string{s.store.path(v.ID, "rootfs")}))
		if err != nil {
			return nil, err
		}
		p.User = specs.User{UID: id.UID, GID: id.GID, AdditionalGids: id.AdditionalGids}
	}
	p.Env = mergeEnv(p.Env, opts.Env)
	if opts.Tty && !hasEnv(p.Env, "TERM") {
		p.Env = append(p.Env, "TERM=xterm")
	}
	rt, err := s.opts.Runtimes(v.HostConfig.Runtime)
	if err != nil {
		return nil, err
	}
	return rt.Exec(ctx, v.ID, &p, stdio)
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// mergeEnv overrides base with extra by key.
func mergeEnv(base, extra []string) []string {
	out := append([]string{}, base...)
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, b := range out {
			if bk, _, _ := strings.Cut(b, "="); bk == k {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}
