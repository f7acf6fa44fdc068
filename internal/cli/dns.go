package cli

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
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
			recs := &records{ns: ns, n: n}
			srv, err := dns.Listen(dns.Config{Addr: netip.AddrPortFrom(n.Gateway, 53).String(), Records: recs.get, Upstreams: hostResolvers()})
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

// records is the network's name table, re-read when its endpoints file
// changes.
type records struct {
	ns *network.Store
	n  *network.Network

	mu      sync.Mutex
	mtime   time.Time
	read    time.Time
	table   map[string][]netip.Addr
	anyLive bool
}

func (r *records) refresh() {
	fi, err := os.Stat(r.ns.EndpointsPath(r.n))
	// Re-read when the file changes, and every few seconds anyway: a
	// monitor that died changed nothing in it.
	if err != nil || (fi.ModTime().Equal(r.mtime) && time.Since(r.read) < 3*time.Second) {
		return
	}
	r.read = time.Now()
	eps, err := r.ns.Endpoints(r.n)
	if err != nil {
		return
	}
	table := map[string][]netip.Addr{}
	live := false
	for id, ep := range eps {
		if !ep.Live() {
			continue
		}
		live = true
		for _, name := range append([]string{ep.Name, id[:12], id}, ep.Aliases...) {
			if name == "" {
				continue
			}
			for _, k := range []string{strings.ToLower(name), strings.ToLower(name + "." + r.n.Name)} {
				table[k] = append(table[k], ep.IP)
			}
		}
	}
	r.table, r.anyLive, r.mtime = table, live, fi.ModTime()
}

func (r *records) get() map[string][]netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	return r.table
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
