package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"berth.dev/berth/internal/errdefs"
)

// fakeUpstream is a resolver on 127.0.0.1 (UDP and TCP, one port) that knows
//
//	upstream.example.      A 10.1.2.3
//	big.example.           truncated over UDP; A 10.9.0.1-3 over TCP
//	*.in-addr.arpa.        PTR upstream-ptr.example.
//
// and answers NXDOMAIN for everything else, or SERVFAIL for everything when
// servfail is set.
type fakeUpstream struct {
	addr     string
	servfail bool

	mu      sync.Mutex
	queries map[string]int // "udp big.example." → count
}

func newUpstream(t testing.TB, servfail bool) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{servfail: servfail, queries: map[string]int{}}
	var pc *net.UDPConn
	var ln *net.TCPListener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: pc.LocalAddr().(*net.UDPAddr).Port})
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 10 {
			t.Fatal(err)
		}
	}
	u.addr = pc.LocalAddr().String()
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: u}, {Listener: ln, Handler: u}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			_ = srv.Shutdown()
			<-done
		})
	}
	return u
}

func (u *fakeUpstream) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	if len(req.Question) != 1 {
		_ = w.WriteMsg(new(mdns.Msg).SetRcodeFormatError(req))
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	u.mu.Lock()
	u.queries[map[bool]string{true: "udp", false: "tcp"}[udp]+" "+name]++
	u.mu.Unlock()

	resp := new(mdns.Msg).SetReply(req)
	resp.RecursionAvailable = true
	switch {
	case u.servfail:
		resp.Rcode = mdns.RcodeServerFailure
	case name == "upstream.example." && q.Qtype == mdns.TypeA:
		resp.Answer = append(resp.Answer, aRecord(q.Name, "10.1.2.3", 60))
	case name == "upstream.example.":
	case name == "big.example." && udp:
		resp.Truncated = true
	case name == "big.example.":
		for _, ip := range []string{"10.9.0.1", "10.9.0.2", "10.9.0.3"} {
			resp.Answer = append(resp.Answer, aRecord(q.Name, ip, 60))
		}
	case strings.HasSuffix(name, ".in-addr.arpa.") && q.Qtype == mdns.TypePTR:
		resp.Answer = append(resp.Answer, &mdns.PTR{
			Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypePTR, Class: mdns.ClassINET, Ttl: 60},
			Ptr: "upstream-ptr.example.",
		})
	default:
		resp.Rcode = mdns.RcodeNameError
	}
	_ = w.WriteMsg(resp)
}

func (u *fakeUpstream) count(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.queries[key]
}

func aRecord(name, ip string, ttl uint32) *mdns.A {
	return &mdns.A{
		Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: ttl},
		A:   net.ParseIP(ip).To4(),
	}
}

// deadAddr returns a loopback UDP/TCP address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// blackhole returns a loopback UDP address that takes queries and never
// answers.
func blackhole(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func staticRecords(table map[string][]netip.Addr) Records {
	return func() map[string][]netip.Addr { return table }
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

var testRecords = map[string][]netip.Addr{
	"web":       addrs("10.0.0.2"),
	"web.mynet": addrs("10.0.0.2"),
	"multi":     addrs("10.0.0.3", "10.0.0.4", "fd00::4"),
	"v6":        addrs("fd00::6"),
}

// startServer listens on a free loopback port and serves until the test
// ends.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func query(t testing.TB, network, addr, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	resp, err := exchange(network, addr, name, qtype)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, mdns.TypeToString[qtype], network, err)
	}
	return resp
}

func exchange(network, addr, name string, qtype uint16) (*mdns.Msg, error) {
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
	req := new(mdns.Msg).SetQuestion(name, qtype)
	resp, _, err := c.Exchange(req, addr)
	if err == nil && resp.Id != req.Id {
		err = fmt.Errorf("answer has id %d, query %d", resp.Id, req.Id)
	}
	return resp, err
}

