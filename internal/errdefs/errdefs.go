package errdefs

import "errors"

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
