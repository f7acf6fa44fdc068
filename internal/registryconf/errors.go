package registryconf

import (
	"bytes"
	"fmt"
	"io"

	"berth.dev/berth/internal/errdefs"
)

// ConfigError is an invalid or contradictory setting: where it came from
// (a file, or "flags"), the key, and what is wrong. Kind: invalid argument.
type ConfigError struct {
	Source string
	Key    string
	Msg    string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", e.Source, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Source, e.Key, e.Msg)
}

// Is makes a *ConfigError match errdefs.ErrInvalidArgument.
func (e *ConfigError) Is(target error) bool { return target == errdefs.ErrInvalidArgument }

// BlockedError is a pull of a name that a rule blocks. Kind: forbidden.
type BlockedError struct {
	Name string
	Rule string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("pull of %s is blocked by %s", e.Name, e.Rule)
}

// Is makes a *BlockedError match errdefs.ErrForbidden.
func (e *BlockedError) Is(target error) bool { return target == errdefs.ErrForbidden }

// PushRefusedError is a push that a rule forbids: the rule blocks the name,
// or it never contacts the origin (fallback "none") and names no push
// endpoint. Kind: forbidden.
type PushRefusedError struct {
	Name   string
	Rule   string
	Reason string
}

func (e *PushRefusedError) Error() string {
	return fmt.Sprintf("push of %s refused by %s: %s", e.Name, e.Rule, e.Reason)
}

// Is makes a *PushRefusedError match errdefs.ErrForbidden.
func (e *PushRefusedError) Is(target error) bool { return target == errdefs.ErrForbidden }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
