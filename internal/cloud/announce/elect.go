package announce

import (
	"bytes"
	"crypto/sha256"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// AnnotationKey marks a Node whose announcer runs: only such nodes are
// elected, since only they answer.
const AnnotationKey = "announce.cloud.kemudi.io/layer2"

// Elect chooses the one node that announces addr, one of svc's
// load-balancer addresses, or "" when none may: no endpoint of the
// service is ready (traffic would find no pod; MetalLB stays silent
// too), or no node is eligible. Among the eligible nodes (Eligible;
// with externalTrafficPolicy Local only those with a ready endpoint of
// their own, as traffic is not forwarded to other nodes) the first by a
// hash of node name and address wins: every node computes the same
// winner from the same objects, and the addresses spread over the
// nodes.
func Elect(addr netip.Addr, svc *corev1.Service, nodes []*corev1.Node, eps []*discoveryv1.EndpointSlice) string {
	local, anyReady := readyEndpointNodes(addr, eps)
	if !anyReady {
		return ""
	}
	onlyLocal := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	best, bestRank := "", [sha256.Size]byte{}
	for _, n := range nodes {
		if !Eligible(n) || (onlyLocal && !local[n.Name]) {
			continue
		}
		// Names are unique and part of the hash: no two ranks are equal.
		if r := rank(n.Name, addr); best == "" || bytes.Compare(r[:], bestRank[:]) < 0 {
			best, bestRank = n.Name, r
		}
	}
	return best
}

// rank orders the nodes for one address (MetalLB's scheme: a hash of
// name and address).
func rank(node string, addr netip.Addr) [sha256.Size]byte {
	return sha256.Sum256([]byte(node + "#" + addr.String()))
}

// Eligible says whether node may announce: its announcer runs, it is
// Ready, not being deleted, not excluded from external load balancers
// (upstream's label) and its network is up. A cordoned node stays
// eligible: cordoning keeps new pods off, not traffic (upstream's
// service controller keeps such nodes behind load balancers too).
func Eligible(n *corev1.Node) bool {
	if n.DeletionTimestamp != nil || n.Annotations[AnnotationKey] != "true" {
		return false
	}
	if _, excluded := n.Labels[corev1.LabelNodeExcludeBalancers]; excluded {
		return false
	}
	ready := false
	for _, c := range n.Status.Conditions {
		switch c.Type {
		case corev1.NodeReady:
			ready = c.Status == corev1.ConditionTrue
		case corev1.NodeNetworkUnavailable:
			if c.Status == corev1.ConditionTrue {
				return false
			}
		}
	}
	return ready
}

// readyEndpointNodes are the nodes with a ready endpoint of addr's
// family in eps, and whether any endpoint is ready at all.
func readyEndpointNodes(addr netip.Addr, eps []*discoveryv1.EndpointSlice) (map[string]bool, bool) {
	family := discoveryv1.AddressTypeIPv4
	if addr.Is6() {
		family = discoveryv1.AddressTypeIPv6
	}
	nodes, anyReady := map[string]bool{}, false
	for _, s := range eps {
		if s.AddressType != family {
			continue
		}
		for _, e := range s.Endpoints {
			// An unset condition means ready (the API's rule).
			if e.Conditions.Ready != nil && !*e.Conditions.Ready || len(e.Addresses) == 0 {
				continue
			}
			anyReady = true
			if e.NodeName != nil {
				nodes[*e.NodeName] = true
			}
		}
	}
	return nodes, anyReady
}

// nodeAddresses are every address of every node: load-balancer
// addresses among them are the nodes' own, answered by their kernels.
func nodeAddresses(nodes []*corev1.Node) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	for _, n := range nodes {
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				out[ip.Unmap()] = true
			}
		}
	}
	return out
}

// Addresses are svc's load-balancer addresses that an announcer answers
// for: ingress IPs of a LoadBalancer Service of no other
// implementation (no loadBalancerClass), not in ipMode Proxy (the
// proxy does not take such traffic) and not a node's own address.
func Addresses(svc *corev1.Service, own map[netip.Addr]bool) []netip.Addr {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerClass != nil {
		return nil
	}
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IPMode != nil && *in.IPMode == corev1.LoadBalancerIPModeProxy {
			continue
		}
		ip, err := netip.ParseAddr(in.IP)
		if err != nil || ip.Zone() != "" {
			continue
		}
		if ip = ip.Unmap(); !own[ip] && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}
