package firewall

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

// Names in berth's table.
const (
	tableName       = "berth"
	setName         = "bridges"
	chainPrerouting = "prerouting"
	chainOutput     = "output"
	chainPostroute  = "postrouting"
	chainForward    = "forward"
)

var table = &nftables.Table{Name: tableName, Family: nftables.TableFamilyIPv4}

// baseChains are berth's chains as they are created.
func baseChains() []*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return []*nftables.Chain{
		{Name: chainPrerouting, Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		{Name: chainOutput, Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		{Name: chainPostroute, Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		{Name: chainForward, Table: table, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept},
	}
}

func chainRef(name string) *nftables.Chain { return &nftables.Chain{Name: name, Table: table} }

// mu serializes the read-modify-writes of berth's table by every Firewall
// of this process (the table is one per network namespace, and
// google/nftables allocates set IDs from a global counter); the flock on
// the lock file does the same across processes. Held only for the netlink
// round trips of one call.
var mu sync.Mutex

// Firewall changes berth's nftables table.
type Firewall struct {
	lockPath string // flock'ed around each read-modify-write
}

// New returns a Firewall whose changes are serialized across processes by
// an flock on lockPath (created if missing). The table is one per network
// namespace, so every berth process that changes it must use the same
// lockPath: two processes with different lock files can lose each other's
// updates. New does not touch nftables.
func New(lockPath string) (*Firewall, error) {
	if lockPath == "" {
		return nil, fmt.Errorf("create firewall: empty lock path: %w", errdefs.ErrInvalidArgument)
	}
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o700); err != nil {
		return nil, fmt.Errorf("create firewall lock %s: %w", lockPath, err)
	}
	lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create firewall lock %s: %w", lockPath, err)
	}
	lf.Close()
	return &Firewall{lockPath: lockPath}, nil
}

// lock takes the process-wide mutex and then the file lock; the returned
// function releases both.
func (f *Firewall) lock() (func(), error) {
	mu.Lock()
	lf, err := os.OpenFile(f.lockPath, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		mu.Unlock()
		return nil, fmt.Errorf("open firewall lock %s: %w", f.lockPath, err)
	}
	for {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		lf.Close()
		mu.Unlock()
		return nil, fmt.Errorf("lock firewall %s: %w", f.lockPath, err)
	}
	return func() {
		lf.Close() // drops the flock
		mu.Unlock()
	}, nil
}

// EnsureNetwork creates the table, its chains and set if missing and
// installs the rules of n, replacing earlier rules of the same bridge:
//
//   - postrouting: `ip saddr SUBNET oifname != BRIDGE masquerade` unless n is
//     internal; `ip saddr 127.0.0.0/8 oifname BRIDGE masquerade` always, for
//     local clients of published ports reached through 127.0.0.1.
//   - forward: `iifname BRIDGE oifname != BRIDGE oifname @bridges drop`, so
//     that berth networks cannot reach each other; for an internal network
//     also `iifname BRIDGE oifname != BRIDGE drop` and
//     `oifname BRIDGE iifname != BRIDGE drop`.
//   - BRIDGE joins the set bridges.
//
// It also sets net.ipv4.conf.BRIDGE.route_localnet to 1, so that packets
// from 127.0.0.1 that were DNATed to a container may leave through the
// bridge; the bridge must exist (otherwise an error of kind
// errdefs.ErrNotFound).
func (f *Firewall) EnsureNetwork(n Network) error {
	n, err := n.normalize()
	if err != nil {
		return fmt.Errorf("ensure firewall of network %s: %w", n.Bridge, err)
	}
	if err := setRouteLocalnet(n.Bridge); err != nil {
		return fmt.Errorf("ensure firewall of network %s: %w", n.Bridge, err)
	}
	tag := netTagPrefix + n.Bridge
	err = f.apply(change{
		drop:      func(t string) bool { return t == tag },
		add:       networkRules(n, tag),
		addBridge: n.Bridge,
	})
	if err != nil {
		return fmt.Errorf("ensure firewall of network %s: %w", n.Bridge, err)
	}
	return nil
}

// RemoveNetwork removes the rules of bridge and takes it out of the set
// bridges; the table goes when nothing is left in it. Removing a network
// that has no rules is not an error.
func (f *Firewall) RemoveNetwork(bridge string) error {
	if err := checkBridge(bridge); err != nil {
		return fmt.Errorf("remove firewall of network %s: %w", bridge, err)
	}
	tag := netTagPrefix + bridge
	err := f.apply(change{
		drop:      func(t string) bool { return t == tag },
		delBridge: bridge,
	})
	if err != nil {
		return fmt.Errorf("remove firewall of network %s: %w", bridge, err)
	}
	return nil
}

