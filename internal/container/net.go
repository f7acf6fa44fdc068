package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
	"berth.dev/berth/internal/network"
	"berth.dev/berth/internal/network/firewall"
)

// EndpointSettings is a container's place on one network, Docker's shape.
type EndpointSettings struct {
	NetworkID   string   `json:"NetworkID"`
	Aliases     []string `json:"Aliases"`
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	Gateway     string   `json:"Gateway"`
	MacAddress  string   `json:"MacAddress"`
	// Ifname is the interface in the container while it runs (eth0, …).
	Ifname string `json:"BerthIfname,omitempty"`
}

// NetworkSettings are the container's networks and published ports.
type NetworkSettings struct {
	Networks map[string]*EndpointSettings `json:"Networks"`
	// Ports are the host ports reserved for the container's -p and -P.
	Ports []network.Binding `json:"BerthPorts,omitempty"`
}

// bridged reports whether mode puts the container on a bridge network.
func bridged(mode string) bool {
	return mode != "none" && mode != "host" && mode != "" && !strings.HasPrefix(mode, "container:")
}

// netnsPath is where a running container's network namespace is bound.
func (s *Service) netnsPath(id string) string {
	return filepath.Join(s.opts.RunRoot, "netns", id)
}

// attachNetworks is create's part: the container's address on its
// network (--ip or the next free one), its host ports (-p, -P), and its
// /etc/hosts line.
func (s *Service) attachNetworks(ctx context.Context, c *Container, imgCfg *ocispec.ImageConfig, ip netip.Addr, mac net.HardwareAddr) (err error) {
	mode := c.HostConfig.NetworkMode
	if other, ok := strings.CutPrefix(mode, "container:"); ok {
		o, err := s.store.lookup(other)
		if err != nil {
			return err
		}
		if len(c.HostConfig.PortBindings) > 0 || c.HostConfig.PublishAllPorts {
			return errdefs.New(errdefs.ErrInvalidArgument, "conflicting options: port publishing and the container type network mode")
		}
		c.HostConfig.NetworkMode = "container:" + o.ID
		return nil
	}
	if !bridged(mode) {
		if len(c.HostConfig.PortBindings) > 0 || c.HostConfig.PublishAllPorts {
			if mode == "host" {
				return nil // Docker ignores published ports on the host network
			}
			return errdefs.New(errdefs.ErrInvalidArgument, "published ports need a bridge network, not --network %s", mode)
		}
		return nil
	}
	if s.opts.Networks == nil {
		return errdefs.New(errdefs.ErrNotImplemented, "networks are not available")
	}
	var n *network.Network
	if mode == network.DefaultName {
		n, err = s.opts.Networks.Default(ctx)
	} else {
		n, err = s.opts.Networks.Get(mode)
	}
	if err != nil {
		return err
	}
	c.HostConfig.NetworkMode = n.Name
	addr, err := s.opts.Networks.Allocate(ctx, n, c.ID, ip)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.opts.Networks.Release(context.Background(), n, c.ID)
		}
	}()
	var aliases []string
	if n.UserDefined() {
		aliases = append(aliases, c.NetworkAliases...)
	}
	if mac == nil {
		mac = network.MAC(addr)
	}
	c.NetworkSettings.Networks = map[string]*EndpointSettings{n.Name: {
		NetworkID: n.ID, Aliases: aliases, IPAddress: addr.String(), IPPrefixLen: n.Subnet.Bits(),
		Gateway: n.Gateway.String(), MacAddress: mac.String(),
	}}
	reqs, err := portRequests(c, imgCfg)
	if err != nil {
		return err
	}
	if len(reqs) > 0 {
		if c.NetworkSettings.Ports, err = s.opts.Networks.ReservePorts(ctx, c.ID, reqs); err != nil {
			return err
		}
	}
	return nil
}

