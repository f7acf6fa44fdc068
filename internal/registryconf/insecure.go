package registryconf

import (
	"fmt"
	"net"
	"strings"
)

// insecureSet is Docker's insecure-registries: exact host[:port] names and
// CIDRs, with loopback always included.
type insecureSet struct {
	hosts map[string]bool
	nets  []*net.IPNet
}

func parseInsecure(entries []string, source string) (insecureSet, []string, error) {
	s := insecureSet{hosts: map[string]bool{}}
	var warnings []string
	for i, e := range entries {
		key := fmt.Sprintf("insecure-registries[%d]", i)
		orig := e
		for _, scheme := range []string{"http://", "https://"} {
			if strings.HasPrefix(strings.ToLower(e), scheme) {
				e = e[len(scheme):]
				warnings = append(warnings, fmt.Sprintf("%s: %s: scheme %q ignored: an insecure registry is host[:port] or CIDR", source, key, scheme))
			}
		}
		if strings.Contains(e, "://") {
			return s, nil, &ConfigError{Source: source, Key: key, Msg: fmt.Sprintf("%q: an insecure registry is host[:port] or CIDR, without a scheme", orig)}
		}
		if _, n, err := net.ParseCIDR(e); err == nil {
			s.nets = append(s.nets, n)
			continue
		}
		if !hostRE.MatchString(e) {
			return s, nil, &ConfigError{Source: source, Key: key, Msg: fmt.Sprintf("%q is neither host[:port] nor a CIDR", orig)}
		}
		s.hosts[canonicalHost(e)] = true
	}
	return s, warnings, nil
}

// contains reports whether host[:port] is insecure: listed exactly, a
// loopback name or address, or an address in a listed CIDR (names are looked
// up only when lookup is given and CIDRs are listed).
func (s insecureSet) contains(host string, lookup func(string) ([]net.IP, error)) bool {
	host = canonicalHost(host)
	if s.hosts[host] || isLoopback(host) {
		return true
	}
	if len(s.nets) == 0 {
		return false
	}
	h, _ := splitPort(host)
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	ips := []net.IP{net.ParseIP(h)}
	if ips[0] == nil {
		if lookup == nil {
			return false
		}
		var err error
		if ips, err = lookup(h); err != nil {
			return false
		}
	}
	for _, ip := range ips {
		for _, n := range s.nets {
			if n.Contains(ip) {
				return true
			}
		}
	}
	return false
}
