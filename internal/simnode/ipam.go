package simnode

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// podIPs hands out one node's pod IPs, one from each of its ranges (two
// for a dual-stack node), as a CNI plugin's host-local IPAM would: the
// network address, the first address (the gateway) and the IPv4
// broadcast address are never given out, and a pod keeps its IPs until
// it is gone.
type podIPs struct {
	mu     sync.Mutex
	ranges []netip.Prefix
	next   []netip.Addr
	byUID  map[types.UID][]netip.Addr
	used   map[netip.Addr]types.UID
}

func newPodIPs() *podIPs {
	return &podIPs{byUID: map[types.UID][]netip.Addr{}, used: map[netip.Addr]types.UID{}}
}

// maxScan bounds the search for a free address in a big (IPv6) range.
const maxScan = 1 << 16

// get returns the pod's IPs, allocating them from ranges the first time.
func (p *podIPs) get(uid types.UID, ranges []netip.Prefix) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ips, ok := p.byUID[uid]; ok {
		return toStrings(ips), nil
	}
	if !slices.Equal(ranges, p.ranges) {
		p.ranges = slices.Clone(ranges)
		p.next = make([]netip.Addr, len(ranges))
		for i, r := range ranges {
			p.next[i] = r.Masked().Addr().Next().Next()
		}
	}
	ips := make([]netip.Addr, 0, len(ranges))
	for i, r := range p.ranges {
		ip, ok := p.free(i, r)
		if !ok {
			return nil, fmt.Errorf("no IP addresses available in range %s", r)
		}
		ips = append(ips, ip)
	}
	for _, ip := range ips {
		p.used[ip] = uid
	}
	p.byUID[uid] = ips
	return toStrings(ips), nil
}

// free finds the next free address of range i from its cursor, wrapping
// around, and moves the cursor past it.
func (p *podIPs) free(i int, r netip.Prefix) (netip.Addr, bool) {
	first := r.Masked().Addr().Next().Next()
	ip := p.next[i]
	for range maxScan {
		if !r.Contains(ip) || isBroadcast(ip, r) {
			ip = first
			if !r.Contains(ip) || isBroadcast(ip, r) {
				return netip.Addr{}, false
			}
		}
		if _, taken := p.used[ip]; !taken {
			p.next[i] = ip.Next()
			return ip, true
		}
		ip = ip.Next()
		if ip == p.next[i] {
			break
		}
	}
	return netip.Addr{}, false
}

// isBroadcast reports whether ip is the last address of an IPv4 range.
func isBroadcast(ip netip.Addr, r netip.Prefix) bool {
	if !ip.Is4() || r.Bits() >= 31 {
		return false
	}
	return !r.Contains(ip.Next())
}

// reserve records IPs a pod already has (the nodes restarted).
func (p *podIPs) reserve(uid types.UID, ips []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.byUID[uid]; ok {
		return
	}
	var addrs []netip.Addr
	for _, s := range ips {
		if ip, err := netip.ParseAddr(s); err == nil {
			addrs = append(addrs, ip)
			p.used[ip] = uid
		}
	}
	p.byUID[uid] = addrs
}

// release frees a pod's IPs.
func (p *podIPs) release(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ip := range p.byUID[uid] {
		if p.used[ip] == uid {
			delete(p.used, ip)
		}
	}
	delete(p.byUID, uid)
}

func toStrings(ips []netip.Addr) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