// AddPorts installs the DNAT rules of owner's (a container ID's) published
// ports, replacing owner's earlier ones, in prerouting (traffic from
// outside) and output (traffic of the host itself, including to
// 127.0.0.1):
//
//	fib daddr type local [ip daddr HOSTIP] PROTO dport HOSTPORT dnat to CIP:CPORT
//
// An empty ms removes owner's rules.
func (f *Firewall) AddPorts(owner string, ms []Mapping) error {
	if err := checkOwner(owner); err != nil {
		return fmt.Errorf("add ports of %s: %w", owner, err)
	}
	ms, err := normalizeMappings(ms)
	if err != nil {
		return fmt.Errorf("add ports of %s: %w", owner, err)
	}
	err = f.apply(change{
		drop: func(t string) bool { return t == owner },
		add:  portRules(owner, ms),
	})
	if err != nil {
		return fmt.Errorf("add ports of %s: %w", owner, err)
	}
	return nil
}

// RemovePorts removes every rule of owner. Removing the ports of an owner
// without rules is not an error.
func (f *Firewall) RemovePorts(owner string) error {
	if err := checkOwner(owner); err != nil {
		return fmt.Errorf("remove ports of %s: %w", owner, err)
	}
	if err := f.apply(change{drop: func(t string) bool { return t == owner }}); err != nil {
		return fmt.Errorf("remove ports of %s: %w", owner, err)
	}
	return nil
}

// Owners lists, sorted, the owners that have port rules.
func (f *Firewall) Owners() ([]string, error) {
	unlock, err := f.lock()
	if err != nil {
		return nil, fmt.Errorf("list port owners: %w", err)
	}
	defer unlock()
	conn, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("list port owners: %w", err)
	}
	s, err := read(conn)
	if err != nil {
		return nil, fmt.Errorf("list port owners: %w", err)
	}
	var owners []string
	for _, r := range s.rules {
		if t := tagOf(r.UserData); t != "" && !strings.HasPrefix(t, netTagPrefix) {
			owners = append(owners, t)
		}
	}
	sort.Strings(owners)
	return slices.Compact(owners), nil
}

// Flush deletes berth's table with everything in it. Flushing when there
// is no table is not an error.
func (f *Firewall) Flush() error {
	unlock, err := f.lock()
	if err != nil {
		return fmt.Errorf("flush firewall: %w", err)
	}
	defer unlock()
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("flush firewall: %w", err)
	}
	ok, err := tableExists(conn)
	if err != nil {
		return fmt.Errorf("flush firewall: %w", err)
	}
	if !ok {
		return nil
	}
	conn.DelTable(table)
	if err := conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("flush firewall: delete table ip %s: %w", tableName, err)
	}
	return nil
}

// change is one read-modify-write of the table.
type change struct {
	drop      func(tag string) bool // whether an existing rule with this tag goes
	add       []*nftables.Rule      // rules to append (Table and Chain set)
	addBridge string                // bridge to put in the set
	delBridge string                // bridge to take out of the set
}

// snapshot is berth's table as read under the lock.
type snapshot struct {
	table   bool
	chains  map[string]bool
	rules   []*nftables.Rule // of every chain in the table, with Table and Chain set
	set     bool
	bridges []string
}

func tableExists(conn *nftables.Conn) (bool, error) {
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("list nftables tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == tableName {
			return true, nil
		}
	}
	return false, nil
}

// read returns the current state of berth's table.
func read(conn *nftables.Conn) (*snapshot, error) {
	s := &snapshot{chains: map[string]bool{}}
	var err error
	if s.table, err = tableExists(conn); err != nil || !s.table {
		return s, err
	}
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("list chains of table ip %s: %w", tableName, err)
	}
	for _, c := range chains {
		if c.Table == nil || c.Table.Name != tableName {
			continue
		}
		s.chains[c.Name] = true
		rules, err := conn.GetRules(table, chainRef(c.Name))
		if err != nil {
			return nil, fmt.Errorf("list rules of chain %s: %w", c.Name, err)
		}
		for _, r := range rules {
			r.Table, r.Chain = table, chainRef(c.Name)
			s.rules = append(s.rules, r)
		}
	}
	sets, err := conn.GetSets(table)
	if err != nil {
		return nil, fmt.Errorf("list sets of table ip %s: %w", tableName, err)
	}
	for _, set := range sets {
		if set.Name != setName {
			continue
		}
		s.set = true
		elems, err := conn.GetSetElements(set)
		if err != nil {
			return nil, fmt.Errorf("list elements of set %s: %w", setName, err)
		}
		for _, e := range elems {
			s.bridges = append(s.bridges, strings.TrimRight(string(e.Key), "\x00"))
		}
	}
	return s, nil
}

