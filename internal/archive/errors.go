package archive

import (
	"fmt"

	"berth.dev/berth/internal/errdefs"
)

// EntryError is a tar entry [Apply] refuses: malformed, unsupported or an
// attempt to write outside the layer directory. It answers
// errors.Is(err, errdefs.ErrInvalidArgument).
type EntryError struct {
	Entry  string // the entry's name as in the tar header
	Reason string // a few words: "path escapes the layer", "hardlink target escapes the layer", ...
}

// Error reads like `layer entry "../etc/passwd": path escapes the layer`.
func (e *EntryError) Error() string {
	return fmt.Sprintf("layer entry %q: %s", e.Entry, e.Reason)
}

// Is reports whether target is errdefs.ErrInvalidArgument.
func (e *EntryError) Is(target error) bool {
	return target == errdefs.ErrInvalidArgument
}
