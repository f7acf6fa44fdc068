//go:build linux

package firewall

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

// Each test that touches the kernel runs in a network namespace of its own
// (see env), flushes berth's table there at start and in Cleanup, and does
// not run in parallel.

func TestUserDataRoundTrip(t *testing.T) {
	for _, tag := range []string{"a", "net:berth0", strings.Repeat("f", 64)} {
		if got := tagOf(userData(tag)); got != tag {
			t.Errorf("tagOf(userData(%q)) = %q", tag, got)
		}
	}
	if got := tagOf([]byte{1, 2, 'x', 'y', 0, 3, 'a', 'b', 0}); got != "ab" {
		t.Errorf("tagOf after another TLV = %q, want ab", got)
	}
	if got := tagOf([]byte{0, 9, 'x'}); got != "" {
		t.Errorf("tagOf of truncated data = %q, want empty", got)
	}
}

func TestInvalidArguments(t *testing.T) {
	f, err := New(filepath.Join(t.TempDir(), "fw.lock"))
	if err != nil {
		t.Fatal(err)
	}
	cip := netip.MustParseAddr("10.0.0.2")
	tests := []struct {
		name string
		call func() error
	}{
		{"empty bridge", func() error { return f.EnsureNetwork(Network{Subnet: netip.MustParsePrefix("10.0.0.0/24")}) }},
		{"long bridge", func() error {
			return f.EnsureNetwork(Network{Bridge: "abcdefghijklmnop", Subnet: netip.MustParsePrefix("10.0.0.0/24")})
		}},
		{"bridge with slash", func() error {
			return f.EnsureNetwork(Network{Bridge: "../x", Subnet: netip.MustParsePrefix("10.0.0.0/24")})
		}},
		{"no subnet", func() error { return f.EnsureNetwork(Network{Bridge: "b0"}) }},
		{"ipv6 subnet", func() error {
			return f.EnsureNetwork(Network{Bridge: "b0", Subnet: netip.MustParsePrefix("fd00::/64")})
		}},
		{"remove bad bridge", func() error { return f.RemoveNetwork("a/b") }},
		{"empty owner", func() error { return f.AddPorts("", nil) }},
		{"net owner", func() error { return f.AddPorts("net:b0", nil) }},
		{"owner with quote", func() error { return f.RemovePorts(`a"b`) }},
		{"bad proto", func() error {
			return f.AddPorts("c", []Mapping{{HostPort: 80, Proto: "sctp", ContainerIP: cip, ContainerPort: 80}})
		}},
		{"port 0", func() error {
			return f.AddPorts("c", []Mapping{{HostPort: 0, Proto: "tcp", ContainerIP: cip, ContainerPort: 80}})
		}},
		{"no container ip", func() error {
			return f.AddPorts("c", []Mapping{{HostPort: 80, Proto: "tcp", ContainerPort: 80}})
		}},
		{"ipv6 host ip", func() error {
			return f.AddPorts("c", []Mapping{{HostIP: netip.MustParseAddr("::1"), HostPort: 80, Proto: "tcp", ContainerIP: cip, ContainerPort: 80}})
		}},
		{"host port twice", func() error {
			return f.AddPorts("c", []Mapping{
				{HostPort: 80, Proto: "tcp", ContainerIP: cip, ContainerPort: 80},
				{HostPort: 80, Proto: "tcp", ContainerIP: cip, ContainerPort: 81},
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("got %v, want an invalid argument error", err)
			}
		})
	}
}

func TestPublishedPort(t *testing.T) {
	e := newEnv(t)
	f := e.f
	fx := newBridgeNet(t)
	port := freePort(t)
	n := Network{Bridge: fx.bridge, Subnet: fx.subnet}

	if err := f.EnsureNetwork(n); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + fx.bridge + "/route_localnet"); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Errorf("route_localnet of %s = %q, %v; want 1", fx.bridge, b, err)
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	m := Mapping{HostIP: loopback, HostPort: port, Proto: "tcp", ContainerIP: fx.peer, ContainerPort: 80}
	if err := f.AddPorts("c1", []Mapping{m}); err != nil {
		t.Fatal(err)
	}
	out := e.nftList(t)
	t.Logf("after AddPorts:\n%s", out)
	want := fmt.Sprintf("fib daddr type local ip daddr 127.0.0.1 tcp dport %d dnat to %s:80", port, fx.peer)
	if c := strings.Count(out, want); c != 2 {
		t.Errorf("%d rules %q, want 2 (prerouting and output)", c, want)
	}
	if c := strings.Count(out, `comment "c1"`); c != 2 {
		t.Errorf("%d rules of c1, want 2", c)
	}
	mustGet(t, netip.AddrPortFrom(loopback, port))
	mustFail(t, netip.AddrPortFrom(fx.gw, port)) // published on 127.0.0.1 only

	// Again: replaced, not duplicated.
	if err := f.AddPorts("c1", []Mapping{m, m}); err != nil {
		t.Fatal(err)
	}
	if c := strings.Count(e.nftList(t), `comment "c1"`); c != 2 {
		t.Errorf("%d rules of c1 after a second AddPorts, want 2", c)
	}

	// Every local address, TCP and UDP.
	all := []Mapping{
		{HostPort: port, Proto: "tcp", ContainerIP: fx.peer, ContainerPort: 80},
		{HostPort: port, Proto: "udp", ContainerIP: fx.peer, ContainerPort: 80},
	}
	if err := f.AddPorts("c1", all); err != nil {
		t.Fatal(err)
	}
	out = e.nftList(t)
	if c := strings.Count(out, `comment "c1"`); c != 4 {
		t.Errorf("%d rules of c1, want 4:\n%s", c, out)
	}
	if strings.Contains(out, "ip daddr 127.0.0.1") {
		t.Errorf("rule for 127.0.0.1 left after replacing:\n%s", out)
	}
	mustGet(t, netip.AddrPortFrom(fx.gw, port))
	mustGet(t, netip.AddrPortFrom(loopback, port))
	if got, err := getUDP(netip.AddrPortFrom(loopback, port)); err != nil || got != "hello\n" {
		t.Errorf("udp via 127.0.0.1:%d: %q, %v", port, got, err)
	}
	if owners, err := f.Owners(); err != nil || !slices.Equal(owners, []string{"c1"}) {
		t.Errorf("Owners() = %v, %v; want [c1]", owners, err)
	}

	if err := f.RemovePorts("c1"); err != nil {
		t.Fatal(err)
	}
	if err := f.RemovePorts("c1"); err != nil {
		t.Fatalf("RemovePorts again: %v", err)
	}
	out = e.nftList(t)
	if strings.Contains(out, `"c1"`) || strings.Contains(out, "dnat") {
		t.Errorf("c1's rules left after RemovePorts:\n%s", out)
	}
	mustFail(t, netip.AddrPortFrom(loopback, port))
	mustFail(t, netip.AddrPortFrom(fx.gw, port))
	if owners, err := f.Owners(); err != nil || len(owners) != 0 {
		t.Errorf("Owners() = %v, %v; want none", owners, err)
	}

	if err := f.RemoveNetwork(fx.bridge); err != nil {
		t.Fatal(err)
	}
	if e.tablePresent(t) {
		t.Errorf("table left after removing everything:\n%s", e.nftList(t))
	}
}

