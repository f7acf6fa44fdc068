// Package network is berth's bridge networking: network records, address
// allocation (IPAM) that is safe across processes, host port reservations,
// the endpoints the embedded DNS answers for, and the per-container
// plumbing (network namespace, veth pair, bridge) done with netlink.
//
// Layer 60, a peer of runtime and volume used by the container service. It
// is the only importer of vishvananda/netlink, google/nftables (in
// network/firewall) and miekg/dns (in network/dns).
//
// Layout:
//
//	<root>/networks/.lock               store lock: records, addresses, ports, endpoints
//	<root>/networks/<id>/network.json   the network
//	<root>/networks/<id>/ipam.json      address -> container
//	<root>/networks/<id>/endpoints.json container -> name, aliases, address, running
//	<root>/networks/ports.json          host port -> container
//	<run root>/netns/<container id>     a running container's network namespace (bind mount)
//	<run root>/networks/<id>/dns.lock   held by the network's DNS responder while it runs
package network
