// Package resourcequota serves core/v1 resource quotas: the hard limits a
// namespace may use, with the usage the quota controller reports in
// status. It also holds the resource-name rules quota and limit ranges
// share.
package resourcequota

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the resourcequotas resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "resourcequotas",
		Kind:                "ResourceQuota",
		ReturnDeletedObject: true,
		SingularName:        "resourcequota",
		ShortNames:          []string{"quota"},
		Namespaced:          true,
		New:                 func() runtime.Object { return &corev1.ResourceQuota{} },
		NewList:             func() runtime.Object { return &corev1.ResourceQuotaList{} },
		HasStatus:           true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.ResourceQuota)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.ResourceQuota))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.ResourceQuota), old.(*corev1.ResourceQuota))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				// A create has no old object (nil, or a nil pointer).
				if o, _ := old.(*corev1.ResourceQuota); o != nil {
					return nil // upstream warns on create only
				}
				return Warnings(obj.(*corev1.ResourceQuota))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(obj.(*corev1.ResourceQuota))
			},
		},
		Table: table(),
	}
}
