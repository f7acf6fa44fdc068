package network

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

func TestPickSubnet(t *testing.T) {
	pools := DefaultPools()
	used := []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16"), netip.MustParsePrefix("172.18.5.0/24")}
	got, err := pickSubnet(pools, used)
	if err != nil || got != netip.MustParsePrefix("172.19.0.0/16") {
		t.Fatalf("pickSubnet = %v, %v; want 172.19.0.0/16", got, err)
	}
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	if _, err := pickSubnet(pools, all); err == nil {
		t.Fatal("pickSubnet found a subnet with everything used")
	}
	small := []Pool{{netip.MustParsePrefix("10.10.0.0/16"), 24}}
	if got, _ := pickSubnet(small, []netip.Prefix{netip.MustParsePrefix("10.10.0.0/24")}); got != netip.MustParsePrefix("10.10.1.0/24") {
		t.Fatalf("pickSubnet in a /16 of /24s = %v", got)
	}
}

func testStore(t *testing.T) *Store {
	dir := t.TempDir()
	s, err := New(dir, dir+"/run", Config{Pools: []Pool{{netip.MustParsePrefix("10.250.0.0/16"), 28}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAllocate(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	n, err := s.Create(ctx, "small", CreateOptions{Subnet: netip.MustParsePrefix("10.251.0.0/29")})
	if err != nil {
		t.Fatal(err)
	}
	if n.Gateway != netip.MustParseAddr("10.251.0.1") {
		t.Fatalf("gateway %v", n.Gateway)
	}
	// A /29 has 8 addresses: network, gateway and broadcast are not given.
	var got []netip.Addr
	for i := 0; i < 5; i++ {
		a, err := s.Allocate(ctx, n, string(rune('a'+i)), netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if got[0] != netip.MustParseAddr("10.251.0.2") || got[4] != netip.MustParseAddr("10.251.0.6") {
		t.Fatalf("allocated %v", got)
	}
	if _, err := s.Allocate(ctx, n, "f", netip.Addr{}); err == nil {
		t.Fatal("allocated from a full network")
	}
	if a, _ := s.Allocate(ctx, n, "c", netip.Addr{}); a != got[2] {
		t.Fatalf("an owner's second allocation = %v, want its own %v", a, got[2])
	}
	if err := s.Release(ctx, n, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allocate(ctx, n, "g", got[0]); err == nil {
		t.Fatal("--ip of a taken address succeeded")
	}
	if a, err := s.Allocate(ctx, n, "g", got[2]); err != nil || a != got[2] {
		t.Fatalf("--ip of a released address: %v, %v", a, err)
	}
	if _, err := s.Allocate(ctx, n, "h", netip.MustParseAddr("10.251.0.1")); err == nil {
		t.Fatal("the gateway was given out")
	}
}

func TestAllocateConcurrent(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	n, err := s.Create(ctx, "many", CreateOptions{Subnet: netip.MustParsePrefix("10.252.0.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[netip.Addr]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A new Store value per goroutine, as separate processes have.
			s2, _ := New(s.dir[:len(s.dir)-len("/networks")], s.run, s.cfg)
			a, err := s2.Allocate(ctx, n, string(rune(0x100+i)), netip.Addr{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil || seen[a] {
				t.Errorf("allocation %d: %v, %v (duplicate: %v)", i, a, err, seen[a])
			}
			seen[a] = true
		}()
	}
	wg.Wait()
}

func TestCreateChecks(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	a, err := s.Create(ctx, "a", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !netip.MustParsePrefix("10.250.0.0/16").Contains(a.Subnet.Addr()) || a.Subnet.Bits() != 28 {
		t.Fatalf("subnet from the pool: %v", a.Subnet)
	}
	b, err := s.Create(ctx, "b", CreateOptions{})
	if err != nil || b.Subnet == a.Subnet {
		t.Fatalf("second network: %v, %v", b.Subnet, err)
	}
	for name, o := range map[string]CreateOptions{
		"overlap":        {Subnet: a.Subnet},
		"gateway":        {Subnet: netip.MustParsePrefix("10.253.0.0/24"), Gateway: netip.MustParseAddr("10.254.0.1")},
		"range":          {Subnet: netip.MustParsePrefix("10.253.0.0/24"), IPRange: netip.MustParsePrefix("10.254.0.0/25")},
		"unknown option": {Options: map[string]string{"x": "y"}},
	} {
		if _, err := s.Create(ctx, "n-"+name, o); err == nil {
			t.Errorf("%s: created", name)
		}
	}
	if _, err := s.Create(ctx, "a", CreateOptions{}); err == nil {
		t.Fatal("duplicate name created")
	}
	if _, err := s.Create(ctx, "bad/name", CreateOptions{}); err == nil {
		t.Fatal("bad name created")
	}
}

func TestReservePorts(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	got, err := s.ReservePorts(ctx, "c1", []PortRequest{{HostPort: 18181, ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 53, Proto: "udp"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[1].HostPort < ephemeralLow {
		t.Fatalf("picked port %d", got[1].HostPort)
	}
	if _, err := s.ReservePorts(ctx, "c2", []PortRequest{{HostPort: 18181, ContainerPort: 8080, Proto: "tcp"}}); err == nil {
		t.Fatal("a reserved port was given twice")
	}
	if _, err := s.ReservePorts(ctx, "c2", []PortRequest{{HostPort: 18181, ContainerPort: 8080, Proto: "udp"}}); err != nil {
		t.Fatalf("same number, other protocol: %v", err)
	}
	if err := s.ReleasePorts(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReservePorts(ctx, "c3", []PortRequest{{HostPort: 18181, ContainerPort: 80, Proto: "tcp"}}); err != nil {
		t.Fatalf("released port: %v", err)
	}
}

// Releasing what an owner does not hold writes nothing (a --rm container's
// exit releases everything, most of it never taken).
func TestReleaseUnheldWritesNothing(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	n, err := s.Create(ctx, "n", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allocate(ctx, n, "a", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEndpoint(ctx, n, Endpoint{Container: "a", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReservePorts(ctx, "a", []PortRequest{{ContainerPort: 80, Proto: "tcp"}}); err != nil {
		t.Fatal(err)
	}
	files := []string{s.path(n.ID, "ipam.json"), s.path(n.ID, "endpoints.json"), filepath.Join(s.dir, "ports.json")}
	inode := func(p string) uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	var before []uint64
	for _, f := range files {
		before = append(before, inode(f))
	}
	if err := errors.Join(s.Release(ctx, n, "b"), s.RemoveEndpoint(ctx, n, "b"), s.ReleasePorts(ctx, "b")); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if inode(f) != before[i] {
			t.Errorf("%s was rewritten for an owner that holds nothing in it", filepath.Base(f))
		}
	}
	if err := errors.Join(s.Release(ctx, n, "a"), s.RemoveEndpoint(ctx, n, "a"), s.ReleasePorts(ctx, "a")); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if inode(f) == before[i] {
			t.Errorf("%s was not rewritten when its owner released", filepath.Base(f))
		}
	}
}

// endpoints.json is written without fsync; the empty file a crash can
// leave reads as no endpoints, and the next start records its own.
func TestEndpointsAfterCrash(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	n, err := s.Create(ctx, "n", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.EndpointsPath(n), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if eps, err := s.Endpoints(n); err != nil || len(eps) != 0 {
		t.Fatalf("endpoints of an empty file: %v, %v", eps, err)
	}
	if err := s.SetEndpoint(ctx, n, Endpoint{Container: "a", Name: "a", Running: true}); err != nil {
		t.Fatal(err)
	}
	if eps, err := s.Endpoints(n); err != nil || !eps["a"].Running {
		t.Fatalf("endpoints after a start: %v, %v", eps, err)
	}
}
