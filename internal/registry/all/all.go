// Package all lists every resource the API server serves. Each API group
// has its own file; the order here is the order discovery reports.
package all

import (
	"sort"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resources returns every served resource, in upstream's discovery order:
// the groups by kube-apiserver's priorities (core, apiregistration, apps, events.k8s.io,
// autoscaling, batch, certificates, networking, policy, rbac, storage,
// admissionregistration, scheduling,
// coordination, node, discovery, flowcontrol, apiextensions), the resources of a group in alphabetical
// order. kubectl follows it, e.g. for the tables of `kubectl get all`.
func Resources() []*registry.Resource {
	var rs []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core(), apiregistration(), apps(), events(), autoscaling(), batch(), certificates(),
		networking(), policy(), rbac(), storage(), admissionRegistration(),
		scheduling(),
		coordination(), nodeGroup(), discovery(), flowControl(), apiextensions(),
	} {
		sort.SliceStable(group, func(i, j int) bool { return group[i].Resource < group[j].Resource })
		rs = append(rs, group...)
	}
	return rs
}
