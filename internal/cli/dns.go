package cli

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/network"
	"berth.dev/berth/internal/network/dns"
)

// dnsIdle is how long a network's DNS responder stays up with no
// container of the network running.
const dnsIdle = 5 * time.Second

// newDNSCommand is `berth dns NETWORK-ID`, the embedded DNS of one
// user-defined network, started by the monitor of the network's first
// running container (the aardvark-dns model: no daemon). It answers for
// the network's containers (names and aliases) on the bridge's gateway
// address, forwards other names to the host's resolvers, and exits when
// no container of the network has run for a while.
func newDNSCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "dns NETWORK-ID",
		Short:  "Serve a network's DNS (started by berth itself)",
		Hidden: true,
		Args:   exactArgs(1, "NETWORK-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := g.networks(cmd)
			if err != nil {
				return err
			}
			n, err := ns.Get(args[0])
			if err != nil {
				return err
			}
			dir := filepath.Join(ns.RunRoot(), "networks", n.ID)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			lock, err := lockfile.TryAcquire(filepath.Join(dir, "dns.lock"), lockfile.Exclusive)
			if err != nil {
				return nil // another responder serves the network
			}
			defer lock.Unlock()
			// Whoever removes the network stops us through this file.
			pidFile := filepath.Join(dir, "dns.pid")
			os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o600)
			defer os.Remove(pidFile)
			recs := &records{ns: ns, n: n}
			cfg := dns.Config{Addr: netip.AddrPortFrom(n.Gateway, 53).String(), RecordsFor: recs.forClient, Upstreams: hostResolvers()}
			// A responder of a removed network with the same gateway may
			// still be closing its socket.
			var srv *dns.Server
			for i := 0; ; i++ {
				if srv, err = dns.Listen(cfg); err == nil || i == 30 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go func() {
				idle := time.Now()
				for ctx.Err() == nil {
					time.Sleep(time.Second)
					if _, err := ns.Get(n.ID); err != nil {
						cancel() // the network was removed
						return
					}
					if recs.running() {
						idle = time.Now()
					} else if time.Since(idle) > dnsIdle {
						cancel()
						return
					}
				}
			}()
			return srv.Serve(ctx)
		},
	}
}

// records are the name tables of berth's user-defined networks, re-read
// every few seconds and whenever this network's endpoints change. A client
// resolves the names of every network its container is on.
type records struct {
	ns *network.Store
	n  *network.Network

	mu      sync.Mutex
	mtime   time.Time
	read    time.Time
	tables  map[string]map[string][]netip.Addr // network ID -> name -> addresses
	owners  map[string]map[netip.Addr]string   // network ID -> address -> container
	member  map[string][]string                // container -> network IDs it is live on
	anyLive bool
}

func (r *records) refresh() {
	// Every network's endpoints file is looked at (a stat each): a
	// container connected to another network resolves its names at once.
	nets, err := r.ns.List()
	if err != nil {
		return
	}
	var latest time.Time
	for _, n := range nets {
		if fi, err := os.Stat(r.ns.EndpointsPath(n)); err == nil && fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	if latest.Equal(r.mtime) && time.Since(r.read) < 2*time.Second {
		return
	}
	r.mtime, r.read = latest, time.Now()
	r.tables, r.owners, r.member, r.anyLive = map[string]map[string][]netip.Addr{}, map[string]map[netip.Addr]string{}, map[string][]string{}, false
	for _, n := range nets {
		if !n.UserDefined() {
			continue
		}
		eps, err := r.ns.Endpoints(n)
		if err != nil {
			continue
		}
		table, owners := map[string][]netip.Addr{}, map[netip.Addr]string{}
		for id, ep := range eps {
			if !ep.Live() {
				continue
			}
			if n.ID == r.n.ID {
				r.anyLive = true
			}
			owners[ep.IP] = id
			r.member[id] = append(r.member[id], n.ID)
			for _, name := range append([]string{ep.Name, id[:12], id}, ep.Aliases...) {
				if name == "" {
					continue
				}
				for _, k := range []string{strings.ToLower(name), strings.ToLower(name + "." + n.Name)} {
					table[k] = append(table[k], ep.IP)
				}
			}
		}
		r.tables[n.ID], r.owners[n.ID] = table, owners
	}
}

// forClient is the union of the tables of the networks the client's
// container is on; this network's alone for an unknown client.
func (r *records) forClient(client netip.Addr) map[string][]netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	own := r.tables[r.n.ID]
	id, ok := r.owners[r.n.ID][client]
	if !ok || len(r.member[id]) < 2 {
		return own
	}
	out := map[string][]netip.Addr{}
	for _, nid := range r.member[id] {
		for k, v := range r.tables[nid] {
			if _, seen := out[k]; !seen {
				out[k] = v
			}
		}
	}
	for k, v := range own { // this network's answer wins for a name on several
		out[k] = v
	}
	return out
}

func (r *records) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	return r.anyLive
}

// hostResolvers are the host's nameservers; loopback ones work too, since
// the responder runs in the host's network namespace.
func hostResolvers() []string {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			if ip, err := netip.ParseAddr(f[1]); err == nil {
				out = append(out, netip.AddrPortFrom(ip, 53).String())
			}
		}
	}
	return out
}
