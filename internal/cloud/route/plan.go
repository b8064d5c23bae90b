package route

import (
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	cloudprovider "k8s.io/cloud-provider"
)

// Plan is what to do to the provider's routes.
type Plan struct {
	Create []*cloudprovider.Route
	Delete []*cloudprovider.Route
}

// plan compares the routes the nodes need (one per pod CIDR, to the
// node) with the provider's and returns the difference. Only routes
// inside the cluster's CIDRs are deleted: others are not the cluster's.
// It does no I/O.
func plan(nodes []*corev1.Node, routes []*cloudprovider.Route, clusterCIDRs []netip.Prefix) Plan {
	type key struct {
		node types.NodeName
		cidr string
	}
	want := map[key]*corev1.Node{}
	for _, n := range nodes {
		if n.DeletionTimestamp != nil {
			continue
		}
		for _, c := range podCIDRs(n) {
			want[key{types.NodeName(n.Name), canonical(c)}] = n
		}
	}
	var p Plan
	have := map[key]bool{}
	for _, r := range routes {
		k := key{r.TargetNode, canonical(r.DestinationCIDR)}
		if !r.Blackhole && want[k] != nil && !have[k] {
			have[k] = true
			continue
		}
		if inCluster(r.DestinationCIDR, clusterCIDRs) {
			p.Delete = append(p.Delete, r)
		}
	}
	for k, n := range want {
		if !have[k] {
			p.Create = append(p.Create, &cloudprovider.Route{
				TargetNode:          k.node,
				DestinationCIDR:     k.cidr,
				TargetNodeAddresses: slices.Clone(n.Status.Addresses),
			})
		}
	}
	sort.Slice(p.Create, func(i, j int) bool {
		return p.Create[i].TargetNode+types.NodeName(p.Create[i].DestinationCIDR) < p.Create[j].TargetNode+types.NodeName(p.Create[j].DestinationCIDR)
	})
	return p
}

func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

func canonical(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return cidr
	}
	return p.Masked().String()
}

// inCluster says whether cidr lies inside one of the cluster's CIDRs
// (with none given, every route is the cluster's).
func inCluster(cidr string, clusterCIDRs []netip.Prefix) bool {
	if len(clusterCIDRs) == 0 {
		return true
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	for _, c := range clusterCIDRs {
		if c.Bits() <= p.Bits() && c.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
