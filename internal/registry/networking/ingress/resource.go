// Package ingress serves networking.k8s.io/v1 ingresses: HTTP routing
// rules from hosts and paths to services, implemented by an ingress
// controller which reports its addresses in the status.
package ingress

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the ingresses resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     networkingv1.SchemeGroupVersion,
		Resource:         "ingresses",
		Kind:             "Ingress",
		SingularName:     "ingress",
		ShortNames:       []string{"ing"},
		Namespaced:       true,
		HasStatus:        true,
		TracksGeneration: true,
		New:              func() runtime.Object { return &networkingv1.Ingress{} },
		NewList:          func() runtime.Object { return &networkingv1.IngressList{} },
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*networkingv1.Ingress))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*networkingv1.Ingress), old.(*networkingv1.Ingress))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				if old != nil {
					return nil
				}
				return Warnings(obj.(*networkingv1.Ingress))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatusUpdate(obj.(*networkingv1.Ingress), old.(*networkingv1.Ingress))
			},
		},
		Table: table(),
	}
}