// portRequests are the container's -p requests and, with -P, its image's
// and --expose'd ports on free host ports.
func portRequests(c *Container, imgCfg *ocispec.ImageConfig) ([]network.PortRequest, error) {
	reqs := append([]network.PortRequest(nil), c.HostConfig.PortBindings...)
	if c.HostConfig.PublishAllPorts {
		exposed := map[string]struct{}{}
		if imgCfg != nil {
			for p := range imgCfg.ExposedPorts {
				exposed[p] = struct{}{}
			}
		}
		for p := range c.Config.ExposedPorts {
			exposed[p] = struct{}{}
		}
		keys := make([]string, 0, len(exposed))
		for k := range exposed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			port, proto, _ := strings.Cut(k, "/")
			if proto == "" {
				proto = "tcp"
			}
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil {
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "invalid exposed port %q", k)
			}
			taken := false
			for _, r := range reqs {
				taken = taken || (r.ContainerPort == uint16(n) && r.Proto == proto)
			}
			if !taken {
				reqs = append(reqs, network.PortRequest{ContainerPort: uint16(n), Proto: proto})
			}
		}
	}
	return reqs, nil
}

// detachNetworks is rm's part: the address and host ports go back.
func (s *Service) detachNetworks(ctx context.Context, c *Container) error {
	if s.opts.Networks == nil || c.NetworkSettings.Networks == nil {
		return nil
	}
	var errs []error
	for _, ep := range c.NetworkSettings.Networks {
		n, err := s.opts.Networks.Get(ep.NetworkID)
		if err != nil {
			continue // removed with -f meanwhile
		}
		errs = append(errs, s.opts.Networks.Release(ctx, n, c.ID), s.opts.Networks.RemoveEndpoint(ctx, n, c.ID))
	}
	errs = append(errs, s.opts.Networks.ReleasePorts(ctx, c.ID))
	return errors.Join(errs...)
}

// plumb is the monitor's part before a start: the container's network
// namespace wired to its networks, its published ports, its DNS entries;
// unplumb undoes it after the exit.
func (s *Service) plumb(ctx context.Context, c *Container) (string, error) {
	if c.NetworkSettings.Networks == nil {
		return "", nil
	}
	path := s.netnsPath(c.ID)
	// A killed monitor leaves its namespace bound: only then is there
	// anything to clean before the start (ports, veths and endpoints are
	// replaced as they are set up anyway).
	if fileExists(path) {
		s.unplumb(context.Background(), c)
	}
	if err := network.NewNamespace(path); err != nil {
		return "", err
	}
	fw, err := s.firewall()
	if err != nil {
		network.DeleteNamespace(path)
		return "", err
	}
	idx := 0
	for _, name := range c.networkOrder() {
		ep := c.NetworkSettings.Networks[name]
		n, err := s.opts.Networks.Get(ep.NetworkID)
		if err != nil {
			s.unplumb(context.Background(), c)
			return "", fmt.Errorf("network %s: %w", name, err)
		}
		ip, _ := netip.ParseAddr(ep.IPAddress)
		mac, _ := net.ParseMAC(ep.MacAddress)
		ep.Ifname = "eth" + strconv.Itoa(idx)
		if err := network.Attach(path, c.ID, network.AttachOptions{Network: n, IP: ip, MAC: mac, Ifname: ep.Ifname, DefaultRoute: idx == 0}); err != nil {
			s.unplumb(context.Background(), c)
			return "", err
		}
		if err := fw.EnsureNetwork(firewall.Network{Bridge: n.Bridge, Subnet: n.Subnet, Internal: n.Internal}); err != nil {
			s.unplumb(context.Background(), c)
			return "", err
		}
		if idx == 0 && len(c.NetworkSettings.Ports) > 0 {
			var ms []firewall.Mapping
			for _, b := range c.NetworkSettings.Ports {
				ms = append(ms, firewall.Mapping{HostIP: b.HostIP, HostPort: b.HostPort, Proto: b.Proto, ContainerIP: ip, ContainerPort: b.ContainerPort})
			}
			if err := fw.AddPorts(c.ID, ms); err != nil {
				s.unplumb(context.Background(), c)
				return "", err
			}
		}
		if err := s.opts.Networks.SetEndpoint(ctx, n, network.Endpoint{Container: c.ID, Name: c.Name, Aliases: ep.Aliases, IP: ip, Running: true, MonitorPid: os.Getpid()}); err != nil {
			s.unplumb(context.Background(), c)
			return "", err
		}
		if n.UserDefined() {
			if err := s.ensureDNS(n); err != nil {
				s.log.Warn("start DNS", "network", n.Name, "err", err)
			}
		}
		idx++
	}
	return path, nil
}

