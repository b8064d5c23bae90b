package local

import (
	"log/slog"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// WantedRoutes are the routes node self needs: every other node's
// recorded routes, except those reaching into self's own pod CIDRs (a
// stale record must not steal the node's own pods). A CIDR two nodes
// claim goes to the first by name, so every agent picks the same. It
// does no I/O.
func WantedRoutes(nodes []*corev1.Node, self string, log *slog.Logger) []NodeRoute {
	var own []netip.Prefix
	for _, n := range nodes {
		if n.Name != self {
			continue
		}
		for _, c := range n.Spec.PodCIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				own = append(own, p.Masked())
			}
		}
	}
	sorted := append([]*corev1.Node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	seen := map[netip.Prefix]bool{}
	var out []NodeRoute
	for _, n := range sorted {
		if n.Name == self || n.DeletionTimestamp != nil {
			continue
		}
		rs, err := ParseRoutes(n.Annotations[RoutesAnnotation])
		if err != nil {
			log.Warn("node routes: ignoring a node's record", "node", n.Name, "err", err)
			continue
		}
		for _, r := range rs {
			if seen[r.CIDR] || overlapsAny(r.CIDR, own) {
				continue
			}
			seen[r.CIDR] = true
			out = append(out, r)
		}
	}
	return out
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		if p.Overlaps(q) {
			return true
		}
	}
	return false
}

// KernelRoute is a route of kemudi's in the node's kernel.
type KernelRoute struct {
	CIDR netip.Prefix
	Via  netip.Addr
	Link int // interface index
}

// routePlan is what to change in the kernel so that it holds want.
// onLink says which interface reaches an address directly (false: the
// address is not on one of the node's links, so no route through it is
// made: traffic follows the node's other routes).
func routePlan(want []NodeRoute, have []KernelRoute, onLink func(netip.Addr) (int, bool)) (add, del []KernelRoute, offLink []NodeRoute) {
	target := map[netip.Prefix]KernelRoute{}
	for _, w := range want {
		link, ok := onLink(w.Via)
		if !ok {
			offLink = append(offLink, w)
			continue
		}
		target[w.CIDR] = KernelRoute{CIDR: w.CIDR, Via: w.Via, Link: link}
	}
	present := map[netip.Prefix]bool{}
	for _, h := range have {
		if t, ok := target[h.CIDR]; ok && t == h && !present[h.CIDR] {
			present[h.CIDR] = true
			continue
		}
		del = append(del, h)
	}
	for _, w := range want {
		if t, ok := target[w.CIDR]; ok && !present[w.CIDR] {
			present[w.CIDR] = true
			add = append(add, t)
		}
	}
	return add, del, offLink
}
