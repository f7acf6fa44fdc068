package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
	"berth.dev/berth/internal/lockfile"
)

const schemaVersion = 1

// DefaultName is the network containers join unless told otherwise, and
// DefaultBridge its device (Docker's bridge / docker0).
const (
	DefaultName   = "bridge"
	DefaultBridge = "berth0"
)

// Network is the record of a network.
type Network struct {
	SchemaVersion int               `json:"schemaVersion"`
	Name          string            `json:"Name"`
	ID            string            `json:"Id"`
	Created       time.Time         `json:"Created"`
	Driver        string            `json:"Driver"` // "bridge"
	Scope         string            `json:"Scope"`  // "local"
	Subnet        netip.Prefix      `json:"Subnet"`
	Gateway       netip.Addr        `json:"Gateway"`
	IPRange       netip.Prefix      `json:"IPRange,omitzero"`
	Internal      bool              `json:"Internal"`
	Labels        map[string]string `json:"Labels"`
	Options       map[string]string `json:"Options"`
	Bridge        string            `json:"Bridge"`
}

// UserDefined reports whether the network is not the default one: only
// user-defined networks resolve container names (as in Docker).
func (n *Network) UserDefined() bool { return n.Name != DefaultName }

// Pool is one of Docker's default-address-pools: networks of Size bits
// carved out of Base.
type Pool struct {
	Base netip.Prefix
	Size int
}

// DefaultPools are Docker's.
func DefaultPools() []Pool {
	return []Pool{
		{netip.MustParsePrefix("172.17.0.0/16"), 16},
		{netip.MustParsePrefix("172.18.0.0/15"), 16},
		{netip.MustParsePrefix("172.20.0.0/14"), 16},
		{netip.MustParsePrefix("172.24.0.0/14"), 16},
		{netip.MustParsePrefix("172.28.0.0/14"), 16},
		{netip.MustParsePrefix("192.168.0.0/16"), 20},
	}
}

// Config is the store's configuration (Docker's daemon.json keys).
type Config struct {
	Pools []Pool       // default-address-pools; nil means DefaultPools
	BIP   netip.Prefix // bip: the default bridge's gateway address and subnet
}

// Store holds networks under <root>/networks.
type Store struct {
	dir, run string
	cfg      Config
}

// New opens the store.
func New(root, runRoot string, cfg Config) (*Store, error) {
	if cfg.Pools == nil {
		cfg.Pools = DefaultPools()
	}
	s := &Store{dir: filepath.Join(root, "networks"), run: runRoot, cfg: cfg}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create network store: %w", err)
	}
	return s, nil
}

// RunRoot is where network namespaces and DNS locks live.
func (s *Store) RunRoot() string { return s.run }

func (s *Store) lock(ctx context.Context) (*lockfile.Lock, error) {
	return lockfile.Acquire(ctx, filepath.Join(s.dir, ".lock"), lockfile.Exclusive)
}

