package announce

import (
	"cmp"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Snapshot is the cluster state an announcer decides from.
type Snapshot struct {
	Services []*corev1.Service
	Nodes    []*corev1.Node
	Slices   []*discoveryv1.EndpointSlice
}

// Plan is the addresses node self announces, each with the service it
// belongs to. Services are taken in name order and an address two
// services share is elected by the first only, so that every node
// agrees on one announcer for it.
func Plan(self string, s Snapshot) map[netip.Addr]types.NamespacedName {
	own := nodeAddresses(s.Nodes)
	bySvc := map[types.NamespacedName][]*discoveryv1.EndpointSlice{}
	for _, sl := range s.Slices {
		if name := sl.Labels[discoveryv1.LabelServiceName]; name != "" {
			k := types.NamespacedName{Namespace: sl.Namespace, Name: name}
			bySvc[k] = append(bySvc[k], sl)
		}
	}
	svcs := slices.Clone(s.Services)
	slices.SortFunc(svcs, func(a, b *corev1.Service) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	out := map[netip.Addr]types.NamespacedName{}
	decided := map[netip.Addr]bool{}
	for _, svc := range svcs {
		k := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
		for _, addr := range Addresses(svc, own) {
			if decided[addr] {
				continue
			}
			decided[addr] = true
			if Elect(addr, svc, s.Nodes, bySvc[k]) == self {
				out[addr] = k
			}
		}
	}
	return out
}
