// Package networkpolicy serves networking.k8s.io/v1 network policies:
// which traffic may reach, and leave, the pods they select.
package networkpolicy

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the networkpolicies resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     networkingv1.SchemeGroupVersion,
		Resource:         "networkpolicies",
		Kind:             "NetworkPolicy",
		SingularName:     "networkpolicy",
		ShortNames:       []string{"netpol"},
		Namespaced:       true,
		TracksGeneration: true,
		New:              func() runtime.Object { return &networkingv1.NetworkPolicy{} },
		NewList:          func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*networkingv1.NetworkPolicy))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*networkingv1.NetworkPolicy))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*networkingv1.NetworkPolicy), old.(*networkingv1.NetworkPolicy))
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*networkingv1.NetworkPolicy))
			},
		},
		Table: table(),
	}
}
