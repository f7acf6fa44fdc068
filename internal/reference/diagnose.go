package reference

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"

	dref "github.com/distribution/reference"
)

// The grammar pieces of distribution/reference, anchored, to say which part
// of an invalid reference is wrong. distribution/reference itself answers
// "invalid reference format" for most mistakes, one of Docker's oldest
// complaints; berth names the part. Compiled on first use: only errors
// need them, and every berth process (three per container start) would
// otherwise compile them at start.
var (
	anchoredTag       = lazyRegexp(`^` + dref.TagRegexp.String() + `$`)
	anchoredDigest    = lazyRegexp(`^` + dref.DigestRegexp.String() + `$`)
	anchoredDomain    = lazyRegexp(`^` + dref.DomainRegexp.String() + `$`)
	anchoredComponent = lazyRegexp(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	hexOnly           = lazyRegexp(`^[a-f0-9]+$`)
	anchoredID        = lazyRegexp(`^[a-f0-9]{64}$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

const maxTagLen = 128

// diagnose returns why s is not a valid reference in a few words, or "" when
// it finds nothing more precise to say than the parser.
func diagnose(s string) string {
	switch {
	case s == "":
		return "reference is empty"
	case strings.TrimSpace(s) != s:
		return "reference has leading or trailing white space"
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return "reference contains white space"
	case strings.Contains(s, "://"):
		return fmt.Sprintf("a reference has no scheme: drop %q", s[:strings.Index(s, "://")+3])
	case anchoredID().MatchString(s):
		return "a 64-character hexadecimal string is an image ID, not a repository name"
	}

	name, dgst, hasDigest := strings.Cut(s, "@")
	if hasDigest {
		if strings.Contains(dgst, "@") {
			return "more than one '@'"
		}
		if r := diagnoseDigest(dgst); r != "" {
			return r
		}
	}
	slash := strings.LastIndexByte(name, '/')
	if i := strings.LastIndexByte(name, ':'); i > slash && !(slash < 0 && strings.HasPrefix(name, "[")) {
		tag := name[i+1:]
		name = name[:i]
		if r := diagnoseTag(tag); r != "" {
			return r
		}
	}
	return diagnoseName(name)
}

func diagnoseDigest(d string) string {
	if d == "" {
		return "digest is empty after '@'"
	}
	algo, enc, ok := strings.Cut(d, ":")
	if !ok {
		return fmt.Sprintf("digest %q has no algorithm (want sha256:<64 hex digits>)", d)
	}
	if algo == "sha256" {
		if !hexOnly().MatchString(enc) {
			return fmt.Sprintf("digest %q: sha256 digests are lowercase hexadecimal", d)
		}
		if len(enc) != 64 {
			return fmt.Sprintf("digest %q: sha256 needs 64 hex digits, got %d", d, len(enc))
		}
		return ""
	}
	if algo == "sha512" {
		if !hexOnly().MatchString(enc) || len(enc) != 128 {
			return fmt.Sprintf("digest %q: sha512 needs 128 lowercase hex digits", d)
		}
		return ""
	}
	if !anchoredDigest().MatchString(d) {
		return fmt.Sprintf("digest %q is malformed (want sha256:<64 hex digits>)", d)
	}
	return fmt.Sprintf("digest %q: unsupported algorithm %q", d, algo)
}

func diagnoseTag(tag string) string {
	switch {
	case tag == "":
		return "tag is empty after ':'"
	case len(tag) > maxTagLen:
		return fmt.Sprintf("tag is %d characters long, at most %d are allowed", len(tag), maxTagLen)
	case !anchoredTag().MatchString(tag):
		return fmt.Sprintf("tag %q: only letters, digits, '_', '.' and '-' are allowed, and it must not start with '.' or '-'", tag)
	}
	return ""
}

func diagnoseName(name string) string {
	if name == "" {
		return "repository name is empty"
	}
	parts := strings.Split(name, "/")
	if len(parts) == 1 && strings.HasPrefix(name, "[") {
		return fmt.Sprintf("registry host %q needs a repository path after it", name)
	}
	if len(parts) > 1 && isDomainLike(parts[0]) {
		if !anchoredDomain().MatchString(parts[0]) {
			return fmt.Sprintf("registry host %q is not a valid host[:port]", parts[0])
		}
		parts = parts[1:]
	}
	for _, p := range parts {
		switch {
		case p == "":
			return "repository name has an empty path component (a leading, trailing or double '/')"
		case strings.ToLower(p) != p && anchoredComponent().MatchString(strings.ToLower(p)):
			return fmt.Sprintf("repository name must be lowercase: %q", p)
		case !anchoredComponent().MatchString(p):
			return fmt.Sprintf("path component %q: only lowercase letters, digits and the separators '.', '_', '__' and '-' are allowed, between letters or digits", p)
		}
	}
	if len(name) > dref.RepositoryNameTotalLengthMax {
		return fmt.Sprintf("repository name is longer than %d characters", dref.RepositoryNameTotalLengthMax)
	}
	return ""
}

// isDomainLike is Docker's test for "the first component is a registry":
// it has a '.' or a ':', is "localhost", or has upper case letters.
func isDomainLike(s string) bool {
	return strings.ContainsAny(s, ".:") || s == "localhost" || strings.ToLower(s) != s || strings.HasPrefix(s, "[")
}