// apply reads the table and sends ch as one batch: the table, chains and
// set are created if missing, the dropped rules deleted, the set updated,
// the new rules appended. If nothing would be left, the batch deletes the
// table instead.
func (f *Firewall) apply(ch change) error {
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	s, err := read(conn)
	if err != nil {
		return err
	}

	var del []*nftables.Rule
	kept := 0
	for _, r := range s.rules {
		if ch.drop != nil && ch.drop(tagOf(r.UserData)) {
			del = append(del, r)
		} else {
			kept++
		}
	}
	bridges := slices.DeleteFunc(slices.Clone(s.bridges), func(b string) bool { return b == ch.delBridge })
	addBridge := ch.addBridge != "" && !slices.Contains(bridges, ch.addBridge)
	if addBridge {
		bridges = append(bridges, ch.addBridge)
	}

	if kept+len(ch.add) == 0 && len(bridges) == 0 {
		if !s.table {
			return nil
		}
		conn.DelTable(table)
		if err := conn.Flush(); err != nil {
			return fmt.Errorf("delete table ip %s: %w", tableName, err)
		}
		return nil
	}
	if !addBridge && !slices.Contains(s.bridges, ch.delBridge) && sameRules(del, ch.add) {
		// Nothing to change: every container start ensures its network,
		// and a commit that replaces rules with equal ones costs the
		// kernel an RCU grace period (10–15 ms here).
		return nil
	}

	if !s.table {
		conn.AddTable(table)
	}
	for _, c := range baseChains() {
		if !s.chains[c.Name] {
			conn.AddChain(c)
		}
	}
	// Interface names are strings, host byte order for nft (which shows
	// them as "" without that).
	set := &nftables.Set{Table: table, Name: setName, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}
	if !s.set {
		if err := conn.AddSet(set, nil); err != nil {
			return fmt.Errorf("add set %s: %w", setName, err)
		}
	}
	for _, r := range del {
		if err := conn.DelRule(r); err != nil {
			return fmt.Errorf("delete rule %d of chain %s: %w", r.Handle, r.Chain.Name, err)
		}
	}
	if addBridge {
		if err := conn.SetAddElements(set, []nftables.SetElement{{Key: ifname(ch.addBridge)}}); err != nil {
			return fmt.Errorf("add %s to set %s: %w", ch.addBridge, setName, err)
		}
	}
	if ch.delBridge != "" && slices.Contains(s.bridges, ch.delBridge) {
		if err := conn.SetDeleteElements(set, []nftables.SetElement{{Key: ifname(ch.delBridge)}}); err != nil {
			return fmt.Errorf("delete %s from set %s: %w", ch.delBridge, setName, err)
		}
	}
	for _, r := range ch.add {
		for _, e := range r.Exprs {
			if l, ok := e.(*expr.Lookup); ok {
				l.SetID = set.ID // refers to the set if it is created in this batch
			}
		}
		conn.AddRule(r)
	}
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("update table ip %s: %w", tableName, err)
	}
	return nil
}

// sameRules reports whether the rules a and b are the same multiset: the
// same chain, tag and expressions (compared as the kernel receives them),
// in any order.
func sameRules(a, b []*nftables.Rule) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, r := range a {
		count[ruleKey(r)]++
	}
	for _, r := range b {
		k := ruleKey(r)
		if count[k] == 0 {
			return false
		}
		count[k]--
	}
	return true
}

// ruleKey is a rule's chain, tag and wire-encoded expressions. A lookup's
// set ID names a set created in the same batch and is not part of a rule
// read back from the kernel, so it is left out.
func ruleKey(r *nftables.Rule) string {
	var b strings.Builder
	b.WriteString(r.Chain.Name)
	b.WriteByte(0)
	b.WriteString(tagOf(r.UserData))
	for _, e := range r.Exprs {
		if l, ok := e.(*expr.Lookup); ok {
			c := *l
			c.SetID = 0
			e = &c
		}
		wire, err := expr.Marshal(byte(nftables.TableFamilyIPv4), e)
		if err != nil {
			// Never equal to anything: the rule is rewritten.
			return fmt.Sprintf("unencodable %p", r)
		}
		b.WriteByte(0)
		b.Write(wire)
	}
	return b.String()
}

// setRouteLocalnet sets net.ipv4.conf.BRIDGE.route_localnet to 1.
func setRouteLocalnet(bridge string) error {
	p := filepath.Join("/proc/sys/net/ipv4/conf", bridge, "route_localnet")
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("set route_localnet: no such device: %w: %w", errdefs.ErrNotFound, err)
		}
		return fmt.Errorf("set route_localnet: %w", err)
	}
	return nil
}
