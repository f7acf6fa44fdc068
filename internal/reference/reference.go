package reference

import (
	_ "crypto/sha256" // digest algorithms available to go-digest
	_ "crypto/sha512"
	"errors"
	"fmt"
	"strings"

	dref "github.com/distribution/reference"
	"github.com/opencontainers/go-digest"

	"berth.dev/berth/internal/errdefs"
)

// DefaultDomain is the registry of a name that names none (Docker Hub).
const DefaultDomain = "docker.io"

// Reference is a normalised image reference: it always has a domain and a
// path, and either a tag or a digest (never both: Docker keeps the digest).
// The zero value is not a valid reference; see IsZero.
type Reference struct {
	named dref.Named
}

// Parse normalises s the way `docker pull s` does: the default domain and
// "library/" are added, "index.docker.io" becomes "docker.io", ":latest" is
// added when neither tag nor digest is given, and a tag given together with a
// digest is dropped. Invalid input yields an *Error naming what is wrong.
func Parse(s string) (Reference, error) {
	n, err := dref.ParseDockerRef(s)
	if err != nil {
		return Reference{}, newError(s, err)
	}
	if dref.Domain(n) == "" {
		// distribution/reference reads "a_b.io/x" as a path with no
		// domain (a host cannot have '_'): berth refuses it rather than
		// guess which registry was meant.
		host, _, _ := strings.Cut(s, "/")
		return Reference{}, &Error{Input: s, Reason: fmt.Sprintf("registry host %q is not a valid host[:port]", host)}
	}
	return Reference{named: n}, nil
}

// MustParse is Parse for references known to be valid, such as constants in
// tests. It panics on error.
func MustParse(s string) Reference {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

// IsZero reports whether r is the zero Reference.
func (r Reference) IsZero() bool { return r.named == nil }

// String is the full normalised form, e.g. docker.io/library/busybox:latest.
func (r Reference) String() string {
	if r.named == nil {
		return ""
	}
	return r.named.String()
}

// Name is the repository with its domain, e.g. docker.io/library/busybox.
func (r Reference) Name() string {
	if r.named == nil {
		return ""
	}
	return r.named.Name()
}

// Domain is the registry part of the name, e.g. docker.io or localhost:5000.
func (r Reference) Domain() string {
	if r.named == nil {
		return ""
	}
	return dref.Domain(r.named)
}

// Path is the repository path within the registry, e.g. library/busybox.
func (r Reference) Path() string {
	if r.named == nil {
		return ""
	}
	return dref.Path(r.named)
}

// Tag is the tag, or "" for a reference by digest.
func (r Reference) Tag() string {
	if t, ok := r.named.(dref.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// Digest is the digest, or "" for a reference by tag.
func (r Reference) Digest() digest.Digest {
	if d, ok := r.named.(dref.Digested); ok {
		return d.Digest()
	}
	return ""
}

// Familiar is the short form Docker displays, e.g. busybox:latest.
func (r Reference) Familiar() string {
	if r.named == nil {
		return ""
	}
	return dref.FamiliarString(r.named)
}

// WithName returns the same tag or digest under another repository name.
// name is normalised like a reference (so "docker.io/x" becomes
// "docker.io/library/x") and must carry no tag or digest.
func (r Reference) WithName(name string) (Reference, error) {
	n, err := dref.ParseNormalizedNamed(name)
	if err != nil {
		return Reference{}, newError(name, err)
	}
	if !dref.IsNameOnly(n) {
		return Reference{}, &Error{Input: name, Reason: "a repository name has no tag or digest"}
	}
	var out dref.Named = n
	if d := r.Digest(); d != "" {
		out, err = dref.WithDigest(n, d)
	} else if t := r.Tag(); t != "" {
		out, err = dref.WithTag(n, t)
	}
	if err != nil {
		return Reference{}, newError(name, err)
	}
	return Reference{named: out}, nil
}

// MarshalText encodes r as its String form.
func (r Reference) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses text with Parse.
func (r *Reference) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// Error is an invalid reference: the input and, in a few words, why.
// It is of kind errdefs.ErrInvalidArgument.
type Error struct {
	Input  string
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid reference %q: %s", e.Input, e.Reason)
}

// Is makes an *Error match errdefs.ErrInvalidArgument.
func (e *Error) Is(target error) bool { return target == errdefs.ErrInvalidArgument }

func newError(s string, err error) *Error {
	if reason := diagnose(s); reason != "" {
		return &Error{Input: s, Reason: reason}
	}
	msg := err.Error()
	switch {
	case errors.Is(err, dref.ErrNameTooLong):
		msg = fmt.Sprintf("repository name is longer than %d characters", dref.RepositoryNameTotalLengthMax)
	case strings.Contains(msg, "64-byte hexadecimal"):
		msg = "a 64-character hexadecimal string is an image ID, not a repository name"
	}
	msg = strings.TrimPrefix(msg, "invalid reference format: ")
	return &Error{Input: s, Reason: msg}
}