// unplumb undoes plumb whatever state the container is in: its process
// may still hold the namespace (a killed monitor's), so the veths are
// deleted explicitly.
func (s *Service) unplumb(ctx context.Context, c *Container) {
	if c.NetworkSettings.Networks == nil {
		return
	}
	network.Detach(c.ID)
	s.unplumbExited(ctx, c, false)
}

// unplumbExited is unplumb after the container's exit, when nothing is left
// in its namespace. The veths are not deleted one by one: they go with the
// namespace, which the kernel destroys in the background once nothing
// holds it (each host end goes with its peer). Deleting them here would
// put two RCU grace periods (about 25 ms) in the exit path of every
// container. With removing (a --rm container's last exit), the endpoints
// are not marked stopped: the removal deletes them next.
func (s *Service) unplumbExited(ctx context.Context, c *Container, removing bool) {
	if c.NetworkSettings.Networks == nil {
		return
	}
	if len(c.NetworkSettings.Ports) > 0 { // plumb adds rules only then
		if fw, err := s.firewall(); err == nil {
			fw.RemovePorts(c.ID)
		}
	}
	if !removing {
		for _, ep := range c.NetworkSettings.Networks {
			if n, err := s.opts.Networks.Get(ep.NetworkID); err == nil {
				ip, _ := netip.ParseAddr(ep.IPAddress)
				s.opts.Networks.SetEndpoint(ctx, n, network.Endpoint{Container: c.ID, Name: c.Name, Aliases: ep.Aliases, IP: ip, Running: false})
			}
		}
	}
	network.DeleteNamespace(s.netnsPath(c.ID))
}

// firewallLock serialises changes to berth's nftables table, one per host
// whatever the run root.
const firewallLock = "/run/lock/berth-firewall.lock"

func (s *Service) firewall() (*firewall.Firewall, error) {
	return firewall.New(firewallLock)
}

