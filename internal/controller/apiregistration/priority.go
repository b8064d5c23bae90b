package apiregistration

import (
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// groupPriorities are upstream's priorities of the built-in groups
// (kube-apiserver's apiVersionPriorities): the order of /apis.
var groupPriorities = map[string]int32{
	"":                             18000,
	"apiregistration.k8s.io":       17800,
	"apps":                         17800,
	"events.k8s.io":                17750,
	"authentication.k8s.io":        17700,
	"authorization.k8s.io":         17600,
	"autoscaling":                  17500,
	"batch":                        17400,
	"certificates.k8s.io":          17300,
	"networking.k8s.io":            17200,
	"policy":                       17100,
	"rbac.authorization.k8s.io":    17000,
	"storage.k8s.io":               16800,
	"apiextensions.k8s.io":         16700,
	"admissionregistration.k8s.io": 16700,
	"scheduling.k8s.io":            16600,
	"coordination.k8s.io":          16500,
	"node.k8s.io":                  16300,
	"discovery.k8s.io":             16200,
	"flowcontrol.apiserver.k8s.io": 16100,
	"internal.apiserver.k8s.io":    16000,
	"resource.k8s.io":              15900,
	"storagemigration.k8s.io":      15800,
}

// GroupPriority is upstream's groupPriorityMinimum and versionPriority
// of a built-in group version: the core group's v1 is 18000/1, a stable
// version 15, a beta 9, an alpha 1 (autoscaling/v2 30, above v1).
func GroupPriority(gv schema.GroupVersion) (group, version int32) {
	group, ok := groupPriorities[gv.Group]
	if !ok {
		group = 15000
	}
	switch {
	case gv.Group == "":
		return group, 1
	case gv.Group == "autoscaling" && gv.Version == "v2":
		return group, 30
	case strings.Contains(gv.Version, "beta"):
		return group, 9
	case strings.Contains(gv.Version, "alpha"):
		return group, 1
	}
	return group, 15
}