// answers returns the data of resp's answers, as "A 10.0.0.2".
func answers(resp *mdns.Msg) []string {
	var out []string
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *mdns.A:
			out = append(out, "A "+rr.A.String())
		case *mdns.AAAA:
			out = append(out, "AAAA "+rr.AAAA.String())
		case *mdns.PTR:
			out = append(out, "PTR "+rr.Ptr)
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

func wantAnswer(t *testing.T, resp *mdns.Msg, rcode int, want ...string) {
	t.Helper()
	if resp.Rcode != rcode {
		t.Fatalf("rcode %s, want %s\n%v", mdns.RcodeToString[resp.Rcode], mdns.RcodeToString[rcode], resp)
	}
	if got := answers(resp); !slices.Equal(got, want) {
		t.Fatalf("answers %q, want %q", got, want)
	}
}

func TestLocalNames(t *testing.T) {
	s := startServer(t, Config{Records: staticRecords(testRecords)})
	tests := []struct {
		name  string
		qname string
		qtype uint16
		want  []string
	}{
		{"a", "web.", mdns.TypeA, []string{"A 10.0.0.2"}},
		{"upper case", "WEB.", mdns.TypeA, []string{"A 10.0.0.2"}},
		{"mixed case network name", "Web.MyNet.", mdns.TypeA, []string{"A 10.0.0.2"}},
		{"several addresses in order", "multi.", mdns.TypeA, []string{"A 10.0.0.3", "A 10.0.0.4"}},
		{"aaaa on ipv4 only name", "web.", mdns.TypeAAAA, nil},
		{"aaaa on dual stack name", "multi.", mdns.TypeAAAA, []string{"AAAA fd00::4"}},
		{"a on ipv6 only name", "v6.", mdns.TypeA, nil},
		{"mx", "web.", mdns.TypeMX, nil},
		{"txt", "web.mynet.", mdns.TypeTXT, nil},
		{"any", "multi.", mdns.TypeANY, []string{"A 10.0.0.3", "A 10.0.0.4", "AAAA fd00::4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := query(t, "udp", s.Addr(), tc.qname, tc.qtype)
			wantAnswer(t, resp, mdns.RcodeSuccess, tc.want...)
			if !resp.Authoritative || !resp.RecursionAvailable {
				t.Errorf("aa=%v ra=%v, want both set", resp.Authoritative, resp.RecursionAvailable)
			}
			for _, rr := range resp.Answer {
				if rr.Header().Ttl != 600 || rr.Header().Name != tc.qname {
					t.Errorf("answer %v: want ttl 600 and owner %s", rr, tc.qname)
				}
			}
		})
	}
}

// TestLookupIgnoresTrailingDot calls the handler directly: miekg/dns does not
// send a name without its trailing dot.
func TestLookupIgnoresTrailingDot(t *testing.T) {
	s, err := Listen(Config{Addr: "127.0.0.1:0", Records: staticRecords(testRecords)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"web", "WEB", "web.", "Web.MyNet"} {
		req := new(mdns.Msg)
		req.Id = 7
		req.Question = []mdns.Question{{Name: name, Qtype: mdns.TypeA, Qclass: mdns.ClassINET}}
		resp := s.answer(t.Context(), req)
		wantAnswer(t, resp, mdns.RcodeSuccess, "A 10.0.0.2")
	}
}

func TestTTL(t *testing.T) {
	s := startServer(t, Config{Records: staticRecords(testRecords), TTL: 30 * time.Second})
	resp := query(t, "udp", s.Addr(), "web.", mdns.TypeA)
	if len(resp.Answer) != 1 || resp.Answer[0].Header().Ttl != 30 {
		t.Fatalf("answer %v, want one with ttl 30", resp.Answer)
	}
}

func TestRecordsChangeAtOnce(t *testing.T) {
	var table atomic.Pointer[map[string][]netip.Addr]
	set := func(m map[string][]netip.Addr) { table.Store(&m) }
	set(map[string][]netip.Addr{"web": addrs("10.0.0.2")})
	s := startServer(t, Config{Records: func() map[string][]netip.Addr { return *table.Load() }})

	wantAnswer(t, query(t, "udp", s.Addr(), "web.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.2")
	set(map[string][]netip.Addr{"web": addrs("10.0.0.9"), "db": addrs("10.0.0.5")})
	wantAnswer(t, query(t, "udp", s.Addr(), "web.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.9")
	wantAnswer(t, query(t, "udp", s.Addr(), "db.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.5")
	set(map[string][]netip.Addr{})
	// Gone, and no upstream to ask.
	wantAnswer(t, query(t, "udp", s.Addr(), "web.", mdns.TypeA), mdns.RcodeRefused)
}

func TestNilRecords(t *testing.T) {
	up := newUpstream(t, false)
	s := startServer(t, Config{Upstreams: []string{up.addr}})
	wantAnswer(t, query(t, "udp", s.Addr(), "upstream.example.", mdns.TypeA), mdns.RcodeSuccess, "A 10.1.2.3")
}

func TestForward(t *testing.T) {
	up := newUpstream(t, false)
	s := startServer(t, Config{Records: staticRecords(testRecords), Upstreams: []string{up.addr}})
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			resp := query(t, network, s.Addr(), "upstream.example.", mdns.TypeA)
			wantAnswer(t, resp, mdns.RcodeSuccess, "A 10.1.2.3")
			if resp.Authoritative {
				t.Error("forwarded answer is authoritative")
			}
			if ttl := resp.Answer[0].Header().Ttl; ttl != 60 {
				t.Errorf("ttl %d, want the upstream's 60", ttl)
			}
			wantAnswer(t, query(t, network, s.Addr(), "upstream.example.", mdns.TypeAAAA), mdns.RcodeSuccess)
			wantAnswer(t, query(t, network, s.Addr(), "nosuch.example.", mdns.TypeA), mdns.RcodeNameError)
		})
	}
	// A container name is never sent upstream, whatever the type.
	query(t, "udp", s.Addr(), "web.", mdns.TypeAAAA)
	query(t, "udp", s.Addr(), "web.", mdns.TypeMX)
	if n := up.count("udp web.") + up.count("tcp web."); n != 0 {
		t.Errorf("upstream asked %d times for a local name", n)
	}
}

func TestForwardOtherClass(t *testing.T) {
	up := newUpstream(t, false)
	s := startServer(t, Config{Records: staticRecords(testRecords), Upstreams: []string{up.addr}})
	req := new(mdns.Msg).SetQuestion("web.", mdns.TypeTXT)
	req.Question[0].Qclass = mdns.ClassCHAOS
	resp, _, err := (&mdns.Client{Timeout: 5 * time.Second}).Exchange(req, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rcode != mdns.RcodeNameError || up.count("udp web.") != 1 {
		t.Fatalf("rcode %s, upstream asked %d times; want the upstream's NXDOMAIN",
			mdns.RcodeToString[resp.Rcode], up.count("udp web."))
	}
}

func TestForwardTruncatedRetriesTCP(t *testing.T) {
	up := newUpstream(t, false)
	s := startServer(t, Config{Upstreams: []string{up.addr}})
	resp := query(t, "udp", s.Addr(), "big.example.", mdns.TypeA)
	wantAnswer(t, resp, mdns.RcodeSuccess, "A 10.9.0.1", "A 10.9.0.2", "A 10.9.0.3")
	if resp.Truncated {
		t.Error("answer is truncated")
	}
	if u, c := up.count("udp big.example."), up.count("tcp big.example."); u != 1 || c != 1 {
		t.Errorf("upstream asked %d times over udp and %d over tcp, want 1 and 1", u, c)
	}
}

func TestTruncatesForUDPClient(t *testing.T) {
	var many []netip.Addr
	for i := range 100 {
		many = append(many, netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}))
	}
	s := startServer(t, Config{Records: staticRecords(map[string][]netip.Addr{"many": many})})

	resp := query(t, "udp", s.Addr(), "many.", mdns.TypeA)
	if !resp.Truncated || len(resp.Answer) >= 100 {
		t.Fatalf("udp answer: tc=%v with %d answers, want tc and fewer than 100", resp.Truncated, len(resp.Answer))
	}
	resp = query(t, "tcp", s.Addr(), "many.", mdns.TypeA)
	if resp.Truncated || len(resp.Answer) != 100 {
		t.Fatalf("tcp answer: tc=%v with %d answers, want all 100", resp.Truncated, len(resp.Answer))
	}

	// An EDNS client that takes 4096 bytes gets them all over UDP.
	req := new(mdns.Msg).SetQuestion("many.", mdns.TypeA).SetEdns0(4096, false)
	resp, _, err := (&mdns.Client{Timeout: 5 * time.Second}).Exchange(req, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Truncated || len(resp.Answer) != 100 || resp.IsEdns0() == nil {
		t.Fatalf("edns answer: tc=%v with %d answers, opt %v; want all 100 and an OPT", resp.Truncated, len(resp.Answer), resp.IsEdns0())
	}
}

func TestNoUpstreamRefused(t *testing.T) {
	s := startServer(t, Config{Records: staticRecords(testRecords)})
	for _, network := range []string{"udp", "tcp"} {
		wantAnswer(t, query(t, network, s.Addr(), "upstream.example.", mdns.TypeA), mdns.RcodeRefused)
	}
}

func TestDeadUpstreamThenLive(t *testing.T) {
	up := newUpstream(t, false)
	failing := newUpstream(t, true)
	s := startServer(t, Config{
		Upstreams: []string{deadAddr(t), failing.addr, up.addr},
		Timeout:   200 * time.Millisecond,
	})
	wantAnswer(t, query(t, "udp", s.Addr(), "upstream.example.", mdns.TypeA), mdns.RcodeSuccess, "A 10.1.2.3")
	if failing.count("udp upstream.example.") != 1 {
		t.Error("the SERVFAIL upstream was not asked before the live one")
	}
}

func TestAllUpstreamsDead(t *testing.T) {
	failing := newUpstream(t, true)
	s := startServer(t, Config{
		Upstreams: []string{deadAddr(t), blackhole(t), failing.addr},
		Timeout:   200 * time.Millisecond,
	})
	start := time.Now()
	resp := query(t, "udp", s.Addr(), "upstream.example.", mdns.TypeA)
	elapsed := time.Since(start)
	wantAnswer(t, resp, mdns.RcodeServerFailure)
	// The closed port refuses at once and the blackhole takes one Timeout.
	if elapsed > time.Second {
		t.Errorf("SERVFAIL after %v, want about 200ms", elapsed)
	}
}

func TestPTR(t *testing.T) {
	up := newUpstream(t, false)
	s := startServer(t, Config{Records: staticRecords(testRecords), Upstreams: []string{up.addr}})
	tests := []struct {
		name  string
		qname string
		want  string
	}{
		{"shortest name", "2.0.0.10.in-addr.arpa.", "PTR web."},
		{"upper case", "2.0.0.10.IN-ADDR.ARPA.", "PTR web."},
		{"second address", "4.0.0.10.in-addr.arpa.", "PTR multi."},
		{"ipv6", "6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "PTR v6."},
		{"unknown address forwarded", "9.9.9.10.in-addr.arpa.", "PTR upstream-ptr.example."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := query(t, "udp", s.Addr(), tc.qname, mdns.TypePTR)
			wantAnswer(t, resp, mdns.RcodeSuccess, tc.want)
		})
	}
}

func TestParseReverse(t *testing.T) {
	tests := []struct {
		name string
		want string // "" for not a reverse name
	}{
		{"3.2.1.10.in-addr.arpa.", "10.1.2.3"},
		{"3.2.1.10.in-addr.arpa", "10.1.2.3"},
		{"255.0.0.0.in-addr.arpa.", "0.0.0.255"},
		{"2.1.10.in-addr.arpa.", ""},
		{"256.2.1.10.in-addr.arpa.", ""},
		{"03.2.1.10.in-addr.arpa.", ""},
		{"+3.2.1.10.in-addr.arpa.", ""},
		{"..1.10.in-addr.arpa.", ""},
		{"in-addr.arpa.", ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::1"},
		{"g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"web.", ""},
	}
	for _, tc := range tests {
		got, ok := parseReverse(tc.name)
		if (tc.want == "") == ok || (ok && got.String() != tc.want) {
			t.Errorf("parseReverse(%q) = %v, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}

func TestConcurrentQueries(t *testing.T) {
	up := newUpstream(t, false)
	s := startServer(t, Config{Records: staticRecords(testRecords), Upstreams: []string{up.addr}})
	var wg sync.WaitGroup
	errc := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			network := []string{"udp", "tcp"}[i%2]
			name, want := "web.", "10.0.0.2"
			if i%3 == 0 {
				name, want = "upstream.example.", "10.1.2.3"
			}
			resp, err := exchange(network, s.Addr(), name, mdns.TypeA)
			if err != nil {
				errc <- err
				return
			}
			if got := answers(resp); !slices.Equal(got, []string{"A " + want}) {
				errc <- fmt.Errorf("%s over %s: answers %q", name, network, got)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestMalformedInput(t *testing.T) {
	s := startServer(t, Config{Records: staticRecords(testRecords)})
	conn, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, b := range [][]byte{
		{},
		{0x00},
		[]byte("not a dns message at all, but long enough for a header"),
		{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff}, // question cut short
		{0x12, 0x34, 0x81, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},       // a response
	} {
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	tc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = tc.Write([]byte{0x00, 0x05, 0xde, 0xad}) // length prefix, then too few bytes
	tc.Close()

	// Two questions, and a query of another opcode.
	two := new(mdns.Msg).SetQuestion("web.", mdns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	resp := s.answer(t.Context(), two)
	if resp.Rcode != mdns.RcodeFormatError {
		t.Errorf("two questions: rcode %s, want FORMERR", mdns.RcodeToString[resp.Rcode])
	}
	update := new(mdns.Msg).SetUpdate("mynet.")
	if resp := s.answer(t.Context(), update); resp.Rcode != mdns.RcodeNotImplemented {
		t.Errorf("update: rcode %s, want NOTIMP", mdns.RcodeToString[resp.Rcode])
	}

	wantAnswer(t, query(t, "udp", s.Addr(), "web.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.2")
}

func TestServeStopsOnCancel(t *testing.T) {
	s, err := Listen(Config{Addr: "127.0.0.1:0", Records: staticRecords(testRecords)})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	wantAnswer(t, query(t, "udp", addr, "web.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.2")
	wantAnswer(t, query(t, "tcp", addr, "web.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.2")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if err := s.Serve(t.Context()); !errdefs.IsConflict(err) {
		t.Errorf("second Serve: %v, want a conflict", err)
	}

	// The port is free: the same address can be served again.
	s2 := startServer(t, Config{Addr: addr, Records: staticRecords(testRecords)})
	if s2.Addr() != addr {
		t.Fatalf("Addr %s, want %s", s2.Addr(), addr)
	}
	wantAnswer(t, query(t, "udp", addr, "web.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.2")
	wantAnswer(t, query(t, "tcp", addr, "web.", mdns.TypeA), mdns.RcodeSuccess, "A 10.0.0.2")
}

func TestCancelAbortsForward(t *testing.T) {
	s, err := Listen(Config{Addr: "127.0.0.1:0", Upstreams: []string{blackhole(t)}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	go func() { _, _ = exchange("udp", s.Addr(), "upstream.example.", mdns.TypeA) }()
	time.Sleep(100 * time.Millisecond) // let the query reach the blackhole
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve waited for the upstream exchange")
	}
}

func TestListen(t *testing.T) {
	t.Run("bad address", func(t *testing.T) {
		for _, addr := range []string{"", ":53", "localhost:53", "127.0.0.1"} {
			if _, err := Listen(Config{Addr: addr}); !errdefs.IsInvalidArgument(err) {
				t.Errorf("Listen(%q): %v, want invalid argument", addr, err)
			}
		}
	})
	t.Run("bad upstream", func(t *testing.T) {
		for _, up := range []string{"resolver", "10.0.0.1:0", "10.0.0.1:x"} {
			_, err := Listen(Config{Addr: "127.0.0.1:0", Upstreams: []string{up}})
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), up) {
				t.Errorf("upstream %q: %v, want invalid argument naming it", up, err)
			}
		}
	})
	t.Run("bare ip upstream", func(t *testing.T) {
		s, err := Listen(Config{Addr: "127.0.0.1:0", Upstreams: []string{"192.0.2.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !slices.Equal(s.upstreams, []string{"192.0.2.1:53"}) {
			t.Errorf("upstreams %q", s.upstreams)
		}
	})
	t.Run("address in use", func(t *testing.T) {
		s, err := Listen(Config{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = Listen(Config{Addr: s.Addr()})
		if !errdefs.IsConflict(err) || !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), s.Addr()) {
			t.Fatalf("second Listen: %v, want a conflict naming %s", err, s.Addr())
		}
	})
	t.Run("tcp port in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, err = Listen(Config{Addr: ln.Addr().String()})
		if !errdefs.IsConflict(err) {
			t.Fatalf("Listen: %v, want a conflict", err)
		}
		// And the UDP port it took first was given back.
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err != nil {
			t.Fatalf("udp port still held: %v", err)
		}
		pc.Close()
	})
	t.Run("upstream is itself", func(t *testing.T) {
		s, err := Listen(Config{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		addr := s.Addr()
		s.Close()
		_, err = Listen(Config{Addr: addr, Upstreams: []string{addr}})
		if !errdefs.IsInvalidArgument(err) {
			t.Fatalf("Listen: %v, want invalid argument", err)
		}
		s, err = Listen(Config{Addr: addr}) // and the port was released
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
	t.Run("close frees the port", func(t *testing.T) {
		s, err := Listen(Config{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Serve(t.Context()); !errdefs.IsConflict(err) {
			t.Errorf("Serve after Close: %v, want a conflict", err)
		}
		s2, err := Listen(Config{Addr: s.Addr()})
		if err != nil {
			t.Fatal(err)
		}
		s2.Close()
	})
	t.Run("close while serving", func(t *testing.T) {
		s, err := Listen(Config{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Serve(t.Context()) }()
		time.Sleep(50 * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after Close")
		}
	})
}

func FuzzHandle(f *testing.F) {
	up := newUpstream(f, false)
	servers := make([]*Server, 0, 2)
	for _, upstreams := range [][]string{nil, {up.addr}} {
		s, err := Listen(Config{
			Addr:      "127.0.0.1:0",
			Records:   staticRecords(testRecords),
			Upstreams: upstreams,
			Timeout:   100 * time.Millisecond,
		})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { s.Close() })
		servers = append(servers, s)
	}

	for _, seed := range []*mdns.Msg{
		new(mdns.Msg).SetQuestion("web.", mdns.TypeA),
		new(mdns.Msg).SetQuestion("WEB.MYNET.", mdns.TypeAAAA),
		new(mdns.Msg).SetQuestion("multi.", mdns.TypeANY).SetEdns0(4096, true),
		new(mdns.Msg).SetQuestion("2.0.0.10.in-addr.arpa.", mdns.TypePTR),
		new(mdns.Msg).SetQuestion("6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", mdns.TypePTR),
		new(mdns.Msg).SetQuestion("upstream.example.", mdns.TypeA),
		new(mdns.Msg).SetQuestion("big.example.", mdns.TypeA),
		new(mdns.Msg).SetUpdate("mynet."),
	} {
		b, err := seed.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})

	f.Fuzz(func(t *testing.T, b []byte) {
		req := new(mdns.Msg)
		if err := req.Unpack(b); err != nil {
			t.Skip()
		}
		for _, s := range servers {
			resp := s.answer(t.Context(), req)
			if resp == nil {
				if !req.Response {
					t.Fatalf("no answer to query %v", req)
				}
				continue
			}
			if resp.Id != req.Id || !resp.Response {
				t.Fatalf("answer %v to query %v: wrong id or not a response", resp, req)
			}
			resp.Truncate(udpSize(req))
			_, _ = resp.Pack() // may fail (a name from the query that does not pack); must not panic
		}
	})
}
