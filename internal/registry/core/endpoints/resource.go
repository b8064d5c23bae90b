// Package endpoints serves core/v1 endpoints, the legacy per-service list
// of backend addresses that the endpoints controller maintains.
package endpoints

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the endpoints resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Version: "v1"},
		Resource:     "endpoints",
		Kind:         "Endpoints",
		Deprecated:   DeprecationWarning,
		SingularName: "endpoints",
		ShortNames:   []string{"ep"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.Endpoints{} },
		NewList:      func() runtime.Object { return &corev1.EndpointsList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.Endpoints)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Endpoints), nil)
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Endpoints), old.(*corev1.Endpoints))
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*corev1.Endpoints))
			},
		},
		Table: table(),
	}
}
