// Package firewall keeps berth's nftables table, `ip berth`, and nothing
// else: Docker-like NAT and isolation for berth's bridge networks and the
// DNAT rules of published ports. Rules are made with google/nftables over
// netlink; the nft and iptables binaries are never run.
//
// Part of layer 60, under internal/network.
//
// The table holds four base chains and one set:
//
//	table ip berth {
//		set bridges      { type ifname }   every berth bridge
//		chain prerouting  { type nat hook prerouting priority dstnat }    published ports
//		chain output      { type nat hook output priority -100 }          published ports, local clients
//		chain postrouting { type nat hook postrouting priority srcnat }   masquerade
//		chain forward     { type filter hook forward priority filter; policy accept }  isolation
//	}
//
// Every rule carries its owner as an nft comment in its user data: the
// container ID for port rules, "net:BRIDGE" for a network's rules. Rules are
// found again by that tag, never by position, so each call replaces exactly
// the rules of its owner and is idempotent.
//
// Each call is one read-modify-write done under a process-wide mutex and an
// flock on the lock file given to [New] (several berth processes share the
// table), and its changes reach the kernel in one netlink batch, so other
// processes see all of it or none of it. When a change leaves no rule and no
// bridge in the table, the batch deletes the table instead.
package firewall
