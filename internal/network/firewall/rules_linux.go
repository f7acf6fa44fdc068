package firewall

import (
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The rules, written out as nft would compile them.

// networkRules are the postrouting and forward rules of n, tagged tag.
func networkRules(n Network, tag string) []*nftables.Rule {
	ud := userData(tag)
	rule := func(chain string, exprs ...[]expr.Any) *nftables.Rule {
		return &nftables.Rule{Table: table, Chain: chainRef(chain), Exprs: concat(exprs...), UserData: ud}
	}
	var rules []*nftables.Rule
	if !n.Internal {
		// ip saddr SUBNET oifname != BRIDGE masquerade
		rules = append(rules, rule(chainPostroute,
			matchSaddr(n.Subnet), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge), masquerade()))
	}
	// ip saddr 127.0.0.0/8 oifname BRIDGE masquerade
	rules = append(rules, rule(chainPostroute,
		matchSaddr(netip.MustParsePrefix("127.0.0.0/8")), matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge), masquerade()))
	// iifname BRIDGE oifname != BRIDGE oifname @bridges drop
	rules = append(rules, rule(chainForward,
		matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge),
		matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge),
		matchBridgeSet(expr.MetaKeyOIFNAME), drop()))
	if n.Internal {
		// iifname BRIDGE oifname != BRIDGE drop
		rules = append(rules, rule(chainForward,
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge),
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge), drop()))
		// oifname BRIDGE iifname != BRIDGE drop
		rules = append(rules, rule(chainForward,
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge),
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpNeq, n.Bridge), drop()))
	}
	return rules
}

// portRules are the prerouting and output DNAT rules of ms, tagged owner:
//
//	fib daddr type local [ip daddr HOSTIP] PROTO dport HOSTPORT dnat to CIP:CPORT
func portRules(owner string, ms []Mapping) []*nftables.Rule {
	ud := userData(owner)
	var rules []*nftables.Rule
	for _, chain := range []string{chainPrerouting, chainOutput} {
		for _, m := range ms {
			exprs := concat(matchFibLocal())
			if m.HostIP.IsValid() {
				exprs = append(exprs, matchDaddr(m.HostIP)...)
			}
			exprs = append(exprs, matchDport(m.Proto, m.HostPort)...)
			exprs = append(exprs, dnat(m.ContainerIP, m.ContainerPort)...)
			rules = append(rules, &nftables.Rule{Table: table, Chain: chainRef(chain), Exprs: exprs, UserData: ud})
		}
	}
	return rules
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ifname is name as the kernel compares interface names: IFNAMSIZ bytes,
// NUL-padded.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// matchIfname is `iifname|oifname ==|!= NAME`.
func matchIfname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

// matchBridgeSet is `iifname|oifname @bridges`.
func matchBridgeSet(key expr.MetaKey) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: setName},
	}
}

// matchSaddr is `ip saddr PREFIX`.
func matchSaddr(p netip.Prefix) []expr.Any {
	return matchAddr(12, p)
}

// matchDaddr is `ip daddr ADDR`.
func matchDaddr(a netip.Addr) []expr.Any {
	return matchAddr(16, netip.PrefixFrom(a, 32))
}

// matchAddr compares the IPv4 address at offset of the network header with
// the prefix p.
func matchAddr(offset uint32, p netip.Prefix) []expr.Any {
	exprs := []expr.Any{
		&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1,
			Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
	}
	if p.Bits() < 32 {
		exprs = append(exprs, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: net.CIDRMask(p.Bits(), 32), Xor: make([]byte, 4)})
	}
	return append(exprs, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()})
}

// matchFibLocal is `fib daddr type local`: the destination is an address
// of this host (the fib result is an RTN_* in host byte order).
func matchFibLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// matchDport is `tcp|udp dport PORT`.
func matchDport(proto string, port uint16) []expr.Any {
	p := byte(unix.IPPROTO_TCP)
	if proto == "udp" {
		p = unix.IPPROTO_UDP
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
		&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1,
			Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// dnat is `dnat to IP:PORT`.
func dnat(ip netip.Addr, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: ip.AsSlice()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4,
			RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

func masquerade() []expr.Any { return []expr.Any{&expr.Masq{}} }

func drop() []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}} }
