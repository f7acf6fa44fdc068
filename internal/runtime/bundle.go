package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/berth/internal/errdefs"
)

// LoadSpec reads bundle/config.json and checks what every runtime needs: a
// root and a process with arguments and an absolute working directory.
func LoadSpec(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle spec: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("decode bundle spec %s: %w: %w", path, errdefs.ErrInvalidArgument, err)
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "bundle spec %s: no root", path)
	}
	if err := CheckProcess(spec.Process); err != nil {
		return nil, fmt.Errorf("bundle spec %s: %w", path, err)
	}
	return &spec, nil
}

// CheckProcess checks a process spec the way runc does before running it.
func CheckProcess(p *specs.Process) error {
	switch {
	case p == nil:
		return errdefs.New(errdefs.ErrInvalidArgument, "no process")
	case len(p.Args) == 0:
		return errdefs.New(errdefs.ErrInvalidArgument, "process has no args")
	case !filepath.IsAbs(p.Cwd):
		return errdefs.New(errdefs.ErrInvalidArgument, "process cwd %q is not absolute", p.Cwd)
	}
	return nil
}

// CheckStdio checks that stdio fits a process spec: a terminal on both or
// neither, and no files with a terminal.
func CheckStdio(p *specs.Process, stdio Stdio) error {
	if p.Terminal != stdio.Terminal {
		return errdefs.New(errdefs.ErrInvalidArgument, "process terminal is %t but stdio terminal is %t", p.Terminal, stdio.Terminal)
	}
	if stdio.Terminal && (stdio.Stdin != nil || stdio.Stdout != nil || stdio.Stderr != nil) {
		return errdefs.New(errdefs.ErrInvalidArgument, "stdio has both a terminal and files")
	}
	return nil
}

// ValidateID checks a container ID the way runc does: letters, digits and
// "_+-.", and not "." or "..", so that it is safe as a file name.
func ValidateID(id string) error {
	if id == "" || id == "." || id == ".." {
		return errdefs.New(errdefs.ErrInvalidArgument, "invalid container id %q", id)
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '+', c == '-', c == '.':
		default:
			return errdefs.New(errdefs.ErrInvalidArgument, "invalid container id %q", id)
		}
	}
	return nil
}