// TestPublishedPortFromOutside reaches a published port from another host,
// a namespace routed through the host: the prerouting rule.
func TestPublishedPortFromOutside(t *testing.T) {
	e := newEnv(t)
	f := e.f
	fx := newBridgeNet(t)
	client := newRoutedNS(t)
	port := freePort(t)

	if err := f.EnsureNetwork(Network{Bridge: fx.bridge, Subnet: fx.subnet}); err != nil {
		t.Fatal(err)
	}
	if err := f.AddPorts("c1", []Mapping{{HostPort: port, Proto: "tcp", ContainerIP: fx.peer, ContainerPort: 80}}); err != nil {
		t.Fatal(err)
	}
	target := netip.AddrPortFrom(client.gw, port) // the host's address facing the client
	var got string
	err := retry(func() (err error) {
		got, err = inNS(client.ns, func() (string, error) { return get(target) })
		return err
	})
	if err != nil || got != "hello\n" {
		t.Fatalf("from outside to %s: %q, %v", target, got, err)
	}
	if err := f.RemovePorts("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := inNS(client.ns, func() (string, error) { return get(target) }); err == nil {
		t.Errorf("from outside to %s: answered after RemovePorts", target)
	}
}

func TestIsolation(t *testing.T) {
	e := newEnv(t)
	f := e.f
	a, b := newBridgeNet(t), newBridgeNet(t)
	aToB := func() error {
		_, err := inNS(a.ns, func() (string, error) { return get(netip.AddrPortFrom(b.peer, 80)) })
		return err
	}
	if err := retry(aToB); err != nil {
		t.Fatalf("fixture: %s cannot reach %s before any rule: %v", a.bridge, b.bridge, err)
	}

	for _, fx := range []*fixture{a, b} {
		if err := f.EnsureNetwork(Network{Bridge: fx.bridge, Subnet: fx.subnet}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.EnsureNetwork(Network{Bridge: a.bridge, Subnet: a.subnet}); err != nil { // idempotent
		t.Fatal(err)
	}
	out := e.nftList(t)
	t.Logf("two networks:\n%s", out)
	for _, fx := range []*fixture{a, b} {
		for _, want := range []string{
			fmt.Sprintf(`iifname "%s" oifname != "%s" oifname @bridges drop comment "net:%s"`, fx.bridge, fx.bridge, fx.bridge),
			fmt.Sprintf(`ip saddr %s oifname != "%s" masquerade comment "net:%s"`, fx.subnet, fx.bridge, fx.bridge),
			fmt.Sprintf(`ip saddr 127.0.0.0/8 oifname "%s" masquerade comment "net:%s"`, fx.bridge, fx.bridge),
		} {
			if c := strings.Count(out, want); c != 1 {
				t.Errorf("%d rules %q, want 1", c, want)
			}
		}
	}
	if got := e.setElements(t); !slices.Equal(got, sorted(a.bridge, b.bridge)) {
		t.Errorf("set bridges = %v, want %v", got, sorted(a.bridge, b.bridge))
	}
	if aToB() == nil {
		t.Errorf("%s reaches %s across berth networks", a.bridge, b.bridge)
	}

	if err := f.RemoveNetwork(b.bridge); err != nil {
		t.Fatal(err)
	}
	out = e.nftList(t)
	if strings.Contains(out, `"`+b.bridge+`"`) {
		t.Errorf("rules of %s left after RemoveNetwork:\n%s", b.bridge, out)
	}
	if got := e.setElements(t); !slices.Equal(got, []string{a.bridge}) {
		t.Errorf("set bridges = %v, want [%s]", got, a.bridge)
	}
	if err := aToB(); err != nil {
		t.Errorf("%s cannot reach %s, which is no longer a berth network: %v", a.bridge, b.bridge, err)
	}
	if err := f.RemoveNetwork(b.bridge); err != nil {
		t.Fatalf("RemoveNetwork again: %v", err)
	}
	if err := f.RemoveNetwork(a.bridge); err != nil {
		t.Fatal(err)
	}
	if e.tablePresent(t) {
		t.Errorf("table left after removing every network:\n%s", e.nftList(t))
	}
}

func TestInternalNetwork(t *testing.T) {
	e := newEnv(t)
	f := e.f
	fx := newBridgeNet(t)
	client := newRoutedNS(t)
	fromClient := func() error {
		_, err := inNS(client.ns, func() (string, error) { return get(netip.AddrPortFrom(fx.peer, 80)) })
		return err
	}
	if err := retry(fromClient); err != nil {
		t.Fatalf("fixture: the routed namespace cannot reach %s before any rule: %v", fx.peer, err)
	}

	// A network made internal replaces its outbound NAT with drop rules.
	if err := f.EnsureNetwork(Network{Bridge: fx.bridge, Subnet: fx.subnet}); err != nil {
		t.Fatal(err)
	}
	if err := f.EnsureNetwork(Network{Bridge: fx.bridge, Subnet: fx.subnet, Internal: true}); err != nil {
		t.Fatal(err)
	}
	out := e.nftList(t)
	t.Logf("internal network:\n%s", out)
	br := fx.bridge
	for _, want := range []string{
		fmt.Sprintf(`iifname "%s" oifname != "%s" drop comment "net:%s"`, br, br, br),
		fmt.Sprintf(`oifname "%s" iifname != "%s" drop comment "net:%s"`, br, br, br),
		fmt.Sprintf(`iifname "%s" oifname != "%s" oifname @bridges drop comment "net:%s"`, br, br, br),
		fmt.Sprintf(`ip saddr 127.0.0.0/8 oifname "%s" masquerade comment "net:%s"`, br, br),
	} {
		if c := strings.Count(out, want); c != 1 {
			t.Errorf("%d rules %q, want 1", c, want)
		}
	}
	if strings.Contains(out, "ip saddr "+fx.subnet.String()) {
		t.Errorf("outbound masquerade of an internal network:\n%s", out)
	}
	if fromClient() == nil {
		t.Errorf("a routed host reaches a container of internal network %s", br)
	}
}

// Every container start ensures its network: when the rules are already in
// place, nothing is rewritten (same rule handles); a changed network is.
func TestEnsureNetworkUnchanged(t *testing.T) {
	e := newEnv(t)
	f := e.f
	fx := newBridgeNet(t)
	handles := func() []uint64 {
		t.Helper()
		conn, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		s, err := read(conn)
		if err != nil {
			t.Fatal(err)
		}
		var hs []uint64
		for _, r := range s.rules {
			hs = append(hs, r.Handle)
		}
		return hs
	}
	n := Network{Bridge: fx.bridge, Subnet: fx.subnet}
	if err := f.EnsureNetwork(n); err != nil {
		t.Fatal(err)
	}
	first := handles()
	if len(first) == 0 {
		t.Fatal("no rules after EnsureNetwork")
	}
	if err := f.EnsureNetwork(n); err != nil {
		t.Fatal(err)
	}
	if again := handles(); !slices.Equal(again, first) {
		t.Errorf("the same network was rewritten: handles %v, then %v", first, again)
	}
	n.Internal = true
	if err := f.EnsureNetwork(n); err != nil {
		t.Fatal(err)
	}
	if changed := handles(); slices.Equal(changed, first) {
		t.Errorf("the network made internal kept its rules %v", first)
	}
	if list := e.nftList(t); strings.Contains(list, "masquerade") && !strings.Contains(list, "127.0.0.0/8") {
		t.Errorf("internal network's rules:\n%s", list)
	}
}

func TestEnsureNetworkMissingBridge(t *testing.T) {
	e := newEnv(t)
	f := e.f
	err := f.EnsureNetwork(Network{Bridge: "bfwtmissing", Subnet: netip.MustParsePrefix("10.199.0.0/24")})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("got %v, want a not found error", err)
	}
	if e.tablePresent(t) {
		t.Error("table created for a missing bridge")
	}
}

func TestConcurrentOwners(t *testing.T) {
	e := newEnv(t)
	f := e.f
	const n = 10
	cip := netip.MustParseAddr("10.199.255.2")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ms := []Mapping{{HostPort: uint16(28000 + i), Proto: "tcp", ContainerIP: cip, ContainerPort: 80}}
			_, errs[i] = inNS(e.ns, func() (struct{}, error) {
				return struct{}{}, f.AddPorts(fmt.Sprintf("owner%d", i), ms)
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	owners, err := f.Owners()
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != n {
		t.Fatalf("Owners() = %v, want %d owners", owners, n)
	}
	out := e.nftList(t)
	for i := range n {
		if c := strings.Count(out, fmt.Sprintf(`comment "owner%d"`, i)); c != 2 {
			t.Errorf("owner%d has %d rules, want 2", i, c)
		}
	}
	for i := range n {
		wg.Go(func() {
			_, errs[i] = inNS(e.ns, func() (struct{}, error) {
				return struct{}{}, f.RemovePorts(fmt.Sprintf("owner%d", i))
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if owners, err := f.Owners(); err != nil || len(owners) != 0 {
		t.Errorf("Owners() = %v, %v; want none", owners, err)
	}
	if e.tablePresent(t) {
		t.Errorf("table left:\n%s", e.nftList(t))
	}
}

// TestConcurrentProcesses runs berth-like processes (this test binary) that
// change the table at the same time as this one, serialized by the file lock.
func TestConcurrentProcesses(t *testing.T) {
	e := newEnv(t)
	f := e.f
	const procs, rounds = 4, 10
	var wg sync.WaitGroup
	errs := make([]error, procs+1)
	for p := range procs {
		wg.Go(func() {
			cmd := exec.Command("ip", "netns", "exec", e.name, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "BERTH_FWTEST_LOCK="+f.lockPath, "BERTH_FWTEST_ID="+strconv.Itoa(p))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[p] = fmt.Errorf("helper %d: %v\n%s", p, err, out)
			}
		})
	}
	wg.Go(func() {
		_, errs[procs] = inNS(e.ns, func() (struct{}, error) { return struct{}{}, churn(f, procs, rounds) })
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	owners, err := f.Owners()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for p := range procs + 1 {
		want = append(want, fmt.Sprintf("proc%d", p))
	}
	if !slices.Equal(owners, want) {
		t.Fatalf("Owners() = %v, want %v", owners, want)
	}
	out := e.nftList(t)
	for _, o := range want {
		if c := strings.Count(out, `comment "`+o+`"`); c != 4 {
			t.Errorf("%s has %d rules, want 4", o, c)
		}
	}
	for _, o := range want {
		if err := f.RemovePorts(o); err != nil {
			t.Fatal(err)
		}
	}
	if e.tablePresent(t) {
		t.Errorf("table left:\n%s", e.nftList(t))
	}
}

// TestHelperProcess is the body of TestConcurrentProcesses's helpers.
func TestHelperProcess(t *testing.T) {
	lock, id := os.Getenv("BERTH_FWTEST_LOCK"), os.Getenv("BERTH_FWTEST_ID")
	if lock == "" {
		t.Skip("helper of TestConcurrentProcesses")
	}
	f, err := New(lock)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(id)
	if err := churn(f, p, 10); err != nil {
		t.Fatal(err)
	}
}

// churn adds and removes the two ports of owner procP, leaving them added.
func churn(f *Firewall, p, rounds int) error {
	owner := fmt.Sprintf("proc%d", p)
	cip := netip.MustParseAddr("10.199.254.2")
	ms := []Mapping{
		{HostPort: uint16(29000 + 2*p), Proto: "tcp", ContainerIP: cip, ContainerPort: 80},
		{HostPort: uint16(29001 + 2*p), Proto: "udp", ContainerIP: cip, ContainerPort: 53},
	}
	for range rounds {
		if err := f.AddPorts(owner, ms); err != nil {
			return err
		}
		if err := f.RemovePorts(owner); err != nil {
			return err
		}
	}
	return f.AddPorts(owner, ms)
}

// Fixtures.

// env is a test's host: a network namespace of its own that the test
// goroutine is locked into, so that berth's table, the bridges and the
// sysctls of the test are not the real host's (where berth itself may be
// running) and all go with the namespace even if cleanup fails half-way.
// Goroutines that touch the table must enter it with inNS; commands run in
// it with `ip netns exec`.
type env struct {
	f    *Firewall
	name string // under /run/netns
	ns   netns.NsHandle
}

// newEnv skips unless root with nftables, moves the test goroutine into a
// new namespace with lo up and IPv4 forwarding on, and returns a Firewall
// on an empty table that is flushed again at the end.
func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft(8) to inspect the table")
	}
	e := &env{name: "berth-fwtest-" + randomHex(8)}
	e.ns = newNamedNS(t, e.name)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	if err := netns.Set(e.ns); err != nil {
		orig.Close()
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	t.Cleanup(func() { // runs after every later cleanup
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // otherwise the thread ends with the test
		}
		orig.Close()
	})
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	conn, err := nftables.New()
	if err == nil {
		_, err = conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	}
	if err != nil {
		t.Skipf("nftables unavailable: %v", err)
	}
	if e.f, err = New(filepath.Join(t.TempDir(), "firewall.lock")); err != nil {
		t.Fatal(err)
	}
	if err := e.f.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.f.Flush(); err != nil {
			t.Errorf("flush at cleanup: %v", err)
		}
	})
	return e
}

// fixture is a bridge on the host (gw) with one veth into a namespace
// (peer) where a server answers "hello\n" on TCP and UDP port 80; or, from
// newRoutedNS, a namespace behind a plain veth pair routed by the host.
type fixture struct {
	ns       netns.NsHandle
	bridge   string
	subnet   netip.Prefix
	gw, peer netip.Addr
}

var usedSubnets sync.Map // third octets taken by this test process

// freeSubnet picks 10.199.X.0/24 that no route or address of the host overlaps.
func freeSubnet(t *testing.T) netip.Prefix {
	t.Helper()
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var taken []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok && ones > 0 {
			taken = append(taken, netip.PrefixFrom(a, ones))
		}
	}
	for _, a := range addrs {
		ones, _ := a.Mask.Size()
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok {
			taken = append(taken, netip.PrefixFrom(ip, ones).Masked())
		}
	}
	for range 50 {
		x := 1 + rand.IntN(250)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 199, byte(x), 0}), 24)
		if slices.ContainsFunc(taken, p.Overlaps) {
			continue
		}
		if _, loaded := usedSubnets.LoadOrStore(x, true); loaded {
			continue
		}
		t.Cleanup(func() { usedSubnets.Delete(x) })
		return p
	}
	t.Skip("no free 10.199.X.0/24 on this host")
	return netip.Prefix{}
}

func randomHex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rand.IntN(16)]
	}
	return string(b)
}

