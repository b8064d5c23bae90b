package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// ensureBridge makes the bridge exist, be up with its carrier port, and hold
// exactly the gateway addresses of subnets (link-local ones aside), and
// returns it.
func ensureBridge(h *netlink.Handle, name string, subnets []*net.IPNet, mtu int) (netlink.Link, error) {
	link, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		// A fixed address: a bridge without one takes its lowest port's,
		// which changes as pods come and go and flaps the pods' ARP caches.
		attrs.HardwareAddr = gatewayMAC(gatewayOf(subnets[0]))
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create bridge %s: %w", name, err)
		}
		link, err = h.LinkByName(name)
		if err == nil && hasIPv6(subnets) {
			err = linkLocalWithoutDAD(h, link)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	}
	if link.Type() != "bridge" {
		return nil, fmt.Errorf("bridge %s: a %s device of that name already exists", name, link.Type())
	}
	want := map[string]*net.IPNet{}
	for _, s := range subnets {
		gw := &net.IPNet{IP: gatewayOf(s), Mask: s.Mask}
		want[gw.String()] = gw
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("bridge %s addresses: %w", name, err)
	}
	for _, a := range addrs {
		if _, ok := want[a.IPNet.String()]; ok || a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		// A gateway of a former pod CIDR.
		if err := h.AddrDel(link, &a); err != nil {
			return nil, fmt.Errorf("bridge %s: remove old address %s: %w", name, a.IPNet, err)
		}
	}
	for _, gw := range want {
		if err := h.AddrReplace(link, podAddr(gw)); err != nil {
			return nil, fmt.Errorf("bridge %s: address %s: %w", name, gw, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("bridge %s up: %w", name, err)
	}
	if err := ensureCarrierPort(h, link, mtu); err != nil {
		return nil, err
	}
	return link, nil
}

// linkLocalWithoutDAD gives a new bridge its IPv6 link-local address
// without duplicate address detection. Neighbor solicitations for packets
// the node forwards (to a pod, from a hostPort say) are sent from the
// link-local address, and none are sent while it is tentative: forwarded
// IPv6 traffic to pods stalled for the first two seconds of a node.
func linkLocalWithoutDAD(h *netlink.Handle, link netlink.Link) error {
	const addrGenModeNone = 1 // IN6_ADDR_GEN_MODE_NONE: the kernel adds no tentative one
	if err := h.LinkSetIP6AddrGenMode(link, addrGenModeNone); err != nil {
		return fmt.Errorf("bridge %s: IPv6 address generation: %w", link.Attrs().Name, err)
	}
	mac := link.Attrs().HardwareAddr
	ll := net.IP{0xfe, 0x80, 0, 0, 0, 0, 0, 0, mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
	if err := h.AddrReplace(link, &netlink.Addr{IPNet: &net.IPNet{IP: ll, Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}); err != nil {
		return fmt.Errorf("bridge %s: link-local address: %w", link.Attrs().Name, err)
	}
	return nil
}

func hasIPv6(subnets []*net.IPNet) bool {
	for _, s := range subnets {
		if s.IP.To4() == nil {
			return true
		}
	}
	return false
}

// podAddr is an address to configure; IPv6 ones skip duplicate address
// detection, which would hold them unusable for a second or more (the
// allocator already guarantees they are unique).
func podAddr(n *net.IPNet) *netlink.Addr {
	a := &netlink.Addr{IPNet: n}
	if n.IP.To4() == nil {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// gatewayMAC is a locally administered address derived from the gateway IP.
func gatewayMAC(gw net.IP) net.HardwareAddr {
	ip := gw.To16()
	return net.HardwareAddr{0x0a, 0x58, ip[12], ip[13], ip[14], ip[15]}
}

// carrierPortName is the bridge's carrier port (its peer adds a "p").
func carrierPortName(bridge string) string { return fmt.Sprintf("%.11s-up", bridge) }

// ensureCarrierPort keeps a port on the bridge so that its carrier stays
// on while no pod is attached: one end of a veth pair whose other end stays
// up, unattached (a veth, not a dummy, since every kernel that runs pods
// has veth). A bridge's carrier change is applied by the kernel's link
// watcher up to a second late, and until then every packet the node sends
// into the bridge is dropped: without this port the first pod of an empty
// node lost its first packets (a TCP connection took a SYN
// retransmission, a second, to open).
func ensureCarrierPort(h *netlink.Handle, bridge netlink.Link, mtu int) error {
	name := carrierPortName(bridge.Attrs().Name)
	peer := name + "p"
	port, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU = name, mtu
		v := netlink.NewVeth(attrs)
		v.PeerName, v.PeerMTU = peer, uint32(mtu)
		if err := h.LinkAdd(v); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create %s: %w", name, err)
		}
		port, err = h.LinkByName(name)
	}
	if err != nil {
		return fmt.Errorf("bridge port %s: %w", name, err)
	}
	if port.Attrs().MasterIndex != bridge.Attrs().Index {
		if err := h.LinkSetMaster(port, bridge); err != nil {
			return fmt.Errorf("attach %s to %s: %w", name, bridge.Attrs().Name, err)
		}
	}
	for _, n := range []string{name, peer} {
		l, err := h.LinkByName(n)
		if err != nil {
			return fmt.Errorf("bridge port %s: %w", n, err)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			if err := h.LinkSetUp(l); err != nil {
				return fmt.Errorf("set %s up: %w", n, err)
			}
		}
	}
	return nil
}

// waitOperUp waits (bounded) for the link's operational state to be up.
// The kernel applies a carrier change asynchronously (its link watcher sets
// the operational state, starts the queue and tells the bridge, in that
// order), and until then packets through the link are dropped: a pod's first
// connection right after Setup took a SYN retransmission, a second.
func waitOperUp(h *netlink.Handle, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	pause := 100 * time.Microsecond
	for {
		l, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", name, err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is still %s after %v", name, l.Attrs().OperState, timeout)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// uplinkMTU is the MTU of the node's default route's interface, or 1500.
func uplinkMTU(h *netlink.Handle) int {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return 1500
	}
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		if r.LinkIndex == 0 {
			continue
		}
		if l, err := h.LinkByIndex(r.LinkIndex); err == nil && l.Attrs().MTU > 0 {
			return l.Attrs().MTU
		}
	}
	return 1500
}

// nodeSysctls are what routing pods needs in the node's namespace:
// forwarding; bridged traffic seen by conntrack (so that replies of NATed
// pod-to-pod connections on one bridge are translated back) when
// br_netfilter is there; and loopback addresses routable through the bridge,
// for hostPorts on 127.0.0.1 (see ensureBase for the guard that goes with
// it). IPv6 forwarding only with an IPv6 pod CIDR: it makes the node ignore
// router advertisements where accept_ra is 1.
func nodeSysctls(bridge string, subnets []*net.IPNet) []sysctl {
	var out []sysctl
	for _, s := range subnets {
		if s.IP.To4() != nil {
			out = append(out,
				sysctl{"/proc/sys/net/ipv4/ip_forward", false},
				sysctl{"/proc/sys/net/bridge/bridge-nf-call-iptables", true},
				sysctl{"/proc/sys/net/ipv4/conf/" + bridge + "/route_localnet", false})
		} else {
			out = append(out,
				sysctl{"/proc/sys/net/ipv6/conf/all/forwarding", false},
				sysctl{"/proc/sys/net/bridge/bridge-nf-call-ip6tables", true})
		}
	}
	return out
}

type sysctl struct {
	path     string
	optional bool // absent when a module is not loaded
}

// ensureSysctls sets the sysctls to 1 inside ns, writing only those that
// are not already.
func ensureSysctls(ns netns.NsHandle, sysctls []sysctl) error {
	return netnsrun.In(ns, func() error {
		for _, s := range sysctls {
			cur, err := os.ReadFile(s.path)
			if errors.Is(err, os.ErrNotExist) && s.optional {
				continue
			}
			if err != nil {
				return fmt.Errorf("sysctl %s: %w", s.path, err)
			}
			if strings.TrimSpace(string(cur)) == "1" {
				continue
			}
			if err := os.WriteFile(s.path, []byte("1"), 0o644); err != nil {
				return fmt.Errorf("sysctl %s: %w", s.path, err)
			}
		}
		return nil
	})
}
