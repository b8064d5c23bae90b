package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// ensureBridge makes the bridge exist, be up and hold exactly the gateway
// address of subnet, and returns it.
func ensureBridge(h *netlink.Handle, name string, gw net.IP, subnet *net.IPNet) (netlink.Link, error) {
	link, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		// A fixed address: a bridge without one takes its lowest port's,
		// which changes as pods come and go and flaps the pods' ARP caches.
		attrs.HardwareAddr = gatewayMAC(gw)
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create bridge %s: %w", name, err)
		}
		link, err = h.LinkByName(name)
	}
	if err != nil {
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	}
	if link.Type() != "bridge" {
		return nil, fmt.Errorf("bridge %s: a %s device of that name already exists", name, link.Type())
	}
	want := &net.IPNet{IP: gw, Mask: subnet.Mask}
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("bridge %s addresses: %w", name, err)
	}
	for _, a := range addrs {
		if a.IPNet.String() != want.String() {
			// A gateway of a former pod CIDR.
			if err := h.AddrDel(link, &a); err != nil {
				return nil, fmt.Errorf("bridge %s: remove old address %s: %w", name, a.IPNet, err)
			}
		}
	}
	if err := h.AddrReplace(link, &netlink.Addr{IPNet: want}); err != nil {
		return nil, fmt.Errorf("bridge %s: address %s: %w", name, want, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("bridge %s up: %w", name, err)
	}
	return link, nil
}

// gatewayMAC is a locally administered address derived from the gateway IP.
func gatewayMAC(gw net.IP) net.HardwareAddr {
	ip := gw.To4()
	return net.HardwareAddr{0x0a, 0x58, ip[0], ip[1], ip[2], ip[3]}
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
// forwarding, and bridged traffic seen by conntrack (so that replies of
// NATed pod-to-pod connections on one bridge are translated back) when
// br_netfilter is there.
var nodeSysctls = []struct {
	path     string
	optional bool
}{
	{"/proc/sys/net/ipv4/ip_forward", false},
	{"/proc/sys/net/bridge/bridge-nf-call-iptables", true},
}

// ensureSysctls sets nodeSysctls to 1 inside ns, writing only those that
// are not already.
func ensureSysctls(ns netns.NsHandle) error {
	return inNetNS(ns, func() error {
		for _, s := range nodeSysctls {
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
