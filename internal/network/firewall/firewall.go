package firewall

import (
	"fmt"
	"net/netip"
	"strings"

	"berth.dev/berth/internal/errdefs"
)

// Network describes one bridge network.
type Network struct {
	Bridge   string       // device name, e.g. "berth0", "br-0123456789ab"
	Subnet   netip.Prefix // e.g. 172.18.0.0/16
	Internal bool         // --internal: no traffic between this bridge and any other interface
}

// Mapping is one published port: traffic to HostIP:HostPort goes to
// ContainerIP:ContainerPort.
type Mapping struct {
	HostIP        netip.Addr // zero (invalid) or 0.0.0.0 means every local address
	HostPort      uint16
	Proto         string // "tcp" or "udp"
	ContainerIP   netip.Addr
	ContainerPort uint16
}

// netTagPrefix starts the tag of a network's rules ("net:BRIDGE"); a port
// owner may not start with it.
const netTagPrefix = "net:"

// maxTag is the longest tag nft accepts as a comment (NFTNL_UDATA_COMMENT_MAXLEN
// is 128 bytes with the terminating NUL).
const maxTag = 127

// checkBridge validates a bridge device name the way the kernel does
// (dev_valid_name); the name is also used in a /proc/sys path.
func checkBridge(name string) error {
	if name == "" || len(name) > 15 || name == "." || name == ".." ||
		strings.ContainsAny(name, "/: \t\n\r\x00") {
		return fmt.Errorf("bridge name %q: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// checkOwner validates a port owner: printable ASCII without quotes or
// backslashes (it is shown as an nft comment), short enough for a comment,
// and not a network's tag.
func checkOwner(owner string) error {
	if owner == "" || len(owner) > maxTag || strings.HasPrefix(owner, netTagPrefix) {
		return fmt.Errorf("owner %q: %w", owner, errdefs.ErrInvalidArgument)
	}
	for i := 0; i < len(owner); i++ {
		if c := owner[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return fmt.Errorf("owner %q: %w", owner, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// normalize validates n and returns it with an IPv4, masked subnet.
func (n Network) normalize() (Network, error) {
	if err := checkBridge(n.Bridge); err != nil {
		return n, err
	}
	if !n.Subnet.IsValid() || n.Subnet.Bits() == 0 {
		return n, fmt.Errorf("subnet %s of %s: %w", n.Subnet, n.Bridge, errdefs.ErrInvalidArgument)
	}
	addr := n.Subnet.Addr().Unmap()
	if !addr.Is4() {
		return n, fmt.Errorf("subnet %s of %s: not IPv4: %w", n.Subnet, n.Bridge, errdefs.ErrInvalidArgument)
	}
	bits := n.Subnet.Bits()
	if n.Subnet.Addr().Is4In6() {
		bits -= 96
	}
	n.Subnet = netip.PrefixFrom(addr, bits).Masked()
	return n, nil
}

// hostKey identifies the host side of a mapping.
type hostKey struct {
	ip    netip.Addr
	port  uint16
	proto string
}

// normalizeMappings validates ms and returns them with IPv4 addresses
// (HostIP zero for every local address), identical duplicates dropped. Two
// mappings of one host address, port and protocol to different containers
// ports are an error.
func normalizeMappings(ms []Mapping) ([]Mapping, error) {
	out := make([]Mapping, 0, len(ms))
	seen := map[hostKey]Mapping{}
	for _, m := range ms {
		if m.Proto != "tcp" && m.Proto != "udp" {
			return nil, fmt.Errorf("port mapping protocol %q: %w", m.Proto, errdefs.ErrInvalidArgument)
		}
		if m.HostPort == 0 || m.ContainerPort == 0 {
			return nil, fmt.Errorf("port mapping %d->%d/%s: port 0: %w", m.HostPort, m.ContainerPort, m.Proto, errdefs.ErrInvalidArgument)
		}
		m.ContainerIP = m.ContainerIP.Unmap()
		if !m.ContainerIP.Is4() || m.ContainerIP.IsUnspecified() {
			return nil, fmt.Errorf("port mapping container address %s: not IPv4: %w", m.ContainerIP, errdefs.ErrInvalidArgument)
		}
		if m.HostIP.IsValid() {
			m.HostIP = m.HostIP.Unmap()
			if !m.HostIP.Is4() {
				return nil, fmt.Errorf("port mapping host address %s: not IPv4: %w", m.HostIP, errdefs.ErrInvalidArgument)
			}
			if m.HostIP.IsUnspecified() {
				m.HostIP = netip.Addr{}
			}
		}
		k := hostKey{m.HostIP, m.HostPort, m.Proto}
		if prev, ok := seen[k]; ok {
			if prev == m {
				continue
			}
			return nil, fmt.Errorf("port mapping %s:%d/%s: mapped twice: %w", hostIPString(m.HostIP), m.HostPort, m.Proto, errdefs.ErrInvalidArgument)
		}
		seen[k] = m
		out = append(out, m)
	}
	return out, nil
}

func hostIPString(a netip.Addr) string {
	if !a.IsValid() {
		return "0.0.0.0"
	}
	return a.String()
}

// userData encodes tag as the user data of a rule: a libnftnl TLV of type
// NFTNL_UDATA_RULE_COMMENT (0), NUL-terminated, so that nft shows it as the
// rule's comment.
func userData(tag string) []byte {
	b := make([]byte, 0, len(tag)+3)
	b = append(b, 0, byte(len(tag)+1))
	b = append(b, tag...)
	return append(b, 0)
}

// tagOf returns the comment in a rule's user data, or "" if there is none.
func tagOf(ud []byte) string {
	for len(ud) >= 2 {
		typ, n := ud[0], int(ud[1])
		if len(ud) < 2+n {
			return ""
		}
		if typ == 0 {
			return strings.TrimRight(string(ud[2:2+n]), "\x00")
		}
		ud = ud[2+n:]
	}
	return ""
}