func (s *Store) path(id string, elem ...string) string {
	return filepath.Join(append([]string{s.dir, id}, elem...)...)
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// CreateOptions are `network create`'s.
type CreateOptions struct {
	Subnet   netip.Prefix
	Gateway  netip.Addr
	IPRange  netip.Prefix
	Internal bool
	Labels   map[string]string
	Options  map[string]string
}

// Create makes a bridge network; its device is made when a container first
// uses it.
func (s *Store) Create(ctx context.Context, name string, opts CreateOptions) (*Network, error) {
	lock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	return s.create(name, opts)
}

func (s *Store) create(name string, opts CreateOptions) (*Network, error) {
	if !validName.MatchString(name) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if n.Name == name {
			return nil, errdefs.New(errdefs.ErrConflict, "network with name %s already exists", name)
		}
	}
	n := &Network{SchemaVersion: schemaVersion, Name: name, ID: newID(), Created: time.Now().UTC(), Driver: "bridge", Scope: "local",
		Internal: opts.Internal, Labels: opts.Labels, Options: opts.Options}
	n.Bridge = "br-" + n.ID[:12]
	if name == DefaultName {
		n.Bridge = DefaultBridge
	}
	for k, v := range opts.Options {
		switch k {
		case "com.docker.network.bridge.name":
			if len(v) == 0 || len(v) > 15 || strings.ContainsAny(v, "/ \t") {
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "invalid bridge name %q", v)
			}
			n.Bridge = v
		case "com.docker.network.driver.mtu", "com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade":
			return nil, errdefs.New(errdefs.ErrNotImplemented, "network option %s is not supported by berth yet", k)
		default:
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "unknown network option %q", k)
		}
	}
	for _, o := range all {
		if o.Bridge == n.Bridge {
			return nil, errdefs.New(errdefs.ErrConflict, "bridge %s is used by network %s", n.Bridge, o.Name)
		}
	}
	used, err := s.usedPrefixes(all)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Subnet.IsValid():
		n.Subnet = opts.Subnet.Masked()
		for _, u := range used {
			if u.Overlaps(n.Subnet) {
				return nil, errdefs.New(errdefs.ErrConflict, "invalid pool request: Pool overlaps with other one on this address space: %s overlaps %s", n.Subnet, u)
			}
		}
	case name == DefaultName && s.cfg.BIP.IsValid():
		n.Subnet, n.Gateway = s.cfg.BIP.Masked(), s.cfg.BIP.Addr()
	default:
		if n.Subnet, err = pickSubnet(s.cfg.Pools, used); err != nil {
			return nil, err
		}
	}
	if !n.Subnet.Addr().Is4() || n.Subnet.Bits() > 30 {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "subnet %s: berth networks are IPv4 with at least 4 addresses", n.Subnet)
	}
	if opts.IPRange.IsValid() {
		if !n.Subnet.Contains(opts.IPRange.Addr()) || opts.IPRange.Bits() < n.Subnet.Bits() {
			return nil, errdefs.New(errdefs.ErrInvalidArgument, "ip-range %s is not inside subnet %s", opts.IPRange, n.Subnet)
		}
		n.IPRange = opts.IPRange.Masked()
	}
	if opts.Gateway.IsValid() {
		n.Gateway = opts.Gateway
	}
	if !n.Gateway.IsValid() {
		n.Gateway = n.Subnet.Addr().Next()
	}
	if !n.Subnet.Contains(n.Gateway) {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "gateway %s is not inside subnet %s", n.Gateway, n.Subnet)
	}
	tmp := s.path("." + n.ID + ".creating")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create network %s: %w", name, err)
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, "network.json"), n, 0o600); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, s.path(n.ID)); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create network %s: %w", name, err)
	}
	return n, nil
}

// usedPrefixes are the subnets of berth's networks and the host's
// interfaces and routes: a new network must overlap none.
func (s *Store) usedPrefixes(all []*Network) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range all {
		out = append(out, n.Subnet)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, n := range all {
		mine[n.Bridge] = true
	}
	for _, i := range ifaces {
		if mine[i.Name] {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				out = append(out, p.Masked())
			}
		}
	}
	out = append(out, hostRoutes()...)
	return out, nil
}

// pickSubnet is the first subnet of the pools that overlaps nothing used.
func pickSubnet(pools []Pool, used []netip.Prefix) (netip.Prefix, error) {
	for _, p := range pools {
		if p.Size < p.Base.Bits() || p.Size > 30 {
			continue
		}
		step := uint32(1) << (32 - p.Size)
		base := p.Base.Masked().Addr().As4()
		start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
		count := uint32(1) << (p.Size - p.Base.Bits())
		for i := uint32(0); i < count; i++ {
			v := start + i*step
			cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), p.Size)
			free := true
			for _, u := range used {
				if u.Overlaps(cand) {
					free = false
					break
				}
			}
			if free {
				return cand, nil
			}
		}
	}
	return netip.Prefix{}, errdefs.New(errdefs.ErrUnavailable, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
}

