// Package endpointslice serves discovery.k8s.io/v1 endpoint slices: the
// addresses and ports behind a service, in slices of at most a thousand
// endpoints, which kube-proxy and cluster DNS watch.
package endpointslice

import (
	"context"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the endpointslices resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     discoveryv1.SchemeGroupVersion,
		Resource:         "endpointslices",
		Kind:             "EndpointSlice",
		SingularName:     "endpointslice",
		Namespaced:       true,
		TracksGeneration: true,
		New:              func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList:          func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*discoveryv1.EndpointSlice))
			},
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*discoveryv1.EndpointSlice))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForUpdate(obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*discoveryv1.EndpointSlice))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				return Warnings(obj.(*discoveryv1.EndpointSlice), old == nil)
			},
		},
		Table: table(),
	}
}
