package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"

	"berth.dev/berth/internal/errdefs"
)

// Records returns the current name → addresses table. Names are lower case,
// without the trailing dot ("web", "web.mynet"); the caller puts in every
// form a container should answer to. Lookups are case-insensitive and ignore
// a trailing dot. It is called once per query, from many goroutines at once,
// and must not modify a map it has returned.
type Records func() map[string][]netip.Addr

// RecordsFor is Records for one client: the names the querying address
// may resolve (Docker resolves the names of every network a container is
// on, whichever network's resolver it asks). The address is invalid when
// the transport gives none.
type RecordsFor func(client netip.Addr) map[string][]netip.Addr

// clientKey carries the querying address in a query's context.
type clientKey struct{}

// Defaults for the zero values of Config.
const (
	DefaultTTL     = 600 * time.Second // Docker's TTL for container names
	DefaultTimeout = 2 * time.Second
)

// Config is what Listen needs.
type Config struct {
	// Addr is the address to serve on, "IP:PORT". berth uses the bridge's
	// gateway IP and port 53; port 0 picks a free port (see Server.Addr).
	Addr string
	// Records gives the network's names. Nil means no names: every query is
	// forwarded.
	Records Records
	// RecordsFor, if set, is used instead of Records.
	RecordsFor RecordsFor
	// Upstreams are the resolvers for every other name, "IP:PORT" (a bare IP
	// means port 53), tried in order. None means REFUSED for other names.
	Upstreams []string
	// TTL of the answers for names in Records, in whole seconds; zero means
	// DefaultTTL.
	TTL time.Duration
	// Timeout bounds each exchange with an upstream (the UDP query, then the
	// TCP retry if any); zero means DefaultTimeout.
	Timeout time.Duration
}

// bindAttempts bounds the retries of Listen when the kernel hands out a UDP
// port whose TCP twin is taken.
const bindAttempts = 16

// shutdownGrace bounds how long Serve waits for queries in flight once its
// ctx is done. They see that ctx, so they end at once unless an answer is
// being written.
const shutdownGrace = 5 * time.Second

// Server serves DNS over UDP and TCP on one address. It is made by Listen and
// run by Serve, once.
type Server struct {
	addr       netip.AddrPort
	records    Records
	recordsFor RecordsFor
	upstreams  []string
	ttl        uint32
	timeout    time.Duration
	udp        *mdns.Client // to upstreams
	tcp        *mdns.Client // to upstreams, after a truncated UDP answer

	pc *net.UDPConn
	ln *net.TCPListener

	mu    sync.Mutex // guards state
	state serverState
}

type serverState int

const (
	stateIdle serverState = iota
	stateServing
	stateDone // served, or closed
)

// Listen binds UDP and TCP on cfg.Addr and returns a Server that is not yet
// answering: queries wait in the sockets until Serve. When the port is 0, the
// UDP socket picks it and TCP takes the same one. An address in use is an
// errdefs.ErrConflict, a bad Config an errdefs.ErrInvalidArgument.
func Listen(cfg Config) (*Server, error) {
	ap, err := netip.ParseAddrPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen dns on %q: %w: %w", cfg.Addr, errdefs.ErrInvalidArgument, err)
	}
	if cfg.TTL < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("listen dns on %s: %w: negative ttl or timeout", cfg.Addr, errdefs.ErrInvalidArgument)
	}
	ttl, timeout := cfg.TTL, cfg.Timeout
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ttlSeconds := min(ttl/time.Second, time.Duration(1<<31-1)) // RFC 2181 §8
	upstreams := make([]string, 0, len(cfg.Upstreams))
	upstreamAddrs := make([]netip.AddrPort, 0, len(cfg.Upstreams))
	for _, u := range cfg.Upstreams {
		up, err := parseUpstream(u)
		if err != nil {
			return nil, fmt.Errorf("listen dns on %s: upstream %q: %w: %w", cfg.Addr, u, errdefs.ErrInvalidArgument, err)
		}
		upstreams = append(upstreams, up.String())
		upstreamAddrs = append(upstreamAddrs, up)
	}

	s := &Server{
		records:    cfg.Records,
		recordsFor: cfg.RecordsFor,
		upstreams:  upstreams,
		ttl:        uint32(ttlSeconds),
		timeout:    timeout,
		udp:        &mdns.Client{Net: "udp", Timeout: timeout, UDPSize: mdns.DefaultMsgSize},
		tcp:        &mdns.Client{Net: "tcp", Timeout: timeout},
	}
	if err := s.bind(ap); err != nil {
		return nil, fmt.Errorf("listen dns on %s: %w", cfg.Addr, err)
	}
	for _, up := range upstreamAddrs {
		if up == s.addr {
			s.Close()
			return nil, fmt.Errorf("listen dns on %s: %w: upstream %s is this server", cfg.Addr, errdefs.ErrInvalidArgument, up)
		}
	}
	return s, nil
}

