package registryconf

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

var (
	// The host and path grammar of distribution/reference, restated here
	// because this package matches prefixes, which are not references.
	hostRE      = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
)

// hubAliases are other spellings of Docker Hub's registry name.
var hubAliases = map[string]bool{"index.docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true}

const hubDomain = "docker.io"

// pattern is a compiled rule prefix.
type pattern struct {
	text     string // normalised, as displayed
	wildcard bool   // host is *.suffix
	host     string // lower case; for a wildcard, ".suffix" without the port
	port     string // ":5000" or "" (wildcards only; exact hosts keep it in host)
	path     string // "" or "a/b"
}

// parsePattern parses host[:port][/path] or *.domain[:port][/path].
func parsePattern(s string) (pattern, error) {
	if s == "" {
		return pattern{}, fmt.Errorf("prefix is empty")
	}
	if strings.Contains(s, "://") {
		return pattern{}, fmt.Errorf("prefix %q: a prefix is a name, not a URL: drop %q", s, s[:strings.Index(s, "://")+3])
	}
	host, path, _ := strings.Cut(s, "/")
	p := pattern{}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		p.wildcard = true
		host = rest
	} else if strings.Contains(host, "*") {
		return pattern{}, fmt.Errorf("prefix %q: a wildcard may only be a leading \"*.\" of the host", s)
	}
	if err := checkHost(s, host); err != nil {
		return pattern{}, err
	}
	if err := checkPath(s, path); err != nil {
		return pattern{}, err
	}
	host = canonicalHost(host)
	p.path = path
	if p.wildcard {
		h, port := splitPort(host)
		p.host, p.port = "."+h, port
		p.text = "*." + host
	} else {
		p.host = host
		p.text = host
	}
	if path != "" {
		p.text += "/" + path
	}
	return p, nil
}

func checkHost(s, host string) error {
	if host == "" {
		return fmt.Errorf("%q: host is empty", s)
	}
	if !hostRE.MatchString(host) {
		return fmt.Errorf("%q: %q is not a valid host[:port]", s, host)
	}
	if !strings.ContainsAny(host, ".:[") && host != "localhost" {
		return fmt.Errorf("%q: %q is not a registry host (a host has a '.' or a port, or is localhost); Docker Hub names start with docker.io/", s, host)
	}
	return nil
}

func checkPath(s, path string) error {
	if path == "" {
		return nil
	}
	for _, c := range strings.Split(path, "/") {
		if !componentRE.MatchString(c) {
			return fmt.Errorf("%q: path component %q is not valid (lowercase letters, digits and '.', '_', '__', '-' between them)", s, c)
		}
	}
	return nil
}

// canonicalHost lower-cases host and maps Docker Hub's aliases to docker.io.
func canonicalHost(host string) string {
	host = strings.ToLower(host)
	if hubAliases[host] {
		return hubDomain
	}
	return host
}

// splitPort splits "host:port" into "host" and ":port", minding IPv6 brackets.
func splitPort(host string) (string, string) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.HasSuffix(host, "]") {
		return host, ""
	}
	return host[:i], host[i:]
}

// match reports whether the name domain/path lies under p, and if so the
// rest of the path after the prefix and the length of the name matched.
func (p pattern) match(domain, path string) (rest string, matched int, ok bool) {
	domain = strings.ToLower(domain)
	if p.wildcard {
		h, port := splitPort(domain)
		if port != p.port || len(h) <= len(p.host) || !strings.HasSuffix(h, p.host) {
			return "", 0, false
		}
	} else if domain != p.host {
		return "", 0, false
	}
	matched = len(domain)
	switch {
	case p.path == "":
		return path, matched, true
	case path == p.path:
		return "", matched + 1 + len(p.path), true
	case strings.HasPrefix(path, p.path+"/"):
		return path[len(p.path)+1:], matched + 1 + len(p.path), true
	}
	return "", 0, false
}

// location is a compiled endpoint address: [scheme://]host[:port][/path].
type location struct {
	scheme string // "http", "https", or "" (https, falling back to http if insecure)
	host   string
	path   string
}

func (l location) String() string {
	s := l.host
	if l.path != "" {
		s += "/" + l.path
	}
	if l.scheme != "" {
		s = l.scheme + "://" + s
	}
	return s
}

// name is the repository name at this location for the given rest of a path.
func (l location) name(rest string) string {
	parts := []string{l.host}
	if l.path != "" {
		parts = append(parts, l.path)
	}
	if rest != "" {
		parts = append(parts, rest)
	}
	return strings.Join(parts, "/")
}

// parseLocation parses [http[s]://]host[:port][/path].
func parseLocation(s string) (location, error) {
	if s == "" {
		return location{}, fmt.Errorf("location is empty")
	}
	var l location
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return location{}, fmt.Errorf("%q is not a valid URL: %v", s, unwrapURLError(err))
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return location{}, fmt.Errorf("%q: scheme must be http or https", s)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return location{}, fmt.Errorf("%q: a registry URL has no user, query or fragment", s)
		}
		l.scheme = u.Scheme
		s = u.Host + strings.TrimSuffix(u.Path, "/")
		if s == "" || strings.HasPrefix(s, "/") {
			return location{}, fmt.Errorf("%q: host is empty", u.String())
		}
	}
	host, path, _ := strings.Cut(strings.TrimSuffix(s, "/"), "/")
	if err := checkHost(s, host); err != nil {
		return location{}, err
	}
	if err := checkPath(s, path); err != nil {
		return location{}, err
	}
	l.host = canonicalHost(host)
	l.path = path
	return l, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// isLoopback reports whether host[:port] is "localhost" or a loopback IP.
func isLoopback(host string) bool {
	h, _ := splitPort(host)
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
