package oci

import (
	"path"
	"strings"

	"berth.dev/berth/internal/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultPathEnv is the PATH a container gets when neither the image nor
// the user sets one (moby's oci.DefaultPathEnv).
const DefaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Command is the container's process arguments, merged as Docker merges
// them: the entrypoint is opts.Entrypoint if EntrypointSet (empty strings
// dropped) else the image's; the command is opts.Cmd if not empty, else
// nothing if EntrypointSet, else the image's Cmd. The result is the
// entrypoint followed by the command; if that is empty the error is of kind
// invalid argument, "no command specified".
func Command(img ocispec.ImageConfig, opts RunOptions) ([]string, error) {
	var args []string
	if opts.EntrypointSet {
		for _, s := range opts.Entrypoint {
			if s != "" {
				args = append(args, s)
			}
		}
	} else {
		args = append(args, img.Entrypoint...)
	}
	switch {
	case len(opts.Cmd) > 0:
		args = append(args, opts.Cmd...)
	case !opts.EntrypointSet:
		args = append(args, img.Cmd...)
	}
	if len(args) == 0 {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "no command specified")
	}
	return args, nil
}

// Env is the container's environment, built as Docker builds it
// (container.CreateDaemonEnvironment): PATH (the default) and
// HOSTNAME=hostname first, then TERM=xterm if opts.Tty, then the image's
// Env, then opts.Env. A later value of a key replaces the earlier one in
// the earlier one's position; a bare KEY removes the key. HOME=id.Home is
// added last unless set (runc would add it from passwd; berth knows it).
func Env(img ocispec.ImageConfig, opts RunOptions, id Identity, hostname string) []string {
	env := []string{"PATH=" + DefaultPathEnv, "HOSTNAME=" + hostname}
	if opts.Tty {
		env = append(env, "TERM=xterm")
	}
	env = mergeEnv(env, img.Env)
	env = mergeEnv(env, opts.Env)
	if !hasKey(env, "HOME") {
		home := id.Home
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	return env
}

// mergeEnv is moby's ReplaceOrAppendEnvValues, except that a key repeated
// within overrides keeps one entry (the last value), not two.
func mergeEnv(env, overrides []string) []string {
	index := make(map[string]int, len(env))
	for i, e := range env {
		k, _, _ := strings.Cut(e, "=")
		index[k] = i
	}
	removed := false
	for _, o := range overrides {
		k, _, hasValue := strings.Cut(o, "=")
		if k == "" {
			continue
		}
		i, exists := index[k]
		switch {
		case !hasValue:
			if exists {
				env[i], removed = "", true
				delete(index, k)
			}
		case exists:
			env[i] = o
		default:
			index[k] = len(env)
			env = append(env, o)
		}
	}
	if removed {
		env = deleteEmpty(env)
	}
	return env
}

func deleteEmpty(env []string) []string {
	out := env[:0]
	for _, e := range env {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

func hasKey(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}

// workingDir is -w, else the image's WorkingDir, else "/", cleaned. It must
// be absolute (Docker: "the working directory 'x' is invalid, it needs to
// be an absolute path").
func workingDir(img ocispec.ImageConfig, opts RunOptions) (string, error) {
	dir := opts.WorkingDir
	if dir == "" {
		dir = img.WorkingDir
	}
	if dir == "" {
		return "/", nil
	}
	if !path.IsAbs(dir) {
		return "", errdefs.New(errdefs.ErrInvalidArgument,
			"the working directory '%s' is invalid, it needs to be an absolute path", dir)
	}
	return path.Clean(dir), nil
}
