// Package serviceaccount serves core/v1 service accounts and their
// serviceaccounts/token subresource (TokenRequest; the server signs).
package serviceaccount

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the serviceaccounts resource. Names are DNS subdomains
// (the default), and there is nothing else to validate.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "serviceaccounts",
		Kind:                "ServiceAccount",
		ReturnDeletedObject: true,
		SingularName:        "serviceaccount",
		ShortNames:          []string{"sa"},
		Namespaced:          true,
		New:                 func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList:             func() runtime.Object { return &corev1.ServiceAccountList{} },
		Hooks: registry.Hooks{
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				CleanSecretReferences(obj.(*corev1.ServiceAccount))
			},
			PrepareForUpdate: func(_ context.Context, obj, _ runtime.Object) {
				CleanSecretReferences(obj.(*corev1.ServiceAccount))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				o, _ := old.(*corev1.ServiceAccount) // nil on create
				return Warnings(obj.(*corev1.ServiceAccount), o)
			},
		},
		Actions: map[string]*registry.Action{"token": tokenAction()},
		Table:   table(),
	}
}