// parseUpstream accepts "IP:PORT" or a bare IP (port 53).
func parseUpstream(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return netip.AddrPort{}, errors.New("port 0")
		}
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, 53), nil
}

// bind opens s.pc and s.ln on one port and sets s.addr.
func (s *Server) bind(ap netip.AddrPort) error {
	for attempt := 1; ; attempt++ {
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
		if err != nil {
			return classifyBind(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		addr := netip.AddrPortFrom(ap.Addr(), port)
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
		if err != nil {
			pc.Close()
			if ap.Port() == 0 && errors.Is(err, syscall.EADDRINUSE) && attempt < bindAttempts {
				continue
			}
			return classifyBind(err)
		}
		s.pc, s.ln, s.addr = pc, ln, addr
		return nil
	}
}

func classifyBind(err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
	}
	return err
}

// Addr returns the address served, "IP:PORT", with the port Listen picked
// when it was given port 0. UDP and TCP share it.
func (s *Server) Addr() string { return s.addr.String() }

// Close releases the sockets of a Server that Serve was never called on.
// Closing a Server while Serve runs makes Serve return nil, as cancelling its
// ctx does, but without waiting for it; after Serve it does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateDone {
		return nil
	}
	s.state = stateDone
	return s.closeSockets()
}

func (s *Server) closeSockets() error {
	return errors.Join(ignoreClosed(s.pc.Close()), ignoreClosed(s.ln.Close()))
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Serve answers queries until ctx is done, then stops, closes both sockets
// and returns nil, leaving the port free for another Listen. Queries in
// flight see ctx: an exchange with an upstream ends when it is cancelled. It
// returns an error only if a socket fails under it, or if called twice.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateIdle {
		s.mu.Unlock()
		return fmt.Errorf("serve dns on %s: %w: already served or closed", s.addr, errdefs.ErrConflict)
	}
	s.state = stateServing
	s.mu.Unlock()

	qctx, cancel := context.WithCancel(ctx) // what queries in flight see
	defer cancel()
	handler := mdns.HandlerFunc(func(w mdns.ResponseWriter, req *mdns.Msg) {
		s.serveDNS(qctx, w, req)
	})
	servers := []*mdns.Server{
		{PacketConn: s.pc, Handler: handler, UDPSize: mdns.DefaultMsgSize},
		{Listener: s.ln, Handler: handler},
	}

	// Start each server and wait until it runs: ShutdownContext fails on a
	// server that has not started yet, which would then never stop.
	errc := make(chan error, len(servers))
	pending := 0               // goroutines whose result is still in errc
	var running []*mdns.Server // started, to be shut down
	var err error
	for _, srv := range servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		pending++
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
			running = append(running, srv)
		case err = <-errc:
			pending--
		}
		if err != nil {
			break
		}
	}
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-errc: // a socket failed, or Close was called
			pending--
		}
	}

	cancel()
	for _, srv := range running {
		sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
		_ = srv.ShutdownContext(sctx) // only fails on timeout; the sockets are closed below anyway
		scancel()
	}
	s.mu.Lock()
	closed := s.state == stateDone
	s.state = stateDone
	cerr := s.closeSockets()
	s.mu.Unlock()
	for ; pending > 0; pending-- {
		if e := <-errc; err == nil {
			err = e
		}
	}

	if ctx.Err() != nil || closed {
		return nil
	}
	if err = errors.Join(err, cerr); err != nil {
		return fmt.Errorf("serve dns on %s: %w", s.addr, err)
	}
	return nil
}

// serveDNS answers one query that arrived on w.
func (s *Server) serveDNS(ctx context.Context, w mdns.ResponseWriter, req *mdns.Msg) {
	if ap, err := netip.ParseAddrPort(w.RemoteAddr().String()); err == nil {
		ctx = context.WithValue(ctx, clientKey{}, ap.Addr().Unmap())
	}
	resp := s.answer(ctx, req)
	if resp == nil {
		return
	}
	size := mdns.MaxMsgSize
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size = udpSize(req)
	}
	resp.Compress = true
	resp.Truncate(size)
	_ = w.WriteMsg(resp) // the client is gone or the answer does not pack: nothing to tell
}

// udpSize is the largest UDP answer the client of req accepts.
func udpSize(req *mdns.Msg) int {
	if opt := req.IsEdns0(); opt != nil {
		return max(int(opt.UDPSize()), mdns.MinMsgSize)
	}
	return mdns.MinMsgSize
}