// newNS makes a network namespace, removed at cleanup.
func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	return newNamedNS(t, "berth-fwtest-"+randomHex(8))
}

// newNamedNS makes the network namespace /run/netns/name, removed at cleanup.
func newNamedNS(t *testing.T, name string) netns.NsHandle {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// newVeth makes a veth pair hostName/peerName with the peer in ns,
// addressed peer/subnet with a default route via gw, loopback up. The host
// end is deleted at cleanup.
func newVeth(t *testing.T, ns netns.NsHandle, hostName, peerName string, master int, subnet netip.Prefix, gw, peer netip.Addr) netlink.Link {
	t.Helper()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName, MasterIndex: master}, PeerName: peerName}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("add veth %s: %v", hostName, err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(hostName); err == nil {
			netlink.LinkDel(l)
		}
	})
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		t.Fatal(err)
	}
	p, err := netlink.LinkByName(peerName)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetNsFd(p, int(ns)); err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err = h.LinkByName(peerName)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(p, &netlink.Addr{IPNet: ipNet(peer, subnet.Bits())}); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(p); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: p.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
		t.Fatalf("add default route via %s: %v", gw, err)
	}
	return host
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, 32)}
}

// newBridgeNet builds bfwtXXXX with .1 of a free subnet and a namespace at
// .2 running the hello server.
func newBridgeNet(t *testing.T) *fixture {
	t.Helper()
	subnet := freeSubnet(t)
	id := randomHex(4)
	fx := &fixture{
		ns:     newNS(t),
		bridge: "bfwt" + id,
		subnet: subnet,
		gw:     subnet.Addr().Next(),
	}
	fx.peer = fx.gw.Next()
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: fx.bridge}}); err != nil {
		t.Fatalf("add bridge %s: %v", fx.bridge, err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(fx.bridge); err == nil {
			netlink.LinkDel(l)
		}
	})
	br, err := netlink.LinkByName(fx.bridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: ipNet(fx.gw, subnet.Bits())}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	host := newVeth(t, fx.ns, "vfwt"+id, "vfwp"+id, br.Attrs().Index, subnet, fx.gw, fx.peer)
	if err := netlink.LinkSetUp(host); err != nil {
		t.Fatal(err)
	}
	serveHello(t, fx.ns)
	// The host reaches the container directly.
	if err := retry(func() error { _, err := get(netip.AddrPortFrom(fx.peer, 80)); return err }); err != nil {
		t.Fatalf("fixture: the host cannot reach %s:80: %v", fx.peer, err)
	}
	return fx
}