func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) read(id string) (*Network, error) {
	var n Network
	if err := atomicfile.ReadJSON(s.path(id, "network.json"), &n); err != nil {
		return nil, err
	}
	return &n, nil
}

func (s *Store) list() ([]*Network, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var out []*Network
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		n, err := s.read(e.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// List returns every network, by name.
func (s *Store) List() ([]*Network, error) { return s.list() }

// Get finds a network by name, full ID or unique ID prefix.
func (s *Store) Get(ref string) (*Network, error) {
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if n.Name == ref || n.ID == ref {
			return n, nil
		}
	}
	var found *Network
	for _, n := range all {
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			if found != nil {
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "network %s is ambiguous", ref)
			}
			found = n
		}
	}
	if found == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "network %s not found", ref)
	}
	return found, nil
}

// Default returns the default network, creating its record on first use.
func (s *Store) Default(ctx context.Context) (*Network, error) {
	if n, err := s.Get(DefaultName); err == nil {
		return n, nil
	}
	lock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if n, err := s.Get(DefaultName); err == nil {
		return n, nil
	}
	return s.create(DefaultName, CreateOptions{})
}

// Remove deletes the network's record; the caller has checked that no
// container uses it and removed its device.
func (s *Store) Remove(ctx context.Context, n *Network) error {
	if n.Name == DefaultName {
		return errdefs.New(errdefs.ErrForbidden, "bridge is a pre-defined network and cannot be removed")
	}
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	trash := s.path("." + n.ID + ".removing")
	if err := os.Rename(s.path(n.ID), trash); err != nil {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	return os.RemoveAll(trash)
}

// Sweep removes half-created and half-removed network dirs.
func (s *Store) Sweep(ctx context.Context) error {
	// Under the lock: creations and removals in flight hold it.
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".creating") || strings.HasSuffix(n, ".removing") {
			os.RemoveAll(filepath.Join(s.dir, n))
		}
	}
	return nil
}

// ipam is a network's allocation table.
type ipam struct {
	Allocated map[netip.Addr]string `json:"allocated"` // address -> owner (container ID)
	Last      netip.Addr            `json:"last,omitzero"`
}

// Allocate gives owner an address on n: want if valid (an error if taken
// by another owner), else the next free one after the last given (so a
// released address is not reused at once). An owner that has one gets it
// again.
func (s *Store) Allocate(ctx context.Context, n *Network, owner string, want netip.Addr) (netip.Addr, error) {
	lock, err := s.lock(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	defer lock.Unlock()
	var t ipam
	if err := atomicfile.ReadJSON(s.path(n.ID, "ipam.json"), &t); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return netip.Addr{}, err
	}
	if t.Allocated == nil {
		t.Allocated = map[netip.Addr]string{}
	}
	for a, o := range t.Allocated {
		if o == owner && (!want.IsValid() || a == want) {
			return a, nil
		}
	}
	pool := n.Subnet
	if n.IPRange.IsValid() {
		pool = n.IPRange
	}
	usable := func(a netip.Addr) bool {
		return n.Subnet.Contains(a) && a != n.Gateway && a != n.Subnet.Addr() && a != lastAddr(n.Subnet)
	}
	var got netip.Addr
	if want.IsValid() {
		if !usable(want) {
			return netip.Addr{}, errdefs.New(errdefs.ErrInvalidArgument, "address %s is not usable on network %s (%s)", want, n.Name, n.Subnet)
		}
		if o, taken := t.Allocated[want]; taken && o != owner {
			return netip.Addr{}, errdefs.New(errdefs.ErrConflict, "address %s is already in use on network %s", want, n.Name)
		}
		got = want
	} else {
		start := t.Last
		if !start.IsValid() || !pool.Contains(start) {
			start = pool.Addr()
		}
		a := start.Next()
		for i := 0; i < 1<<(32-pool.Bits()); i++ {
			if !pool.Contains(a) {
				a = pool.Addr()
			}
			if _, taken := t.Allocated[a]; !taken && usable(a) {
				got = a
				break
			}
			a = a.Next()
		}
		if !got.IsValid() {
			return netip.Addr{}, errdefs.New(errdefs.ErrUnavailable, "no available addresses on network %s", n.Name)
		}
		t.Last = got
	}
	t.Allocated[got] = owner
	if err := atomicfile.WriteJSON(s.path(n.ID, "ipam.json"), t, 0o600); err != nil {
		return netip.Addr{}, err
	}
	return got, nil
}

