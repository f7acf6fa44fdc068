package image

import (
	"encoding/json"
	"path"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth.dev/berth/internal/errdefs"
)

// ApplyChanges applies Dockerfile instructions to an image config, as
// `docker commit -c` and `docker import -c` do: CMD, ENTRYPOINT (JSON array
// or shell form), ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR and STOPSIGNAL.
// Any other instruction is an error.
func ApplyChanges(cfg *ocispec.ImageConfig, changes []string) error {
	for _, change := range changes {
		line := strings.TrimSpace(change)
		if line == "" {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "CMD":
			cfg.Cmd = execForm(rest)
		case "ENTRYPOINT":
			cfg.Entrypoint = execForm(rest)
		case "ENV":
			pairs, err := keyValues(change, rest, true)
			if err != nil {
				return err
			}
			for _, kv := range pairs {
				cfg.Env = setEnv(cfg.Env, kv[0], kv[1])
			}
		case "LABEL":
			pairs, err := keyValues(change, rest, false)
			if err != nil {
				return err
			}
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range pairs {
				cfg.Labels[kv[0]] = kv[1]
			}
		case "EXPOSE":
			ports, err := words(change, rest)
			if err != nil {
				return err
			}
			if len(ports) == 0 {
				return changeError(change, "EXPOSE requires at least one argument")
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range ports {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[strings.ToLower(p)] = struct{}{}
			}
		case "VOLUME":
			vols := jsonArray(rest)
			if vols == nil {
				var err error
				if vols, err = words(change, rest); err != nil {
					return err
				}
			}
			if len(vols) == 0 {
				return changeError(change, "VOLUME requires at least one argument")
			}
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range vols {
				cfg.Volumes[v] = struct{}{}
			}
		case "USER":
			if rest == "" {
				return changeError(change, "USER requires exactly one argument")
			}
			cfg.User = rest
		case "WORKDIR":
			if rest == "" {
				return changeError(change, "WORKDIR requires exactly one argument")
			}
			if !path.IsAbs(rest) {
				rest = path.Join("/", cfg.WorkingDir, rest)
			}
			cfg.WorkingDir = path.Clean(rest)
		case "STOPSIGNAL":
			if rest == "" {
				return changeError(change, "STOPSIGNAL requires exactly one argument")
			}
			cfg.StopSignal = rest
		case "ONBUILD":
			return errdefs.New(errdefs.ErrNotImplemented, "change %q: ONBUILD is not supported by berth yet", change)
		default:
			return errdefs.New(errdefs.ErrInvalidArgument, "%s is not a valid change command", instr)
		}
	}
	return nil
}

func changeError(change, msg string) error {
	return errdefs.New(errdefs.ErrInvalidArgument, "change %q: %s", change, msg)
}

// execForm reads CMD/ENTRYPOINT arguments: a JSON array as it is, anything
// else as a shell command.
func execForm(s string) []string {
	if a := jsonArray(s); a != nil {
		return a
	}
	if s == "" {
		return nil
	}
	return []string{"/bin/sh", "-c", s}
}

func jsonArray(s string) []string {
	if !strings.HasPrefix(s, "[") {
		return nil
	}
	var a []string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil
	}
	if a == nil {
		a = []string{}
	}
	return a
}

// keyValues reads KEY=VALUE words; with legacy, "ENV KEY VALUE" (one pair,
// the value the rest of the line) too.
func keyValues(change, s string, legacy bool) ([][2]string, error) {
	ws, err := words(change, s)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, changeError(change, "requires at least one argument")
	}
	if legacy && !strings.Contains(ws[0], "=") {
		k, v, _ := strings.Cut(s, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	var out [][2]string
	for _, w := range ws {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, changeError(change, "want KEY=VALUE, got "+w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// words splits s as a shell would, without expansion: spaces separate,
// quotes group, a backslash escapes the next character.
func words(change, s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, changeError(change, "unterminated quote or escape")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// setEnv sets key in a KEY=VALUE list, replacing an earlier value.
func setEnv(env []string, key, value string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}