// newRoutedNS builds a namespace behind a plain veth pair (no bridge, not
// berth's), .2 of a free subnet, routed by the host at .1.
func newRoutedNS(t *testing.T) *fixture {
	t.Helper()
	subnet := freeSubnet(t)
	id := randomHex(4)
	fx := &fixture{ns: newNS(t), subnet: subnet, gw: subnet.Addr().Next()}
	fx.peer = fx.gw.Next()
	host := newVeth(t, fx.ns, "vfwc"+id, "vfwq"+id, 0, subnet, fx.gw, fx.peer)
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: ipNet(fx.gw, subnet.Bits())}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		t.Fatal(err)
	}
	return fx
}

// inNS runs fn on a thread in ns. The sockets fn makes stay in ns.
func inNS[T any](ns netns.NsHandle, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		v, err := fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // otherwise the thread ends with the goroutine
		}
		done <- result{v, err}
	}()
	r := <-done
	return r.v, r.err
}

// serveHello answers "hello\n" to every TCP connection and UDP datagram on
// port 80 in ns until cleanup.
func serveHello(t *testing.T, ns netns.NsHandle) {
	t.Helper()
	type socks struct {
		ln net.Listener
		pc net.PacketConn
	}
	s, err := inNS(ns, func() (socks, error) {
		ln, err := net.Listen("tcp4", "0.0.0.0:80")
		if err != nil {
			return socks{}, err
		}
		pc, err := net.ListenPacket("udp4", "0.0.0.0:80")
		if err != nil {
			ln.Close()
			return socks{}, err
		}
		return socks{ln, pc}, nil
	})
	if err != nil {
		t.Fatalf("listen in namespace: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		s.ln.Close()
		s.pc.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello\n"))
			c.Close()
		}
	})
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			_, addr, err := s.pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.pc.WriteTo([]byte("hello\n"), addr)
		}
	})
}