// Release frees owner's address on n.
func (s *Store) Release(ctx context.Context, n *Network, owner string) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	var t ipam
	if err := atomicfile.ReadJSON(s.path(n.ID, "ipam.json"), &t); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	n0 := len(t.Allocated)
	for a, o := range t.Allocated {
		if o == owner {
			delete(t.Allocated, a)
		}
	}
	if len(t.Allocated) == n0 {
		return nil // nothing of owner's: no write
	}
	return atomicfile.WriteJSON(s.path(n.ID, "ipam.json"), t, 0o600)
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= (1 << (32 - p.Bits())) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Endpoint is a container on a network, as the network's DNS sees it.
type Endpoint struct {
	Container string     `json:"container"`
	Name      string     `json:"name"`
	Aliases   []string   `json:"aliases,omitempty"`
	IP        netip.Addr `json:"ip"`
	Running   bool       `json:"running"`
	// MonitorPid is the running container's monitor: an endpoint whose
	// monitor died (killed, host crash) does not count as running.
	MonitorPid int `json:"monitorPid,omitempty"`
}

// Live reports whether the endpoint's container runs: marked running by a
// monitor that is still alive.
func (ep Endpoint) Live() bool {
	if !ep.Running {
		return false
	}
	if ep.MonitorPid <= 0 {
		return true
	}
	err := syscall.Kill(ep.MonitorPid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// endpoints.json is written without fsync (atomicfile.WriteVolatile):
// every start and exit of a container on n changes it, and what it says is
// re-derived (an endpoint counts only while its monitor lives, and after a
// crash none does). A crash can leave it empty, which reads as no
// endpoints; the next start records its own again.
func (s *Store) readEndpoints(n *Network) (map[string]Endpoint, error) {
	eps := map[string]Endpoint{}
	p := s.path(n.ID, "endpoints.json")
	if fi, err := os.Stat(p); err == nil && fi.Size() == 0 {
		return eps, nil
	}
	if err := atomicfile.ReadJSON(p, &eps); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return eps, nil
}

// SetEndpoint records (or replaces) a container's endpoint on n.
func (s *Store) SetEndpoint(ctx context.Context, n *Network, ep Endpoint) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	eps, err := s.readEndpoints(n)
	if err != nil {
		return err
	}
	eps[ep.Container] = ep
	return atomicfile.WriteJSONVolatile(s.path(n.ID, "endpoints.json"), eps, 0o600)
}

// RemoveEndpoint forgets a container's endpoint on n.
func (s *Store) RemoveEndpoint(ctx context.Context, n *Network, container string) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	eps, err := s.readEndpoints(n)
	if err != nil {
		return err
	}
	if _, ok := eps[container]; !ok {
		return nil
	}
	delete(eps, container)
	return atomicfile.WriteJSONVolatile(s.path(n.ID, "endpoints.json"), eps, 0o600)
}

// Endpoints returns n's endpoints.
func (s *Store) Endpoints(n *Network) (map[string]Endpoint, error) { return s.readEndpoints(n) }

// EndpointsPath is the file the DNS responder watches.
func (s *Store) EndpointsPath(n *Network) string { return s.path(n.ID, "endpoints.json") }
