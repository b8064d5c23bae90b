// Package all lists every resource the API server serves. Each API group
// has its own file; the order here is the order discovery reports.
package all

import "github.com/kemudi/kemudi/internal/registry"

// Resources returns every served resource.
func Resources() []*registry.Resource {
	var rs []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core(), apps(), batch(), autoscaling(), policy(),
		rbac(), storage(), networking(), scheduling(), coordination(),
		discovery(), events(),
	} {
		rs = append(rs, group...)
	}
	return rs
}
