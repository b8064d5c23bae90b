package announce

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
)

// internalIPs are the node's InternalIP addresses, in its order.
func internalIPs(n *corev1.Node) []netip.Addr {
	var out []netip.Addr
	for _, a := range n.Status.Addresses {
		if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == corev1.NodeInternalIP {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// findLink is the interface that holds the first of ips found on one
// (the node's InternalIP: the LAN the load-balancer addresses live on).
func findLink(nl *netlink.Handle, ips []netip.Addr) (*net.Interface, error) {
	addrs, err := nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, want := range ips {
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == want {
				l, err := nl.LinkByIndex(a.LinkIndex)
				if err != nil {
					return nil, fmt.Errorf("link of %s: %w", want, err)
				}
				attrs := l.Attrs()
				if len(attrs.HardwareAddr) != 6 {
					return nil, fmt.Errorf("%s, which holds %s, has no Ethernet address", attrs.Name, want)
				}
				return &net.Interface{Index: attrs.Index, Name: attrs.Name, HardwareAddr: attrs.HardwareAddr, MTU: attrs.MTU, Flags: attrs.Flags}, nil
			}
		}
	}
	return nil, fmt.Errorf("no interface holds the node's InternalIP %v", ips)
}
