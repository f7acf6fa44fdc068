// Package dns is the embedded DNS server of a berth user-defined network:
// what Docker answers on 127.0.0.11 and podman's aardvark-dns on the bridge
// gateway. Containers on the network resolve each other's names and
// network aliases through it; every other query goes to the upstream
// resolvers.
//
// Layer 60, under internal/network. It imports errdefs and
// github.com/miekg/dns.
//
// [Listen] binds UDP and TCP on one address (the bridge's gateway IP, port
// 53), so a taken port is reported before anything is started; [Server.Serve]
// answers until its ctx is done. Names come from a [Records] function that is
// called for every query, so a container that joins or leaves the network is
// seen by the next query, with no cache to invalidate.
//
// Answers, for a query of class IN whose name is in the records
// (case-insensitive, with or without the trailing dot):
//
//	A       every IPv4 address of the name, authoritative, RA set, TTL Config.TTL
//	AAAA    every IPv6 address of the name: none on berth's IPv4-only networks,
//	        so NOERROR with no answer, and the resolver does not go elsewhere
//	ANY     both of the above
//	other   NOERROR, no answer
//
// A PTR query for the in-addr.arpa (or ip6.arpa) name of an address in the
// records is answered with one of its names, as an FQDN: the shortest, ties
// broken by byte order, so "web" is preferred to "web.mynet".
//
// Any other query (another name, another class, an unknown PTR) is sent to
// the upstreams in order, over UDP, and over TCP to the same upstream when
// the UDP answer is truncated. The first answer that is not SERVFAIL or
// REFUSED is returned, with the client's message ID; when none comes, the
// client gets SERVFAIL, and with no upstreams at all, REFUSED. Every answer
// to a UDP client is truncated (TC set) to the size the client advertised,
// 512 bytes without EDNS, so that it retries over TCP.
package dns
