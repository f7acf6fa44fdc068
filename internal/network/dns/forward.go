package dns

import (
	"context"
	"errors"
	"strings"

	mdns "github.com/miekg/dns"
)

// errMismatch is an upstream answer to a question other than the one asked.
var errMismatch = errors.New("answer to another question")

// forward sends req to the upstreams in order and returns the first answer
// that is neither SERVFAIL nor REFUSED, with req's ID; SERVFAIL when there is
// none, REFUSED when there are no upstreams.
func (s *Server) forward(ctx context.Context, req *mdns.Msg) *mdns.Msg {
	if len(s.upstreams) == 0 {
		return new(mdns.Msg).SetRcode(req, mdns.RcodeRefused)
	}
	// The upstream sees an ID of our own, not one a client chose.
	query := req.Copy()
	query.Id = mdns.Id()
	for _, up := range s.upstreams {
		if ctx.Err() != nil {
			break
		}
		resp, err := s.exchange(ctx, s.udp, query, up)
		if err != nil {
			continue
		}
		if resp.Truncated {
			if full, err := s.exchange(ctx, s.tcp, query, up); err == nil {
				resp = full
			} // else the client gets the truncated answer, and retries over TCP
		}
		if resp.Rcode == mdns.RcodeServerFailure || resp.Rcode == mdns.RcodeRefused {
			continue
		}
		resp.Id = req.Id
		return resp
	}
	resp := new(mdns.Msg).SetRcode(req, mdns.RcodeServerFailure)
	resp.RecursionAvailable = true
	return resp
}

// exchange sends query to the upstream up with c and returns the answer to
// it. It gives up after s.timeout, or at once when ctx is cancelled.
func (s *Server) exchange(ctx context.Context, c *mdns.Client, query *mdns.Msg, up string) (*mdns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := c.DialContext(ctx, up)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The client only honours ctx's deadline; closing the connection ends a
	// read that cancellation should end.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	resp, _, err := c.ExchangeWithConnContext(ctx, query, conn)
	if err != nil {
		return nil, err
	}
	if !sameQuestion(query, resp) {
		return nil, errMismatch
	}
	return resp, nil
}

// sameQuestion reports whether resp answers query's question (names compare
// case-insensitively: resolvers may randomise case).
func sameQuestion(query, resp *mdns.Msg) bool {
	if len(resp.Question) != 1 || len(query.Question) != 1 {
		return false
	}
	q, r := query.Question[0], resp.Question[0]
	return q.Qtype == r.Qtype && q.Qclass == r.Qclass && strings.EqualFold(q.Name, r.Name)
}
