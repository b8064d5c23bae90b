// Package ingressclass serves networking.k8s.io/v1 ingress classes: which
// controller implements the ingresses of a class, and with what
// parameters.
package ingressclass

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the ingressclasses resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     networkingv1.SchemeGroupVersion,
		Resource:         "ingressclasses",
		Kind:             "IngressClass",
		SingularName:     "ingressclass",
		TracksGeneration: true,
		New:              func() runtime.Object { return &networkingv1.IngressClass{} },
		NewList:          func() runtime.Object { return &networkingv1.IngressClassList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*networkingv1.IngressClass))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*networkingv1.IngressClass))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*networkingv1.IngressClass), old.(*networkingv1.IngressClass))
			},
		},
		Table: table(),
	}
}
