// Package lease serves coordination.k8s.io/v1 leases: the records behind
// leader election and node heartbeats.
package lease

import (
	"context"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the leases resource.
//
// Upstream also requires a resourceVersion on every update of a lease
// (no unconditional updates), which the server must do.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:           coordinationv1.SchemeGroupVersion,
		Resource:               "leases",
		Kind:                   "Lease",
		RequireResourceVersion: true,
		SingularName:           "lease",
		Namespaced:             true,
		// A PUT creates a missing lease, as upstream (leader election
		// relies on it).
		AllowCreateOnUpdate: true,
		New:                 func() runtime.Object { return &coordinationv1.Lease{} },
		NewList:             func() runtime.Object { return &coordinationv1.LeaseList{} },
		Hooks: registry.Hooks{
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*coordinationv1.Lease))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForUpdate(obj.(*coordinationv1.Lease), old.(*coordinationv1.Lease))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*coordinationv1.Lease))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*coordinationv1.Lease))
			},
		},
		Table: table(),
	}
}
