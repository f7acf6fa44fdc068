// Package errdefs defines the kinds of error berth's services return.
//
// Layer 0. A package that knows what an error means wraps it with one of
// these kinds, keeping the cause: fmt.Errorf("image %q: %w: %w", ref,
// errdefs.ErrNotFound, err). Callers test kinds with errors.Is, never by
// string matching; the CLI and (later) the API server map kinds to exit codes
// and HTTP statuses in one place each.
package errdefs