// ensureDNS starts the network's DNS responder (`berth dns ID`, detached)
// unless one runs: it holds dns.lock while it lives and exits once no
// container of the network runs.
func (s *Service) ensureDNS(n *network.Network) error {
	dir := filepath.Join(s.opts.RunRoot, "networks", n.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	lockPath := filepath.Join(dir, "dns.lock")
	l, err := lockfile.TryAcquire(lockPath, lockfile.Exclusive)
	if err != nil {
		return nil // one runs
	}
	l.Unlock()
	logf, err := os.OpenFile(filepath.Join(dir, "dns.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	if err := s.startBerth([]string{"dns", n.ID}, logf, nil); err != nil {
		return fmt.Errorf("start DNS of network %s: %w", n.Name, err)
	}
	return nil
}

// NetworkUsers returns the IDs of the containers on network n.
func (s *Service) NetworkUsers(n *network.Network) ([]string, error) {
	all, err := s.store.list()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range all {
		for _, ep := range c.NetworkSettings.Networks {
			if ep.NetworkID == n.ID {
				ids = append(ids, c.ID)
			}
		}
	}
	return ids, nil
}

// RemoveNetwork removes a network no container uses, with its bridge and
// firewall rules (`network rm`).
func (s *Service) RemoveNetwork(ctx context.Context, ref string) error {
	n, err := s.opts.Networks.Get(ref)
	if err != nil {
		return err
	}
	if n.Name == network.DefaultName {
		return errdefs.New(errdefs.ErrForbidden, "bridge is a pre-defined network and cannot be removed")
	}
	lock, err := s.store.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	users, err := s.NetworkUsers(n)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errdefs.New(errdefs.ErrConflict, "error while removing network: network %s id %s has active endpoints", n.Name, n.ID)
	}
	if fw, err := s.firewall(); err == nil {
		fw.RemoveNetwork(n.Bridge)
	}
	s.stopDNS(ctx, n)
	if err := network.DeleteBridge(n); err != nil {
		return err
	}
	return s.opts.Networks.Remove(ctx, n)
}

// networkOrder is the container's networks, its primary one (the
// --network it was created with) first: it has eth0 and the default route.
func (c *Container) networkOrder() []string {
	names := make([]string, 0, len(c.NetworkSettings.Networks))
	for name := range c.NetworkSettings.Networks {
		if name != c.HostConfig.NetworkMode {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if _, ok := c.NetworkSettings.Networks[c.HostConfig.NetworkMode]; ok {
		names = append([]string{c.HostConfig.NetworkMode}, names...)
	}
	return names
}

// Connect puts a container on one more network (`network connect`): an
// address now, and, if the container runs, an interface in it at once.
func (s *Service) Connect(ctx context.Context, netRef, ref string, ip netip.Addr, aliases []string) error {
	n, err := s.opts.Networks.Get(netRef)
	if err != nil {
		return err
	}
	lock, err := s.store.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	c, err := s.store.lookup(ref)
	if err != nil {
		return err
	}
	if !bridged(c.HostConfig.NetworkMode) && c.HostConfig.NetworkMode != "none" {
		return errdefs.New(errdefs.ErrInvalidArgument, "container %s uses network mode %s: it cannot join other networks", c.Name, c.HostConfig.NetworkMode)
	}
	if _, ok := c.NetworkSettings.Networks[n.Name]; ok {
		return errdefs.New(errdefs.ErrConflict, "endpoint with name %s already exists in network %s", c.Name, n.Name)
	}
	addr, err := s.opts.Networks.Allocate(ctx, n, c.ID, ip)
	if err != nil {
		return err
	}
	ep := &EndpointSettings{NetworkID: n.ID, IPAddress: addr.String(), IPPrefixLen: n.Subnet.Bits(), Gateway: n.Gateway.String(), MacAddress: network.MAC(addr).String()}
	if n.UserDefined() {
		ep.Aliases = aliases
	}
	if c.NetworkSettings.Networks == nil {
		c.NetworkSettings.Networks = map[string]*EndpointSettings{}
		c.HostConfig.NetworkMode = n.Name
	}
	c.NetworkSettings.Networks[n.Name] = ep
	st, _ := s.store.state(c.ID)
	path := s.netnsPath(c.ID)
	if st.Status == StatusRunning && s.store.monitorAlive(c.ID) && fileExists(path) {
		ep.Ifname = "eth" + strconv.Itoa(network.Attached(c.ID))
		if err := network.Attach(path, c.ID, network.AttachOptions{Network: n, IP: addr, Ifname: ep.Ifname}); err != nil {
			s.opts.Networks.Release(ctx, n, c.ID)
			return err
		}
		if fw, err := s.firewall(); err == nil {
			fw.EnsureNetwork(firewall.Network{Bridge: n.Bridge, Subnet: n.Subnet, Internal: n.Internal})
		}
		s.opts.Networks.SetEndpoint(ctx, n, network.Endpoint{Container: c.ID, Name: c.Name, Aliases: ep.Aliases, IP: addr, Running: true, MonitorPid: st.MonitorPid})
		if n.UserDefined() {
			s.ensureDNS(n)
		}
	}
	return atomicfile.WriteJSON(s.store.path(c.ID, "config.json"), c, 0o600)
}

// Disconnect takes a container off a network (`network disconnect`): its
// interface goes at once if it runs, and its address is released.
func (s *Service) Disconnect(ctx context.Context, netRef, ref string) error {
	n, err := s.opts.Networks.Get(netRef)
	if err != nil {
		return err
	}
	lock, err := s.store.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	c, err := s.store.lookup(ref)
	if err != nil {
		return err
	}
	ep, ok := c.NetworkSettings.Networks[n.Name]
	if !ok {
		return errdefs.New(errdefs.ErrNotFound, "container %s is not connected to network %s", c.Name, n.Name)
	}
	network.DetachOne(c.ID, ep.NetworkID)
	delete(c.NetworkSettings.Networks, n.Name)
	if c.HostConfig.NetworkMode == n.Name {
		c.HostConfig.NetworkMode = "none"
		for _, name := range c.networkOrder() {
			c.HostConfig.NetworkMode = name
			break
		}
	}
	if len(c.NetworkSettings.Networks) == 0 {
		c.NetworkSettings.Networks = nil
	}
	s.opts.Networks.RemoveEndpoint(ctx, n, c.ID)
	if err := s.opts.Networks.Release(ctx, n, c.ID); err != nil {
		return err
	}
	return atomicfile.WriteJSON(s.store.path(c.ID, "config.json"), c, 0o600)
}

// sharedNetNS is the network namespace of the running container a
// "container:ID" network mode names.
func (s *Service) sharedNetNS(mode string) (string, error) {
	id, ok := strings.CutPrefix(mode, "container:")
	if !ok {
		return "", nil
	}
	o, err := s.store.lookup(id)
	if err != nil {
		return "", err
	}
	if o.NetworkSettings.Networks != nil {
		if p := s.netnsPath(o.ID); isMountPoint(p) || fileExists(p) {
			return p, nil
		}
	}
	st, err := s.store.state(o.ID)
	if err != nil || st.Status != StatusRunning || st.Pid <= 0 || !s.store.monitorAlive(o.ID) {
		return "", errdefs.New(errdefs.ErrConflict, "cannot join network of a non running container: %s", o.ID[:12])
	}
	return fmt.Sprintf("/proc/%d/ns/net", st.Pid), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// hostsFile is a container's /etc/hosts, as Docker writes it.
func hostsFile(c *Container) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, h := range c.HostConfig.ExtraHosts {
		name, ip, ok := strings.Cut(h, ":")
		if ok {
			fmt.Fprintf(&b, "%s\t%s\n", ip, name)
		}
	}
	for _, ep := range c.NetworkSettings.Networks {
		host := c.Config.Hostname
		if c.Config.Domainname != "" {
			host = c.Config.Hostname + "." + c.Config.Domainname + " " + c.Config.Hostname
		}
		fmt.Fprintf(&b, "%s\t%s\n", ep.IPAddress, host)
		break
	}
	return b.String()
}

// resolvConf is a container's /etc/resolv.conf: on a user-defined network
// the network's DNS (at the bridge's gateway address); otherwise the
// host's nameservers without loopback ones (as Docker); --dns,
// --dns-search and --dns-option replace the host's.
func resolvConf(c *Container, userNet *network.Network) string {
	var servers, search, options []string
	if data, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "nameserver":
				if ip, err := netip.ParseAddr(f[1]); err == nil && !ip.IsLoopback() {
					servers = append(servers, f[1])
				}
			case "search", "domain":
				search = f[1:]
			case "options":
				options = f[1:]
			}
		}
	}
	if userNet != nil {
		servers = []string{userNet.Gateway.String()}
	}
	if len(c.HostConfig.DNS) > 0 {
		servers = c.HostConfig.DNS
	}
	if len(c.HostConfig.DNSSearch) > 0 {
		search = c.HostConfig.DNSSearch
	}
	if len(c.HostConfig.DNSOptions) > 0 {
		options = c.HostConfig.DNSOptions
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String()
}

// Reconcile removes the network leftovers of containers that no longer
// run (their monitor was killed, or the host crashed): firewall rules,
// veths and namespaces. `system prune` calls it.
func (s *Service) Reconcile(ctx context.Context) error {
	all, err := s.store.list()
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, c := range all {
		if s.store.monitorAlive(c.ID) {
			live[c.ID] = true
			continue
		}
		s.unplumb(ctx, c)
	}
	if fw, err := s.firewall(); err == nil {
		owners, _ := fw.Owners()
		for _, o := range owners {
			if !live[o] && len(o) == 64 {
				fw.RemovePorts(o)
			}
		}
	}
	ents, _ := os.ReadDir(filepath.Join(s.opts.RunRoot, "netns"))
	for _, e := range ents {
		if !live[e.Name()] {
			network.DeleteNamespace(filepath.Join(s.opts.RunRoot, "netns", e.Name()))
		}
	}
	return nil
}

// stopDNS ends the network's DNS responder, if one runs, and waits (a
// few seconds at most) until it has let go of its lock and socket, so that
// a new network with the same gateway can have its own at once.
func (s *Service) stopDNS(ctx context.Context, n *network.Network) {
	dir := filepath.Join(s.opts.RunRoot, "networks", n.ID)
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(filepath.Join(dir, "dns.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	lockPath := filepath.Join(dir, "dns.lock")
	if l, err := lockfile.TryAcquire(lockPath, lockfile.Exclusive); err == nil {
		l.Unlock() // nobody holds it: the pid is stale
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if l, err := lockfile.Acquire(wctx, lockPath, lockfile.Exclusive); err == nil {
		l.Unlock()
	}
}