// freePort returns a port from 18080 up that nothing on the host listens on.
func freePort(t *testing.T) uint16 {
	t.Helper()
	for p := 18080; p < 18180; p++ {
		ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		pc, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", p))
		if err != nil {
			continue
		}
		pc.Close()
		return uint16(p)
	}
	t.Skip("no free port from 18080")
	return 0
}

// retry runs fn until it succeeds or 10s have passed, and returns its last
// error. New links carry traffic only once the kernel's linkwatch has
// activated them, up to a second after they are set up; until then packets
// are dropped.
func retry(fn func() error) error {
	start := time.Now()
	for {
		err := fn()
		if err == nil || time.Since(start) > 10*time.Second {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get connects to addr and returns what it says.
func get(addr netip.AddrPort) (string, error) {
	c, err := net.DialTimeout("tcp4", addr.String(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func getUDP(addr netip.AddrPort) (string, error) {
	c, err := net.DialTimeout("udp4", addr.String(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("hi")); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

func mustGet(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	if got, err := get(addr); err != nil || got != "hello\n" {
		t.Errorf("get %s: %q, %v; want hello", addr, got, err)
	}
}

func mustFail(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	if got, err := get(addr); err == nil {
		t.Errorf("get %s: answered %q, want a failure", addr, got)
	}
}

// nftList is `nft list table ip berth` in the test's host namespace, or "" if there is no table.
func (e *env) nftList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", e.name, "nft", "list", "table", "ip", tableName).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No such file or directory") {
			return ""
		}
		t.Fatalf("nft list table ip %s: %v: %s", tableName, err, out)
	}
	return string(out)
}

func (e *env) tablePresent(t *testing.T) bool {
	t.Helper()
	return e.nftList(t) != ""
}

// setElements returns the sorted elements of the set bridges.
func (e *env) setElements(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", e.name, "nft", "list", "set", "ip", tableName, setName).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list set: %v: %s", err, out)
	}
	s := string(out)
	i := strings.Index(s, "elements = {")
	if i < 0 {
		return nil
	}
	s = s[i+len("elements = {"):]
	s = s[:strings.Index(s, "}")]
	var els []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		els = append(els, strings.Trim(f, `"`))
	}
	slices.Sort(els)
	return els
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
