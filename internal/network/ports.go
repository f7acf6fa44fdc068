package network

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"berth.dev/berth/internal/atomicfile"
	"berth.dev/berth/internal/errdefs"
)

// PortRequest is one -p/-P request: HostPort 0 means any free port.
type PortRequest struct {
	HostIP        netip.Addr `json:"HostIp,omitzero"`
	HostPort      uint16     `json:"HostPort"`
	ContainerPort uint16     `json:"ContainerPort"`
	Proto         string     `json:"Proto"`
}

// Binding is a reserved host port.
type Binding = PortRequest

// ephemeral is Docker's range for ports it picks (-P, -p 80).
const ephemeralLow, ephemeralHigh = 49153, 60999

type portTable struct {
	Ports map[string]string `json:"ports"` // "proto/port" -> owner
}

func portKey(proto string, port uint16) string { return proto + "/" + strconv.Itoa(int(port)) }

// ReservePorts reserves host ports for owner's requests: a port no berth
// container holds and nothing on the host listens on. A request for a
// port that is taken is an error naming it; a request for any port gets a
// free one from Docker's ephemeral range. Owner's earlier reservations
// are replaced.
func (s *Store) ReservePorts(ctx context.Context, owner string, reqs []PortRequest) ([]Binding, error) {
	lock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	var t portTable
	if err := atomicfile.ReadJSON(filepath.Join(s.dir, "ports.json"), &t); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if t.Ports == nil {
		t.Ports = map[string]string{}
	}
	for k, o := range t.Ports {
		if o == owner {
			delete(t.Ports, k)
		}
	}
	next := uint16(ephemeralLow)
	var out []Binding
	for _, r := range reqs {
		if r.Proto == "" {
			r.Proto = "tcp"
		}
		if r.HostPort != 0 {
			if o, taken := t.Ports[portKey(r.Proto, r.HostPort)]; taken && o != owner {
				return nil, errdefs.New(errdefs.ErrConflict, "Bind for %s:%d failed: port is already allocated", hostIPString(r.HostIP), r.HostPort)
			}
			if listening(r.Proto, r.HostPort) {
				return nil, errdefs.New(errdefs.ErrConflict, "Bind for %s:%d failed: port is already in use on the host", hostIPString(r.HostIP), r.HostPort)
			}
		} else {
			for ; next <= ephemeralHigh; next++ {
				if _, taken := t.Ports[portKey(r.Proto, next)]; !taken && !listening(r.Proto, next) {
					break
				}
			}
			if next > ephemeralHigh {
				return nil, errdefs.New(errdefs.ErrUnavailable, "no free host port for %d/%s", r.ContainerPort, r.Proto)
			}
			r.HostPort = next
			next++
		}
		t.Ports[portKey(r.Proto, r.HostPort)] = owner
		out = append(out, r)
	}
	if err := atomicfile.WriteJSON(filepath.Join(s.dir, "ports.json"), t, 0o600); err != nil {
		return nil, err
	}
	return out, nil
}

// ReleasePorts frees owner's host ports.
func (s *Store) ReleasePorts(ctx context.Context, owner string) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	var t portTable
	if err := atomicfile.ReadJSON(filepath.Join(s.dir, "ports.json"), &t); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	n0 := len(t.Ports)
	for k, o := range t.Ports {
		if o == owner {
			delete(t.Ports, k)
		}
	}
	if len(t.Ports) == n0 {
		return nil // nothing of owner's: no write
	}
	return atomicfile.WriteJSON(filepath.Join(s.dir, "ports.json"), t, 0o600)
}

func hostIPString(a netip.Addr) string {
	if !a.IsValid() {
		return "0.0.0.0"
	}
	return a.String()
}

// listening reports whether a socket on the host listens on port (any
// address), from /proc/net/{tcp,udp}.
func listening(proto string, port uint16) bool {
	for _, f := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 {
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			p, err := strconv.ParseUint(hexPort, 16, 16)
			// TCP: state 0A is LISTEN; UDP sockets are bound (07).
			if err == nil && uint16(p) == port && (proto == "udp" || fields[3] == "0A") {
				fh.Close()
				return true
			}
		}
		fh.Close()
	}
	return false
}

// hostRoutes are the host's IPv4 routes other than the default one.
func hostRoutes() []netip.Prefix {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []netip.Prefix
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(fields[1], 16, 32)
		mask, err2 := strconv.ParseUint(fields[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		d := uint32(dst)
		addr := netip.AddrFrom4([4]byte{byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24)})
		ones, _ := net.IPMask([]byte{byte(mask), byte(mask >> 8), byte(mask >> 16), byte(mask >> 24)}).Size()
		out = append(out, netip.PrefixFrom(addr, ones).Masked())
	}
	return out
}
