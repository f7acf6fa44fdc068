package errdefs

import (
	"errors"
	"fmt"
)

// The kinds. Their messages are written so that wrapping reads naturally:
// "image \"x\": not found".
var (
	ErrInvalidArgument = errors.New("invalid argument")
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrConflict        = errors.New("conflict")
	ErrUnavailable     = errors.New("unavailable")
	ErrForbidden       = errors.New("forbidden")
	ErrNotImplemented  = errors.New("not implemented")
)

// IsInvalidArgument reports whether err is of kind ErrInvalidArgument.
func IsInvalidArgument(err error) bool { return errors.Is(err, ErrInvalidArgument) }

// IsNotFound reports whether err is of kind ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsForbidden reports whether err is of kind ErrForbidden.
func IsForbidden(err error) bool { return errors.Is(err, ErrForbidden) }

// IsNotImplemented reports whether err is of kind ErrNotImplemented.
func IsNotImplemented(err error) bool { return errors.Is(err, ErrNotImplemented) }

// kinded is an error of a kind whose message is its own (the kind's text is
// not appended).
type kinded struct {
	kind error
	msg  string
}

func (e *kinded) Error() string        { return e.msg }
func (e *kinded) Is(target error) bool { return target == e.kind }

// New returns an error of the given kind with a message of its own, for
// messages fixed by Docker's wording ("No such image: x").
func New(kind error, format string, args ...any) error {
	return &kinded{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// IsUnavailable reports whether err is of kind ErrUnavailable.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// IsConflict reports whether err is of kind ErrConflict.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }
