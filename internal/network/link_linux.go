package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"berth.dev/berth/internal/errdefs"
)

// NewNamespace makes a network namespace and binds it at path (the way
// `ip netns add` does), with its loopback up. The runtime joins it through
// the spec's namespace path.
func NewNamespace(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create network namespace: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create network namespace %s: %w", path, err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread that unshares is never given back to the Go
		// scheduler: it ends with this goroutine (LockOSThread without
		// Unlock).
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			errc <- err
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return fmt.Errorf("create network namespace %s: %w", path, err)
	}
	return nil
}

// DeleteNamespace unbinds and removes a namespace made by NewNamespace;
// the kernel frees it (and the veth end in it) once no process is in it.
func DeleteNamespace(path string) {
	unix.Unmount(path, unix.MNT_DETACH)
	os.Remove(path)
}

// EnsureBridge makes n's bridge device with the gateway address, up, if it
// is not there.
func EnsureBridge(n *Network) error {
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
		}
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", n.Bridge, err)
		}
		if link, err = netlink.LinkByName(n.Bridge); err != nil {
			return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return errdefs.New(errdefs.ErrConflict, "device %s exists and is not a bridge", n.Bridge)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.Gateway.AsSlice(), Mask: net.CIDRMask(n.Subnet.Bits(), 32)}}
	if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("address bridge %s: %w", n.Bridge, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set bridge %s up: %w", n.Bridge, err)
	}
	// Containers reach each other and the outside through the host.
	os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	return nil
}

// DeleteBridge removes n's bridge device (network rm).
func DeleteBridge(n *Network) error {
	link, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return nil
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete bridge %s: %w", n.Bridge, err)
	}
	return nil
}

// hostVeth is the host end's name of a container's veth on a network.
func hostVeth(containerID, networkID string) string {
	return "vb" + containerID[:8] + networkID[:4]
}

// Attached counts the container's veths on the host: its interfaces.
func Attached(containerID string) int {
	links, err := netlink.LinkList()
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "vb"+containerID[:8]) {
			n++
		}
	}
	return n
}

// MAC is the address a container gets on a network: 02:42 and its IPv4
// address, as Docker does.
func MAC(ip netip.Addr) net.HardwareAddr {
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// AttachOptions describe one network of a container.
type AttachOptions struct {
	Network *Network
	IP      netip.Addr
	MAC     net.HardwareAddr // nil: MAC(IP)
	// Ifname in the container: eth0, eth1, … in the order of networks.
	Ifname string
	// DefaultRoute through this network's gateway (the first non-internal
	// network of the container).
	DefaultRoute bool
}

// Attach connects the namespace at nsPath to a network: a veth pair whose
// host end joins the bridge and whose other end becomes Ifname in the
// namespace with the address, and the default route if asked.
func Attach(nsPath, containerID string, o AttachOptions) (err error) {
	n := o.Network
	if err := EnsureBridge(n); err != nil {
		return err
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", n.Bridge, err)
	}
	hostName := hostVeth(containerID, n.ID)
	if old, err := netlink.LinkByName(hostName); err == nil {
		netlink.LinkDel(old) // left by a killed monitor
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", nsPath, err)
	}
	defer ns.Close()
	mac := o.MAC
	if mac == nil {
		mac = MAC(o.IP)
	}
	// The peer is made in the container's namespace with its final name
	// and address: moving a device between namespaces waits for an RCU
	// grace period in the kernel (about 20 ms here), making it there does
	// not.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName, MasterIndex: br.Attrs().Index},
		PeerName: o.Ifname, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", hostName, err)
	}
	defer func() {
		if err != nil {
			netlink.LinkDel(veth)
		}
	}()
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", hostName, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("set veth %s up: %w", hostName, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("enter network namespace %s: %w", nsPath, err)
	}
	defer h.Close()
	in, err := h.LinkByName(o.Ifname)
	if err != nil {
		return fmt.Errorf("find %s in the container: %w", o.Ifname, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: o.IP.AsSlice(), Mask: net.CIDRMask(n.Subnet.Bits(), 32)}}
	if err := h.AddrAdd(in, addr); err != nil {
		return fmt.Errorf("address %s in the container: %w", o.Ifname, err)
	}
	if err := h.LinkSetUp(in); err != nil {
		return fmt.Errorf("set %s up in the container: %w", o.Ifname, err)
	}
	if o.DefaultRoute && !n.Internal {
		if err := h.RouteAdd(&netlink.Route{LinkIndex: in.Attrs().Index, Gw: n.Gateway.AsSlice()}); err != nil {
			return fmt.Errorf("add the default route in the container: %w", err)
		}
	}
	return nil
}

// Detach removes the host ends of a container's veths (their peers go with
// them).
func Detach(containerID string) {
	links, err := netlink.LinkList()
	if err != nil {
		return
	}
	prefix := "vb" + containerID[:8]
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			netlink.LinkDel(l)
		}
	}
}

// DetachOne removes the host end of the container's veth on a network,
// taking the interface out of the container.
func DetachOne(containerID, networkID string) {
	if l, err := netlink.LinkByName(hostVeth(containerID, networkID)); err == nil {
		netlink.LinkDel(l)
	}
}
