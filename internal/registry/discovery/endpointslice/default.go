package endpointslice

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
)

// Default gives each port an empty name and the TCP protocol when unset.
func Default(eps *discoveryv1.EndpointSlice) {
	for i := range eps.Ports {
		p := &eps.Ports[i]
		if p.Name == nil {
			name := ""
			p.Name = &name
		}
		if p.Protocol == nil {
			tcp := corev1.ProtocolTCP
			p.Protocol = &tcp
		}
	}
}

// PrepareForCreate drops deprecatedTopology, which the v1 API does not
// accept writes to.
func PrepareForCreate(eps *discoveryv1.EndpointSlice) {
	dropTopology(eps, nil)
}

// PrepareForUpdate bumps generation when only the labels changed (the
// server already bumps it for any other change), and drops
// deprecatedTopology from changed endpoints.
func PrepareForUpdate(eps, old *discoveryv1.EndpointSlice) {
	if eps.Generation == old.Generation && !equality.Semantic.DeepEqual(eps.Labels, old.Labels) {
		eps.Generation = old.Generation + 1
	}
	dropTopology(eps, old)
}

// dropTopology clears deprecatedTopology unless the endpoints are
// unchanged. A node name that lived only in the old hostname topology
// label, and still does, moves to nodeName so partial updates keep it.
func dropTopology(eps, old *discoveryv1.EndpointSlice) {
	if old != nil && equality.Semantic.DeepEqual(old.Endpoints, eps.Endpoints) {
		return
	}
	prev := map[string]bool{}
	if old != nil {
		for _, ep := range old.Endpoints {
			if n := ep.DeprecatedTopology[corev1.LabelHostname]; n != "" {
				prev[n] = true
			}
		}
	}
	for i := range eps.Endpoints {
		ep := &eps.Endpoints[i]
		if n, ok := ep.DeprecatedTopology[corev1.LabelHostname]; ep.NodeName == nil && ok && prev[n] && len(apivalidation.NameIsDNSSubdomain(n, false)) == 0 {
			ep.NodeName = &n
		}
		ep.DeprecatedTopology = nil
	}
}
