// Package persistentvolumeclaim serves core/v1 persistent volume claims:
// requests for storage, immutable once made except for growing them and
// changing their volume attributes class.
package persistentvolumeclaim

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the persistentvolumeclaims resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "persistentvolumeclaims",
		Kind:                "PersistentVolumeClaim",
		ReturnDeletedObject: true,
		SingularName:        "persistentvolumeclaim",
		ShortNames:          []string{"pvc"},
		Namespaced:          true,
		New:                 func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		NewList:             func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
		HasStatus:           true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.PersistentVolumeClaim)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*corev1.PersistentVolumeClaim))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForUpdate(obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.PersistentVolumeClaim))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim))
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*corev1.PersistentVolumeClaim))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForStatusUpdate(obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(obj.(*corev1.PersistentVolumeClaim))
			},
		},
		Table: table(),
		SelectableFields: func(obj runtime.Object) fields.Set {
			// Upstream keeps a bare "name" for old clients.
			return fields.Set{"name": obj.(*corev1.PersistentVolumeClaim).Name}
		},
	}
}
