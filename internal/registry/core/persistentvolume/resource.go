// Package persistentvolume serves core/v1 persistent volumes:
// cluster-scoped pieces of storage with exactly one volume source, whose
// phase the volume controller tracks in status.
package persistentvolume

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the persistentvolumes resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "persistentvolumes",
		Kind:                "PersistentVolume",
		ReturnDeletedObject: true,
		SingularName:        "persistentvolume",
		ShortNames:          []string{"pv"},
		Namespaced:          false,
		New:                 func() runtime.Object { return &corev1.PersistentVolume{} },
		NewList:             func() runtime.Object { return &corev1.PersistentVolumeList{} },
		HasStatus:           true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.PersistentVolume)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*corev1.PersistentVolume), metav1.Now())
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.PersistentVolume))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume))
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*corev1.PersistentVolume))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				PrepareForStatusUpdate(obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume), metav1.Now())
			},
		},
		Table: table(),
		SelectableFields: func(obj runtime.Object) fields.Set {
			// Upstream keeps a bare "name" for old clients.
			return fields.Set{"name": obj.(*corev1.PersistentVolume).Name}
		},
	}
}
