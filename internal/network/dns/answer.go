package dns

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// ednsSize is the UDP payload size advertised in our own answers to EDNS
// clients (the DNS flag day 2020 value).
const ednsSize = 1232

// answer returns the reply to req, or nil when req gets none (it is itself a
// response). It takes any message, however odd, and never panics; the reply
// is not yet truncated for the transport.
func (s *Server) answer(ctx context.Context, req *mdns.Msg) *mdns.Msg {
	if req == nil || req.Response {
		return nil
	}
	if req.Opcode != mdns.OpcodeQuery {
		return new(mdns.Msg).SetRcode(req, mdns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		return new(mdns.Msg).SetRcodeFormatError(req)
	}
	q := req.Question[0]
	if q.Qclass == mdns.ClassINET {
		var table map[string][]netip.Addr
		switch {
		case s.recordsFor != nil:
			client, _ := ctx.Value(clientKey{}).(netip.Addr)
			table = s.recordsFor(client)
		case s.records != nil:
			table = s.records()
		}
		if addrs, ok := table[canonical(q.Name)]; ok {
			return s.local(req, q, addrs)
		}
		if q.Qtype == mdns.TypePTR {
			if name, ok := reverseLookup(table, q.Name); ok {
				return s.local(req, q, nil, &mdns.PTR{
					Hdr: s.header(q.Name, mdns.TypePTR),
					Ptr: mdns.Fqdn(name),
				})
			}
		}
	}
	return s.forward(ctx, req)
}

// local is the authoritative answer to q, a name of ours with addresses
// addrs, or the answer rrs.
func (s *Server) local(req *mdns.Msg, q mdns.Question, addrs []netip.Addr, rrs ...mdns.RR) *mdns.Msg {
	resp := new(mdns.Msg).SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	for _, a := range addrs {
		switch {
		case a.Unmap().Is4() && (q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeANY):
			ip := a.Unmap().As4()
			resp.Answer = append(resp.Answer, &mdns.A{Hdr: s.header(q.Name, mdns.TypeA), A: net.IP(ip[:])})
		case a.Is6() && !a.Is4In6() && (q.Qtype == mdns.TypeAAAA || q.Qtype == mdns.TypeANY):
			ip := a.As16()
			resp.Answer = append(resp.Answer, &mdns.AAAA{Hdr: s.header(q.Name, mdns.TypeAAAA), AAAA: net.IP(ip[:])})
		}
	}
	resp.Answer = append(resp.Answer, rrs...)
	if req.IsEdns0() != nil {
		resp.SetEdns0(ednsSize, false)
	}
	return resp
}

func (s *Server) header(name string, rrtype uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: rrtype, Class: mdns.ClassINET, Ttl: s.ttl}
}

// canonical is the form of a query name that Records uses.
func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// reverseLookup returns the name in table for the address that the
// in-addr.arpa or ip6.arpa name rev stands for: the shortest of its names,
// ties broken by byte order, so that the answer does not depend on map order.
func reverseLookup(table map[string][]netip.Addr, rev string) (string, bool) {
	addr, ok := parseReverse(rev)
	if !ok {
		return "", false
	}
	best, found := "", false
	for name, addrs := range table {
		for _, a := range addrs {
			if a.Unmap() != addr {
				continue
			}
			if !found || len(name) < len(best) || (len(name) == len(best) && name < best) {
				best, found = name, true
			}
			break
		}
	}
	return best, found
}

// parseReverse turns "3.2.1.10.in-addr.arpa." into 10.1.2.3, and a full
// 32-nibble ip6.arpa name into its IPv6 address.
func parseReverse(name string) (netip.Addr, bool) {
	name = canonical(name)
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, l := range labels {
			if len(l) > 1 && l[0] == '0' {
				return netip.Addr{}, false
			}
			n, err := strconv.ParseUint(l, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(l, 16, 4)
			if err != nil {
				return netip.Addr{}, false
			}
			nibble := 31 - i // 0 is the high nibble of b[0]
			if nibble%2 == 0 {
				v <<= 4
			}
			b[nibble/2] |= byte(v)
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
