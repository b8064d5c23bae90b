// Package serviceaccount serves core/v1 service accounts. Their tokens are
// issued by the API server's serviceaccounts/token subresource, not here.
package serviceaccount

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
		// serviceaccounts/token is served by the API server itself (it
		// creates a token, it does not change the account); the action
		// declares it for discovery and OpenAPI.
		Actions: map[string]*registry.Action{"token": {
			New: func() runtime.Object { return &authenticationv1.TokenRequest{} },
			Apply: func(context.Context, runtime.Object, runtime.Object) error {
				return apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "serviceaccounts/token"}, "update")
			},
		}},
		Table: table(),
	}
}
