package proxy

import (
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// staleUDP lists the conntrack filters for UDP endpoints that served old
// and are gone from new: without a flush, a client that keeps sending keeps
// its entry, and its packets keep going to the removed endpoint.
func staleUDP(old, new *Service) []netlink.CustomConntrackFilter {
	if old == nil || !old.ClusterIP.IsValid() {
		return nil
	}
	var filters []netlink.CustomConntrackFilter
	for _, p := range old.Ports {
		if p.Protocol != protoUDP {
			continue
		}
		keep := map[netip.AddrPort]bool{}
		if new != nil {
			for _, e := range new.Endpoints[p.Name] {
				keep[netip.AddrPortFrom(e.Addr, e.Port)] = true
			}
		}
		for _, e := range old.Endpoints[p.Name] {
			if keep[netip.AddrPortFrom(e.Addr, e.Port)] || !e.Addr.Is4() {
				continue
			}
			// Entries the service's addresses (or node port) DNATed to it.
			for _, dst := range append([]netip.Addr{old.ClusterIP}, append(old.ExternalIPs, old.LoadBalancerIPs...)...) {
				if dst.Is4() {
					filters = append(filters, udpFilter(dst, p.Port, e.Addr))
				}
			}
			if p.NodePort != 0 {
				filters = append(filters, udpFilter(netip.Addr{}, p.NodePort, e.Addr))
			}
		}
	}
	return filters
}

func udpFilter(dst netip.Addr, port uint16, endpoint netip.Addr) netlink.CustomConntrackFilter {
	f := &netlink.ConntrackFilter{}
	_ = f.AddProtocol(unix.IPPROTO_UDP) // cannot fail: a known protocol
	if dst.IsValid() {
		_ = f.AddIP(netlink.ConntrackOrigDstIP, dst.AsSlice())
	}
	_ = f.AddPort(netlink.ConntrackOrigDstPort, port)
	_ = f.AddIP(netlink.ConntrackReplySrcIP, endpoint.AsSlice())
	return f
}
